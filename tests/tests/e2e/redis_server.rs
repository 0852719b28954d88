//! The Redis-protocol servers for the tests, one per installed [`Variant`]: the machine's own `redis-server`, and
//! Redis 6.2 and Valkey where `infra/local/packages.sh` could install them. Each has its own directory under
//! `target/`, a TLS port with a certificate from the test CA and a plaintext port (for the tests' own connections),
//! both on 127.0.0.1, ACL users from an ACL file (the `default` user off), nothing kept on disk, and the slow log
//! keeping every command (`slowlog-log-slower-than 0`). Each is started once by the first test that needs it (a
//! file lock serialises the start) and shared; `make test` stops them afterwards (`infra/local/test-servers.sh`).

use std::fmt;
use std::fs::{self, File};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

use crate::harness::{bin_dir, free_port};

/// The all-powerful ACL user the tests manage users with.
pub const ROOT: &str = "rotor_root";

/// The server's flags besides its paths and ports; a server started with others is replaced. Redis 6.2 and Valkey 8
/// accept each of them too.
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

/// A line of real Redis-protocol servers the README promises rotor works with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The machine's `redis-server` from Debian (7.0 on Debian 12); `make test` installs it.
    Redis7,
    /// Redis 6.2, which has no `ACL DRYRUN`, no selectors and no read/write key permissions (`%R~`);
    /// `infra/local/packages.sh` builds it with TLS into `target/rotor-servers/bin/redis-server-6.2`.
    Redis62,
    /// Valkey, from Debian's packages (Debian 12: its backports); `infra/local/packages.sh` unpacks it into
    /// `target/rotor-servers/bin/valkey-server`.
    Valkey,
}

impl Variant {
    /// Every variant, in the order the tests run them.
    pub const ALL: [Self; 3] = [Self::Redis7, Self::Redis62, Self::Valkey];

    /// The server's binary, or `None` when `infra/local/packages.sh` could not install it here.
    fn binary(self) -> Option<PathBuf> {
        let installed = |name: &str| {
            let path = bin_dir().parent().unwrap().join("rotor-servers/bin").join(name);
            path.exists().then_some(path)
        };
        match self {
            Self::Redis7 => Some("redis-server".into()),
            Self::Redis62 => installed("redis-server-6.2"),
            Self::Valkey => installed("valkey-server"),
        }
    }

    /// The name of its directory under `target/` (also its lock's, with `.lock`).
    fn dir_name(self) -> &'static str {
        match self {
            Self::Redis7 => "rotor-redis",
            Self::Redis62 => "rotor-redis-6.2",
            Self::Valkey => "rotor-valkey",
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Redis7 => "Redis 7",
            Self::Redis62 => "Redis 6.2",
            Self::Valkey => "Valkey",
        })
    }
}

/// Starts `binary` in `dir` (made afresh: the test CA's certificates, an ACL file whose only user is [`ROOT`], the
/// log) with TLS and plaintext ports on 127.0.0.1 and `flags` last, and waits until it listens: its process, its
/// plaintext and TLS ports, and [`ROOT`]'s password. `what` names the server in a failure.
pub fn spawn_in(binary: &Path, dir: &Path, flags: &[&str], what: &str) -> (std::process::Child, u16, u16, String) {
    fs::create_dir_all(dir).unwrap();
    crate::certificates::write(dir);
    let root_password = uuid::Uuid::new_v4().simple().to_string();
    fs::write(
        dir.join("users.acl"),
        format!("user default off\nuser {ROOT} on {} ~* &* +@all\n", rotation_redis::password_hash(&root_password)),
    )
    .unwrap();
    let (port, tls_port) = (free_port(), free_port());
    let process = Command::new(binary)
        .args(["--port", &port.to_string(), "--tls-port", &tls_port.to_string()])
        .arg("--dir")
        .arg(dir)
        .arg("--aclfile")
        .arg(dir.join("users.acl"))
        .arg("--logfile")
        .arg(dir.join("redis.log"))
        .arg("--tls-cert-file")
        .arg(dir.join("server.pem"))
        .arg("--tls-key-file")
        .arg(dir.join("server.key"))
        .arg("--tls-ca-cert-file")
        .arg(dir.join("ca.pem"))
        .args(flags)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("{what} ({}) does not start: {error}", binary.display()));
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} ({}) did not start: {}",
            binary.display(),
            fs::read_to_string(dir.join("redis.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (process, port, tls_port, root_password)
}

/// A running test server.
#[derive(Clone)]
pub struct RedisServer {
    /// Which server it is.
    pub variant: Variant,
    /// The version the server reports (`valkey_version` for Valkey, `redis_version` otherwise).
    pub version: String,
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
    /// The shared server of the machine's own `redis-server` ([`Variant::Redis7`]), started if it is not running.
    pub async fn get() -> Self {
        Self::get_variant(Variant::Redis7).await.expect("redis-server is installed (make test installs it)")
    }

    /// The shared server of `variant`, started if it is not running; `None` when the variant is not installed here
    /// (`infra/local/packages.sh` says why).
    pub async fn get_variant(variant: Variant) -> Option<Self> {
        let binary = variant.binary()?;
        let target = bin_dir().parent().unwrap().to_owned();
        let dir = target.join(variant.dir_name());
        let lock = File::create(target.join(format!("{}.lock", variant.dir_name()))).unwrap();
        lock.lock().unwrap();
        if fs::read_to_string(dir.join("flags")).ok().as_deref() == Some(FLAGS.join(" ").as_str())
            && let Some(server) = Self::running(variant, &dir).await
        {
            return Some(server);
        }
        if let Ok(pid) = fs::read_to_string(dir.join("redis.pid")) {
            Command::new("kill").arg(pid.trim()).status().ok();
            std::thread::sleep(Duration::from_millis(300));
        }
        let _ = fs::remove_dir_all(&dir);
        let pidfile = dir.join("redis.pid").display().to_string();
        let mut flags = vec!["--pidfile", pidfile.as_str()];
        flags.extend(FLAGS);
        // The server outlives this test on purpose: the other tests share it, and `make test` stops it.
        let (_server, port, tls_port, root_password) = spawn_in(&binary, &dir, &flags, &variant.to_string());
        fs::write(dir.join("root-password"), &root_password).unwrap();
        fs::write(dir.join("ports"), format!("{port} {tls_port}")).unwrap();
        fs::write(dir.join("flags"), FLAGS.join(" ")).unwrap();
        Some(
            Self::running(variant, &dir)
                .await
                .unwrap_or_else(|| panic!("the test {variant} server answers after start")),
        )
    }

    /// Runs `test` against each installed variant's server in turn, each to its end even when another failed, and
    /// fails naming every variant it failed on; a variant not installed here is named on stderr and skipped.
    pub async fn on_every_variant<F, Fut>(test: F)
    where
        F: Fn(Self) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut failures = Vec::new();
        for variant in Variant::ALL {
            let Some(server) = Self::get_variant(variant).await else {
                eprintln!("{variant} is not installed here (infra/local/packages.sh says why): skipped");
                continue;
            };
            let name = format!("{variant} ({})", server.version);
            // The test runs as a task of its own so that its panic is caught and the next variant still runs.
            match tokio::spawn(test(server)).await {
                Ok(()) => eprintln!("passed on {name}"),
                Err(error) => {
                    let panic = error.try_into_panic().map_or_else(
                        |error| error.to_string(),
                        |panic| {
                            panic
                                .downcast_ref::<String>()
                                .cloned()
                                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                                .unwrap_or_default()
                        },
                    );
                    failures.push(format!("failed on {name}: {panic}"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    async fn running(variant: Variant, dir: &Path) -> Option<Self> {
        let ports = fs::read_to_string(dir.join("ports")).ok()?;
        let (port, tls_port) = ports.trim().split_once(' ')?;
        let mut server = Self {
            variant,
            version: String::new(),
            dir: dir.to_owned(),
            port: port.parse().ok()?,
            tls_port: tls_port.parse().ok()?,
            root_password: fs::read_to_string(dir.join("root-password")).ok()?,
        };
        let mut root = server.login(ROOT, &server.root_password).await.ok()?;
        let info: String = redis::cmd("INFO").arg("server").query_async(&mut root).await.ok()?;
        let field = |name: &str| info.lines().find_map(|line| line.strip_prefix(name).map(str::trim));
        server.version = field("valkey_version:").or_else(|| field("redis_version:"))?.to_owned();
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
