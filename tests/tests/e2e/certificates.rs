//! Test certificates: a CA with a server certificate for localhost, 127.0.0.1 and ::1, and an unrelated CA.

use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// Writes `ca.pem`, `server.pem`, `server.key` (the server's chain of trust) and `other-ca.pem` (a CA that
/// signed nothing here) into `dir`.
pub fn write(dir: &Path) {
    write_for(dir, &[]);
}

/// [`write`], the server certificate also naming `extra` (host names or IP addresses).
pub fn write_for(dir: &Path, extra: &[&str]) {
    let (ca_pem, issuer) = ca("rotor test CA");
    let key = KeyPair::generate().unwrap();
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    names.extend(extra.iter().map(|name| name.to_string()));
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name.push(DnType::CommonName, "localhost");
    let cert = params.signed_by(&key, &issuer).unwrap();
    std::fs::write(dir.join("ca.pem"), ca_pem).unwrap();
    std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
    std::fs::write(dir.join("other-ca.pem"), ca("an unrelated CA").0).unwrap();
}

fn ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let pem = params.self_signed(&key).unwrap().pem();
    (pem, Issuer::new(params, key))
}
