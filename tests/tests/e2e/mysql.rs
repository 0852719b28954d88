//! MySQL/MariaDB rotation end to end: `rotate-mysql` through the Lambda runtime API and the local endpoint,
//! against a real MariaDB server with TLS. MySQL 8's dual-password statements are unit-tested in
//! rotation-mysql; this machine has MariaDB only, which takes the plain path.

use mysql_async::prelude::Queryable;
use serde_json::{Value, json};

use crate::harness::{Function, Harness, unique};
use crate::mariadb_server::MariaDbServer;

struct Case {
    h: Harness,
    db: MariaDbServer,
    user: String,
    host: String,
    admin: String,
    admin_password: String,
    arn: String,
}

fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A user `'<user>'@'<host>'` that may read a schema, an admin with CREATE USER and GRANT OPTION, their secrets,
/// and `rotate-mysql` with `strategy`.
async fn setup(strategy: &str, user: &str, host: &str, extra_env: Vec<(String, String)>) -> Case {
    let db = MariaDbServer::get().await;
    let mut env = vec![
        ("ROTATION_STRATEGY".to_string(), strategy.to_string()),
        ("TLS_CA_BUNDLE".to_string(), db.ca().display().to_string()),
        ("TEST_ATTEMPTS".to_string(), "2".to_string()),
        ("CONNECT_TIMEOUT_SECONDS".to_string(), "2".to_string()),
    ];
    env.extend(extra_env);
    let h = Harness::start(vec![Function { name: "rotate-mysql", env }]).await;
    let admin = unique("admin");
    let admin_password = uuid::Uuid::new_v4().to_string();
    let password = uuid::Uuid::new_v4().to_string();
    let schema = unique("shop").replace('-', "_");
    let mut root = db.root().await;
    for statement in [
        format!("CREATE USER {}@'127.0.0.1' IDENTIFIED BY {}", literal(&admin), literal(&admin_password)),
        format!("GRANT ALL PRIVILEGES ON *.* TO {}@'127.0.0.1' WITH GRANT OPTION", literal(&admin)),
        format!("CREATE USER {}@{} IDENTIFIED BY {}", literal(user), literal(host), literal(&password)),
        format!("CREATE DATABASE `{schema}`"),
        format!("GRANT SELECT ON `{schema}`.* TO {}@{}", literal(user), literal(host)),
    ] {
        root.query_drop(statement).await.unwrap();
    }
    let admin_arn = h
        .create_secret(&unique("my-admin"), &json!({"engine": "mariadb", "host": "127.0.0.1", "port": db.port, "username": admin, "password": admin_password}).to_string())
        .await;
    let secret = json!({"engine": "mariadb", "host": "127.0.0.1", "port": db.port, "username": user, "password": password, "masterarn": admin_arn, "dbClusterIdentifier": "kept"});
    let arn = h.create_secret(&unique("my-app"), &secret.to_string()).await;
    Case { h, db, user: user.to_owned(), host: host.to_owned(), admin, admin_password, arn }
}

impl Case {
    async fn secret(&self, stage: &str) -> Value {
        serde_json::from_str(&self.h.value(&self.arn, stage).await).unwrap()
    }

    async fn logs_in(&self, secret: &Value) -> bool {
        self.db.login(secret["username"].as_str().unwrap(), secret["password"].as_str().unwrap()).await.is_ok()
    }

    async fn rotate(&self) -> Value {
        self.h.client.rotate_secret().secret_id(&self.arn).send().await.unwrap();
        self.h.wait_rotation(&self.arn).await
    }

    async fn configure(&self) {
        let record = self.h.configure_rotation(&self.arn, "rotate-mysql").await;
        assert_eq!(record["state"], "succeeded", "{record}");
    }

    async fn grants(&self, user: &str) -> Vec<String> {
        let mut root = self.db.root().await;
        let grants: Vec<String> =
            root.query(format!("SHOW GRANTS FOR {}@{}", literal(user), literal(&self.host))).await.unwrap();
        let mut normalized: Vec<String> = grants
            .into_iter()
            .map(|g| g.replace(&format!("`{user}`"), "`USER`"))
            .map(|g| g.split(" IDENTIFIED BY").next().unwrap().to_owned())
            .collect();
        normalized.sort();
        normalized
    }

    async fn assert_no_password_leaks(&self) {
        let mut values = vec![self.admin_password.clone()];
        let versions =
            self.h.client.list_secret_version_ids().secret_id(&self.arn).include_deprecated(true).send().await.unwrap();
        for version in versions.versions() {
            if let Ok(value) = self
                .h
                .client
                .get_secret_value()
                .secret_id(&self.arn)
                .version_id(version.version_id().unwrap())
                .send()
                .await
            {
                let secret: Value = serde_json::from_str(value.secret_string().unwrap()).unwrap();
                values.push(secret["password"].as_str().unwrap().to_owned());
            }
        }
        self.h.assert_no_leaks(&values);
    }
}

#[tokio::test]
async fn single_user_rotates_five_times_on_its_real_account() {
    // The account's host part is 127.0.0.1, not '%': rotor changes the account CURRENT_USER() names.
    let case = setup("single-user", &unique("app"), "127.0.0.1", vec![]).await;
    case.configure().await;
    for round in 1..=5 {
        let before = case.h.holding(&case.arn, "AWSCURRENT").await.unwrap();
        let old = case.secret("AWSCURRENT").await;
        let record = case.rotate().await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}");
        let current = case.secret("AWSCURRENT").await;
        assert!(case.logs_in(&current).await, "round {round}: AWSCURRENT logs in");
        assert!(!case.logs_in(&old).await, "round {round}: the old password no longer logs in");
        assert_eq!(case.h.holding(&case.arn, "AWSPREVIOUS").await, Some(before));
        assert_eq!(current["dbClusterIdentifier"], "kept");
    }
    case.assert_no_password_leaks().await;
}

#[tokio::test]
async fn the_admin_changes_the_password() {
    let case = setup("admin", &unique("app"), "%", vec![]).await;
    case.configure().await;
    for round in 1..=5 {
        let old = case.secret("AWSCURRENT").await;
        assert_eq!(case.rotate().await["state"], "succeeded", "round {round}");
        assert!(case.logs_in(&case.secret("AWSCURRENT").await).await);
        assert!(!case.logs_in(&old).await);
    }
    case.assert_no_password_leaks().await;
}

#[tokio::test]
async fn alternating_users_keep_working_with_the_same_grants_and_tls_requirement() {
    let case = setup("alternating-users", &unique("app"), "127.0.0.1", vec![]).await;
    let base = case.user.clone();
    let clone = format!("{base}_clone");
    case.configure().await;
    for round in 1..=5 {
        let record = case.rotate().await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}");
        let current = case.secret("AWSCURRENT").await;
        let previous = case.secret("AWSPREVIOUS").await;
        assert_eq!(current["username"], if round % 2 == 1 { &clone } else { &base }.as_str(), "round {round}");
        assert!(case.logs_in(&current).await, "round {round}: AWSCURRENT logs in");
        assert!(case.logs_in(&previous).await, "round {round}: AWSPREVIOUS still logs in");
        assert_eq!(case.grants(&base).await, case.grants(&clone).await, "round {round}: the same grants");
        if round == 1 {
            // A grant made to the active user (the clone) reaches the other user by the next rotation.
            let mut root = case.db.root().await;
            root.query_drop(format!("GRANT PROCESS ON *.* TO {}@{}", literal(&clone), literal(&case.host)))
                .await
                .unwrap();
        }
    }
    // After five rotations the clone is active: its TLS requirement reaches the original user.
    let mut root = case.db.root().await;
    root.query_drop(format!("ALTER USER {}@{} REQUIRE SSL", literal(&clone), literal(&case.host))).await.unwrap();
    assert_eq!(case.rotate().await["state"], "succeeded");
    let show: Option<String> =
        root.query_first(format!("SHOW CREATE USER {}@{}", literal(&base), literal(&case.host))).await.unwrap();
    assert!(show.unwrap().contains("REQUIRE SSL"), "the other user has the active user's TLS requirement");
    assert!(case.grants(&base).await.iter().any(|g| g.contains("PROCESS")));
    case.assert_no_password_leaks().await;
}

#[tokio::test]
async fn hostile_names_rotate() {
    let user = format!("{} \"q\"; -- ü", unique("we'ird"));
    for strategy in ["single-user", "alternating-users"] {
        let case = setup(strategy, &format!("{user}{}", &strategy[..1]), "%", vec![]).await;
        case.configure().await;
        for _ in 0..2 {
            assert_eq!(case.rotate().await["state"], "succeeded", "{strategy}");
            assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "{strategy}");
        }
    }
}

#[tokio::test]
async fn a_crash_after_set_secret_is_completed_by_the_retry_and_repeats_change_nothing() {
    let case = setup("single-user", &unique("app"), "%", vec![]).await;
    case.configure().await;
    case.h
        .client
        .rotate_secret()
        .secret_id(&case.arn)
        .rotation_lambda_arn(crate::harness::lambda_arn("rotate-not-deployed"))
        .send()
        .await
        .unwrap();
    assert_eq!(case.h.wait_rotation(&case.arn).await["state"], "failed");
    let token = case.h.holding(&case.arn, "AWSPENDING").await.unwrap();
    let event = |step: &str| json!({"Step": step, "SecretId": case.arn, "ClientRequestToken": token, "RotationToken": "rt-my-crash-0000-1111-2222-333344445555"});
    for step in ["createSecret", "setSecret"] {
        case.h.invoke("rotate-mysql", &event(step)).await.unwrap();
    }
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        for _ in 0..2 {
            case.h.invoke("rotate-mysql", &event(step)).await.unwrap_or_else(|e| panic!("{step}: {e:?}"));
        }
    }
    assert_eq!(case.h.holding(&case.arn, "AWSCURRENT").await, Some(token));
    assert!(case.logs_in(&case.secret("AWSCURRENT").await).await);
    case.assert_no_password_leaks().await;
}

#[tokio::test]
async fn bad_input_and_admin_problems_fail_clearly_and_the_user_keeps_working() {
    let case = setup("admin", &unique("app"), "%", vec![]).await;
    case.configure().await;
    let good = case.secret("AWSCURRENT").await;
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("host", Value::Null, "InvalidSecret", "field `host` is missing"),
        ("engine", json!("postgres"), "InvalidSecret", "field `engine` is \"postgres\""),
        ("port", json!(crate::harness::free_port()), "TargetUnreachable", "cannot reach 127.0.0.1"),
        (
            "masterarn",
            json!("arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf"),
            "InvalidSecret",
            "check the masterarn",
        ),
    ];
    for (field, value, error_type, message) in cases {
        let mut broken = good.clone();
        if value.is_null() {
            broken.as_object_mut().unwrap().remove(field);
        } else {
            broken[field] = value;
        }
        case.h.client.put_secret_value().secret_id(&case.arn).secret_string(broken.to_string()).send().await.unwrap();
        let record = case.rotate().await;
        assert_eq!(
            (record["state"].as_str(), record["error_type"].as_str()),
            (Some("failed"), Some(error_type)),
            "{field}: {record}"
        );
        assert!(record["error_message"].as_str().unwrap().contains(message), "{field}: {record}");
        case.h.client.put_secret_value().secret_id(&case.arn).secret_string(good.to_string()).send().await.unwrap();
        assert!(case.logs_in(&good).await, "{field}: the current credential still logs in");
    }
    // An admin without the privilege to change other users' passwords.
    let mut root = case.db.root().await;
    root.query_drop(format!("REVOKE ALL PRIVILEGES, GRANT OPTION FROM {}@'127.0.0.1'", literal(&case.admin)))
        .await
        .unwrap();
    let record = case.rotate().await;
    assert_eq!(record["error_type"], "TargetPermissionDenied", "{record}");
    assert!(case.logs_in(&good).await);
}

#[tokio::test]
async fn tls_is_verified_and_plaintext_only_when_asked() {
    let db = MariaDbServer::get().await;
    let case = setup("single-user", &unique("app"), "%", vec![]).await;
    case.configure().await;
    assert_eq!(case.rotate().await["state"], "succeeded", "verify-full against the server's own certificate");

    let wrong = setup(
        "single-user",
        &unique("app"),
        "%",
        vec![("TLS_CA_BUNDLE".into(), db.dir.join("other-ca.pem").display().to_string())],
    )
    .await;
    let record = wrong.h.configure_rotation(&wrong.arn, "rotate-mysql").await;
    assert_eq!(record["error_type"], "TargetTlsFailed", "{record}");
    let message = record["error_message"].as_str().unwrap();
    assert!(message.contains("127.0.0.1") && message.contains("mode verify-full"), "{message}");

    let mut secret = wrong.secret("AWSCURRENT").await;
    secret["ssl"] = json!(false);
    wrong.h.client.put_secret_value().secret_id(&wrong.arn).secret_string(secret.to_string()).send().await.unwrap();
    assert_eq!(wrong.rotate().await["state"], "succeeded", "plaintext when the secret asks for it");
    let log = std::fs::read_to_string(wrong.h.dir.path().join("rotate-mysql.log")).unwrap();
    assert!(log.contains("TLS is disabled for this database"), "{log}");
}
