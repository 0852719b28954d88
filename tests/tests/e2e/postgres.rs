//! PostgreSQL rotation end to end: `rotate-postgres` through the Lambda runtime API and the local endpoint,
//! against a real PostgreSQL server with SCRAM authentication and TLS.

use serde_json::{Value, json};

use crate::harness::{Function, Harness, unique};
use crate::postgres_server::PgServer;

/// One test's database, users and secrets.
pub struct Case {
    pub h: Harness,
    pub pg: PgServer,
    pub db: String,
    pub user: String,
    pub admin: String,
    pub admin_password: String,
    pub arn: String,
    /// The function's environment, to start more instances of it.
    pub env: Vec<(String, String)>,
    /// The function that rotates the secret.
    pub function: &'static str,
}

/// The database a case runs on: PostgreSQL, or the md5 PostgreSQL standing in for Amazon Redshift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    Redshift,
}

impl Kind {
    fn function(self) -> &'static str {
        match self {
            Self::Postgres => "rotate-postgres",
            Self::Redshift => "rotate-redshift",
        }
    }

    fn engine(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Redshift => "redshift",
        }
    }

    fn server(self) -> PgServer {
        match self {
            Self::Postgres => PgServer::get(),
            Self::Redshift => PgServer::redshift_stand_in(),
        }
    }

    /// The statement that sets `role`'s password as this kind of server stores it (a SCRAM verifier, or
    /// Redshift's md5 hash): never the password itself, since the server logs every statement.
    pub fn password_statement(self, role: &str, password: &str, extra: &str) -> String {
        match self {
            Self::Postgres => rotation_postgres::password_statement(role, password, extra),
            Self::Redshift => rotation_redshift::password_statement(role, password, extra),
        }
    }
}

/// The ARN prefix of the local endpoint's secrets; RDS-managed admin secrets are named `rds!...`.
pub const ARN_PREFIX: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:";

pub fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// A database owned by a fresh admin (CREATEROLE), a user with a table it may read, the admin secret, and the
/// user's secret; `rotate-postgres` runs with `strategy`.
pub async fn setup(strategy: &str, user: &str, extra_env: Vec<(String, String)>) -> Case {
    setup_on(Kind::Postgres, strategy, user, extra_env).await
}

/// [`setup`] on a `kind` of server, rotated by that kind's function.
pub async fn setup_on(kind: Kind, strategy: &str, user: &str, extra_env: Vec<(String, String)>) -> Case {
    let pg = kind.server();
    let function = kind.function();
    let admin_name = unique("pg-admin");
    let mut env = vec![
        ("ADMIN_SECRET_ARNS".to_string(), format!("{ARN_PREFIX}{admin_name}-*,{ARN_PREFIX}rds!db-*")),
        ("ROTATION_STRATEGY".to_string(), strategy.to_string()),
        ("TLS_CA_BUNDLE".to_string(), pg.ca().display().to_string()),
        ("TEST_ATTEMPTS".to_string(), "2".to_string()),
        ("CONNECT_TIMEOUT_SECONDS".to_string(), "2".to_string()),
    ];
    env.extend(extra_env);
    let h = Harness::start(vec![Function { name: function, env: env.clone() }]).await;
    let db = unique("db \"q\"; ü");
    let admin = unique("admin");
    let admin_password = uuid::Uuid::new_v4().to_string();
    let password = uuid::Uuid::new_v4().to_string();
    let superuser = pg.superuser("postgres").await;
    // The test sets its passwords as verifiers too: the server logs every statement.
    for statement in [
        format!("CREATE ROLE {}", quote(&admin)),
        kind.password_statement(&admin, &admin_password, "LOGIN CREATEROLE"),
        format!("CREATE DATABASE {} OWNER {}", quote(&db), quote(&admin)),
        format!("CREATE ROLE {}", quote(user)),
        kind.password_statement(user, &password, "LOGIN"),
    ] {
        superuser.batch_execute(&statement).await.unwrap();
    }
    let as_admin = pg.login(&admin, &admin_password, &db).await.unwrap();
    as_admin
        .batch_execute(&format!("CREATE TABLE accounts (id int); GRANT SELECT ON accounts TO {};", quote(user)))
        .await
        .unwrap();
    let admin_arn = h
        .create_secret(
            &admin_name,
            &json!({"engine": kind.engine(), "host": "127.0.0.1", "port": pg.port, "username": admin, "password": admin_password, "dbname": "postgres"}).to_string(),
        )
        .await;
    let secret = json!({
        "engine": kind.engine(), "host": "127.0.0.1", "port": pg.port.to_string(), "username": user, "password": password,
        "dbname": db, "masterarn": admin_arn, "dbInstanceIdentifier": "kept-unchanged",
    });
    let arn = h.create_secret(&unique("pg-app"), &secret.to_string()).await;
    Case { h, pg, db, user: user.to_owned(), admin, admin_password, arn, env, function }
}

impl Case {
    /// Puts a value as AWSCURRENT, as an operator would.
    pub async fn put(&self, secret: &Value) {
        self.h.client.put_secret_value().secret_id(&self.arn).secret_string(secret.to_string()).send().await.unwrap();
    }

    pub async fn secret(&self, stage: &str) -> Value {
        serde_json::from_str(&self.h.value(&self.arn, stage).await).unwrap()
    }

    pub async fn logs_in(&self, secret: &Value) -> bool {
        let user = secret["username"].as_str().unwrap();
        self.pg.login(user, secret["password"].as_str().unwrap(), &self.db).await.is_ok()
    }

    pub async fn can_read_accounts(&self, user: &str) -> bool {
        let client = self.pg.superuser(&self.db).await;
        let row = client.query_one("SELECT has_table_privilege($1, 'accounts', 'SELECT')", &[&user]).await.unwrap();
        row.get(0)
    }

    pub async fn rotate(&self) -> Value {
        self.h.client.rotate_secret().secret_id(&self.arn).send().await.unwrap();
        self.h.wait_rotation(&self.arn).await
    }

    /// No log line of the test, and nothing in the server's log, shows a password of any version or the admin's.
    pub async fn assert_no_password_leaks(&self) {
        let mut values: Vec<String> = Vec::new();
        let versions =
            self.h.client.list_secret_version_ids().secret_id(&self.arn).include_deprecated(true).send().await.unwrap();
        for version in versions.versions() {
            let value = self
                .h
                .client
                .get_secret_value()
                .secret_id(&self.arn)
                .version_id(version.version_id().unwrap())
                .send()
                .await;
            if let Ok(value) = value {
                let secret: Value = serde_json::from_str(value.secret_string().unwrap()).unwrap();
                values.push(secret["password"].as_str().unwrap().to_owned());
            }
        }
        values.push(self.admin_password.clone());
        self.h.assert_no_leaks(&values);
        let log = self.pg.log();
        for value in &values {
            assert!(!log.contains(value.as_str()), "the server's log holds a password");
        }
    }
}

impl crate::scenarios::EngineCase for Case {
    fn harness(&self) -> &Harness {
        &self.h
    }
    fn arn(&self) -> &str {
        &self.arn
    }
    fn function(&self) -> &'static str {
        self.function
    }
    async fn logs_in(&self, secret: &Value) -> bool {
        Case::logs_in(self, secret).await
    }
    async fn assert_no_password_leaks(&self) {
        Case::assert_no_password_leaks(self).await
    }
}

pub async fn configure(case: &Case) {
    let record = case.h.configure_rotation(&case.arn, case.function).await;
    assert_eq!(record["state"], "succeeded", "the configuration test logs in with the current secret: {record}");
}

#[tokio::test]
async fn single_user_rotates_five_times_and_the_old_password_stops_working() {
    let case = setup("single-user", &unique("app"), vec![]).await;
    configure(&case).await;
    for round in 1..=5 {
        let before = case.h.holding(&case.arn, "AWSCURRENT").await.unwrap();
        let old = case.secret("AWSCURRENT").await;
        let record = case.rotate().await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}");
        let current = case.secret("AWSCURRENT").await;
        assert!(case.logs_in(&current).await, "round {round}: AWSCURRENT logs in");
        assert!(!case.logs_in(&old).await, "round {round}: the old password no longer logs in");
        assert_eq!(case.h.holding(&case.arn, "AWSPREVIOUS").await, Some(before));
        assert_eq!(current["dbInstanceIdentifier"], "kept-unchanged");
        assert_eq!(current["port"], case.pg.port.to_string(), "the port keeps its string form");
    }
    // The rotating session's statements were logged (log_statement = 'all'), as verifiers only.
    let log = case.pg.log();
    assert!(log.contains("ALTER ROLE") && log.contains("PASSWORD 'SCRAM-SHA-256$4096:"), "statements are logged");
    case.assert_no_password_leaks().await;
}

#[tokio::test]
async fn the_admin_changes_the_password_of_a_user_that_may_not() {
    let case = setup("admin", &unique("app"), vec![]).await;
    configure(&case).await;
    for round in 1..=5 {
        let old = case.secret("AWSCURRENT").await;
        assert_eq!(case.rotate().await["state"], "succeeded", "round {round}");
        assert!(case.logs_in(&case.secret("AWSCURRENT").await).await);
        assert!(!case.logs_in(&old).await);
    }
    case.assert_no_password_leaks().await;
}

#[tokio::test]
async fn alternating_users_both_keep_working_and_stay_alike() {
    let case = setup("alternating-users", &unique("app"), vec![]).await;
    let superuser = case.pg.superuser(&case.db).await;
    let base = case.user.clone();
    let clone = format!("{base}_clone");
    superuser
        .batch_execute(&format!(
            "CREATE ROLE {r}; GRANT {r} TO {u}; ALTER ROLE {u} SET search_path = app, public; ALTER ROLE {u} CREATEDB CONNECTION LIMIT 7;",
            r = quote(&unique("readers")),
            u = quote(&base)
        ))
        .await
        .unwrap();
    configure(&case).await;
    for round in 1..=5 {
        let record = case.rotate().await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}");
        let current = case.secret("AWSCURRENT").await;
        let previous = case.secret("AWSPREVIOUS").await;
        let expected = if round % 2 == 1 { &clone } else { &base };
        assert_eq!(current["username"], expected.as_str(), "round {round}: the users alternate");
        assert!(case.logs_in(&current).await, "round {round}: AWSCURRENT logs in");
        assert!(case.logs_in(&previous).await, "round {round}: AWSPREVIOUS still logs in");
        assert!(case.can_read_accounts(&base).await && case.can_read_accounts(&clone).await);

        let alike = "SELECT r.rolcreatedb, r.rolconnlimit, r.rolcanlogin, \
                     (SELECT array_agg(g.rolname ORDER BY g.rolname) FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid \
                       WHERE m.member = r.oid AND g.rolname <> $2), \
                     (SELECT setconfig FROM pg_db_role_setting s WHERE s.setrole = r.oid AND s.setdatabase = 0) \
                     FROM pg_roles r WHERE r.rolname = $1";
        let describe = |row: tokio_postgres::Row| {
            format!(
                "{:?} {:?} {:?} {:?} {:?}",
                row.get::<_, bool>(0),
                row.get::<_, i32>(1),
                row.get::<_, bool>(2),
                row.get::<_, Option<Vec<String>>>(3),
                row.get::<_, Option<Vec<String>>>(4)
            )
        };
        let of_base = describe(superuser.query_one(alike, &[&base, &base]).await.unwrap());
        let of_clone = describe(superuser.query_one(alike, &[&clone, &base]).await.unwrap());
        assert_eq!(of_base, of_clone, "round {round}: attributes, memberships and settings alike");

        if round == 1 {
            // A grant made to the active user (now the clone) reaches the other user by the next rotation.
            let as_admin = case.pg.login(&case.admin, &case.admin_password, &case.db).await.unwrap();
            as_admin
                .batch_execute(&format!("CREATE TABLE audit (id int); GRANT INSERT ON audit TO {};", quote(&clone)))
                .await
                .unwrap();
        }
        if round >= 2 {
            let row = superuser.query_one("SELECT has_table_privilege($1, 'audit', 'INSERT')", &[&base]).await.unwrap();
            assert!(row.get::<_, bool>(0), "round {round}: the grant made to the clone reached the original user");
        }
    }
    case.assert_no_password_leaks().await;
}

#[tokio::test]
async fn hostile_user_and_database_names_rotate() {
    let user = format!("{} \"q\"; DROP ROLE x; -- ü", unique("we'ird"));
    // PostgreSQL, and Redshift on its stand-in.
    for kind in [Kind::Postgres, Kind::Redshift] {
        for strategy in ["single-user", "alternating-users"] {
            let case = setup_on(kind, strategy, &format!("{user}{}", &strategy[..1]), vec![]).await;
            configure(&case).await;
            for _ in 0..2 {
                assert_eq!(case.rotate().await["state"], "succeeded", "{kind:?} {strategy}");
                assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "{kind:?} {strategy}");
            }
        }
    }
}

#[tokio::test]
async fn a_crash_after_set_secret_resumes_and_every_step_repeated_changes_nothing() {
    let case = setup("single-user", &unique("app"), vec![]).await;
    configure(&case).await;
    crate::scenarios::a_crash_after_set_secret_resumes_and_every_step_repeated_changes_nothing(&case).await;
}

#[tokio::test]
async fn bad_input_fails_the_step_clearly_and_the_current_credential_still_logs_in() {
    let case = setup("single-user", &unique("app"), vec![]).await;
    configure(&case).await;
    let good = case.secret("AWSCURRENT").await;
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("host", Value::Null, "InvalidSecret", "field `host` is missing"),
        ("port", json!("five"), "InvalidSecret", "field `port` must be a port number"),
        ("engine", json!("mysql"), "InvalidSecret", "field `engine` is \"mysql\""),
        ("port", json!(crate::harness::free_port()), "TargetUnreachable", "cannot reach 127.0.0.1"),
        (
            "password",
            json!("not-the-password"),
            "TargetAuthenticationFailed",
            "neither the pending, the current, the previous nor an abandoned rotation's password",
        ),
    ];
    for (field, value, error_type, message) in cases {
        let mut broken = good.clone();
        if value.is_null() {
            broken.as_object_mut().unwrap().remove(field);
        } else {
            broken[field] = value;
        }
        // Twice, so that AWSPREVIOUS is broken too (setSecret falls back to the previous password).
        for _ in 0..2 {
            case.h
                .client
                .put_secret_value()
                .secret_id(&case.arn)
                .secret_string(broken.to_string())
                .send()
                .await
                .unwrap();
        }
        let record = case.rotate().await;
        assert_eq!(record["state"], "failed", "{field}: {record}");
        assert_eq!(record["error_type"], error_type, "{field}: {record}");
        assert!(record["error_message"].as_str().unwrap().contains(message), "{field}: {record}");
        // Put the working secret back, as an operator would, and check it still logs in.
        case.h.client.put_secret_value().secret_id(&case.arn).secret_string(good.to_string()).send().await.unwrap();
        assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "{field}: AWSCURRENT still logs in");
    }
    case.assert_no_password_leaks().await;
}

#[tokio::test]
async fn admin_problems_fail_the_step_and_leave_the_user_working() {
    let case = setup("admin", &unique("app"), vec![]).await;
    configure(&case).await;
    let good = case.secret("AWSCURRENT").await;
    // The admin secret is missing.
    let mut broken = good.clone();
    broken["masterarn"] = json!("arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-admin-AbCdEf");
    case.h.client.put_secret_value().secret_id(&case.arn).secret_string(broken.to_string()).send().await.unwrap();
    let record = case.rotate().await;
    assert_eq!((record["state"].as_str(), record["step"].as_str()), (Some("failed"), Some("setSecret")), "{record}");
    assert!(
        record["error_message"]
            .as_str()
            .unwrap()
            .contains("does not exist or has no AWSCURRENT value; check the masterarn"),
        "{record}"
    );
    case.h.client.put_secret_value().secret_id(&case.arn).secret_string(good.to_string()).send().await.unwrap();
    assert!(case.logs_in(&case.secret("AWSCURRENT").await).await);

    // The admin may not change the user's password.
    case.pg
        .superuser("postgres")
        .await
        .batch_execute(&format!("ALTER ROLE {} NOCREATEROLE", quote(&case.admin)))
        .await
        .unwrap();
    let record = case.rotate().await;
    assert_eq!(record["state"], "failed");
    assert_eq!(record["error_type"], "TargetPermissionDenied", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("grant it"), "{record}");
    case.h.client.put_secret_value().secret_id(&case.arn).secret_string(good.to_string()).send().await.unwrap();
    assert!(case.logs_in(&case.secret("AWSCURRENT").await).await);
}

#[tokio::test]
async fn tls_is_verified_and_no_secret_goes_below_the_floor() {
    let pg = PgServer::get();
    // verify-full against the server's own certificate: rotations succeed (the default mode).
    let case = setup("single-user", &unique("app"), vec![]).await;
    configure(&case).await;
    assert_eq!(case.rotate().await["state"], "succeeded");

    // A CA that did not sign the server's certificate: the handshake fails, naming host, mode and cause.
    let wrong = setup(
        "single-user",
        &unique("app"),
        vec![("TLS_CA_BUNDLE".into(), pg.dir.join("other-ca.pem").display().to_string())],
    )
    .await;
    let record = wrong.h.configure_rotation(&wrong.arn, "rotate-postgres").await;
    assert_eq!(record["error_type"], "TargetTlsFailed", "{record}");
    let message = record["error_message"].as_str().unwrap();
    assert!(
        message.contains("127.0.0.1") && message.contains("mode verify-full") && message.contains("never falls back"),
        "{message}"
    );

    // verify-full checks the name; verify-ca does not (127.0.0.2 is not in the certificate).
    let full = setup("single-user", &unique("app"), vec![]).await;
    let mut secret = full.secret("AWSCURRENT").await;
    secret["host"] = json!("127.0.0.2");
    full.h.client.put_secret_value().secret_id(&full.arn).secret_string(secret.to_string()).send().await.unwrap();
    let record = full.h.configure_rotation(&full.arn, "rotate-postgres").await;
    assert_eq!(record["error_type"], "TargetTlsFailed", "{record}");
    secret["ssl"] = json!("verify-ca");
    full.h.client.put_secret_value().secret_id(&full.arn).secret_string(secret.to_string()).send().await.unwrap();
    assert_eq!(full.rotate().await["state"], "succeeded");

    // No secret goes below the function's floor (verify-ca by default): not the user's, not the admin's, not
    // AWSPREVIOUS; the current credential keeps working.
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
    // AWSPREVIOUS cannot lower it either: the single-user fallback refuses it rather than log in without TLS.
    let mut previous = good.clone();
    previous["ssl"] = json!(false);
    case.put(&previous).await;
    let mut refused = good.clone();
    refused["password"] = json!("not-the-password");
    case.put(&refused).await;
    let record = case.rotate().await;
    assert_eq!(record["error_type"], "InvalidSecret", "AWSPREVIOUS with ssl false: {record}");
    assert!(record["error_message"].as_str().unwrap().contains("`ssl` asks for TLS mode disable"), "{record}");
    case.put(&good).await;
    let admin_case = setup("admin", &unique("app"), vec![]).await;
    configure(&admin_case).await;
    let admin_arn = admin_case.secret("AWSCURRENT").await["masterarn"].as_str().unwrap().to_owned();
    let mut admin_secret: Value = serde_json::from_str(&admin_case.h.value(&admin_arn, "AWSCURRENT").await).unwrap();
    admin_secret["ssl"] = json!(false);
    admin_case
        .h
        .client
        .put_secret_value()
        .secret_id(&admin_arn)
        .secret_string(admin_secret.to_string())
        .send()
        .await
        .unwrap();
    let record = admin_case.rotate().await;
    assert_eq!(record["error_type"], "InvalidSecret", "the admin secret cannot lower TLS either: {record}");
    assert!(record["error_message"].as_str().unwrap().contains(&admin_arn), "{record}");

    // Only the function's own TLS_MIN_MODE allows plaintext, and it says so at every connection.
    let plain = setup(
        "single-user",
        &unique("app"),
        vec![
            ("TLS_CA_BUNDLE".into(), pg.dir.join("other-ca.pem").display().to_string()),
            ("TLS_MIN_MODE".into(), "disable".into()),
        ],
    )
    .await;
    let mut secret = plain.secret("AWSCURRENT").await;
    secret["ssl"] = json!(false);
    plain.put(&secret).await;
    assert_eq!(plain.h.configure_rotation(&plain.arn, "rotate-postgres").await["state"], "succeeded");
    assert_eq!(plain.rotate().await["state"], "succeeded");
    let log = std::fs::read_to_string(plain.h.dir.path().join("rotate-postgres.log")).unwrap();
    assert!(log.contains("TLS is disabled for this database"), "{log}");
}

#[tokio::test]
async fn an_rds_managed_admin_secret_is_found_through_its_rds_tag() {
    let moto = crate::moto::Moto::start();
    let rds_config = aws_sdk_rds::Config::builder()
        .behavior_version(aws_sdk_rds::config::BehaviorVersion::latest())
        .region(aws_sdk_rds::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_rds::config::Credentials::new(
            "AKIDROTORTEST",
            "rotor-test-not-a-secret",
            None,
            None,
            "tests",
        ))
        .endpoint_url(&moto.url)
        .build();
    let rds = aws_sdk_rds::Client::from_conf(rds_config);
    let id = unique("orders").replace('-', "");
    let created = rds
        .create_db_instance()
        .db_instance_identifier(&id)
        .engine("postgres")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin")
        .master_user_password("not-used-by-the-test")
        .send()
        .await
        .unwrap();
    let address = created.db_instance().unwrap().endpoint().unwrap().address().unwrap().to_owned();

    let case = setup("admin", &unique("app"), vec![("AWS_ENDPOINT_URL_RDS".into(), moto.url.clone())]).await;
    configure(&case).await;
    // An admin secret as RDS manages it: a username and a password, the database named by a tag.
    let managed = case
        .h
        .client
        .create_secret()
        .name(unique("rds!db"))
        .secret_string(json!({"username": case.admin, "password": case.admin_password}).to_string())
        .tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key("aws:rds:primaryDBInstanceArn")
                .value(format!("arn:aws:rds:us-east-1:123456789012:db:{id}"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut secret = case.secret("AWSCURRENT").await;
    secret["masterarn"] = json!(managed.arn().unwrap());
    case.h.client.put_secret_value().secret_id(&case.arn).secret_string(secret.to_string()).send().await.unwrap();
    let record = case.rotate().await;
    // RDS says the admin's database is the instance's endpoint, not the user's 127.0.0.1: refused.
    assert_eq!(record["error_type"], "ConfusedDeputy", "{record}");
    assert!(
        record["error_message"].as_str().unwrap().contains(&format!("names another server ({address}:5432)")),
        "{record}"
    );

    // Without a host or an RDS tag the admin secret is refused with the field named.
    let bare =
        case.h.create_secret(&unique("rds!db-bare"), &json!({"username": "a", "password": "b"}).to_string()).await;
    secret["masterarn"] = json!(bare);
    case.h.client.put_secret_value().secret_id(&case.arn).secret_string(secret.to_string()).send().await.unwrap();
    let record = case.rotate().await;
    assert_eq!(record["error_type"], "InvalidSecret", "{record}");
    assert!(
        record["error_message"]
            .as_str()
            .unwrap()
            .contains("`host` is missing, and the secret has no aws:rds:primaryDBInstanceArn"),
        "{record}"
    );
}

#[tokio::test]
async fn doctor_checks_settings_secret_database_and_admin_with_fixes() {
    let case = setup("alternating-users", &unique("app"), vec![]).await;
    let ca = format!("TLS_CA_BUNDLE={}", case.pg.ca().display());
    let admins = format!("ADMIN_SECRET_ARNS={}", case.secret("AWSCURRENT").await["masterarn"].as_str().unwrap());
    let doctor = |extra: &[&str]| {
        let mut args = vec![
            "doctor",
            &case.arn,
            "--function",
            "postgres",
            "--env",
            "ROTATION_STRATEGY=alternating-users",
            "--env",
            &ca,
            "--env",
            &admins,
        ];
        args.extend_from_slice(extra);
        crate::rotatectl::rotatectl(&case.h, &args)
    };
    let (ok, out) = doctor(&[]);
    assert!(ok, "{out}");
    assert!(out.contains("PASS  127.0.0.1:") && out.contains("the current credential logs in"), "{out}");
    assert!(
        out.contains("PASS  the admin may change other users' passwords") && out.contains("all checks passed"),
        "{out}"
    );

    let (ok, out) = doctor(&["--env", &format!("ADMIN_SECRET_ARNS={ARN_PREFIX}other-admin")]);
    assert!(!ok && out.contains("FAIL  the function's ADMIN_SECRET_ARNS allows the admin secret"), "{out}");

    let (ok, out) = doctor(&["--env", "TLS_MODE=prefer"]);
    assert!(!ok && out.contains("FAIL  the function's settings") && out.contains("TLS_MODE must be"), "{out}");

    case.pg
        .superuser("postgres")
        .await
        .batch_execute(&format!("ALTER ROLE {} NOCREATEROLE", quote(&case.admin)))
        .await
        .unwrap();
    let (ok, out) = doctor(&[]);
    assert!(
        !ok && out.contains("FAIL  the admin may change other users' passwords") && out.contains("grant it"),
        "{out}"
    );

    let mut wrong = case.secret("AWSCURRENT").await;
    wrong["password"] = json!("not-the-password");
    case.h.client.put_secret_value().secret_id(&case.arn).secret_string(wrong.to_string()).send().await.unwrap();
    let (ok, out) = doctor(&[]);
    assert!(!ok && out.contains("FAIL  127.0.0.1:") && out.contains("was refused"), "{out}");
    assert!(!out.contains("not-the-password"), "doctor never prints a password");
}

#[tokio::test]
async fn an_alternating_rotation_whose_sync_fails_changes_nothing_and_the_retry_finishes_it() {
    let case = setup("alternating-users", &unique("app"), vec![]).await;
    let superuser = case.pg.superuser(&case.db).await;
    // A table the admin may not grant on: the first attempt fails, and its one transaction leaves nothing behind.
    superuser
        .batch_execute(&format!("CREATE TABLE ledger (id int); GRANT SELECT ON ledger TO {}", quote(&case.user)))
        .await
        .unwrap();
    configure(&case).await;
    let record = case.rotate().await;
    assert_eq!(record["error_type"], "TargetPermissionDenied", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("permission denied for table ledger"), "{record}");
    let token = case.h.holding(&case.arn, "AWSPENDING").await.unwrap();
    let pending: Value = serde_json::from_str(
        case.h
            .client
            .get_secret_value()
            .secret_id(&case.arn)
            .version_id(&token)
            .send()
            .await
            .unwrap()
            .secret_string()
            .unwrap(),
    )
    .unwrap();
    assert!(!case.logs_in(&pending).await, "the failed sync changed nothing: not even the clone's password");
    let clone = pending["username"].as_str().unwrap();
    let exists = superuser.query_one("SELECT count(*) FROM pg_roles WHERE rolname = $1", &[&clone]).await.unwrap();
    assert_eq!(exists.get::<_, i64>(0), 0, "nor created the clone");

    // The operator fixes the admin's rights; the service retries the rotation with the same token.
    superuser
        .batch_execute(&format!("GRANT SELECT ON ledger TO {} WITH GRANT OPTION", quote(&case.admin)))
        .await
        .unwrap();
    for step in ["setSecret", "testSecret", "finishSecret"] {
        let event = json!({"Step": step, "SecretId": case.arn, "ClientRequestToken": token});
        case.h.invoke("rotate-postgres", &event).await.unwrap_or_else(|e| panic!("{step}: {e:?}"));
    }
    let row = superuser.query_one("SELECT has_table_privilege($1, 'ledger', 'SELECT')", &[&clone]).await.unwrap();
    assert!(row.get::<_, bool>(0), "the retry finished bringing the clone in line");
}
