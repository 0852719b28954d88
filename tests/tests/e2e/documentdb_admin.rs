//! DocumentDB masters through the RDS API, end to end: `rotate-documentdb-admin` through the Lambda runtime API, the
//! local endpoint serving DocumentDB's `CreateDBCluster`/`DescribeDBClusters`/`ModifyDBCluster` (a change applied to
//! the MongoDB-wire stand-in after a delay, the cluster `modifying` meanwhile), and every login of the function made
//! where `DescribeDBClusters` says the cluster is: the secrets' `host` is a name that never resolves. Every cluster
//! and master of a test has a unique name: the stand-in is shared and outlives the run.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use aws_sdk_rds::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_secretsmanager::types::Tag;
use serde_json::{Value, json};

use crate::harness::{Function, Harness, binary, lambda_arn, unique};
use crate::mongodb_server::MongoServer;

const FUNCTION: &str = "rotate-documentdb-admin";
/// The ARN of the endpoint's clusters (its Region and account), but the identifier.
const CLUSTER_ARN: &str = "arn:aws:rds:us-east-1:123456789012:cluster:";
/// Clusters the function may change: those whose identifier starts with this.
const ALLOWED: &str = "docdb-allowed";
/// The secrets' `host`: a name that never resolves (RFC 6761), so a login made there would fail.
const NOWHERE: &str = "docdb.invalid";
/// Where DocumentDB keeps every user, the master's too.
const AUTH_DB: &str = "admin";

struct Masters {
    h: Harness,
    server: MongoServer,
    rds: aws_sdk_rds::Client,
    _password: tempfile::TempDir,
}

/// Writes the stand-in's root password into `dir` (mode 0600), and gives the endpoint's options that serve
/// DocumentDB over it (a change stays `modifying` for 300 ms).
fn stand_in_args(server: &MongoServer, dir: &Path) -> Vec<String> {
    let file = dir.join("root-password");
    let mut written = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&file).unwrap();
    written.write_all(server.root_password.as_bytes()).unwrap();
    let url = format!(
        "mongodb://root@localhost:{}/?authSource=admin&tls=true&tlsCAFile={}",
        server.port,
        server.ca().display()
    );
    vec![
        "--documentdb-mongodb".to_owned(),
        url,
        "--documentdb-mongodb-password-file".to_owned(),
        file.display().to_string(),
        "--documentdb-modify-ms".to_owned(),
        "300".to_owned(),
    ]
}

/// An RDS client of the endpoint at `url`, in `region`.
fn rds_client(url: &str, region: &'static str) -> aws_sdk_rds::Client {
    let credentials = Credentials::new("AKIDROTORTEST", "rotor-test-not-a-secret", None, None, "rotor-tests");
    let config = aws_sdk_rds::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(credentials)
        .endpoint_url(url)
        .build();
    aws_sdk_rds::Client::from_conf(config)
}

/// The endpoint serving DocumentDB over the stand-in, and `rotate-documentdb-admin` allowed the clusters named
/// [`ALLOWED`]`*`.
async fn start() -> Masters {
    start_with(None).await
}

/// [`start`], the function's RDS calls sent to `rds_endpoint` (`AWS_ENDPOINT_URL_RDS`) when given.
async fn start_with(rds_endpoint: Option<&str>) -> Masters {
    let server = MongoServer::get();
    let dir = tempfile::tempdir().unwrap();
    let endpoint_args = stand_in_args(&server, dir.path());
    let mut env = vec![
        ("TLS_CA_BUNDLE".to_owned(), server.ca().display().to_string()),
        ("DOCDB_CLUSTER_ARNS".to_owned(), format!("{CLUSTER_ARN}{ALLOWED}*")),
        ("WAITING_RETRY_INTERVAL_IN_SECONDS".to_owned(), "1".to_owned()),
        ("TEST_ATTEMPTS".to_owned(), "2".to_owned()),
        ("CONNECT_TIMEOUT_SECONDS".to_owned(), "2".to_owned()),
    ];
    env.extend(rds_endpoint.map(|url| ("AWS_ENDPOINT_URL_RDS".to_owned(), url.to_owned())));
    let h = Harness::start_with(vec![Function { name: FUNCTION, env }], endpoint_args).await;
    let rds = rds_client(&h.endpoint_url, "us-east-1");
    Masters { h, server, rds, _password: dir }
}

/// A unique cluster identifier starting with `prefix`.
fn cluster_id(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// A unique master user name (DocumentDB's: letters and digits).
fn master_name() -> String {
    format!("master{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// A password DocumentDB takes (none of `/"@`).
fn password() -> String {
    format!("Dd{}9", uuid::Uuid::new_v4().simple())
}

/// AWS's MongoDB secret shape with the cluster named, its `host` unresolvable, and a field rotor does not know.
fn secret_json(id: &str, master: &str, password: &str) -> Value {
    json!({"engine": "mongo", "host": NOWHERE, "port": 27017, "username": master, "password": password,
           "ssl": true, "dbClusterIdentifier": id, "team": "kept"})
}

/// Creates cluster `id` with a new master, through `rds`: its name and password.
async fn create_cluster(rds: &aws_sdk_rds::Client, id: &str) -> (String, String) {
    let (master, password) = (master_name(), password());
    let create = rds.create_db_cluster().db_cluster_identifier(id).engine("docdb").master_username(&master);
    create.master_user_password(&password).send().await.unwrap();
    (master, password)
}

/// The `ModifyDBCluster` calls an endpoint's audit log (in `state`) records for cluster `id`.
fn modifications(state: &Path, id: &str) -> usize {
    let audit = fs::read_to_string(state.join("audit.jsonl")).unwrap_or_default();
    let lines = audit.lines().filter_map(|line| serde_json::from_str::<Value>(line).ok());
    lines.filter(|line| line["operation"] == "ModifyDBCluster" && line["secret"] == id).count()
}

impl Masters {
    /// A cluster named `id` with a master, and its secret: the secret's ARN, its value, and the master's password.
    async fn master(&self, id: &str) -> (String, Value) {
        let (master, password) = create_cluster(&self.rds, id).await;
        let secret = secret_json(id, &master, &password);
        (self.h.create_secret(&unique("docdb-master"), &secret.to_string()).await, secret)
    }

    async fn current(&self, arn: &str) -> Value {
        serde_json::from_str(&self.h.value(arn, "AWSCURRENT").await).unwrap()
    }

    /// Whether `secret`'s username and password log in to the stand-in (where every cluster is).
    async fn logs_in(&self, secret: &Value) -> bool {
        let (user, password) = (secret["username"].as_str().unwrap(), secret["password"].as_str().unwrap());
        self.server.login(user, password, AUTH_DB).await.is_ok()
    }

    async fn rotate(&self, arn: &str) -> Value {
        let rotate = self.h.client.rotate_secret().secret_id(arn);
        rotate.rotation_lambda_arn(lambda_arn(FUNCTION)).send().await.unwrap();
        self.h.wait_rotation(arn).await
    }

    /// The `ModifyDBCluster` calls the endpoint received for cluster `id`.
    fn modifications(&self, id: &str) -> usize {
        modifications(&self.h.dir.path().join("state"), id)
    }

    /// Asserts the rotation of `arn` (whose AWSCURRENT is `secret`) failed with `error_type`, its message holding
    /// `expected`, and that nothing changed: no `ModifyDBCluster` reached cluster `id`, AWSCURRENT is as it was.
    async fn assert_refused(&self, arn: &str, secret: &Value, record: &Value, error_type: &str, expected: &str) {
        assert_eq!((&record["state"], &record["error_type"]), (&json!("failed"), &json!(error_type)), "{record}");
        assert!(record["error_message"].as_str().unwrap().contains(expected), "{expected}: {record}");
        let id = secret["dbClusterIdentifier"].as_str().unwrap();
        assert_eq!(self.modifications(id), 0, "no ModifyDBCluster reached {id}");
        assert_eq!(&self.current(arn).await, secret, "AWSCURRENT is as it was");
    }

    /// Every password any version of the secret held.
    async fn passwords(&self, arn: &str) -> Vec<String> {
        let values = self.h.all_values(arn).await;
        let secrets = values.iter().filter_map(|value| serde_json::from_str::<Value>(value).ok());
        secrets.filter_map(|secret| secret["password"].as_str().map(str::to_owned)).collect()
    }
}

/// A second endpoint, in another Region, serving DocumentDB over the same stand-in; stopped when dropped.
struct OtherRegion {
    url: String,
    dir: tempfile::TempDir,
    process: Child,
}

impl OtherRegion {
    fn start(server: &MongoServer, region: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("endpoint.out");
        let process = Command::new(binary("rotatectl"))
            .args(["serve", "--port", "0", "--region", region])
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .args(stand_in_args(server, dir.path()))
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(dir.path().join("endpoint.err.log")).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = loop {
            let text = fs::read_to_string(&out).unwrap_or_default();
            if let Some(url) = text.lines().find_map(|l| l.strip_prefix("rotor local endpoint listening on ")) {
                break url.trim().to_owned();
            }
            assert!(Instant::now() < deadline, "the other Region's endpoint did not start: {text}");
            std::thread::sleep(Duration::from_millis(20));
        };
        Self { url, dir, process }
    }
}

impl Drop for OtherRegion {
    fn drop(&mut self) {
        self.process.kill().ok();
        self.process.wait().ok();
    }
}

#[tokio::test]
async fn a_master_rotates_through_the_api_and_logs_in_where_the_api_says_never_at_the_secrets_host() {
    let masters = start().await;
    let id = cluster_id(ALLOWED);
    let (arn, _) = masters.master(&id).await;
    // The secret's host names no server: every login goes where DescribeDBClusters says the cluster is.
    let record = masters.h.configure_rotation(&arn, FUNCTION).await;
    assert_eq!(record["state"], "succeeded", "{record}\n{}", masters.h.all_logs());
    for round in 1..=5 {
        let old = masters.current(&arn).await;
        let record = masters.rotate(&arn).await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}\n{}", masters.h.all_logs());
        let current = masters.current(&arn).await;
        assert_ne!(current["password"], old["password"], "round {round}: the password changed");
        assert!(masters.logs_in(&current).await, "round {round}: AWSCURRENT logs in as the master");
        assert!(!masters.logs_in(&old).await, "round {round}: the old password is refused");
        let (mut kept, mut was) = (current.clone(), old.clone());
        kept["password"] = Value::Null;
        was["password"] = Value::Null;
        assert_eq!(kept, was, "round {round}: every other field is kept as it was, unknown ones and host too");
    }
    assert_eq!(masters.modifications(&id), 5, "one ModifyDBCluster a rotation");
    let values = masters.passwords(&arn).await;
    assert!(values.len() >= 6, "every version's password: {}", values.len());
    masters.h.assert_no_leaks(&values);
    let log = masters.server.log();
    for value in &values {
        assert!(!log.contains(value.as_str()), "the stand-in's log holds a password");
    }
}

#[tokio::test]
async fn an_unallowed_cluster_another_master_or_a_managed_password_is_refused_before_any_change() {
    let masters = start().await;
    // A cluster outside DOCDB_CLUSTER_ARNS: refused at createSecret, before any call.
    let (outside, secret) = masters.master(&cluster_id("docdb-other")).await;
    let record = masters.rotate(&outside).await;
    masters.assert_refused(&outside, &secret, &record, "ConfusedDeputy", "not in DOCDB_CLUSTER_ARNS").await;
    assert!(masters.logs_in(&secret).await, "the outside cluster's master password did not change");

    // An allowed cluster whose secret names another cluster's master (with its own master's password): the API
    // names the cluster's master, and it is not the secret's username.
    let (victim_arn, victim) = masters.master(&cluster_id(ALLOWED)).await;
    let id = cluster_id(ALLOWED);
    let (master, master_password) = create_cluster(&masters.rds, &id).await;
    let forged = secret_json(&id, victim["username"].as_str().unwrap(), &master_password);
    let arn = masters.h.create_secret(&unique("docdb-master"), &forged.to_string()).await;
    let record = masters.rotate(&arn).await;
    let expected = format!("the cluster's master user is {master:?}, not the secret's username");
    masters.assert_refused(&arn, &forged, &record, "ConfusedDeputy", &expected).await;
    assert!(masters.logs_in(&secret_json(&id, &master, &master_password)).await, "the master's password is unchanged");
    assert!(masters.logs_in(&victim).await, "the other cluster's master password is unchanged");
    assert_eq!(masters.modifications(victim["dbClusterIdentifier"].as_str().unwrap()), 0);
    assert_eq!(masters.current(&victim_arn).await, victim);

    // A cluster whose master password DocumentDB manages in Secrets Manager itself: it has no master a caller
    // knows the password of, and this function never sets it.
    let id = cluster_id(ALLOWED);
    let master = master_name();
    let create = masters.rds.create_db_cluster().db_cluster_identifier(&id).engine("docdb").master_username(&master);
    create.manage_master_user_password(true).send().await.unwrap();
    let managed = secret_json(&id, &master, &password());
    let arn = masters.h.create_secret(&unique("docdb-master"), &managed.to_string()).await;
    let record = masters.rotate(&arn).await;
    masters.assert_refused(&arn, &managed, &record, "TargetRejected", "ManageMasterUserPassword").await;
    assert_eq!(masters.server.roles_of(AUTH_DB, &master).await, None, "no master was created on the stand-in");
}

#[tokio::test]
async fn a_cluster_of_another_region_than_the_secrets_is_refused_before_any_change() {
    // The function's RDS calls reach an endpoint of eu-west-1 (AWS_ENDPOINT_URL_RDS), whose cluster has the
    // identifier the us-east-1 secret names: its ARN is not the secret's cluster's.
    let other = OtherRegion::start(&MongoServer::get(), "eu-west-1");
    let masters = start_with(Some(&other.url)).await;
    let id = cluster_id(ALLOWED);
    let (master, master_password) = create_cluster(&rds_client(&other.url, "eu-west-1"), &id).await;
    let secret = secret_json(&id, &master, &master_password);
    let arn = masters.h.create_secret(&unique("docdb-master"), &secret.to_string()).await;
    assert!(arn.starts_with("arn:aws:secretsmanager:us-east-1:"), "{arn}");
    let record = masters.rotate(&arn).await;
    masters.assert_refused(&arn, &secret, &record, "ConfusedDeputy", "another account or Region").await;
    assert_eq!(modifications(&other.dir.path().join("state"), &id), 0, "no ModifyDBCluster reached eu-west-1");
    assert!(masters.logs_in(&secret).await, "the eu-west-1 master's password is unchanged");
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing_until_an_administrator_pins_the_cluster() {
    let masters = start().await;
    let id = cluster_id(ALLOWED);
    let (master, master_password) = create_cluster(&masters.rds, &id).await;
    let wrong = secret_json(&id, &master, &password());
    let arn = masters.h.create_secret(&unique("docdb-master"), &wrong.to_string()).await;

    // The identity rule: AWSCURRENT does not log in as the master and no rotor:user tag pins the cluster, so the
    // API's power to change the password is not used.
    let record = masters.rotate(&arn).await;
    assert_eq!(record["step"], "setSecret", "{record}");
    let pin = format!("rotor:user={CLUSTER_ARN}{id}");
    masters.assert_refused(&arn, &wrong, &record, "IdentityNotBound", &pin).await;
    assert!(record["error_message"].as_str().unwrap().contains("AWSCURRENT"), "{record}");
    let real = secret_json(&id, &master, &master_password);
    assert!(masters.logs_in(&real).await, "the master's password is unchanged");
    assert!(!masters.logs_in(&wrong).await);

    // An administrator pins the cluster (the tag guard keeps rotor:* tags to administrators): the rotation resets
    // the password the secret lost.
    let tag = Tag::builder().key("rotor:user").value(format!("{CLUSTER_ARN}{id}")).build();
    masters.h.client.tag_resource().secret_id(&arn).tags(tag).send().await.unwrap();
    masters.h.unstick(&arn).await;
    let record = masters.rotate(&arn).await;
    assert_eq!(record["state"], "succeeded", "{record}\n{}", masters.h.all_logs());
    let current = masters.current(&arn).await;
    assert!(masters.logs_in(&current).await, "the new password logs in as the master");
    assert!(!masters.logs_in(&real).await, "the lost password is replaced");
    assert_eq!(masters.modifications(&id), 1);
    let mut values = masters.passwords(&arn).await;
    values.push(master_password);
    masters.h.assert_no_leaks(&values);
}

#[tokio::test]
async fn doctor_checks_a_documentdb_master_secret_and_names_a_cluster_outside_docdb_cluster_arns() {
    let masters = start().await;
    let (arn, secret) = masters.master(&cluster_id(ALLOWED)).await;
    let (outside, _) = masters.master(&cluster_id("docdb-other")).await;
    let ca = format!("TLS_CA_BUNDLE={}", masters.server.ca().display());
    let clusters = format!("DOCDB_CLUSTER_ARNS={CLUSTER_ARN}{ALLOWED}*");
    let doctor = |arn: &str| {
        let args = ["doctor", arn, "--function", "documentdb-admin", "--env", &ca, "--env", &clusters];
        crate::rotatectl::rotatectl(&masters.h, &args)
    };
    let (ok, out) = doctor(&arn);
    assert!(ok, "{out}");
    assert!(out.contains("the current password logs in") && out.contains("all checks passed"), "{out}");

    let (ok, out) = doctor(&outside);
    assert!(!ok && out.contains("FAIL") && out.contains("not in DOCDB_CLUSTER_ARNS"), "{out}");
    assert!(!out.contains("all checks passed"), "{out}");
    assert!(!out.contains(secret["password"].as_str().unwrap()), "doctor never prints a password");
}
