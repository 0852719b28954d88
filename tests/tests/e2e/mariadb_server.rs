//! A MariaDB server for the tests, from the machine's own MariaDB binaries: its own data directory under
//! `target/`, a free port on 127.0.0.1, TLS with a certificate from a test CA (the machine's service has TLS
//! off), the general and slow query logs on (`long_query_time` 0, so every statement reaches both), and a global
//! `sql_mode` with `NO_BACKSLASH_ESCAPES` and `ANSI_QUOTES`, under which naive escaping breaks. Started once by
//! the first test that needs it (a file lock serialises the start) and shared; `make test` stops it afterwards.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};

use crate::harness::{bin_dir, free_port, run};

/// The server's flags besides its paths; a server started with others is replaced.
const FLAGS: &[&str] = &[
    "--user=mysql",
    "--skip-name-resolve",
    "--max-connections=300",
    "--general-log=1",
    "--slow-query-log=1",
    "--long-query-time=0",
    "--sql-mode=NO_BACKSLASH_ESCAPES,ANSI_QUOTES,STRICT_TRANS_TABLES",
];

/// The running test server.
pub struct MariaDbServer {
    /// Its directory: `data/`, `error.log`, the certificates.
    pub dir: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The password of `rotor_root`@`127.0.0.1`, which holds every privilege.
    pub root_password: String,
}

impl MariaDbServer {
    /// The shared server, started if it is not running.
    pub async fn get() -> Self {
        let dir = bin_dir().parent().unwrap().join("rotor-mariadb");
        let lock = File::create(bin_dir().parent().unwrap().join("rotor-mariadb.lock")).unwrap();
        lock.lock().unwrap();
        if fs::read_to_string(dir.join("flags")).ok().as_deref() == Some(FLAGS.join(" ").as_str())
            && let Some(server) = Self::running(&dir)
        {
            return server;
        }
        if let Ok(pid) = fs::read_to_string(dir.join("mysqld.pid")) {
            Command::new("kill").arg(pid.trim()).status().ok();
            std::thread::sleep(Duration::from_millis(500));
        }
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        crate::certificates::write(&dir);
        run(Command::new("chown").args(["-R", "mysql:mysql"]).arg(&dir), "chown");
        run(
            Command::new("mariadb-install-db")
                .arg("--no-defaults")
                .arg(format!("--datadir={}", dir.join("data").display()))
                .args(["--user=mysql", "--auth-root-authentication-method=normal", "--skip-test-db"]),
            "mariadb-install-db",
        );
        let port = free_port();
        let socket = dir.join("mysqld.sock");
        // The server outlives this test on purpose: the other tests share it, and `make test` stops it.
        #[allow(clippy::zombie_processes)]
        Command::new("/usr/sbin/mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", dir.join("data").display()))
            .arg(format!("--port={port}"))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={}", dir.join("mysqld.pid").display()))
            .arg(format!("--log-error={}", dir.join("error.log").display()))
            .arg(format!("--ssl-ca={}", dir.join("ca.pem").display()))
            .arg(format!("--ssl-cert={}", dir.join("server.pem").display()))
            .arg(format!("--ssl-key={}", dir.join("server.key").display()))
            .arg(format!("--general-log-file={}", dir.join("general.log").display()))
            .arg(format!("--slow-query-log-file={}", dir.join("slow.log").display()))
            .args(FLAGS)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts (make test installs mariadb-server)");
        let deadline = Instant::now() + Duration::from_secs(60);
        // mariadbd opens its TCP port before its socket exists: the first login goes through the socket.
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() || !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "mariadbd did not start: {}",
                fs::read_to_string(dir.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let root_password = uuid::Uuid::new_v4().simple().to_string();
        let mut root = Conn::new(OptsBuilder::default().socket(Some(socket.display().to_string())).user(Some("root")))
            .await
            .unwrap();
        root.query_drop(format!(
            "CREATE USER 'rotor_root'@'127.0.0.1' IDENTIFIED BY PASSWORD '{}'; \
             GRANT ALL PRIVILEGES ON *.* TO 'rotor_root'@'127.0.0.1' WITH GRANT OPTION",
            rotation_mysql::native_hash(&root_password)
        ))
        .await
        .unwrap();
        root.disconnect().await.unwrap();
        fs::write(dir.join("root-password"), &root_password).unwrap();
        fs::write(dir.join("port"), port.to_string()).unwrap();
        fs::write(dir.join("flags"), FLAGS.join(" ")).unwrap();
        Self::running(&dir).expect("the test MariaDB server answers after start")
    }

    fn running(dir: &Path) -> Option<Self> {
        let port: u16 = fs::read_to_string(dir.join("port")).ok()?.trim().parse().ok()?;
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        let root_password = fs::read_to_string(dir.join("root-password")).ok()?;
        Some(Self { dir: dir.to_owned(), port, root_password })
    }

    /// Logs in over TCP without TLS (the server accepts both).
    pub async fn login(&self, user: &str, password: &str) -> Result<Conn, mysql_async::Error> {
        Conn::new(
            OptsBuilder::default()
                .ip_or_hostname("127.0.0.1")
                .tcp_port(self.port)
                .user(Some(user))
                .pass(Some(password))
                .prefer_socket(false),
        )
        .await
    }

    /// The all-privileged test user.
    pub async fn root(&self) -> Conn {
        self.login("rotor_root", &self.root_password).await.unwrap()
    }

    /// The general and slow query logs so far.
    pub fn logs(&self) -> String {
        ["general.log", "slow.log"].iter().map(|f| fs::read_to_string(self.dir.join(f)).unwrap_or_default()).collect()
    }

    /// The CA that signed the server's certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
}
