//! What every client that speaks TLS shares (Secrets Manager, databases, webhooks): the system's roots, read once
//! per process (a webhook client reads them once more); the one loader of `TLS_CA_BUNDLE`; the one test for a
//! failure of the TLS layer. TLS modes are the databases' (rotation-database).

use std::path::Path;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::{Env, RotationError};

/// Where the system's CA bundle is on the platforms rotor runs on: Debian and Ubuntu, Amazon Linux (Lambda's
/// `provided.al2023` and `provided.al2`), Alpine and others.
const SYSTEM_BUNDLES: [&str; 3] =
    ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

/// The system's roots, read and parsed once per process: the store every rustls client of the process starts
/// from. The certificates themselves are not kept (the SDK keeps its own PEM copy).
static SYSTEM_ROOTS: OnceLock<RootCertStore> = OnceLock::new();

/// Reads the system's roots: the store, and the certificates in it (only what parses as a trust anchor: the
/// SDK's connector panics on a certificate it cannot parse).
fn read() -> (RootCertStore, Vec<CertificateDer<'static>>) {
    let mut store = RootCertStore::empty();
    let mut certificates = read_system_roots();
    certificates.retain(|certificate| store.add(certificate.clone()).is_ok());
    if store.is_empty() {
        tracing::warn!("no system root certificate found: only TLS_CA_BUNDLE and the RDS roots are trusted");
    }
    (store, certificates)
}

/// `SSL_CERT_FILE`/`SSL_CERT_DIR` when set (as OpenSSL reads them); otherwise the first system bundle that
/// exists, read alone: its directory (`/etc/ssl/certs`, a file per certificate) holds the same certificates again,
/// and scanning it cost milliseconds of every cold start. Without either, the platform's usual locations.
fn read_system_roots() -> Vec<CertificateDer<'static>> {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let loaded = if set("SSL_CERT_FILE") || set("SSL_CERT_DIR") {
        rustls_native_certs::load_native_certs()
    } else if let Some(bundle) = SYSTEM_BUNDLES.iter().map(Path::new).find(|p| p.is_file()) {
        rustls_native_certs::load_certs_from_paths(Some(bundle), None)
    } else {
        rustls_native_certs::load_native_certs()
    };
    for error in &loaded.errors {
        tracing::warn!(error = %error, "a system root certificate location could not be read");
    }
    loaded.certs
}

/// The system's trusted roots, read once per process (the first call reads them, unless the AWS configuration
/// already did): every TLS client of rotor (Secrets Manager's, the databases') starts from this store.
pub fn system_roots() -> &'static RootCertStore {
    SYSTEM_ROOTS.get_or_init(|| read().0)
}

/// The certificates of [`system_roots`], for a client that takes certificates rather than a store (a webhook's
/// reqwest client). Not kept: this reads them again.
pub fn system_root_certificates() -> Vec<CertificateDer<'static>> {
    read().1
}

/// The system's roots in PEM, for the AWS SDK's HTTPS connector. The first call is normally the process's one
/// read of the system roots (the AWS configuration is loaded first at cold start): it fills [`system_roots`] too.
pub(crate) fn system_roots_pem() -> Vec<u8> {
    let mut certificates = None;
    SYSTEM_ROOTS.get_or_init(|| {
        let (store, read) = read();
        certificates = Some(read);
        store
    });
    to_pem(&certificates.unwrap_or_else(|| read().1))
}

/// Certificates in PEM, for a client that reads its roots from a file or PEM text (the AWS SDK's connector, the
/// MongoDB driver's `tlsCAFile`).
pub fn to_pem(certificates: &[CertificateDer<'_>]) -> Vec<u8> {
    let mut pem = Vec::new();
    for certificate in certificates {
        pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
        for line in BASE64.encode(certificate.as_ref()).as_bytes().chunks(64) {
            pem.extend_from_slice(line);
            pem.push(b'\n');
        }
        pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
    }
    pem
}

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
    fn the_sdk_is_given_every_system_root_the_store_holds() {
        let store = system_roots();
        assert!(!store.is_empty(), "this machine has system roots");
        let from_pem = CertificateDer::pem_slice_iter(&system_roots_pem()).collect::<Result<Vec<_>, _>>().unwrap();
        assert_eq!(from_pem.len(), store.len());
        let mut again = RootCertStore::empty();
        let (added, ignored) = again.add_parsable_certificates(from_pem);
        assert_eq!((added, ignored), (store.len(), 0));
        assert_eq!(again.roots, store.roots, "the same trust anchors");
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
