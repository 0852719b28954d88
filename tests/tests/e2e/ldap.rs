//! Directory accounts end to end: `rotate-ldap` through the Lambda runtime API and the local endpoint, against a
//! real OpenLDAP `slapd` (`slapd_server.rs`: the Password Modify extended operation) and a real Samba Active
//! Directory domain controller (`samba_server.rs`: `unicodePwd`), over LDAPS verified by the test CA. Every
//! rotation is checked by binding with the tests' own client; on Samba the old password is also refused by the
//! domain's KDC.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Function, Harness, unique};
use crate::samba_server::{REALM, SambaDc};
use crate::slapd_server::{ADMIN_DN, PEOPLE, ROOT_DN, Slapd, bind};

/// The ARN prefix of the local endpoint's secrets.
const ARN_PREFIX: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:";

/// One user secret rotated by `rotate-ldap`, with its admin's when the strategy needs one.
struct Case {
    h: Harness,
    arn: String,
    /// The LDAPS URL the tests' own client binds to.
    url: String,
    ca: std::path::PathBuf,
    admin_password: Option<String>,
}

/// `rotate-ldap` with `strategy` and `env`, a user secret naming `username` with `password` on `host:port`, and
/// (for the admin strategies) an admin secret for `admin`.
async fn setup(
    strategy: &str,
    (host, port, ca): (&str, u16, &std::path::Path),
    (username, password): (&str, &str),
    admin: Option<(&str, &str)>,
    env: Vec<(&str, String)>,
) -> Case {
    let admin_name = unique("ldap-admin");
    let mut function_env = vec![
        ("ROTATION_STRATEGY".to_string(), strategy.to_string()),
        ("TLS_CA_BUNDLE".to_string(), ca.display().to_string()),
        ("TEST_ATTEMPTS".to_string(), "2".to_string()),
        ("CONNECT_TIMEOUT_SECONDS".to_string(), "3".to_string()),
        ("ADMIN_SECRET_ARNS".to_string(), format!("{ARN_PREFIX}{admin_name}-*")),
    ];
    function_env.extend(env.into_iter().map(|(k, v)| (k.to_string(), v)));
    let h = Harness::start(vec![Function { name: "rotate-ldap", env: function_env }]).await;
    let mut secret = json!({"engine": "ldap", "host": host, "port": port, "username": username, "password": password, "team": "kept"});
    if let Some((admin, admin_password)) = admin {
        let value =
            json!({"engine": "ldap", "host": host, "port": port, "username": admin, "password": admin_password});
        secret["masterarn"] = json!(h.create_secret(&admin_name, &value.to_string()).await);
    }
    let arn = h.create_secret(&unique("ldap-app"), &secret.to_string()).await;
    Case {
        h,
        arn,
        url: format!("ldaps://{host}:{port}"),
        ca: ca.to_owned(),
        admin_password: admin.map(|(_, p)| p.to_owned()),
    }
}

impl Case {
    async fn secret(&self, stage: &str) -> Value {
        serde_json::from_str(&self.h.value(&self.arn, stage).await).unwrap()
    }

    async fn logs_in(&self, secret: &Value) -> bool {
        let (who, password) = (secret["username"].as_str().unwrap(), secret["password"].as_str().unwrap());
        bind(&self.url, &self.ca, who, password).await.is_ok()
    }

    async fn rotate(&self) -> Value {
        self.h.rotate(&self.arn, "rotate-ldap").await;
        self.h.wait_rotation(&self.arn).await
    }

    /// Five rotations: after each, AWSCURRENT binds and the one before is refused; no password in any log line
    /// (nor in `server_log`, the directory's own). Returns every AWSCURRENT, the first included.
    async fn five_rotations(&self, server_log: impl Fn() -> String) -> Vec<Value> {
        let mut seen = vec![self.secret("AWSCURRENT").await];
        for round in 1..=5 {
            let record = self.rotate().await;
            assert_eq!(record["state"], "succeeded", "round {round}: {record}\n{}", self.h.all_logs());
            let current = self.secret("AWSCURRENT").await;
            assert_ne!(current["password"], seen.last().unwrap()["password"]);
            assert_eq!(current["team"], "kept", "other fields are kept");
            assert!(self.logs_in(&current).await, "round {round}: AWSCURRENT binds");
            seen.push(current);
        }
        self.assert_no_leaks(&seen, &server_log());
        seen
    }

    fn assert_no_leaks(&self, seen: &[Value], server_log: &str) {
        let mut values: Vec<String> = seen.iter().map(|s| s["password"].as_str().unwrap().to_owned()).collect();
        values.extend(self.admin_password.clone());
        for value in &values {
            assert!(!server_log.contains(value.as_str()), "a password is in the directory's log");
        }
        self.h.assert_no_leaks(&values);
    }

    async fn expect_failure(&self, step: &str, error_type: &str, says: &str) -> Value {
        let record = self.rotate().await;
        assert_eq!(record["state"], "failed", "{record}");
        assert_eq!(record["step"], step, "{record}");
        assert_eq!(record["error_type"], error_type, "{record}");
        assert!(record["error_message"].as_str().unwrap().contains(says), "{says:?} in {record}");
        self.h.unstick(&self.arn).await;
        record
    }
}

// ---- OpenLDAP ----

fn slapd_at(slapd: &Slapd) -> (&'static str, u16, std::path::PathBuf) {
    ("127.0.0.1", slapd.ldaps_port, slapd.ca())
}

#[tokio::test]
async fn openldap_an_account_changes_its_own_password_five_times_and_each_old_one_is_refused() {
    let slapd = Slapd::start();
    let dn = slapd.create_user(&unique("svc"), "Initial-Pass-01").await;
    let (host, port, ca) = slapd_at(&slapd);
    let case = setup("single-user", (host, port, &ca), (&dn, "Initial-Pass-01"), None, vec![]).await;
    let seen = case.five_rotations(|| slapd.log()).await;
    for old in &seen[..5] {
        assert!(!case.logs_in(old).await, "an old password is refused");
    }
    assert!(slapd.log().contains("EXT oid=1.3.6.1.4.1.4203.1.11.1"), "by the Password Modify extended operation");
}

#[tokio::test]
async fn openldap_a_pinned_admin_resets_a_hostile_name_and_refuses_the_root_dn_and_names_outside_the_base() {
    let slapd = Slapd::start();
    // `,`, `+`, `=`, `\`, `#`, `"`, unicode and a would-be DN in one common name.
    let cn = format!("#evil, cn=root+ou=x \\ \"ü名\" {}", unique("h"));
    let dn = slapd.create_user(&cn, "Initial-Pass-02").await;
    let (host, port, ca) = slapd_at(&slapd);
    let admin = Some((ADMIN_DN, slapd.admin_password.as_str()));
    let base = vec![("LDAP_USER_BASE_DN", PEOPLE.to_string())];
    let case = setup("admin", (host, port, &ca), (&dn, "Initial-Pass-02"), admin, base.clone()).await;
    case.five_rotations(|| slapd.log()).await;
    assert!(!slapd.logs_in(&dn, "Initial-Pass-02").await, "the first password is refused");
    assert!(slapd.logs_in(ROOT_DN, &slapd.root_password).await, "the root DN is untouched");

    // The root DN, proven by its own password: refused as privileged, without LDAP_USER_BASE_DN in the way.
    let root = setup("admin", (host, port, &ca), (ROOT_DN, &slapd.root_password), admin, vec![]).await;
    root.expect_failure("setSecret", "ConfusedDeputy", "olcRootDN").await;
    assert!(slapd.logs_in(ROOT_DN, &slapd.root_password).await, "the root DN's password is unchanged");

    // With the base set, the root DN is refused before anything is sent (the admin, outside it, is not).
    let outside = setup("admin", (host, port, &ca), (ROOT_DN, &slapd.root_password), admin, base).await;
    outside.expect_failure("createSecret", "InvalidSecret", "outside LDAP_USER_BASE_DN").await;
}

#[tokio::test]
async fn openldap_an_admin_that_cannot_read_cn_config_cannot_tell_a_root_dn_and_is_refused_unless_allowed() {
    let slapd = Slapd::start_with(false);
    let dn = slapd.create_user(&unique("svc"), "Initial-Pass-06").await;
    let (host, port, ca) = slapd_at(&slapd);
    let admin = Some((ADMIN_DN, slapd.admin_password.as_str()));
    let case = setup("admin", (host, port, &ca), (&dn, "Initial-Pass-06"), admin, vec![]).await;
    case.expect_failure("setSecret", "ConfusedDeputy", "cannot read cn=config").await;
    assert!(slapd.logs_in(&dn, "Initial-Pass-06").await, "nothing changed");
    let allowed = vec![("ALLOW_PRIVILEGED_USERS", "true".to_string())];
    let case = setup("admin", (host, port, &ca), (&dn, "Initial-Pass-06"), admin, allowed).await;
    let record = case.rotate().await;
    assert_eq!(record["state"], "succeeded", "the operator's opt-out: {record}");
}

#[tokio::test]
async fn openldap_an_untrusted_ca_a_wrong_password_and_a_silent_server_fail_with_the_cause_and_nothing_changes() {
    let slapd = Slapd::start();
    let dn = slapd.create_user(&unique("svc"), "Initial-Pass-03").await;
    let (host, port, _) = slapd_at(&slapd);

    // A CA that signed nothing here: the handshake fails, and no bind reaches the directory.
    let binds_before = slapd.log().matches(" BIND ").count();
    let untrusted = setup("single-user", (host, port, &slapd.other_ca()), (&dn, "Initial-Pass-03"), None, vec![]).await;
    untrusted.expect_failure("setSecret", "TargetTlsFailed", "TLS").await;
    assert_eq!(slapd.log().matches(" BIND ").count(), binds_before, "no bind at all");
    assert!(slapd.logs_in(&dn, "Initial-Pass-03").await);

    // A wrong current password: refused, named, and the account keeps its password.
    let wrong = setup("single-user", (host, port, &slapd.ca()), (&dn, "Wrong-Pass-03"), None, vec![]).await;
    let record = wrong.expect_failure("setSecret", "TargetAuthenticationFailed", "logs in as").await;
    assert!(!record.to_string().contains("Wrong-Pass-03"), "{record}");
    assert!(slapd.logs_in(&dn, "Initial-Pass-03").await, "AWSCURRENT's real password still binds");

    // A server that accepts the connection and never answers: bounded by CONNECT_TIMEOUT_SECONDS.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let case = setup("single-user", (host, port, &slapd.ca()), (&dn, "Initial-Pass-03"), None, vec![]).await;
    let started = std::time::Instant::now();
    case.expect_failure("setSecret", "TargetUnreachable", "no answer").await;
    assert!(started.elapsed() < Duration::from_secs(30));
    drop(silent);
}

#[tokio::test]
async fn openldap_starttls_comes_before_the_bind_on_a_plain_ldap_port() {
    let slapd = Slapd::start();
    let dn = slapd.create_user(&unique("svc"), "Initial-Pass-05").await;
    let ports = vec![("LDAP_STARTTLS_PORTS", slapd.ldap_port.to_string())];
    let case =
        setup("single-user", ("127.0.0.1", slapd.ldap_port, &slapd.ca()), (&dn, "Initial-Pass-05"), None, ports).await;
    let record = case.rotate().await;
    assert_eq!(record["state"], "succeeded", "{record}\n{}", case.h.all_logs());
    let log = slapd.log();
    let starttls = log.find("EXT oid=1.3.6.1.4.1.1466.20037").expect("StartTLS was sent");
    let user_bind = log.find(&format!("BIND dn=\"{dn}\"")).expect("the account bound");
    assert!(starttls < user_bind, "StartTLS before the account's first bind");
    assert!(!log.contains("ssf=0 ssf=0") && !log.contains("err=13"), "no bind without TLS");
    assert!(slapd.logs_in(&dn, case.secret("AWSCURRENT").await["password"].as_str().unwrap()).await);
}

#[tokio::test]
async fn openldap_a_pending_version_naming_another_account_is_refused() {
    let slapd = Slapd::start();
    let dn = slapd.create_user(&unique("svc"), "Initial-Pass-04").await;
    let victim = slapd.create_user(&unique("victim"), "Victim-Pass-04").await;
    let (host, port, ca) = slapd_at(&slapd);
    let case = setup("single-user", (host, port, &ca), (&dn, "Initial-Pass-04"), None, vec![]).await;
    let mut pending = case.secret("AWSCURRENT").await;
    pending["username"] = json!(victim);
    pending["password"] = json!("Attacker-Pass-04");
    let (error_type, message) = case.h.set_secret_with_pending("rotate-ldap", &case.arn, &pending).await.unwrap_err();
    assert_eq!(error_type, "ConfusedDeputy", "{message}");
    assert!(message.contains("another user"), "{message}");
    assert!(slapd.logs_in(&victim, "Victim-Pass-04").await, "the other account is untouched");
    assert!(slapd.logs_in(&dn, "Initial-Pass-04").await, "and so is this one");
}

// ---- Active Directory (Samba) ----

fn samba_at(dc: &SambaDc) -> (String, u16, std::path::PathBuf) {
    (dc.ip.clone(), 636, dc.ca())
}

/// A fresh account `sam` in `OU=<ou>`, named `cn`, with `password`, and its DN.
fn samba_user(dc: &SambaDc, ou: &str, sam: &str, cn: &str, password: &str) -> String {
    dc.samba_tool(&["user", "create", sam, password, &format!("--userou=OU={ou}")]);
    let cn_escaped = rotation_directory::escape_dn_value(cn);
    if cn != sam {
        // samba-tool pastes the name into a DN as it is: it gets it escaped.
        dc.samba_tool(&["user", "rename", sam, &format!("--force-new-cn={cn_escaped}")]);
    }
    format!("CN={cn_escaped},OU={ou},{}", dc.base_dn())
}

fn samba_ou(dc: &SambaDc) -> String {
    let ou = unique("Apps");
    dc.samba_tool(&["ou", "create", &format!("OU={ou},{}", dc.base_dn())]);
    ou
}

fn samba_log(dc: &SambaDc) -> String {
    std::fs::read_to_string(dc.dir.join("log/samba.log")).unwrap_or_default()
}

#[tokio::test]
async fn active_directory_an_account_named_by_its_upn_changes_its_own_password_and_kerberos_refuses_the_old_one() {
    let dc = SambaDc::get();
    let ou = samba_ou(&dc);
    let sam = unique("svc").replace('-', "_");
    samba_user(&dc, &ou, &sam, &sam, "Initial-Pass-11");
    let upn = format!("{sam}@{}", REALM.to_lowercase());
    let (host, port, ca) = samba_at(&dc);
    let case = setup("single-user", (&host, port, &ca), (&upn, "Initial-Pass-11"), None, vec![]).await;
    let seen = case.five_rotations(|| samba_log(&dc)).await;
    let last = seen.last().unwrap()["password"].as_str().unwrap().to_owned();
    assert!(dc.kerberos_accepts(&sam, &last).await, "the KDC takes the new password");
    for old in &seen[..5] {
        assert!(!case.logs_in(old).await, "an old password is refused by LDAP");
        assert!(!dc.kerberos_accepts(&sam, old["password"].as_str().unwrap()).await, "and by Kerberos");
    }
}

#[tokio::test]
async fn active_directory_an_admin_resets_a_hostile_dn_and_refuses_privileged_accounts() {
    let dc = SambaDc::get();
    let ou = samba_ou(&dc);
    let admin_sam = unique("adm").replace('-', "_");
    let admin_dn = samba_user(&dc, &ou, &admin_sam, &admin_sam, "Admin-Pass-12");
    // Delegated, not a domain admin: Account Operators may reset ordinary accounts' passwords.
    dc.samba_tool(&["group", "addmembers", "Account Operators", &admin_sam]);
    let sam = unique("svc").replace('-', "_");
    let cn = format!("#x, CN=Administrator+OU=y \\ \"ü名\" {sam}");
    let dn = samba_user(&dc, &ou, &sam, &cn, "Initial-Pass-12");
    let (host, port, ca) = samba_at(&dc);
    let admin = Some((admin_dn.as_str(), "Admin-Pass-12"));
    let base = vec![("LDAP_USER_BASE_DN", format!("OU={ou},{}", dc.base_dn()))];
    let case = setup("admin", (&host, port, &ca), (&dn, "Initial-Pass-12"), admin, base.clone()).await;
    let seen = case.five_rotations(|| samba_log(&dc)).await;
    let last = seen.last().unwrap()["password"].as_str().unwrap();
    assert!(dc.kerberos_accepts(&sam, last).await, "the KDC takes the new password");
    assert!(!dc.kerberos_accepts(&sam, "Initial-Pass-12").await, "and refuses the first");

    // A member of Domain Admins (nested through a group of its own), proven by its password: refused.
    let boss = unique("bos").replace('-', "_");
    let boss_dn = samba_user(&dc, &ou, &boss, &boss, "Boss-Pass-12");
    let nest = unique("nest").replace('-', "_");
    dc.samba_tool(&["group", "add", &nest, &format!("--groupou=OU={ou}")]);
    dc.samba_tool(&["group", "addmembers", &nest, &boss]);
    dc.samba_tool(&["group", "addmembers", "Domain Admins", &nest]);
    let privileged = setup("admin", (&host, port, &ca), (&boss_dn, "Boss-Pass-12"), admin, base).await;
    privileged.expect_failure("setSecret", "ConfusedDeputy", "member of Domain Admins").await;
    assert!(privileged.logs_in(&privileged.secret("AWSCURRENT").await).await, "its password is unchanged");

    // A CA that signed nothing here: no bind, and the account keeps its password.
    let current = case.secret("AWSCURRENT").await;
    let (user, password) = (current["username"].as_str().unwrap(), current["password"].as_str().unwrap());
    let untrusted = setup("admin", (&host, port, &dc.other_ca()), (user, password), admin, vec![]).await;
    untrusted.expect_failure("setSecret", "TargetTlsFailed", "never falls back to plaintext").await;
    assert!(case.logs_in(&current).await, "AWSCURRENT still binds");
}

#[tokio::test]
async fn active_directory_two_existing_accounts_alternate_and_a_missing_one_is_never_created() {
    let dc = SambaDc::get();
    let ou = samba_ou(&dc);
    let admin_sam = unique("adm").replace('-', "_");
    let admin_dn = samba_user(&dc, &ou, &admin_sam, &admin_sam, "Admin-Pass-13");
    dc.samba_tool(&["group", "addmembers", "Account Operators", &admin_sam]);
    let sam = unique("al").replace('-', "_");
    let dn = samba_user(&dc, &ou, &sam, &sam, "Initial-Pass-13");
    let clone = format!("{sam}_clone");
    samba_user(&dc, &ou, &clone, &clone, "Other-Pass-13");
    let (host, port, ca) = samba_at(&dc);
    let admin = Some((admin_dn.as_str(), "Admin-Pass-13"));
    let case = setup("alternating-users", (&host, port, &ca), (&dn, "Initial-Pass-13"), admin, vec![]).await;
    let seen = case.five_rotations(|| samba_log(&dc)).await;
    let names: Vec<String> = seen.iter().map(|s| s["username"].as_str().unwrap().to_lowercase()).collect();
    let (a, b) = (dn.to_lowercase(), format!("cn={clone},ou={ou},{}", dc.base_dn()).to_lowercase());
    assert_eq!(names, [&a, &b, &a, &b, &a, &b].map(String::clone), "the accounts alternate");
    // The previous AWSCURRENT keeps working through the next rotation: it is the other account's.
    assert!(case.logs_in(&seen[4]).await, "the previous account still binds");

    // A pair whose other account sits in another container: refused, its password untouched.
    let other_ou = samba_ou(&dc);
    let far = unique("fa").replace('-', "_");
    samba_user(&dc, &ou, &far, &far, "Far-Pass-13");
    samba_user(&dc, &other_ou, &format!("{far}_clone"), &format!("{far}_clone"), "Far-Clone-13");
    // Named by UPN, the other account is looked up by its UPN anywhere in the domain.
    let upn = format!("{far}@rotor.test");
    let case = setup("alternating-users", (&host, port, &ca), (&upn, "Far-Pass-13"), admin, vec![]).await;
    case.expect_failure("setSecret", "ConfusedDeputy", "not in the same container").await;
    assert!(dc.kerberos_accepts(&format!("{far}_clone"), "Far-Clone-13").await, "the far account is untouched");

    // A pair whose other account does not exist: refused, and nothing is created.
    let lone = unique("lo").replace('-', "_");
    let lone_dn = samba_user(&dc, &ou, &lone, &lone, "Lone-Pass-13");
    let case = setup("alternating-users", (&host, port, &ca), (&lone_dn, "Lone-Pass-13"), admin, vec![]).await;
    case.expect_failure("setSecret", "TargetRejected", "never creates directory accounts").await;
    let missing = format!("{lone}_clone@{}", REALM.to_lowercase());
    assert!(!dc.kerberos_accepts(&format!("{lone}_clone"), "Lone-Pass-13").await, "{missing} does not exist");
}

#[tokio::test]
async fn doctor_checks_an_ldap_secret_its_admin_and_names_a_privileged_account() {
    let slapd = Slapd::start();
    let dn = slapd.create_user(&unique("svc"), "Initial-Pass-07").await;
    let (host, port, ca) = slapd_at(&slapd);
    let admin = Some((ADMIN_DN, slapd.admin_password.as_str()));
    let case = setup("admin", (host, port, &ca), (&dn, "Initial-Pass-07"), admin, vec![]).await;
    let ca_env = format!("TLS_CA_BUNDLE={}", ca.display());
    let admins = format!("ADMIN_SECRET_ARNS={}", case.secret("AWSCURRENT").await["masterarn"].as_str().unwrap());
    let doctor = |arn: &str| {
        let args = [
            "doctor",
            arn,
            "--function",
            "ldap",
            "--env",
            "ROTATION_STRATEGY=admin",
            "--env",
            &ca_env,
            "--env",
            &admins,
        ];
        crate::rotatectl::rotatectl(&case.h, &args)
    };
    let (ok, out) = doctor(&case.arn);
    assert!(ok && out.contains("all checks passed"), "{out}");
    assert!(!out.contains("Initial-Pass-07") && !out.contains(&slapd.admin_password), "doctor never prints a password");

    let mut root = case.secret("AWSCURRENT").await;
    root["username"] = json!(ROOT_DN);
    root["password"] = json!(slapd.root_password);
    let root = case.h.create_secret(&unique("ldap-root"), &root.to_string()).await;
    let (ok, out) = doctor(&root);
    assert!(!ok && out.contains("olcRootDN"), "{out}");
}
