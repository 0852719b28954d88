//! What every target that speaks TLS shares (databases, webhooks): the one loader of `TLS_CA_BUNDLE` and the one
//! test for a failure of the TLS layer. TLS modes are the databases' (rotation-database).

use std::path::Path;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::{Env, RotationError};

/// The certificates of `TLS_CA_BUNDLE`, read once at cold start: empty when it is unset; an error naming the
/// variable when the file cannot be read or holds no PEM certificate.
pub fn ca_bundle_from_env(env: &Env) -> Result<Vec<CertificateDer<'static>>, RotationError> {
    env.get("TLS_CA_BUNDLE").map_or(Ok(Vec::new()), |path| load_ca_bundle(Path::new(&path)))
}

/// The certificates of a PEM bundle.
pub fn load_ca_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, RotationError> {
    let invalid = |reason: String| RotationError::Config { variable: "TLS_CA_BUNDLE", reason };
    let pem = std::fs::read(path)
        .map_err(|e| invalid(format!("names {}, which is not a readable file ({e})", path.display())))?;
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(format!("{} is not a PEM certificate bundle: {e}", path.display())))?;
    if certificates.is_empty() {
        return Err(invalid(format!("{} holds no PEM certificate", path.display())));
    }
    Ok(certificates)
}

/// Whether an error comes from the TLS layer (rustls), wherever a driver or client wrapped it: the error itself,
/// a cause in its source chain, or an I/O error carrying one.
pub fn is_tls_error(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(cause) = next {
        if cause.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && io.get_ref().is_some_and(|inner| inner.is::<rustls::Error>())
        {
            return true;
        }
        next = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_errors_are_found_wherever_they_are_wrapped() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        assert!(is_tls_error(&tls));
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        assert!(is_tls_error(&io));
        #[derive(Debug, thiserror::Error)]
        #[error("connect failed")]
        struct Wrapper(#[source] std::io::Error);
        assert!(is_tls_error(&Wrapper(io)));
        assert!(!is_tls_error(&std::io::Error::from(std::io::ErrorKind::ConnectionRefused)));
    }

    #[test]
    fn a_bundle_that_is_missing_or_holds_no_certificate_is_refused() {
        let missing = load_ca_bundle(Path::new("/no/such/file.pem")).unwrap_err().to_string();
        assert!(missing.contains("TLS_CA_BUNDLE names /no/such/file.pem"), "{missing}");
        let dir = std::env::temp_dir().join(format!("rotor-ca-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate\n").unwrap();
        assert!(load_ca_bundle(&dir).unwrap_err().to_string().contains("holds no PEM certificate"));
        std::fs::remove_file(&dir).ok();
    }
}
