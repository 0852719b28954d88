//! An OpenLDAP `slapd` for the directory tests, from Debian's `slapd` (which `infra/local/packages.sh` installs):
//! one per test (it starts in a fraction of a second), in the test's own directory, LDAPS and StartTLS on free
//! ports of 127.0.0.1 with a certificate from the test CA, simple binds only over TLS, its `stats` log on. The
//! database `dc=rotor,dc=test` has its root DN as an entry too (as Debian's own set-up has `cn=admin`), an admin
//! that may reset passwords under `ou=people` and read `cn=config`, and accounts made by [`Slapd::create_user`].

use std::fs::{self, File};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ldap3::{LdapConnAsync, LdapConnSettings};

use crate::harness::{free_port, run};

/// The database's suffix.
pub const SUFFIX: &str = "dc=rotor,dc=test";
/// Where accounts live.
pub const PEOPLE: &str = "ou=people,dc=rotor,dc=test";
/// The root DN, which is also an entry with a password.
pub const ROOT_DN: &str = "cn=root,dc=rotor,dc=test";
/// The admin that resets passwords (not the root DN), outside `ou=people`.
pub const ADMIN_DN: &str = "cn=rotor-admin,dc=rotor,dc=test";

/// A running slapd, stopped when dropped.
pub struct Slapd {
    dir: tempfile::TempDir,
    child: Child,
    /// LDAPS port.
    pub ldaps_port: u16,
    /// Plain LDAP port, for StartTLS.
    pub ldap_port: u16,
    /// The root DN's password.
    pub root_password: String,
    /// The admin's password.
    pub admin_password: String,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// A TLS client configuration trusting `ca`.
pub fn client_tls(ca: &std::path::Path) -> rustls::ClientConfig {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Binds to `url` as `who` with `password` over TLS trusting `ca`; `Ok` when the directory accepts it. The tests'
/// own client, apart from rotor's.
pub async fn bind(url: &str, ca: &std::path::Path, who: &str, password: &str) -> Result<ldap3::Ldap, String> {
    let settings = LdapConnSettings::new()
        .set_config(Arc::new(client_tls(ca)))
        .set_starttls(url.starts_with("ldap://"))
        .set_conn_timeout(Duration::from_secs(5));
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, url).await.map_err(|e| e.to_string())?;
    tokio::spawn(async move { drop(conn.drive().await) });
    ldap.simple_bind(who, password).await.and_then(|r| r.success()).map_err(|e| e.to_string())?;
    Ok(ldap)
}

impl Slapd {
    /// Starts a fresh directory, its admin allowed to read `cn=config`.
    pub fn start() -> Self {
        Self::start_with(true)
    }

    /// Starts a fresh directory; `config_readable`: whether the admin may read `cn=config`.
    pub fn start_with(config_readable: bool) -> Self {
        let dir = tempfile::Builder::new().prefix("rotor-slapd-").tempdir().unwrap();
        let path = dir.path();
        crate::certificates::write(path);
        fs::create_dir_all(path.join("data")).unwrap();
        fs::create_dir_all(path.join("config")).unwrap();
        let root_password = format!("Root-{}", uuid::Uuid::new_v4().simple());
        let admin_password = format!("Admin-{}", uuid::Uuid::new_v4().simple());
        let conf = format!(
            r#"include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile {dir}/ca.pem
TLSCertificateFile {dir}/server.pem
TLSCertificateKeyFile {dir}/server.key
security simple_bind=128
loglevel stats

database config
access to * {config_access} by * none

database mdb
maxsize 104857600
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {root_password}
directory {dir}/data
access to attrs=userPassword by self write by dn.exact="{ADMIN_DN}" write by anonymous auth by * none
access to * by self read by dn.exact="{ADMIN_DN}" read by users read by * none
"#,
            dir = path.display(),
            config_access = if config_readable { format!("by dn.exact=\"{ADMIN_DN}\" read") } else { String::new() }
        );
        fs::write(path.join("slapd.conf"), conf).unwrap();
        let ldif = format!(
            "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: rotor\no: rotor\n\n\
             dn: {ROOT_DN}\nobjectClass: person\ncn: root\nsn: root\nuserPassword: {root_password}\n\n\
             dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n\
             dn: {ADMIN_DN}\nobjectClass: person\ncn: rotor-admin\nsn: admin\nuserPassword: {admin_password}\n"
        );
        fs::write(path.join("seed.ldif"), ldif).unwrap();
        run(
            Command::new("slapadd").arg("-f").arg(path.join("slapd.conf")).arg("-l").arg(path.join("seed.ldif")),
            "slapadd",
        );
        let (ldaps_port, ldap_port) = (free_port(), free_port());
        let log = File::create(path.join("slapd.log")).unwrap();
        let child = Command::new("slapd")
            .arg("-f")
            .arg(path.join("slapd.conf"))
            .arg("-h")
            .arg(format!("ldap://127.0.0.1:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/"))
            .args(["-d", "stats"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("slapd starts (make test installs it)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", ldaps_port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "slapd did not start: see {}", path.display());
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { dir, child, ldaps_port, ldap_port, root_password, admin_password }
    }

    /// The test CA.
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The CA that signed nothing here.
    pub fn other_ca(&self) -> PathBuf {
        self.dir.path().join("other-ca.pem")
    }

    /// The LDAPS URL.
    pub fn url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    /// slapd's log (its `stats` lines: every connection, bind and operation).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }

    /// Creates the account `cn=<cn>,ou=people,...` with `password` (as the root DN), and returns its DN.
    pub async fn create_user(&self, cn: &str, password: &str) -> String {
        let dn = format!("cn={},{PEOPLE}", rotation_directory::escape_dn_value(cn));
        let mut root = bind(&self.url(), &self.ca(), ROOT_DN, &self.root_password).await.unwrap();
        let attrs = vec![
            ("objectClass", ["person"].into_iter().collect()),
            ("cn", [cn].into_iter().collect()),
            ("sn", ["rotor"].into_iter().collect()),
            ("userPassword", [password].into_iter().collect()),
        ];
        root.add(&dn, attrs).await.unwrap().success().unwrap();
        dn
    }

    /// Whether `dn` binds with `password`.
    pub async fn logs_in(&self, dn: &str, password: &str) -> bool {
        bind(&self.url(), &self.ca(), dn, password).await.is_ok()
    }
}
