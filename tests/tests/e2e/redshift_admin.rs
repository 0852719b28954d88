//! Redshift admins through the API, end to end: `rotate-redshift-admin` through the Lambda runtime API, the local
//! endpoint serving Redshift's `DescribeClusters`/`ModifyCluster` and Redshift Serverless's
//! `GetNamespace`/`ListWorkgroups`/`UpdateNamespace`, each change applied (after a delay, the resource `modifying`
//! meanwhile) to the md5 PostgreSQL stand-in for Redshift, where every login of the function goes: to the endpoint
//! the API names, never the secret's `host`. And `rotate-redshift` using an admin secret Redshift manages, its
//! database found from the secret's tag (`DescribeClusters`, or `ListNamespaces` then `ListWorkgroups`).

use aws_sdk_redshift::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_secretsmanager::types::Tag;
use serde_json::{Value, json};

use crate::harness::{Function, Harness, lambda_arn, unique};
use crate::postgres_server::PgServer;

const ACCOUNT: &str = "us-east-1:123456789012";
/// Clusters and namespaces the function may change: those whose name starts with this.
const ALLOWED: &str = "rs-allowed";

struct Admins {
    h: Harness,
    pg: PgServer,
    clusters: aws_sdk_redshift::Client,
    serverless: aws_sdk_redshiftserverless::Client,
    _password: tempfile::TempDir,
}

/// The endpoint serving Redshift over the stand-in (a change stays `modifying` for 300 ms), and
/// `rotate-redshift-admin` allowed the clusters and namespaces named [`ALLOWED`]`*`.
async fn start() -> Admins {
    start_with(|_| Vec::new()).await
}

/// [`start`], with the functions `more` makes for the stand-in beside `rotate-redshift-admin`.
async fn start_with(more: impl FnOnce(&PgServer) -> Vec<Function>) -> Admins {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let pg = PgServer::redshift_stand_in();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("superuser-password");
    let mut written = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&file).unwrap();
    written.write_all(pg.superuser_password.as_bytes()).unwrap();
    let endpoint_args = vec![
        "--redshift-postgres".to_owned(),
        format!("postgres://postgres@127.0.0.1:{}/postgres", pg.port),
        "--redshift-postgres-password-file".to_owned(),
        file.display().to_string(),
        "--redshift-modify-ms".to_owned(),
        "300".to_owned(),
    ];
    let env = vec![
        ("TLS_CA_BUNDLE".to_owned(), pg.ca().display().to_string()),
        ("REDSHIFT_CLUSTER_ARNS".to_owned(), format!("arn:aws:redshift:{ACCOUNT}:cluster:{ALLOWED}*")),
        ("REDSHIFT_NAMESPACE_ARNS".to_owned(), format!("arn:aws:redshift-serverless:{ACCOUNT}:namespace/{ALLOWED}*")),
        ("WAITING_RETRY_INTERVAL_IN_SECONDS".to_owned(), "1".to_owned()),
        ("TEST_ATTEMPTS".to_owned(), "2".to_owned()),
        ("CONNECT_TIMEOUT_SECONDS".to_owned(), "2".to_owned()),
    ];
    let mut functions = vec![Function { name: "rotate-redshift-admin", env }];
    functions.extend(more(&pg));
    let h = Harness::start_with(functions, endpoint_args).await;
    let credentials = Credentials::new("AKIDROTORTEST", "rotor-test-not-a-secret", None, None, "rotor-tests");
    let clusters = aws_sdk_redshift::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials.clone())
        .endpoint_url(&h.endpoint_url)
        .build();
    let serverless = aws_sdk_redshiftserverless::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials)
        .endpoint_url(&h.endpoint_url)
        .build();
    Admins {
        h,
        pg,
        clusters: aws_sdk_redshift::Client::from_conf(clusters),
        serverless: aws_sdk_redshiftserverless::Client::from_conf(serverless),
        _password: dir,
    }
}

/// A password Redshift takes: upper and lower case, digits, no refused character.
fn password() -> String {
    format!("Rs{}9", uuid::Uuid::new_v4().simple())
}

/// [`start`], with `rotate-redshift` beside `rotate-redshift-admin`: it rotates users with the admin secrets Redshift
/// manages (`redshift!…`, as Redshift names them), finding their database through the local endpoint.
async fn start_managed() -> Admins {
    const SECRET_ARNS: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:";
    start_with(|pg| {
        let env = [
            ("ROTATION_STRATEGY", "admin".to_owned()),
            ("ADMIN_SECRET_ARNS", format!("{SECRET_ARNS}redshift!*")),
            ("TLS_CA_BUNDLE", pg.ca().display().to_string()),
            ("TEST_ATTEMPTS", "2".to_owned()),
            ("CONNECT_TIMEOUT_SECONDS", "2".to_owned()),
        ];
        // The harness points every service (AWS_ENDPOINT_URL), Redshift's included, at the local endpoint.
        vec![Function { name: "rotate-redshift", env: env.map(|(k, v)| (k.to_owned(), v)).to_vec() }]
    })
    .await
}

impl Admins {
    /// A provisioned cluster named `id` with a master user, and its admin secret in AWS's shape.
    async fn cluster(&self, id: &str) -> (String, Value) {
        let (master, password) = (unique("master").replace('-', "_"), password());
        let create = self.clusters.create_cluster().cluster_identifier(id).master_username(&master);
        let create = create.master_user_password(&password).node_type("ra3.xlplus").db_name("postgres");
        create.send().await.unwrap();
        let secret = json!({"engine": "redshift", "host": "db.example.invalid", "port": 5439, "username": master,
                            "password": password, "dbname": "postgres", "dbClusterIdentifier": id, "team": "kept"});
        (self.h.create_secret(&unique("rs-admin"), &secret.to_string()).await, secret)
    }

    /// A Serverless namespace and its workgroup, and the namespace's admin secret.
    async fn namespace(&self, name: &str) -> (String, Value) {
        let (admin, password) = (unique("admin").replace('-', "_"), password());
        let create = self.serverless.create_namespace().namespace_name(name).admin_username(&admin);
        create.admin_user_password(&password).db_name("postgres").send().await.unwrap();
        let workgroup = self.serverless.create_workgroup().workgroup_name(format!("{name}-wg")).namespace_name(name);
        workgroup.send().await.unwrap();
        let secret = json!({"engine": "redshift", "host": "wg.example.invalid", "port": 5439, "username": admin,
                            "password": password, "dbname": "postgres", "namespaceName": name});
        (self.h.create_secret(&unique("rs-admin"), &secret.to_string()).await, secret)
    }

    async fn current(&self, arn: &str) -> Value {
        serde_json::from_str(&self.h.value(arn, "AWSCURRENT").await).unwrap()
    }

    async fn logs_in(&self, secret: &Value) -> bool {
        let user = secret["username"].as_str().unwrap();
        self.pg.login(user, secret["password"].as_str().unwrap(), "postgres").await.is_ok()
    }

    async fn rotate(&self, arn: &str) -> Value {
        self.rotate_by(arn, "rotate-redshift-admin").await
    }

    async fn rotate_by(&self, arn: &str, function: &str) -> Value {
        let rotate = self.h.client.rotate_secret().secret_id(arn);
        rotate.rotation_lambda_arn(lambda_arn(function)).send().await.unwrap();
        self.h.wait_rotation(arn).await
    }

    /// Rotates a new user of the stand-in by `rotate-redshift` with `admin` (a cluster's master user or a
    /// namespace's admin) as its admin, whose secret is as Redshift manages it: only `admin` and `admin_password`,
    /// its cluster or namespace named by `tag`. Asserts the rotation succeeds, the new password logs in and the
    /// old one no longer does.
    async fn assert_a_managed_admin_rotates_a_user(&self, admin: &str, admin_password: &str, tag: Tag) {
        // A Redshift admin may manage users; the stand-in creates it with CREATEDB only.
        let (user, user_password) = (unique("app").replace('-', "_"), password());
        let superuser = self.pg.superuser("postgres").await;
        for statement in [
            format!("ALTER USER {} CREATEROLE", crate::postgres::quote(admin)),
            format!("CREATE USER {}", crate::postgres::quote(&user)),
            rotation_redshift::password_statement(&user, &user_password, "LOGIN"),
        ] {
            superuser.batch_execute(&statement).await.unwrap();
        }
        let managed = self.h.client.create_secret().name(unique("redshift!admin"));
        let managed = managed.secret_string(json!({"username": admin, "password": admin_password}).to_string());
        let managed = managed.tags(tag).send().await.unwrap();
        let secret = json!({"engine": "redshift", "host": "127.0.0.1", "port": self.pg.port, "username": user,
                            "password": user_password, "dbname": "postgres", "masterarn": managed.arn().unwrap()});
        let arn = self.h.create_secret(&unique("rs-app"), &secret.to_string()).await;

        let record = self.rotate_by(&arn, "rotate-redshift").await;
        assert_eq!(record["state"], "succeeded", "{record}\n{}", self.h.all_logs());
        let current = self.current(&arn).await;
        assert_ne!(current["password"], secret["password"], "the password changed");
        assert!(self.logs_in(&current).await, "the new password logs in");
        assert!(!self.logs_in(&secret).await, "the old password no longer logs in");
    }

    /// Every password any version of the secret held.
    async fn passwords(&self, arn: &str) -> Vec<String> {
        let values = self.h.all_values(arn).await;
        let secrets = values.iter().filter_map(|value| serde_json::from_str::<Value>(value).ok());
        secrets.filter_map(|secret| secret["password"].as_str().map(str::to_owned)).collect()
    }
}

#[tokio::test]
async fn cluster_and_namespace_admins_rotate_through_the_api_and_log_in_where_the_api_says() {
    let admins = start().await;
    let (cluster, _) = admins.cluster(&format!("{ALLOWED}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])).await;
    let (namespace, _) =
        admins.namespace(&format!("{ALLOWED}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])).await;
    for arn in [&cluster, &namespace] {
        // The secret's host names no server: every login goes where the API says the admin lives.
        let record = admins.h.configure_rotation(arn, "rotate-redshift-admin").await;
        assert_eq!(record["state"], "succeeded", "{record}\n{}", admins.h.all_logs());
        for round in 1..=3 {
            let old = admins.current(arn).await;
            let record = admins.rotate(arn).await;
            assert_eq!(record["state"], "succeeded", "round {round}: {record}");
            let current = admins.current(arn).await;
            assert!(admins.logs_in(&current).await, "round {round}: AWSCURRENT logs in");
            assert!(!admins.logs_in(&old).await, "round {round}: the old password no longer logs in");
            assert_eq!(current["team"].as_str().or(old["team"].as_str()), old["team"].as_str(), "fields kept");
            assert_eq!(current["host"], old["host"], "the secret's own fields are kept as they are");
        }
    }
    let mut values = Vec::new();
    for arn in [&cluster, &namespace] {
        values.extend(admins.passwords(arn).await);
    }
    assert!(values.len() >= 8, "every version's password: {}", values.len());
    admins.h.assert_no_leaks(&values);
    let log = admins.pg.log();
    for value in &values {
        assert!(!log.contains(value.as_str()), "the server's log holds a password");
    }
}

#[tokio::test]
async fn a_secret_naming_a_resource_the_function_may_not_change_or_another_admin_is_refused_before_any_change() {
    let admins = start().await;
    // A cluster outside REDSHIFT_CLUSTER_ARNS: refused before any call changes it.
    let (outside, secret) =
        admins.cluster(&format!("rs-other-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])).await;
    let record = admins.rotate(&outside).await;
    assert_eq!(record["error_type"], "ConfusedDeputy", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("REDSHIFT_CLUSTER_ARNS"), "{record}");
    assert!(admins.logs_in(&secret).await, "the outside cluster's admin password did not change");

    // An allowed cluster, but a secret naming a user that is not its master user.
    let (allowed, good) =
        admins.cluster(&format!("{ALLOWED}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])).await;
    let mut other = good.clone();
    other["username"] = json!("someone_else");
    admins.h.client.put_secret_value().secret_id(&allowed).secret_string(other.to_string()).send().await.unwrap();
    let record = admins.rotate(&allowed).await;
    assert_eq!(record["state"], "failed", "{record}");
    assert!(admins.logs_in(&good).await, "the master's password did not change");

    // The endpoint never takes over a user of the stand-in it did not create (its superuser, another cluster's
    // admin), whoever calls it.
    for taken in ["postgres", good["username"].as_str().unwrap()] {
        let create = admins.clusters.create_cluster().cluster_identifier(format!("{ALLOWED}-taken"));
        let create = create.master_username(taken).master_user_password(password()).node_type("ra3.xlplus");
        assert!(create.send().await.is_err(), "{taken}: refused");
    }
    assert!(admins.logs_in(&good).await, "the other cluster's admin still logs in");
}

#[tokio::test]
async fn a_redshift_managed_admin_secret_is_found_through_its_cluster_tag() {
    let admins = start_managed().await;
    let id = format!("{ALLOWED}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (master, master_password) = (unique("master").replace('-', "_"), password());
    let create = admins.clusters.create_cluster().cluster_identifier(&id).master_username(&master);
    let create = create.master_user_password(&master_password).node_type("ra3.xlplus").db_name("postgres");
    create.send().await.unwrap();
    let tag =
        Tag::builder().key("aws:redshift:primaryclusterarn").value(format!("arn:aws:redshift:{ACCOUNT}:cluster:{id}"));
    admins.assert_a_managed_admin_rotates_a_user(&master, &master_password, tag.build()).await;
}

#[tokio::test]
async fn a_redshift_serverless_managed_admin_secret_is_found_through_its_namespace_tag() {
    let admins = start_managed().await;
    let name = format!("{ALLOWED}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (admin, admin_password) = (unique("admin").replace('-', "_"), password());
    let create = admins.serverless.create_namespace().namespace_name(&name).admin_username(&admin);
    let created = create.admin_user_password(&admin_password).db_name("postgres").send().await.unwrap();
    let workgroup = admins.serverless.create_workgroup().workgroup_name(format!("{name}-wg")).namespace_name(&name);
    workgroup.send().await.unwrap();
    // The tag names the namespace by its id, not its name: the function finds it only by `ListNamespaces`.
    let namespace_arn = created.namespace().and_then(|namespace| namespace.namespace_arn()).unwrap();
    assert!(!namespace_arn.ends_with(&name), "{namespace_arn}");
    let tag = Tag::builder().key("aws:redshift-serverless:namespacearn").value(namespace_arn);
    admins.assert_a_managed_admin_rotates_a_user(&admin, &admin_password, tag.build()).await;
}
