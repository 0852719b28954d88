//! MySQL/MariaDB rotation end to end: `rotate-mysql` through the Lambda runtime API and the local endpoint,
//! against a real MariaDB server with TLS, its general and slow query logs on, and a hostile global `sql_mode`.
//! MySQL 8's dual-password statements are unit-tested in rotation-mysql; this machine has MariaDB only.

use mysql_async::prelude::Queryable;
use serde_json::{Value, json};

use crate::harness::{Function, Harness, unique};
use crate::mariadb_server::MariaDbServer;

pub struct Case {
    pub h: Harness,
    pub db: MariaDbServer,
    pub user: String,
    pub host: String,
    pub admin: String,
    pub admin_password: String,
    pub admin_arn: String,
    pub arn: String,
    /// The function's environment, to start more instances of it.
    pub env: Vec<(String, String)>,
}

/// A string literal that means the same under every `sql_mode` (quotes doubled; the tests use no backslash).
pub fn literal(value: &str) -> String {
    assert!(!value.contains('\\'));
    format!("'{}'", value.replace('\'', "''"))
}

/// `IDENTIFIED BY PASSWORD '<hash>'`: the tests' own statements keep passwords out of the server's logs too.
pub fn identified(password: &str) -> String {
    format!("IDENTIFIED BY PASSWORD '{}'", rotation_mysql::native_hash(password))
}

/// The ARN prefix of the local endpoint's secrets.
pub const ARN_PREFIX: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:";

/// A user `'<user>'@'<host>'` that may read a schema, an admin with CREATE USER and GRANT OPTION, their secrets,
/// and `rotate-mysql` with `strategy`.
pub async fn setup(strategy: &str, user: &str, host: &str, extra_env: Vec<(String, String)>) -> Case {
    let db = MariaDbServer::get().await;
    let admin_name = unique("my-admin");
    let mut env = vec![
        ("ROTATION_STRATEGY".to_string(), strategy.to_string()),
        ("TLS_CA_BUNDLE".to_string(), db.ca().display().to_string()),
        ("TEST_ATTEMPTS".to_string(), "2".to_string()),
        ("CONNECT_TIMEOUT_SECONDS".to_string(), "2".to_string()),
        ("ADMIN_SECRET_ARNS".to_string(), format!("{ARN_PREFIX}{admin_name}-*")),
    ];
    env.extend(extra_env);
    let h = Harness::start(vec![Function { name: "rotate-mysql", env: env.clone() }]).await;
    let admin = unique("admin");
    let admin_password = uuid::Uuid::new_v4().to_string();
    let password = uuid::Uuid::new_v4().to_string();
    let schema = unique("shop").replace('-', "_");
    let mut root = db.root().await;
    for statement in [
        format!("CREATE USER {}@'127.0.0.1' {}", literal(&admin), identified(&admin_password)),
        format!("GRANT ALL PRIVILEGES ON *.* TO {}@'127.0.0.1' WITH GRANT OPTION", literal(&admin)),
        format!("CREATE USER {}@{} {}", literal(user), literal(host), identified(&password)),
        format!("CREATE DATABASE `{schema}`"),
        format!("GRANT SELECT ON `{schema}`.* TO {}@{}", literal(user), literal(host)),
    ] {
        root.query_drop(statement).await.unwrap();
    }
    let admin_arn = h
        .create_secret(&admin_name, &json!({"engine": "mariadb", "host": "127.0.0.1", "port": db.port, "username": admin, "password": admin_password}).to_string())
        .await;
    let secret = json!({"engine": "mariadb", "host": "127.0.0.1", "port": db.port, "username": user, "password": password, "masterarn": admin_arn, "dbClusterIdentifier": "kept"});
    let arn = h.create_secret(&unique("my-app"), &secret.to_string()).await;
    Case { h, db, user: user.to_owned(), host: host.to_owned(), admin, admin_password, admin_arn, arn, env }
}

impl crate::scenarios::EngineCase for Case {
    fn harness(&self) -> &Harness {
        &self.h
    }
    fn arn(&self) -> &str {
        &self.arn
    }
    fn function(&self) -> &'static str {
        "rotate-mysql"
    }
    async fn logs_in(&self, secret: &Value) -> bool {
        Case::logs_in(self, secret).await
    }
    async fn assert_no_password_leaks(&self) {
        Case::assert_no_password_leaks(self).await
    }
}

impl Case {
    pub async fn secret(&self, stage: &str) -> Value {
        serde_json::from_str(&self.h.value(&self.arn, stage).await).unwrap()
    }

    pub async fn logs_in(&self, secret: &Value) -> bool {
        self.db.login(secret["username"].as_str().unwrap(), secret["password"].as_str().unwrap()).await.is_ok()
    }

    pub async fn rotate(&self) -> Value {
        self.h.client.rotate_secret().secret_id(&self.arn).send().await.unwrap();
        self.h.wait_rotation(&self.arn).await
    }

    pub async fn configure(&self) {
        let record = self.h.configure_rotation(&self.arn, "rotate-mysql").await;
        assert_eq!(record["state"], "succeeded", "{record}");
    }

    pub async fn grants(&self, user: &str) -> Vec<String> {
        let mut root = self.db.root().await;
        let grants: Vec<String> =
            root.query(format!("SHOW GRANTS FOR {}@{}", literal(user), literal(&self.host))).await.unwrap();
        let mut normalized: Vec<String> = grants
            .into_iter()
            // The test's session runs under the server's global sql_mode (ANSI_QUOTES): names come in "".
            .map(|g| g.replace(&format!("\"{user}\""), "USER").replace(&format!("`{user}`"), "USER"))
            .map(|g| g.split(" IDENTIFIED BY").next().unwrap().to_owned())
            .collect();
        normalized.sort();
        normalized
    }

    /// Puts a value as AWSCURRENT, as an operator would.
    pub async fn put(&self, secret: &Value) {
        self.h.client.put_secret_value().secret_id(&self.arn).secret_string(secret.to_string()).send().await.unwrap();
    }

    /// No log line of the test, and nothing in the server's general or slow query log, holds a password of any
    /// version or the admin's.
    pub async fn assert_no_password_leaks(&self) {
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
        let logs = self.db.logs();
        assert!(logs.contains("IDENTIFIED BY PASSWORD '*"), "the server logs rotor's statements");
        for value in &values {
            assert!(!logs.contains(value.as_str()), "the server's general or slow query log holds a password");
        }
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
async fn odd_names_rotate_and_names_with_quotes_are_refused_before_anything_is_stored() {
    let user = format!("{} ;-- ü@x", unique("we ird"));
    for strategy in ["single-user", "alternating-users"] {
        let case = setup(strategy, &format!("{user}{}", &strategy[..1]), "%", vec![]).await;
        case.configure().await;
        for _ in 0..2 {
            assert_eq!(case.rotate().await["state"], "succeeded", "{strategy}");
            assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "{strategy}");
        }
    }
    // A quote, a backslash or a control character in a user name is refused at createSecret: no pending value.
    let case = setup("single-user", &unique("app"), "%", vec![]).await;
    case.configure().await;
    let good = case.secret("AWSCURRENT").await;
    for name in ["we'ird", "a\\b", "a`b", "a\nb"] {
        let mut hostile = good.clone();
        hostile["username"] = json!(name);
        case.put(&hostile).await;
        let record = case.rotate().await;
        assert_eq!(
            (record["step"].as_str(), record["error_type"].as_str()),
            (Some("createSecret"), Some("InvalidSecret")),
            "{name:?}: {record}"
        );
        assert!(record["error_message"].as_str().unwrap().contains("rotor refuses such MySQL user names"), "{record}");
        let pending = case.h.holding(&case.arn, "AWSPENDING").await.unwrap();
        let stored = case.h.client.get_secret_value().secret_id(&case.arn).version_id(&pending).send().await;
        assert!(stored.is_err(), "{name:?}: nothing was stored for the refused rotation");
        case.put(&good).await;
        assert!(case.logs_in(&good).await);
    }
}

#[tokio::test]
async fn a_crash_after_set_secret_resumes_and_every_step_repeated_changes_nothing() {
    let case = setup("single-user", &unique("app"), "%", vec![]).await;
    case.configure().await;
    crate::scenarios::a_crash_after_set_secret_resumes_and_every_step_repeated_changes_nothing(&case).await;
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
async fn tls_is_verified_and_no_secret_goes_below_the_floor() {
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

    // The secret cannot lower TLS below the function's floor (verify-ca by default): not to plaintext, not to
    // an unverified `require`, and the current credential keeps working.
    let good = case.secret("AWSCURRENT").await;
    for ssl in [json!(false), json!("disable"), json!("require")] {
        let mut secret = good.clone();
        secret["ssl"] = ssl.clone();
        case.put(&secret).await;
        let record = case.rotate().await;
        assert_eq!(record["error_type"], "InvalidSecret", "{ssl}: {record}");
        let message = record["error_message"].as_str().unwrap();
        assert!(message.contains("`ssl` asks for TLS mode") && message.contains("TLS_MIN_MODE=verify-ca"), "{record}");
        assert!(case.logs_in(&secret).await);
    }

    // Only the function's own TLS_MIN_MODE allows plaintext, and it says so at every connection.
    let plain = setup(
        "single-user",
        &unique("app"),
        "%",
        vec![
            ("TLS_CA_BUNDLE".into(), db.dir.join("other-ca.pem").display().to_string()),
            ("TLS_MIN_MODE".into(), "disable".into()),
        ],
    )
    .await;
    let mut secret = plain.secret("AWSCURRENT").await;
    secret["ssl"] = json!(false);
    plain.put(&secret).await;
    plain.configure().await;
    assert_eq!(plain.rotate().await["state"], "succeeded", "plaintext when the function allows it");
    let log = std::fs::read_to_string(plain.h.dir.path().join("rotate-mysql.log")).unwrap();
    assert!(log.contains("TLS is disabled for this database"), "{log}");
}
