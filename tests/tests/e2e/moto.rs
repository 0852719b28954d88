//! moto's server (from the repo's venv), for the Secrets Manager cross-check and as the RDS API.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;

use crate::harness::{client_for, free_port, repo_root};

/// moto's server (from the repo's venv), killed on drop.
pub struct Moto {
    child: Child,
    /// A Secrets Manager client of moto.
    pub client: Client,
    /// moto's URL.
    pub url: String,
}

impl Moto {
    /// Starts a moto server on a free port.
    pub fn start() -> Self {
        Self::start_with_env(&[])
    }

    /// Starts a moto server with extra environment (`INITIAL_NO_AUTH_ACTION_COUNT` makes it check request
    /// signatures and IAM policies after that many calls).
    pub fn start_with_env(env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let venv = repo_root().join(".venv/bin/moto_server");
        let program = if venv.exists() { venv } else { "moto_server".into() };
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server runs (make test installs moto[server] into .venv)");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let url = format!("http://127.0.0.1:{port}");
        Self { child, client: client_for(&url), url }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
