//! rustls client configurations for the four TLS modes, over the system's roots, the Amazon RDS roots and an
//! optional CA bundle.

use std::sync::{Arc, OnceLock};

use crate::tls_mode::TlsMode;
use rotation_core::RotationError;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// The Amazon RDS root CAs (PEM), trusted by the database functions besides the system's roots and
/// `TLS_CA_BUNDLE`, so `verify-full` against RDS works without configuration. Where they come from, and how to
/// refresh them, is at the top of the file.
pub const RDS_CA_BUNDLE: &[u8] = include_bytes!("rds-ca-bundle.pem");

/// [`RDS_CA_BUNDLE`]'s certificates, decoded once per process (its comment header skipped), for every engine's
/// trusted roots.
pub fn rds_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| CertificateDer::pem_slice_iter(RDS_CA_BUNDLE).filter_map(Result::ok).collect())
}

/// The trusted roots, loaded once at cold start: the system's, the Amazon RDS roots ([`rds_roots`]), and
/// `TLS_CA_BUNDLE` when set; each mode's client configuration is built once, on first use, and shared by every
/// later connection.
#[derive(Debug, Clone)]
pub struct TlsRoots {
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    /// `require`, `verify-ca`, `verify-full`.
    configs: Arc<[OnceLock<ClientConfig>; 3]>,
}

impl TlsRoots {
    /// The system's roots, the RDS roots and `ca_bundle` (`TLS_CA_BUNDLE`'s certificates, already read).
    pub fn load(ca_bundle: &[CertificateDer<'static>]) -> Result<Self, RotationError> {
        // The process's one read of the system roots. Missing ones are not fatal: a CA bundle alone is valid.
        let mut roots = rotation_core::system_roots().clone();
        roots.add_parsable_certificates(rds_roots().iter().cloned());
        let (added, _) = roots.add_parsable_certificates(ca_bundle.iter().cloned());
        if added < ca_bundle.len() {
            return Err(RotationError::Config {
                variable: "TLS_CA_BUNDLE",
                reason: format!(
                    "{} of its {} certificates are not usable CA certificates",
                    ca_bundle.len() - added,
                    ca_bundle.len()
                ),
            });
        }
        Ok(Self { roots: Arc::new(roots), provider: rotation_core::tls_provider(), configs: Arc::default() })
    }

    /// The client configuration of a mode; `None` for `disable`.
    pub fn client_config(&self, mode: TlsMode) -> Result<Option<ClientConfig>, RotationError> {
        let slot = match mode {
            TlsMode::Disable => return Ok(None),
            TlsMode::Require => &self.configs[0],
            TlsMode::VerifyCa => &self.configs[1],
            TlsMode::VerifyFull => &self.configs[2],
        };
        if let Some(config) = slot.get() {
            return Ok(Some(config.clone()));
        }
        Ok(self.build(mode)?.map(|config| slot.get_or_init(|| config).clone()))
    }

    fn build(&self, mode: TlsMode) -> Result<Option<ClientConfig>, RotationError> {
        let builder = ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| RotationError::Config { variable: "TLS_MODE", reason: format!("TLS setup failed: {e}") })?;
        let webpki = || {
            WebPkiServerVerifier::builder_with_provider(Arc::clone(&self.roots), Arc::clone(&self.provider))
                .build()
                .map_err(|e| RotationError::Config {
                    variable: "TLS_CA_BUNDLE",
                    reason: format!("no CA certificate to verify servers with ({e}); set TLS_CA_BUNDLE"),
                })
        };
        let config = match mode {
            TlsMode::Disable => return Ok(None),
            TlsMode::VerifyFull => builder.with_webpki_verifier(webpki()?).with_no_client_auth(),
            TlsMode::VerifyCa => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly(webpki()?)))
                .with_no_client_auth(),
            TlsMode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(EncryptOnly(
                    self.provider.signature_verification_algorithms,
                )))
                .with_no_client_auth(),
        };
        // The FIPS build never connects with a configuration rustls does not count as FIPS (the provider and the
        // TLS-level settings NIST asks for, such as the extended master secret).
        if rotation_core::FIPS_BUILD && !config.fips() {
            return Err(RotationError::FipsUnavailable {
                reason: "the TLS client configuration is not in FIPS mode; this FIPS build refuses to connect".into(),
            });
        }
        Ok(Some(config))
    }
}

/// `verify-ca`: the chain must lead to a trusted root; the name in the certificate is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `require`: encrypted, the certificate not verified (the handshake's signatures still are).
#[derive(Debug)]
struct EncryptOnly(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// verify-full against RDS works with no `TLS_CA_BUNDLE`: every RDS root in the embedded bundle (its comment
    /// header skipped) is a trust anchor of the loaded roots, beside the system's.
    #[test]
    fn the_rds_roots_are_trusted_without_a_ca_bundle() {
        let bundle: Vec<CertificateDer<'_>> =
            CertificateDer::pem_slice_iter(RDS_CA_BUNDLE).collect::<Result<_, _>>().expect("the RDS bundle parses");
        assert_eq!(bundle.len(), 87, "the RDS bundle's certificates");
        assert_eq!(rds_roots(), bundle.as_slice(), "decoded once, all of them");
        let roots = TlsRoots::load(&[]).unwrap();
        let rds_anchors = roots
            .roots
            .roots
            .iter()
            .filter(|anchor| anchor.subject.as_ref().windows(10).any(|w| w == b"Amazon RDS"))
            .count();
        assert_eq!(rds_anchors, 87, "every RDS root is trusted");
        assert!(roots.client_config(TlsMode::VerifyFull).unwrap().is_some());
    }
}
