//! AWS Directory Service users end to end: `rotate-directory` through the Lambda runtime API and the local endpoint,
//! whose Directory Service (`DescribeDirectories`, `ResetUserPassword`) is served over the shared Samba domain
//! controller (`samba_server.rs`) as directory `d-0123456789`. Each new password is checked by the domain's KDC
//! (the tests' Kerberos client) and by an LDAPS bind with the tests' own client.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Function, Harness, unique};
use crate::samba_server::{REALM, SambaDc};
use crate::slapd_server::bind;

/// The directory the local endpoint serves over Samba.
const DIRECTORY: &str = "d-0123456789";

async fn ldap_accepts(dc: &SambaDc, sam: &str, password: &str) -> bool {
    bind(&format!("ldaps://{}:636", dc.ip), &dc.ca(), &format!("{sam}@rotor.test"), password).await.is_ok()
}

/// `rotate-directory` with `env` over its defaults, and a secret (AWS's keys unless `keys` names others).
async fn setup(dc: &SambaDc, secret: Value, env: Vec<(&str, String)>) -> (Harness, String) {
    let mut function_env = vec![
        ("DIRECTORY_IDS".to_string(), DIRECTORY.to_string()),
        ("KERBEROS_PORT".to_string(), dc.kdc_port.to_string()),
        ("TLS_CA_BUNDLE".to_string(), dc.ca().display().to_string()),
        ("TEST_ATTEMPTS".to_string(), "2".to_string()),
        ("CONNECT_TIMEOUT_SECONDS".to_string(), "3".to_string()),
        ("WAITING_RETRY_INTERVAL_IN_SECONDS".to_string(), "1".to_string()),
    ];
    function_env.extend(env.into_iter().map(|(k, v)| (k.to_string(), v)));
    let h =
        Harness::start_with(vec![Function { name: "rotate-directory", env: function_env }], dc.endpoint_args()).await;
    let arn = h.create_secret(&unique("ds-app"), &secret.to_string()).await;
    (h, arn)
}

/// A fresh account in `ou` (the directory's own `ROTOR`, or another), with `password`.
fn account(dc: &SambaDc, ou: Option<&str>, password: &str) -> String {
    let sam = unique("ds").replace('-', "_");
    let mut args = vec!["user", "create", &sam, password];
    let ou = ou.map(|ou| format!("--userou=OU={ou}"));
    args.extend(ou.as_deref());
    dc.samba_tool(&args);
    sam
}

async fn rotate(h: &Harness, arn: &str) -> Value {
    h.rotate(arn, "rotate-directory").await;
    h.wait_rotation(arn).await
}

#[tokio::test]
async fn a_directory_user_is_reset_five_times_through_directory_service_and_the_kdc_refuses_each_old_password() {
    let dc = SambaDc::get();
    let sam = account(&dc, Some("ROTOR"), "Initial-Pass-21");
    let secret = json!({"awsSeamlessDomainDirectoryId": DIRECTORY, "awsSeamlessDomainUsername": sam, "awsSeamlessDomainPassword": "Initial-Pass-21", "kept": "yes"});
    let (h, arn) = setup(&dc, secret, vec![]).await;
    let mut seen = vec!["Initial-Pass-21".to_owned()];
    for round in 1..=5 {
        let record = rotate(&h, &arn).await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}\n{}", h.all_logs());
        let current: Value = serde_json::from_str(&h.value(&arn, "AWSCURRENT").await).unwrap();
        assert_eq!(current["kept"], "yes", "other fields are kept");
        assert_eq!(current["awsSeamlessDomainUsername"], sam.as_str());
        let password = current["awsSeamlessDomainPassword"].as_str().unwrap().to_owned();
        assert!(dc.kerberos_accepts(&sam, &password).await, "round {round}: the KDC takes AWSCURRENT");
        assert!(ldap_accepts(&dc, &sam, &password).await, "round {round}: so does an LDAP bind");
        let old = seen.last().unwrap();
        assert!(!dc.kerberos_accepts(&sam, old).await, "round {round}: the KDC refuses the old one");
        seen.push(password);
    }
    let audit = std::fs::read_to_string(h.dir.path().join("state/audit.jsonl")).unwrap();
    assert_eq!(audit.matches("DirectoryService_20150416.ResetUserPassword").count(), 5, "one reset per rotation");
    let samba_log = std::fs::read_to_string(dc.dir.join("log/samba.log")).unwrap_or_default();
    for value in &seen {
        assert!(!samba_log.contains(value.as_str()), "a password is in the domain controller's log");
    }
    h.assert_no_leaks(&seen);
}

#[tokio::test]
async fn aws_key_names_are_honoured_and_a_kdc_that_does_not_answer_falls_back_to_an_ldaps_bind() {
    let dc = SambaDc::get();
    let sam = account(&dc, Some("ROTOR"), "Initial-Pass-22");
    // The keys of AWS's function's own documentation, chosen with DICT_KEY_*; a closed Kerberos port.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let env = vec![
        ("DICT_KEY_DIRECTORY", "DirectoryId".to_string()),
        ("DICT_KEY_USERNAME", "Username".to_string()),
        ("DICT_KEY_PASSWORD", "Password".to_string()),
        ("KERBEROS_PORT", closed.to_string()),
    ];
    let secret = json!({"DirectoryId": DIRECTORY, "Username": sam, "Password": "Initial-Pass-22"});
    let (h, arn) = setup(&dc, secret, env).await;
    let record = rotate(&h, &arn).await;
    assert_eq!(record["state"], "succeeded", "{record}\n{}", h.all_logs());
    let current: Value = serde_json::from_str(&h.value(&arn, "AWSCURRENT").await).unwrap();
    let password = current["Password"].as_str().unwrap();
    assert_ne!(password, "Initial-Pass-22");
    assert!(dc.kerberos_accepts(&sam, password).await, "the new password is the account's");
    assert!(!ldap_accepts(&dc, &sam, "Initial-Pass-22").await, "the old one is refused");
}

#[tokio::test]
async fn a_user_outside_the_directorys_ou_another_directory_and_a_wrong_password_are_refused_and_nothing_changes() {
    let dc = SambaDc::get();
    // In CN=Users, outside OU=ROTOR: Directory Service refuses it, as AWS Managed Microsoft AD does.
    let outsider = account(&dc, None, "Outside-Pass-23");
    let secret = json!({"awsSeamlessDomainDirectoryId": DIRECTORY, "awsSeamlessDomainUsername": outsider, "awsSeamlessDomainPassword": "Outside-Pass-23"});
    let (h, arn) = setup(&dc, secret, vec![]).await;
    let record = rotate(&h, &arn).await;
    assert_eq!(record["state"], "failed", "{record}");
    assert_eq!(record["step"], "setSecret", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("UnsupportedOperationException"), "{record}");
    assert!(dc.kerberos_accepts(&outsider, "Outside-Pass-23").await, "its password is unchanged");

    // A directory the function's configuration does not name: refused before anything is stored.
    let sam = account(&dc, Some("ROTOR"), "Initial-Pass-23");
    let secret = json!({"awsSeamlessDomainDirectoryId": "d-9999999999", "awsSeamlessDomainUsername": sam, "awsSeamlessDomainPassword": "Initial-Pass-23"});
    let (h, arn) = setup(&dc, secret, vec![]).await;
    let record = rotate(&h, &arn).await;
    assert_eq!((record["state"].as_str(), record["step"].as_str()), (Some("failed"), Some("createSecret")), "{record}");
    assert_eq!(record["error_type"], "ConfusedDeputy", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("DIRECTORY_IDS"), "{record}");

    // AWSCURRENT with a wrong password proves nothing: the account is not reset from it.
    let secret = json!({"awsSeamlessDomainDirectoryId": DIRECTORY, "awsSeamlessDomainUsername": sam, "awsSeamlessDomainPassword": "Wrong-Pass-23"});
    let (h, arn) = setup(&dc, secret, vec![]).await;
    let record = rotate(&h, &arn).await;
    assert_eq!(record["state"], "failed", "{record}");
    assert!(!record.to_string().contains("Wrong-Pass-23"), "{record}");
    assert!(dc.kerberos_accepts(&sam, "Initial-Pass-23").await, "the account keeps its password");
    let audit = std::fs::read_to_string(h.dir.path().join("state/audit.jsonl")).unwrap();
    assert!(!audit.contains("ResetUserPassword"), "no reset was asked for");
}

#[tokio::test]
async fn the_keytab_written_beside_each_password_authenticates_at_the_directorys_key_version_and_the_old_one_does_not()
{
    use base64::Engine as _;
    let dc = SambaDc::get();
    let sam = account(&dc, Some("ROTOR"), "Initial-Pass-24");
    let secret = json!({"awsSeamlessDomainDirectoryId": DIRECTORY, "awsSeamlessDomainUsername": sam, "awsSeamlessDomainPassword": "Initial-Pass-24"});
    let (h, arn) = setup(&dc, secret, vec![("KEYTAB_FIELD", "keytabContents".to_string())]).await;
    let principal = rotation_directory::Principal::new(&sam, REALM).unwrap();
    let kdc = rotation_directory::Kdc::new(dc.kdc(), Duration::from_secs(5));
    let mut keytabs = Vec::new();
    for round in 1..=3 {
        let record = rotate(&h, &arn).await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}\n{}", h.all_logs());
        let current: Value = serde_json::from_str(&h.value(&arn, "AWSCURRENT").await).unwrap();
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(current["keytabContents"].as_str().unwrap()).unwrap();
        let keytab = rotation_directory::Keytab::parse(&bytes).unwrap();
        let kvno = dc.kvno(&sam);
        assert!(
            keytab.entries().iter().all(|entry| entry.kvno == kvno),
            "round {round}: at the directory's key version"
        );
        assert_eq!(keytab.entries().len(), 2, "AES256 and AES128");
        let proof = kdc.authenticate(&principal, rotation_directory::ProofCredential::Keytab(&keytab)).await;
        assert!(proof.is_ok(), "round {round}: the keytab authenticates: {proof:?}");
        if let Some(old) = keytabs.last() {
            let stale = kdc.authenticate(&principal, rotation_directory::ProofCredential::Keytab(old)).await;
            assert!(stale.is_err(), "round {round}: the previous keytab is refused");
        }
        keytabs.push(keytab);
    }
    let values = h.all_values(&arn).await;
    h.assert_no_leaks(&values);
}

#[tokio::test]
async fn doctor_checks_a_directory_service_secret_and_names_a_directory_outside_directory_ids() {
    let dc = SambaDc::get();
    let sam = account(&dc, Some("ROTOR"), "Initial-Pass-25");
    let secret = json!({"awsSeamlessDomainDirectoryId": DIRECTORY, "awsSeamlessDomainUsername": sam, "awsSeamlessDomainPassword": "Initial-Pass-25"});
    let (h, arn) = setup(&dc, secret, vec![]).await;
    let env = [
        format!("DIRECTORY_IDS={DIRECTORY}"),
        format!("KERBEROS_PORT={}", dc.kdc_port),
        format!("TLS_CA_BUNDLE={}", dc.ca().display()),
    ];
    let doctor = |arn: &str| {
        let mut args = vec!["doctor", arn, "--function", "directory"];
        for pair in &env {
            args.extend(["--env", pair.as_str()]);
        }
        crate::rotatectl::rotatectl(&h, &args)
    };
    let (ok, out) = doctor(&arn);
    assert!(ok && out.contains("the current password is proved to its domain"), "{out}");
    assert!(!out.contains("Initial-Pass-25"), "doctor never prints a password");
    let other = json!({"awsSeamlessDomainDirectoryId": "d-9999999999", "awsSeamlessDomainUsername": sam, "awsSeamlessDomainPassword": "Initial-Pass-25"});
    let outside = h.create_secret(&unique("ds-other"), &other.to_string()).await;
    let (ok, out) = doctor(&outside);
    assert!(!ok && out.contains("DIRECTORY_IDS"), "{out}");
}

#[tokio::test]
async fn a_disabled_account_proves_nothing_and_is_never_reset_which_would_enable_it() {
    let dc = SambaDc::get();
    let sam = account(&dc, Some("ROTOR"), "Initial-Pass-26");
    dc.disable(&sam);
    let secret = json!({"awsSeamlessDomainDirectoryId": DIRECTORY, "awsSeamlessDomainUsername": sam, "awsSeamlessDomainPassword": "Initial-Pass-26"});
    let (h, arn) = setup(&dc, secret, vec![]).await;
    let record = rotate(&h, &arn).await;
    assert_eq!((record["state"].as_str(), record["step"].as_str()), (Some("failed"), Some("setSecret")), "{record}");
    let audit = std::fs::read_to_string(h.dir.path().join("state/audit.jsonl")).unwrap();
    assert!(!audit.contains("ResetUserPassword"), "ResetUserPassword would have enabled the account");
    assert!(!dc.kerberos_accepts(&sam, "Initial-Pass-26").await, "the account is still disabled");
}

#[tokio::test]
async fn a_privileged_account_is_read_before_any_reset_and_refused_unless_allowed() {
    let dc = SambaDc::get();
    let sam = account(&dc, Some("ROTOR"), "Initial-Pass-27");
    dc.samba_tool(&["group", "addmembers", "Domain Admins", &sam]);
    let secret = json!({"awsSeamlessDomainDirectoryId": DIRECTORY, "awsSeamlessDomainUsername": sam, "awsSeamlessDomainPassword": "Initial-Pass-27"});
    let (h, arn) = setup(&dc, secret.clone(), vec![]).await;
    let record = rotate(&h, &arn).await;
    assert_eq!(
        (record["state"].as_str(), record["error_type"].as_str()),
        (Some("failed"), Some("ConfusedDeputy")),
        "{record}"
    );
    assert!(record["error_message"].as_str().unwrap().contains("member of Domain Admins"), "{record}");
    let audit = std::fs::read_to_string(h.dir.path().join("state/audit.jsonl")).unwrap();
    assert!(!audit.contains("ResetUserPassword"), "refused before any reset");
    assert!(dc.kerberos_accepts(&sam, "Initial-Pass-27").await, "its password is unchanged");
    // An operator's explicit opt-in.
    let (h, arn) = setup(&dc, secret, vec![("ALLOW_PRIVILEGED_USERS", "true".to_string())]).await;
    let record = rotate(&h, &arn).await;
    assert_eq!(record["state"], "succeeded", "{record}");
}

#[tokio::test]
async fn a_set_secret_retried_after_the_reset_finds_the_pending_password_set_and_changes_nothing() {
    let dc = SambaDc::get();
    let sam = account(&dc, Some("ROTOR"), "Initial-Pass-28");
    let secret = json!({"awsSeamlessDomainDirectoryId": DIRECTORY, "awsSeamlessDomainUsername": sam, "awsSeamlessDomainPassword": "Initial-Pass-28"});
    let (h, arn) = setup(&dc, secret.clone(), vec![]).await;
    // setSecret reset the password, then the invocation was lost: AWSCURRENT no longer logs in, AWSPENDING does.
    dc.reset_password(&sam, "Pending-Pass-28");
    let mut pending = secret;
    pending["awsSeamlessDomainPassword"] = json!("Pending-Pass-28");
    h.set_secret_with_pending("rotate-directory", &arn, &pending).await.expect("the retry succeeds");
    let audit = std::fs::read_to_string(h.dir.path().join("state/audit.jsonl")).unwrap();
    assert!(!audit.contains("ResetUserPassword"), "nothing is reset again");
    // A pending password that does not log in, with an AWSCURRENT that no longer does, binds nothing.
    pending["awsSeamlessDomainPassword"] = json!("Other-Pass-28");
    let (error_type, _) = h.set_secret_with_pending("rotate-directory", &arn, &pending).await.unwrap_err();
    assert_eq!(error_type, "IdentityNotBound");
    assert!(dc.kerberos_accepts(&sam, "Pending-Pass-28").await, "the account keeps the password it was set to");
}
