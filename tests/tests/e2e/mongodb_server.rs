//! A MongoDB-wire server for the tests, the declared stand-in for Amazon DocumentDB and MongoDB: SecantusDB from
//! PyPI (`requirements-dev.txt`, installed into `.venv` by `make setup`), its own data directory under `target/`, a
//! free port on 127.0.0.1, SCRAM authentication required and TLS only, with a certificate from the test CA. It has
//! no localhost exception, so it starts twice: once without authentication, on a port of its own, to create the
//! root user, then with `--auth` and TLS. Its log holds connections (opened, closed, failed TLS handshakes) but no
//! commands: SecantusDB has no command log. Started once, by the first test that needs it (a file lock serialises
//! the start), and reused by the others; `make test` stops it afterwards.

use std::fs::{self, File};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mongodb::bson::{Bson, Document, doc};
use mongodb::error::{Error, ErrorKind};
use mongodb::options::{ClientOptions, Credential, ServerAddress, Tls, TlsOptions};

use crate::harness::{bin_dir, free_port, repo_root};

/// The server's flags besides its paths, port, authentication and TLS; a server started with others is replaced.
/// `DEBUG` is SecantusDB's most verbose level: it adds each connection's opening and closing to the log.
const FLAGS: &[&str] = &["--standalone", "--log-level", "DEBUG", "--cache-size", "64M"];

/// The name clients connect to: one the test certificate covers (`crate::certificates::write`).
const HOST: &str = "localhost";

/// The root user phase 1 creates, in `admin`.
const ROOT: &str = "root";

/// SecantusDB's `UserNotFound`.
const USER_NOT_FOUND: i32 = 11;

/// The running test server.
pub struct MongoServer {
    /// Its directory: `data/`, `server.log`, the certificates.
    pub dir: PathBuf,
    /// Its TLS port on 127.0.0.1 (it has no other).
    pub port: u16,
    /// The password of `root` (in `admin`, role `root`).
    pub root_password: String,
}

impl MongoServer {
    /// The shared server, started if it is not running. Panics when SecantusDB is not installed (`make setup`).
    pub fn get() -> Self {
        let target = bin_dir().parent().unwrap().to_owned();
        let dir = target.join("rotor-mongodb");
        let lock = File::create(target.join("rotor-mongodb.lock")).unwrap();
        lock.lock().unwrap();
        if fs::read_to_string(dir.join("flags")).ok().as_deref() == Some(FLAGS.join(" ").as_str())
            && let Some(server) = Self::running(&dir)
        {
            return server;
        }
        let secantusd = repo_root().join(".venv/bin/secantusd-py");
        assert!(
            secantusd.exists(),
            "{} is missing: run `make setup` (SecantusDB is in requirements-dev.txt)",
            secantusd.display()
        );
        if let Ok(pid) = fs::read_to_string(dir.join("server.pid")) {
            stop(pid.trim());
        }
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        crate::certificates::write(&dir);
        // An empty configuration file, named on the command line, so that no `secantusd.toml` of the machine's
        // (the working directory's, ~/.secantus/, /etc/secantus/) changes the server.
        fs::write(dir.join("secantusd.toml"), "").unwrap();

        let boot_port = free_port();
        let mut boot = spawn(&secantusd, &dir, boot_port, &[], "boot.log");
        wait_for_port(boot_port, &dir.join("boot.log"));
        let root_password = uuid::Uuid::new_v4().simple().to_string();
        create_root(boot_port, &root_password);
        Command::new("kill").args(["-TERM", &boot.id().to_string()]).status().unwrap();
        boot.wait().unwrap();

        let port = free_port();
        let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
        let tls = ["--auth", "--tls-cert-file", path_str(&cert), "--tls-key-file", path_str(&key)];
        // The server outlives this test on purpose: the other tests share it, and `make test` stops it.
        #[allow(clippy::zombie_processes)]
        let server = spawn(&secantusd, &dir, port, &tls, "server.log");
        fs::write(dir.join("server.pid"), server.id().to_string()).unwrap();
        wait_for_port(port, &dir.join("server.log"));
        let mut password_file =
            fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(dir.join("root-password")).unwrap();
        std::io::Write::write_all(&mut password_file, root_password.as_bytes()).unwrap();
        fs::write(dir.join("port"), port.to_string()).unwrap();
        fs::write(dir.join("flags"), FLAGS.join(" ")).unwrap();
        Self::running(&dir).expect("the test SecantusDB server answers after start")
    }

    fn running(dir: &Path) -> Option<Self> {
        let port: u16 = fs::read_to_string(dir.join("port")).ok()?.trim().parse().ok()?;
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        let root_password = fs::read_to_string(dir.join("root-password")).ok()?;
        Some(Self { dir: dir.to_owned(), port, root_password })
    }

    /// The CA that signed the server's certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The server's log so far (the second phase's: the one with authentication and TLS).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// AWS's secret shape for a MongoDB or DocumentDB user of this server (host `localhost`, which its certificate
    /// covers; TLS on).
    pub fn secret_json(&self, user: &str, password: &str, dbname: &str) -> serde_json::Value {
        serde_json::json!({
            "engine": "mongo", "host": HOST, "port": self.port, "username": user, "password": password,
            "dbname": dbname, "ssl": true,
        })
    }

    /// Options for `user` of `auth_db` at `localhost` over `tls`, connecting directly and failing within seconds.
    fn options(&self, user: &str, password: &str, auth_db: &str, tls: Tls) -> ClientOptions {
        ClientOptions::builder()
            .hosts(vec![ServerAddress::Tcp { host: HOST.to_owned(), port: Some(self.port) }])
            .direct_connection(true)
            .credential(
                Credential::builder()
                    .username(user.to_owned())
                    .password(password.to_owned())
                    .source(auth_db.to_owned())
                    .build(),
            )
            .tls(tls)
            .connect_timeout(Duration::from_secs(5))
            .server_selection_timeout(Duration::from_secs(10))
            .build()
    }

    /// A client for `user` of `auth_db`, over TLS verified against [`MongoServer::ca`]. It connects lazily: the
    /// login is tried by its first command.
    pub async fn client(&self, user: &str, password: &str, auth_db: &str) -> mongodb::Client {
        let tls = TlsOptions::builder().ca_file_path(self.ca()).build();
        mongodb::Client::with_options(self.options(user, password, auth_db, Tls::Enabled(tls))).unwrap()
    }

    /// A client for `root`.
    pub async fn root(&self) -> mongodb::Client {
        self.client(ROOT, &self.root_password, "admin").await
    }

    /// Logs in as `user` of `auth_db` (running `connectionStatus`, so the login is really tried).
    pub async fn login(&self, user: &str, password: &str, auth_db: &str) -> Result<(), Error> {
        let client = self.client(user, password, auth_db).await;
        let status = client.database(auth_db).run_command(doc! { "connectionStatus": 1 }).await;
        client.shutdown().await;
        let status = status?;
        let authenticated = status.get_document("authInfo").and_then(|info| info.get_array("authenticatedUsers"));
        assert!(
            authenticated.is_ok_and(|users| users.contains(&Bson::Document(doc! { "user": user, "db": auth_db }))),
            "the server ran a command for {user}@{auth_db} without authenticating it: {status}"
        );
        Ok(())
    }

    /// Runs `command` on `db` as `root`.
    async fn as_root(&self, db: &str, command: Document) -> Result<Document, Error> {
        let root = self.root().await;
        let reply = root.database(db).run_command(command).await;
        root.shutdown().await;
        reply
    }

    /// Creates `name` in `db` with `password` and `roles` (an array of role names or `{role, db}` documents), with
    /// the server's default mechanisms.
    pub async fn create_user(&self, db: &str, name: &str, password: &str, roles: Bson) {
        self.as_root(db, doc! { "createUser": name, "pwd": password, "roles": roles })
            .await
            .unwrap_or_else(|error| panic!("createUser {name} in {db}: {error}"));
    }

    /// Drops `name` from `db`; a user that does not exist is no error.
    pub async fn drop_user(&self, db: &str, name: &str) {
        match self.as_root(db, doc! { "dropUser": name }).await {
            Ok(_) => {}
            Err(error) if matches!(&*error.kind, ErrorKind::Command(e) if e.code == USER_NOT_FOUND) => {}
            Err(error) => panic!("dropUser {name} in {db}: {error}"),
        }
    }

    /// The roles of `name` in `db` as sorted `(role, db)` pairs; `None` when there is no such user.
    pub async fn roles_of(&self, db: &str, name: &str) -> Option<Vec<(String, String)>> {
        let reply = self
            .as_root(db, doc! { "usersInfo": { "user": name, "db": db } })
            .await
            .unwrap_or_else(|error| panic!("usersInfo {name} in {db}: {error}"));
        let users = reply.get_array("users").unwrap();
        let user = users.first()?.as_document().unwrap();
        let mut roles: Vec<(String, String)> = user
            .get_array("roles")
            .unwrap()
            .iter()
            .map(|role| {
                let role = role.as_document().unwrap();
                (role.get_str("role").unwrap().to_owned(), role.get_str("db").unwrap().to_owned())
            })
            .collect();
        roles.sort();
        Some(roles)
    }

    /// Creates the role `name` in `db` with `privileges` (`{resource, actions}` documents) and inherited `roles`.
    pub async fn create_role(&self, db: &str, name: &str, privileges: Bson, roles: Bson) {
        self.as_root(db, doc! { "createRole": name, "privileges": privileges, "roles": roles })
            .await
            .unwrap_or_else(|error| panic!("createRole {name} in {db}: {error}"));
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("the target directory's path is UTF-8")
}

/// Starts SecantusDB on 127.0.0.1:`port` with its data in `dir/data`, [`FLAGS`] and `extra`, its output in
/// `dir/log`. In a process group of its own, so an interrupted test run leaves the shared server running.
fn spawn(secantusd: &Path, dir: &Path, port: u16, extra: &[&str], log: &str) -> Child {
    let log = File::create(dir.join(log)).unwrap();
    Command::new(secantusd)
        .arg("--config")
        .arg(dir.join("secantusd.toml"))
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .arg("--storage-path")
        .arg(dir.join("data"))
        .args(FLAGS)
        .args(extra)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|error| panic!("{} does not start: {error}", secantusd.display()))
}

fn wait_for_port(port: u16, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "SecantusDB did not listen on {port}: {}",
            fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Creates [`ROOT`] on the unauthenticated first-phase server at `port`, with the Rust driver on a runtime of its
/// own (the caller may be on a runtime already, or on none).
fn create_root(port: u16, password: &str) {
    let password = password.to_owned();
    let created = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let options = ClientOptions::builder()
                .hosts(vec![ServerAddress::Tcp { host: "127.0.0.1".to_owned(), port: Some(port) }])
                .direct_connection(true)
                .server_selection_timeout(Duration::from_secs(10))
                .build();
            let client = mongodb::Client::with_options(options).unwrap();
            let created = client
                .database("admin")
                .run_command(doc! {
                    "createUser": ROOT, "pwd": password, "roles": [{ "role": "root", "db": "admin" }],
                    "mechanisms": ["SCRAM-SHA-1", "SCRAM-SHA-256"],
                })
                .await;
            client.shutdown().await;
            created.map(drop).map_err(|error| error.to_string())
        })
    })
    .join()
    .expect("the thread creating the root user does not panic");
    created.unwrap_or_else(|error| panic!("createUser {ROOT} on the first-phase SecantusDB: {error}"));
}

/// Stops the server of `pid` (a stale one: its port no longer answers, or it ran with other flags), waiting up to
/// 10 s for it to exit; SecantusDB takes a few seconds to close its storage.
fn stop(pid: &str) {
    Command::new("kill").args(["-TERM", pid]).stderr(Stdio::null()).status().ok();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Command::new("kill").args(["-0", pid]).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn the_stand_in_requires_auth_and_verified_tls() {
    let server = MongoServer::get();
    server.login(ROOT, &server.root_password, "admin").await.expect("root logs in over TLS verified against the CA");

    let wrong = server.login(ROOT, "not-the-password", "admin").await.expect_err("a wrong password is refused");
    assert!(matches!(&*wrong.kind, ErrorKind::Authentication { .. }), "{wrong}");

    let fails_fast = |tls| {
        let mut options = server.options(ROOT, &server.root_password, "admin", tls);
        options.server_selection_timeout = Some(Duration::from_secs(3));
        async move {
            let client = mongodb::Client::with_options(options).unwrap();
            let status = client.database("admin").run_command(doc! { "connectionStatus": 1 }).await;
            client.shutdown().await;
            status
        }
    };
    // Each refusal is the server's TLS handshake failing, for the reason the client gives it.
    let logged_since = |offset: usize| server.log().get(offset..).unwrap_or_default().to_owned();
    let before = server.log().len();
    let plaintext = fails_fast(Tls::Disabled).await.expect_err("a plaintext client cannot log in");
    assert!(matches!(&*plaintext.kind, ErrorKind::ServerSelection { .. }), "{plaintext}");
    assert!(logged_since(before).contains("wrong version number"), "{}", logged_since(before));
    let before = server.log().len();
    let other_ca = TlsOptions::builder().ca_file_path(server.dir.join("other-ca.pem")).build();
    let untrusted =
        fails_fast(Tls::Enabled(other_ca)).await.expect_err("a client that does not trust the CA cannot log in");
    assert!(matches!(&*untrusted.kind, ErrorKind::ServerSelection { .. }), "{untrusted}");
    assert!(logged_since(before).contains("unknown ca"), "{}", logged_since(before));

    // Unique names: the server and its users outlive the run.
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let (user, reader) = (format!("probe_{suffix}"), format!("reader_{suffix}"));
    let (password, new_password) =
        (uuid::Uuid::new_v4().simple().to_string(), uuid::Uuid::new_v4().simple().to_string());
    let find = mongodb::bson::bson!([{ "resource": { "db": "app", "collection": "" }, "actions": ["find"] }]);
    server.create_role("app", &reader, find, Bson::Array(vec![])).await;
    let roles = mongodb::bson::bson!([{ "role": &reader, "db": "app" }, { "role": "readWrite", "db": "app" }]);
    server.create_user("app", &user, &password, roles).await;
    assert_eq!(
        server.roles_of("app", &user).await,
        Some(vec![("readWrite".to_owned(), "app".to_owned()), (reader.clone(), "app".to_owned())])
    );
    let secret = server.secret_json(&user, &password, "app");
    let field = |name: &str| secret[name].as_str().unwrap().to_owned();
    server.login(&field("username"), &field("password"), &field("dbname")).await.expect("the user logs in");

    let own = server.client(&user, &password, "app").await;
    let refused = own.database("app").run_command(doc! { "updateUser": &user, "pwd": &new_password }).await;
    own.shutdown().await;
    let refused = refused.expect_err("a readWrite user cannot change its own password");
    assert!(matches!(&*refused.kind, ErrorKind::Command(e) if e.code_name == "Unauthorized"), "{refused}");
    server.login(&user, &password, "app").await.expect("the refused change left the password as it was");

    server.as_root("app", doc! { "updateUser": &user, "pwd": &new_password }).await.unwrap();
    let old = server.login(&user, &password, "app").await.expect_err("the old password is refused");
    assert!(matches!(&*old.kind, ErrorKind::Authentication { .. }), "{old}");
    server.login(&user, &new_password, "app").await.expect("the new password logs in");

    server.drop_user("app", &user).await;
    assert_eq!(server.roles_of("app", &user).await, None);
    server.drop_user("app", &user).await;
    server.as_root("app", doc! { "dropRole": &reader }).await.unwrap();
    let log = server.log();
    for secret in [&server.root_password, &password, &new_password] {
        assert!(!log.contains(secret.as_str()), "a password reached the server's log");
    }
}
