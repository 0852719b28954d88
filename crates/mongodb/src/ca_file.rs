//! The MongoDB driver reads its trusted roots from a file (`tlsCAFile`), not from a rustls store: [`CaFile`] writes
//! rotor's roots (the system's, the Amazon RDS roots DocumentDB uses, and `TLS_CA_BUNDLE`) to one, once per
//! process.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::Arc;

use rotation_core::RotationError;
use rotation_database::rds_roots;
use rustls_pki_types::CertificateDer;
use tempfile::{NamedTempFile, TempDir};

/// A PEM file of the roots every MongoDB connection of the process trusts, kept (owner-only, in an owner-only
/// directory of the temporary directory: Lambda's `/tmp`) for the life of the process and removed with it.
#[derive(Debug, Clone)]
pub struct CaFile {
    /// The file, then its directory (dropped in that order).
    file: Arc<(NamedTempFile, TempDir)>,
}

impl CaFile {
    /// Writes the system's roots, the RDS roots and `ca_bundle` (`TLS_CA_BUNDLE`'s certificates, already read and
    /// checked) to a new file.
    pub fn write(ca_bundle: &[CertificateDer<'static>]) -> Result<Self, RotationError> {
        let mut certificates = rotation_core::system_root_certificates();
        certificates.extend(rds_roots().iter().cloned());
        certificates.extend(ca_bundle.iter().cloned());
        let failed = |e: std::io::Error| RotationError::Config {
            variable: "TLS_CA_BUNDLE",
            reason: format!(
                "the trusted roots could not be written for the MongoDB driver to the temporary directory ({e})"
            ),
        };
        // In a directory of its own (0700): the driver opens the file by its path at every connection, and no other
        // local user may put a file of theirs there should something remove this one.
        let dir = tempfile::Builder::new()
            .prefix("rotor-mongodb-roots-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()
            .map_err(failed)?;
        let mut file =
            tempfile::Builder::new().prefix("roots-").suffix(".pem").tempfile_in(dir.path()).map_err(failed)?;
        file.write_all(&rotation_core::to_pem(&certificates)).map_err(failed)?;
        file.flush().map_err(failed)?;
        Ok(Self { file: Arc::new((file, dir)) })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        self.file.0.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn the_file_holds_the_rds_roots_and_the_bundle() {
        let extra = rds_roots()[0].clone();
        let file = CaFile::write(&[extra]).unwrap();
        let pem = std::fs::read(file.path()).unwrap();
        let read: Vec<_> = CertificateDer::pem_slice_iter(&pem).collect::<Result<_, _>>().unwrap();
        assert!(read.len() > rds_roots().len(), "the system's roots, the RDS roots and the bundle");
        assert!(rds_roots().iter().all(|root| read.contains(root)));
        let mode = |path: &std::path::Path| {
            std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions()) & 0o077
        };
        assert_eq!(mode(file.path()), 0, "only its owner may write it");
        assert_eq!(mode(file.path().parent().unwrap()), 0, "nor its directory");
        let path = file.path().to_owned();
        drop(file);
        assert!(!path.exists() && !path.parent().unwrap().exists(), "removed with the last handle");
    }
}
