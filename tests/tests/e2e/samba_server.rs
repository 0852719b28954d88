//! A Samba Active Directory domain controller for the directory tests (`ROTOR.TEST`), from Debian's `samba-ad-dc`
//! (which `infra/local/packages.sh` installs): provisioned into its own directory under `target/`, running its KDC
//! (with kpasswd, on free ports) and its LDAP server (LDAPS on 636, StartTLS on 389, a certificate from the test CA),
//! the domain's password policy relaxed so that tests may change a password again at once. Samba 4.17 always
//! serves LDAP on 389 and 636, so each checkout's domain controller listens on a loopback address of its own
//! (`127.0.x.y`, from the checkout's path, added to `lo` when missing): a CI clone and a working copy on one
//! machine do not collide. Started once, by the first test that needs it (a file lock serialises the start), and
//! shared; `make test` stops it afterwards (`infra/local/test-servers.sh`). Provisioning and the address need root
//! (the domain's file ACLs, `ip addr add`), as the tests have here.

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
    /// The loopback address it listens on.
    pub ip: String,
    /// The KDC's TCP port.
    pub kdc_port: u16,
}

/// This checkout's loopback address for its domain controller: `127.0.x.y` from a hash of `dir`.
fn address_for(dir: &Path) -> String {
    let hash = dir.to_string_lossy().bytes().fold(5381u32, |h, b| h.wrapping_mul(33) ^ u32::from(b));
    format!("127.0.{}.{}", 100 + hash % 100, 2 + (hash >> 8) % 250)
}

/// Adds `ip` to the loopback interface unless it is there (Samba serves only an interface's own address).
fn ensure_address(ip: &str) {
    let shown = Command::new("ip").args(["-o", "addr", "show", "dev", "lo"]).output().expect("ip runs");
    if String::from_utf8_lossy(&shown.stdout).contains(&format!("inet {ip}/")) {
        return;
    }
    run(Command::new("ip").args(["addr", "add", &format!("{ip}/32"), "dev", "lo"]), "ip addr add (needs root)");
}

impl SambaDc {
    /// The shared domain controller, provisioned and started if it is not running.
    pub fn get() -> Self {
        let dir = bin_dir().parent().unwrap().join("rotor-samba");
        let ip = address_for(&dir);
        let lock = File::create(bin_dir().parent().unwrap().join("rotor-samba.lock")).unwrap();
        lock.lock().unwrap();
        ensure_address(&ip);
        if let Some(dc) = Self::running(&dir) {
            return dc;
        }
        // One provisioned by an older harness, or half started: stopped before its directory goes.
        if let Some(pid) = fs::read_to_string(dir.join("run/samba.pid")).ok().and_then(|p| p.trim().parse::<i32>().ok())
        {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            std::thread::sleep(Duration::from_millis(500));
        }
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let admin_password = format!("Adm1n-{}", uuid::Uuid::new_v4().simple());
        run(
            Command::new("samba-tool")
                .args(["domain", "provision", "-s", "/dev/null", "--realm", REALM, "--domain", "ROTOR"])
                .args(["--server-role=dc", "--dns-backend=NONE", "--use-rfc2307", "--host-name=dc1"])
                .arg(format!("--adminpass={admin_password}"))
                .arg(format!("--targetdir={}", dir.display()))
                .args(["--option=interfaces=127.0.0.1", "--option=bind interfaces only=yes"]),
            "samba-tool domain provision",
        );
        let (kdc_port, kpasswd_port) = (free_port(), free_port());
        let tls = dir.join("tls");
        fs::create_dir_all(&tls).unwrap();
        crate::certificates::write_for(&tls, &[&ip]);
        // Samba refuses a key file others may read.
        fs::set_permissions(tls.join("server.key"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let conf = dir.join("etc/smb.conf");
        let text = fs::read_to_string(&conf).unwrap();
        let line = |name: &str| text.lines().find(|line| line.trim_start().starts_with(name)).unwrap().to_owned();
        let extra = format!(
            "[global]\n\tkrb5 port = {kdc_port}\n\tkpasswd port = {kpasswd_port}\n\tpid directory = {dir}/run\n\
             \tncalrpc dir = {dir}/run/ncalrpc\n\twinbindd socket directory = {dir}/run/winbindd\n\
             \tlog file = {dir}/log/samba.log\n\ttls enabled = yes\n\ttls keyfile = {tls}/server.key\n\
             \ttls certfile = {tls}/server.pem\n\ttls cafile = {tls}/ca.pem\n",
            dir = dir.display(),
            tls = tls.display()
        );
        let text = text
            .replacen(&line("server services"), "\tserver services = kdc, ldap", 1)
            .replacen(&line("interfaces"), &format!("\tinterfaces = {ip}"), 1)
            .replacen("[global]\n", &extra, 1);
        fs::write(&conf, text).unwrap();
        for sub in ["run", "log", "cache"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let dc = Self { dir: dir.clone(), ip: ip.clone(), kdc_port };
        run(
            dc.tool(&["domain", "passwordsettings", "set", "--complexity=off", "--min-pwd-age=0", "--max-pwd-age=0"])
                .args(["--history-length=0", "--min-pwd-length=1"]),
            "samba-tool domain passwordsettings set",
        );
        // AWS Managed Microsoft AD's own OU, named after the NetBIOS name: the only users Directory Service resets.
        run(&mut dc.tool(&["ou", "create", "OU=ROTOR,DC=rotor,DC=test"]), "samba-tool ou create");
        // The administrator's password, for the local endpoint's Directory Service (its owner's alone).
        let file = dir.join("admin-password");
        fs::write(&file, &admin_password).unwrap();
        fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
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
            if let Some(dc) = Self::running(&dir).filter(|dc| dc.serves_ldap()) {
                return dc;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the Samba KDC and LDAP server did not start: see {}",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn running(dir: &Path) -> Option<Self> {
        fs::metadata(dir.join("admin-password")).ok()?;
        let kdc_port: u16 = fs::read_to_string(dir.join("kdc-port")).ok()?.trim().parse().ok()?;
        let ip = address_for(dir);
        std::net::TcpStream::connect((ip.as_str(), kdc_port)).ok()?;
        let dc = Self { dir: dir.to_owned(), ip, kdc_port };
        dc.serves_ldap().then_some(dc)
    }

    /// Whether LDAPS answers.
    fn serves_ldap(&self) -> bool {
        std::net::TcpStream::connect((self.ip.as_str(), 636)).is_ok()
    }

    /// The test CA that signed the LDAP server's certificate.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("tls/ca.pem")
    }

    /// The CA that signed nothing here.
    pub fn other_ca(&self) -> PathBuf {
        self.dir.join("tls/other-ca.pem")
    }

    /// The file holding the domain administrator's password (mode 0600).
    pub fn admin_password_file(&self) -> PathBuf {
        self.dir.join("admin-password")
    }

    /// The local endpoint's options serving this domain as Directory Service directory `d-0123456789`
    /// (`rotor.test`, its OU `OU=ROTOR`).
    pub fn endpoint_args(&self) -> Vec<String> {
        vec![
            "--directory-ldap".into(),
            format!("ldaps://Administrator%40rotor.test@{}:636", self.ip),
            "--directory-ldap-password-file".into(),
            self.admin_password_file().display().to_string(),
            "--directory-ca".into(),
            self.ca().display().to_string(),
            "--directory-name".into(),
            "rotor.test".into(),
        ]
    }

    /// The domain's naming context.
    pub fn base_dn(&self) -> &'static str {
        "DC=rotor,DC=test"
    }

    /// `samba-tool` on this domain's configuration.
    fn tool(&self, args: &[&str]) -> Command {
        let mut command = Command::new("samba-tool");
        command.args(args).arg("-s").arg(self.dir.join("etc/smb.conf"));
        command
    }

    /// The KDC's address, `ip:port`.
    pub fn kdc(&self) -> String {
        format!("{}:{}", self.ip, self.kdc_port)
    }

    /// `samba-tool` with `args` on this domain, run to its end.
    pub fn samba_tool(&self, args: &[&str]) {
        run(&mut self.tool(args), "samba-tool");
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

    /// Whether the domain's KDC takes `password` for `sam` (the tests' own AS exchange).
    pub async fn kerberos_accepts(&self, sam: &str, password: &str) -> bool {
        let principal = rotation_directory::Principal::new(sam, REALM).unwrap();
        let kdc = rotation_directory::Kdc::new(self.kdc(), Duration::from_secs(5));
        kdc.authenticate(&principal, rotation_directory::ProofCredential::Password(password)).await.is_ok()
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
