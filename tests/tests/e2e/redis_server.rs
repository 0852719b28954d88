//! A Redis server for the tests, from the machine's own `redis-server`: its own directory under `target/`, a TLS
//! port with a certificate from the test CA and a plaintext port (for the tests' own connections), both on
//! 127.0.0.1, ACL users from an ACL file (the `default` user off), nothing kept on disk, and the slow log keeping
//! every command (`slowlog-log-slower-than 0`). Started once by the first test that needs it (a file lock
//! serialises the start) and shared; `make test` stops it afterwards.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

use crate::harness::{bin_dir, free_port};

/// The all-powerful ACL user the tests manage users with.
pub const ROOT: &str = "rotor_root";

/// The server's flags besides its paths and ports; a server started with others is replaced.
const FLAGS: &[&str] = &[
    "--bind",
    "127.0.0.1",
    "--protected-mode",
    "no",
    "--save",
    "",
    "--appendonly",
    "no",
    "--tls-auth-clients",
    "no",
    "--slowlog-log-slower-than",
    "0",
    "--slowlog-max-len",
    "100000",
    "--maxclients",
    "500",
];

/// The running test server.
pub struct RedisServer {
    /// Its directory: the ACL file, the log, the certificates.
    pub dir: PathBuf,
    /// Its TLS port on 127.0.0.1 (what rotor connects to).
    pub tls_port: u16,
    /// Its plaintext port on 127.0.0.1 (the tests' own connections).
    pub port: u16,
    /// The password of [`ROOT`].
    pub root_password: String,
}

impl RedisServer {
    /// The shared server, started if it is not running.
    pub async fn get() -> Self {
        let dir = bin_dir().parent().unwrap().join("rotor-redis");
        let lock = File::create(bin_dir().parent().unwrap().join("rotor-redis.lock")).unwrap();
        lock.lock().unwrap();
        if fs::read_to_string(dir.join("flags")).ok().as_deref() == Some(FLAGS.join(" ").as_str())
            && let Some(server) = Self::running(&dir).await
        {
            return server;
        }
        if let Ok(pid) = fs::read_to_string(dir.join("redis.pid")) {
            Command::new("kill").arg(pid.trim()).status().ok();
            std::thread::sleep(Duration::from_millis(300));
        }
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        crate::certificates::write(&dir);
        let root_password = uuid::Uuid::new_v4().simple().to_string();
        fs::write(
            dir.join("users.acl"),
            format!("user default off\nuser {ROOT} on {} ~* &* +@all\n", rotation_redis::password_hash(&root_password)),
        )
        .unwrap();
        let (port, tls_port) = (free_port(), free_port());
        // The server outlives this test on purpose: the other tests share it, and `make test` stops it.
        #[allow(clippy::zombie_processes)]
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--tls-port", &tls_port.to_string()])
            .arg("--dir")
            .arg(&dir)
            .arg("--aclfile")
            .arg(dir.join("users.acl"))
            .arg("--pidfile")
            .arg(dir.join("redis.pid"))
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .arg("--tls-cert-file")
            .arg(dir.join("server.pem"))
            .arg("--tls-key-file")
            .arg(dir.join("server.key"))
            .arg("--tls-ca-cert-file")
            .arg(dir.join("ca.pem"))
            .args(FLAGS)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts (make test installs redis-server)");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start: {}",
                fs::read_to_string(dir.join("redis.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        fs::write(dir.join("root-password"), &root_password).unwrap();
        fs::write(dir.join("ports"), format!("{port} {tls_port}")).unwrap();
        fs::write(dir.join("flags"), FLAGS.join(" ")).unwrap();
        Self::running(&dir).await.expect("the test Redis server answers after start")
    }

    async fn running(dir: &Path) -> Option<Self> {
        let ports = fs::read_to_string(dir.join("ports")).ok()?;
        let (port, tls_port) = ports.trim().split_once(' ')?;
        let server = Self {
            dir: dir.to_owned(),
            port: port.parse().ok()?,
            tls_port: tls_port.parse().ok()?,
            root_password: fs::read_to_string(dir.join("root-password")).ok()?,
        };
        server.login(ROOT, &server.root_password).await.ok()?;
        Some(server)
    }

    /// Logs in over the plaintext port.
    pub async fn login(&self, user: &str, password: &str) -> redis::RedisResult<MultiplexedConnection> {
        use redis::IntoConnectionInfo;
        let info =
            redis::ConnectionAddr::Tcp("127.0.0.1".into(), self.port).into_connection_info()?.set_redis_settings(
                redis::RedisConnectionInfo::default().set_username(user).set_password(password).set_skip_set_lib_name(),
            );
        redis::Client::open(info)?.get_multiplexed_async_connection().await
    }

    /// [`ROOT`]'s connection.
    pub async fn root(&self) -> MultiplexedConnection {
        self.login(ROOT, &self.root_password).await.unwrap()
    }

    /// Runs a command as [`ROOT`].
    pub async fn run(&self, args: &[&str]) -> redis::Value {
        let mut command = redis::cmd(args[0]);
        for arg in &args[1..] {
            command.arg(*arg);
        }
        command.query_async(&mut self.root().await).await.unwrap()
    }

    /// Every command in the slow log (which keeps every command), as the server shows it.
    pub async fn slow_log(&self) -> String {
        format!("{:?}", self.run(&["SLOWLOG", "GET", "-1"]).await)
    }

    /// The CA that signed the server's certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
}
