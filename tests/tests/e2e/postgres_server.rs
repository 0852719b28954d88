//! A PostgreSQL server for the tests, from the machine's own PostgreSQL binaries: its own data directory under
//! `target/`, a free port on 127.0.0.1, SCRAM password authentication (the machine's service trusts every
//! local connection, which would make a wrong password log in), TLS with a certificate from a test CA, and
//! `log_statement = 'all'` so tests can read what reached the server. Started once, by the first test that
//! needs it (a file lock serialises the start), and reused by the others; `make test` stops it afterwards.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use tokio_postgres::{Client, NoTls};

use crate::harness::{bin_dir, free_port, run};

/// The running test server.
pub struct PgServer {
    /// Its directory: `data/`, `server.log`, the certificates.
    pub dir: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The superuser's password.
    pub superuser_password: String,
}

fn pg_bin(name: &str) -> PathBuf {
    let mut versions: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (make test installs it)")
        .map(|e| e.unwrap().path().join("bin").join(name))
        .filter(|p| p.exists())
        .collect();
    versions.sort();
    versions.pop().unwrap_or_else(|| panic!("no {name} under /usr/lib/postgresql"))
}

/// Runs a PostgreSQL tool as the `postgres` OS user when we are root (the server refuses to run as root).
fn as_postgres(program: &Path) -> Command {
    let uid = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    if uid.is_ok_and(|uid| uid == "0") {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// How a test server authenticates its users over TCP.
#[derive(Clone, Copy)]
enum Auth {
    /// SCRAM-SHA-256: PostgreSQL's own default.
    Scram,
    /// md5, with passwords stored as md5 hashes: the declared stand-in for Amazon Redshift's `md5` passwords.
    Md5,
}

impl PgServer {
    /// The shared server, started if it is not running.
    pub fn get() -> Self {
        Self::shared("rotor-pg", Auth::Scram)
    }

    /// The shared stand-in for Amazon Redshift, started if it is not running: a PostgreSQL server of its own whose
    /// users log in with md5 (`password_encryption = md5`, `md5` in `pg_hba.conf`), so a password set as Redshift's
    /// client-computed `'md5' || md5(password || user)` logs in and the old one is refused. It cannot stand in
    /// for Redshift's system views, its `sha256|` form or its own SHA-256 login.
    pub fn redshift_stand_in() -> Self {
        Self::shared("rotor-pg-md5", Auth::Md5)
    }

    fn shared(name: &str, auth: Auth) -> Self {
        let dir = bin_dir().parent().unwrap().join(name);
        fs::create_dir_all(dir.parent().unwrap()).unwrap();
        let lock = File::create(bin_dir().parent().unwrap().join(format!("{name}.lock"))).unwrap();
        lock.lock().unwrap();
        if let Some(server) = Self::running(&dir) {
            return server;
        }
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        crate::certificates::write(&dir);
        let password = uuid::Uuid::new_v4().simple().to_string();
        fs::write(dir.join("superuser-password"), &password).unwrap();
        let port = free_port();
        run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir), "chown");
        fs::set_permissions(dir.join("server.key"), fs::Permissions::from_mode(0o600)).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        run(
            as_postgres(&pg_bin("initdb"))
                .arg("-D")
                .arg(dir.join("data"))
                .args(["-U", "postgres", "--auth-local=trust", "--no-sync"])
                .arg(match auth {
                    Auth::Scram => "--auth-host=scram-sha-256",
                    Auth::Md5 => "--auth-host=md5",
                })
                .arg(format!("--pwfile={}", dir.join("superuser-password").display())),
            "initdb",
        );
        let conf = format!(
            "port = {port}\nlisten_addresses = '127.0.0.1,127.0.0.2'\nunix_socket_directories = '{dir}'\nssl = on\n\
             ssl_cert_file = '{dir}/server.pem'\nssl_key_file = '{dir}/server.key'\npassword_encryption = '{encryption}'\n\
             log_statement = 'all'\nlog_connections = on\nfsync = off\nmax_connections = 200\n",
            dir = dir.display(),
            encryption = match auth {
                Auth::Scram => "scram-sha-256",
                Auth::Md5 => "md5",
            }
        );
        let mut postgresql_conf = fs::OpenOptions::new().append(true).open(dir.join("data/postgresql.conf")).unwrap();
        std::io::Write::write_all(&mut postgresql_conf, conf.as_bytes()).unwrap();
        run(
            as_postgres(&pg_bin("pg_ctl"))
                .arg("-D")
                .arg(dir.join("data"))
                .arg("-l")
                .arg(dir.join("server.log"))
                .args(["-w", "start"]),
            "pg_ctl start",
        );
        fs::write(dir.join("port"), port.to_string()).unwrap();
        Self::running(&dir).expect("the test PostgreSQL server answers after start")
    }

    fn running(dir: &Path) -> Option<Self> {
        let port: u16 = fs::read_to_string(dir.join("port")).ok()?.trim().parse().ok()?;
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        let superuser_password = fs::read_to_string(dir.join("superuser-password")).ok()?;
        Some(Self { dir: dir.to_owned(), port, superuser_password })
    }

    /// Logs in (plain TCP; the server accepts both) as `user` into `dbname`.
    pub async fn login(&self, user: &str, password: &str, dbname: &str) -> Result<Client, tokio_postgres::Error> {
        let mut config = tokio_postgres::Config::new();
        config.host("127.0.0.1").port(self.port).user(user).password(password).dbname(dbname);
        let (client, connection) = config.connect(NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    /// The superuser.
    pub async fn superuser(&self, dbname: &str) -> Client {
        self.login("postgres", &self.superuser_password, dbname).await.unwrap()
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// The CA that signed the server's certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
}
