//! A Samba Active Directory domain controller for the directory tests (`ROTOR.TEST`), from Debian's `samba-ad-dc`
//! (which `infra/local/packages.sh` installs): provisioned into its own directory under `target/`, running only its
//! KDC (with kpasswd) on free ports of 127.0.0.1, the domain's password policy relaxed so that tests may change a
//! password again at once. Started once, by the first test that needs it (a file lock serialises the start), and
//! shared; `make test` stops it afterwards (`infra/local/test-servers.sh`). Provisioning needs root (the domain's
//! file ACLs), as the tests have here.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{bin_dir, free_port, run};

/// The domain's realm.
pub const REALM: &str = "ROTOR.TEST";

/// The running domain controller.
pub struct SambaDc {
    /// Its directory: `etc/smb.conf`, `private/`, `log/`, `run/samba.pid`.
    pub dir: PathBuf,
    /// The KDC's TCP port on 127.0.0.1.
    pub kdc_port: u16,
}

impl SambaDc {
    /// The shared domain controller, provisioned and started if it is not running.
    pub fn get() -> Self {
        let dir = bin_dir().parent().unwrap().join("rotor-samba");
        let lock = File::create(bin_dir().parent().unwrap().join("rotor-samba.lock")).unwrap();
        lock.lock().unwrap();
        if let Some(dc) = Self::running(&dir) {
            return dc;
        }
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        run(
            Command::new("samba-tool")
                .args(["domain", "provision", "-s", "/dev/null", "--realm", REALM, "--domain", "ROTOR"])
                .args(["--server-role=dc", "--dns-backend=NONE", "--use-rfc2307", "--host-name=dc1"])
                .arg(format!("--adminpass=Adm1n-{}", uuid::Uuid::new_v4().simple()))
                .arg(format!("--targetdir={}", dir.display()))
                .args(["--option=interfaces=127.0.0.1", "--option=bind interfaces only=yes"]),
            "samba-tool domain provision",
        );
        let (kdc_port, kpasswd_port) = (free_port(), free_port());
        let conf = dir.join("etc/smb.conf");
        let text = fs::read_to_string(&conf).unwrap();
        let services = text.lines().find(|line| line.trim_start().starts_with("server services")).unwrap();
        let extra = format!(
            "[global]\n\tkrb5 port = {kdc_port}\n\tkpasswd port = {kpasswd_port}\n\tpid directory = {dir}/run\n\
             \tncalrpc dir = {dir}/run/ncalrpc\n\twinbindd socket directory = {dir}/run/winbindd\n\
             \tlog file = {dir}/log/samba.log\n",
            dir = dir.display()
        );
        let text = text.replacen(services, "\tserver services = kdc", 1).replacen("[global]\n", &extra, 1);
        fs::write(&conf, text).unwrap();
        for sub in ["run", "log", "cache"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let dc = Self { dir: dir.clone(), kdc_port };
        run(
            dc.tool(&["domain", "passwordsettings", "set", "--complexity=off", "--min-pwd-age=0", "--max-pwd-age=0"])
                .args(["--history-length=0", "--min-pwd-length=1"]),
            "samba-tool domain passwordsettings set",
        );
        let log = File::create(dir.join("log/stdout.log")).unwrap();
        // The server outlives this test on purpose: the other tests share it, and `make test` stops it.
        #[allow(clippy::zombie_processes)]
        Command::new("samba")
            .args(["-s"])
            .arg(&conf)
            .args(["-i", "-M", "single", "--no-process-group"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("samba starts (make test installs samba-ad-dc)");
        fs::write(dir.join("kdc-port"), kdc_port.to_string()).unwrap();
        let started = Instant::now();
        loop {
            if let Some(dc) = Self::running(&dir) {
                return dc;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "the Samba KDC did not start: see {}", dir.display());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn running(dir: &Path) -> Option<Self> {
        let kdc_port: u16 = fs::read_to_string(dir.join("kdc-port")).ok()?.trim().parse().ok()?;
        std::net::TcpStream::connect(("127.0.0.1", kdc_port)).ok()?;
        Some(Self { dir: dir.to_owned(), kdc_port })
    }

    /// `samba-tool` on this domain's configuration.
    fn tool(&self, args: &[&str]) -> Command {
        let mut command = Command::new("samba-tool");
        command.args(args).arg("-s").arg(self.dir.join("etc/smb.conf"));
        command
    }

    /// The KDC's address, `127.0.0.1:port`.
    pub fn kdc(&self) -> String {
        format!("127.0.0.1:{}", self.kdc_port)
    }

    /// Creates the user `name` with `password`.
    pub fn create_user(&self, name: &str, password: &str) {
        run(&mut self.tool(&["user", "create", name, password]), "samba-tool user create");
    }

    /// Sets `name`'s password as the domain's administrator would (a reset).
    pub fn reset_password(&self, name: &str, password: &str) {
        run(
            &mut self.tool(&["user", "setpassword", name, &format!("--newpassword={password}")]),
            "samba-tool user setpassword",
        );
    }

    /// Disables the account.
    pub fn disable(&self, name: &str) {
        run(&mut self.tool(&["user", "disable", name]), "samba-tool user disable");
    }

    /// The account's key version number (`msDS-KeyVersionNumber`).
    pub fn kvno(&self, name: &str) -> u32 {
        let output = self.tool(&["user", "show", name, "--attributes=msDS-KeyVersionNumber"]).output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        text.lines()
            .find_map(|line| line.strip_prefix("msDS-KeyVersionNumber: "))
            .unwrap_or_else(|| panic!("no key version for {name}: {text}"))
            .trim()
            .parse()
            .unwrap()
    }
}
