//! The identity rule, tried as its attacker: whoever may write one user secret (and nothing else) aims it at
//! another user of the admin's server, on every engine and every strategy with an admin (PostgreSQL, MariaDB, Redis on
//! every installed variant here; ElastiCache and IAM beside their own tests). Nothing of the victim
//! changes, the error names the user and both ways to bind it, and the secret's own user keeps working. An
//! administrator's `rotor:user` tag binds a user whose password never worked (a first rotation), and a tag naming
//! another user refuses even a working credential.

use mysql_async::prelude::Queryable;
use serde_json::{Value, json};

use crate::harness::{Harness, unique};
use crate::{mysql, postgres};

/// Tags the secret `rotor:user=<value>` as an administrator would (the tag guard keeps `rotor:*` tags to
/// administrators).
pub async fn bind(h: &Harness, arn: &str, value: &str) {
    let tag = aws_sdk_secretsmanager::types::Tag::builder().key("rotor:user").value(value).build();
    h.client.tag_resource().secret_id(arn).tags(tag).send().await.unwrap();
}

/// The `rotor:user` value that pins a database user on the tests' server at `port`: `user@127.0.0.1:port`.
pub fn on_server(user: &str, port: u16) -> String {
    format!("{user}@127.0.0.1:{port}")
}

/// Rotates now with `function`, after clearing what a failed rotation before left stuck.
async fn rotate(h: &Harness, arn: &str, function: &str) -> Value {
    h.unstick(arn).await;
    h.rotate(arn, function).await;
    h.wait_rotation(arn).await
}

/// The failed rotation's record names the victim, the error type, and both ways to bind; no password in it.
fn assert_refused(record: &Value, victim: &str, what: &str) {
    assert_eq!(record["state"], "failed", "{what}: {record}");
    assert_eq!(record["error_type"], "IdentityNotBound", "{what}: {record}");
    let message = record["error_message"].as_str().unwrap();
    for expected in [format!("{victim}@127.0.0.1:"), "rotor:user=".into(), "AWSCURRENT".into()] {
        assert!(message.contains(&expected), "{what}: {expected} in {message}");
    }
    assert!(!message.contains("attacker-chosen"), "{what}: no value in the error: {message}");
}

/// Puts placeholder passwords as AWSCURRENT and AWSPREVIOUS, as a secret made before its user had a password.
async fn never_worked(h: &Harness, arn: &str, good: &Value) {
    for placeholder in ["placeholder-one", "placeholder-two"] {
        let mut value = good.clone();
        value["password"] = json!(placeholder);
        h.client.put_secret_value().secret_id(arn).secret_string(value.to_string()).send().await.unwrap();
    }
}

/// The attacker's value: the secret as it is, aimed at `victim` with a password of the attacker's choosing.
fn aimed_at(good: &Value, victim: &str) -> Value {
    let mut aimed = good.clone();
    aimed["username"] = json!(victim);
    aimed["password"] = json!(format!("attacker-chosen-{}", uuid::Uuid::new_v4()));
    aimed
}

/// Another user of the case's PostgreSQL server, named after `prefix`, that logs in with its own password.
async fn postgres_victim(case: &postgres::Case, prefix: &str) -> (String, String) {
    let (victim, password) = (unique(prefix), uuid::Uuid::new_v4().to_string());
    let superuser = case.pg.superuser("postgres").await;
    for statement in [
        format!("CREATE ROLE {}", postgres::quote(&victim)),
        rotation_postgres::password_statement(&victim, &password, "LOGIN"),
    ] {
        superuser.batch_execute(&statement).await.unwrap();
    }
    (victim, password)
}

#[tokio::test]
async fn a_writer_of_one_postgres_secret_cannot_take_over_another_user() {
    for strategy in ["admin", "alternating-users"] {
        let case = postgres::setup(strategy, &unique("app"), vec![]).await;
        postgres::configure(&case).await;
        let good = case.secret("AWSCURRENT").await;
        let (victim, victim_password) = postgres_victim(&case, "victim").await;
        let superuser = case.pg.superuser("postgres").await;
        case.put(&aimed_at(&good, &victim)).await;
        let record = rotate(&case.h, &case.arn, "rotate-postgres").await;
        assert_refused(&record, &victim, strategy);
        let victim_login = json!({"username": victim, "password": victim_password});
        assert!(case.logs_in(&victim_login).await, "{strategy}: the victim's password is unchanged");
        let clone =
            superuser.query("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&format!("{victim}_clone")]).await.unwrap();
        assert!(clone.is_empty(), "{strategy}: no clone of the victim was made");
        assert!(case.logs_in(&good).await, "{strategy}: the secret's own user still logs in");

        // An administrator's tag for the secret's own user does not make the claim on the victim good.
        bind(&case.h, &case.arn, &on_server(&case.user, case.pg.port)).await;
        assert_refused(&rotate(&case.h, &case.arn, "rotate-postgres").await, &victim, strategy);
        assert!(case.logs_in(&victim_login).await, "{strategy}: the victim's password is unchanged");
    }
}

/// A `pg_hba.conf` line that lets `user` in without a password, first in the shared server's file, then reloaded.
async fn trusted(pg: &crate::postgres_server::PgServer, user: &str) {
    let path = pg.dir.join("data/pg_hba.conf");
    let rules = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("host all \"{user}\" 127.0.0.1/32 trust\n{rules}")).unwrap();
    pg.superuser("postgres").await.batch_execute("SELECT pg_reload_conf()").await.unwrap();
    // The reload is signalled; wait until a wrong password logs in.
    for _ in 0..100 {
        if pg.login(user, "any password at all", "postgres").await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the trust line did not take effect");
}

#[tokio::test]
async fn a_postgres_user_any_password_logs_in_as_is_never_proven_by_a_login() {
    // A `trust` line for the victim: any password "logs in" as it. The proof asks for SCRAM with channel binding,
    // which trust never gives, and then sees a wrong password let in too: not proven, nothing changes.
    for strategy in ["admin", "alternating-users"] {
        let case = postgres::setup(strategy, &unique("app"), vec![]).await;
        postgres::configure(&case).await;
        let good = case.secret("AWSCURRENT").await;
        let (victim, _) = postgres_victim(&case, "trusted").await;
        let superuser = case.pg.superuser("postgres").await;
        trusted(&case.pg, &victim).await;
        let verifier = "SELECT rolpassword FROM pg_authid WHERE rolname = $1";
        let before: Option<String> = superuser.query_one(verifier, &[&victim]).await.unwrap().get(0);
        case.put(&aimed_at(&good, &victim)).await;
        let record = rotate(&case.h, &case.arn, "rotate-postgres").await;
        assert_refused(&record, &victim, strategy);
        let after: Option<String> = superuser.query_one(verifier, &[&victim]).await.unwrap().get(0);
        assert!(before.is_some() && after == before, "{strategy}: the victim's password is unchanged");
        let clone = format!("{victim}_clone");
        let made = superuser.query("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&clone]).await.unwrap();
        assert!(made.is_empty(), "{strategy}: no clone of the victim was made");
        assert!(
            case.h.all_logs().contains("the server lets a wrong password in for this user"),
            "{strategy}: the log says why the login proved nothing"
        );
    }
}

#[tokio::test]
async fn an_administrators_tag_binds_a_postgres_user_whose_password_never_worked() {
    for strategy in ["admin", "alternating-users"] {
        let case = postgres::setup(strategy, &unique("app"), vec![]).await;
        never_worked(&case.h, &case.arn, &case.secret("AWSCURRENT").await).await;
        let record = rotate(&case.h, &case.arn, "rotate-postgres").await;
        assert_refused(&record, &case.user, strategy);
        bind(&case.h, &case.arn, &on_server(&case.user, case.pg.port)).await;
        let record = rotate(&case.h, &case.arn, "rotate-postgres").await;
        assert_eq!(record["state"], "succeeded", "{strategy}: {record}");
        assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "{strategy}: AWSCURRENT logs in");
        // And the next rotation proves possession again (or the tag still binds): the pair keeps rotating.
        assert_eq!(rotate(&case.h, &case.arn, "rotate-postgres").await["state"], "succeeded", "{strategy}");
        assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "{strategy}: AWSCURRENT logs in");
    }
}

#[tokio::test]
async fn a_postgres_rotation_is_proven_by_awsprevious_when_awscurrent_was_overwritten() {
    let case = postgres::setup("admin", &unique("app"), vec![]).await;
    postgres::configure(&case).await;
    let good = case.secret("AWSCURRENT").await;
    let mut broken = good.clone();
    broken["password"] = json!("an-operator-typo");
    case.put(&broken).await;
    let record = rotate(&case.h, &case.arn, "rotate-postgres").await;
    assert_eq!(record["state"], "succeeded", "AWSPREVIOUS proves the user: {record}");
    assert!(case.logs_in(&case.secret("AWSCURRENT").await).await);
}

#[tokio::test]
async fn a_writer_of_one_mariadb_secret_cannot_take_over_another_user() {
    for strategy in ["admin", "alternating-users"] {
        let case = mysql::setup(strategy, &unique("app"), "%", vec![]).await;
        case.configure().await;
        let good = case.secret("AWSCURRENT").await;
        let (victim, victim_password) = (unique("victim"), uuid::Uuid::new_v4().to_string());
        let mut root = case.db.root().await;
        root.query_drop(format!("CREATE USER {}@'%' {}", mysql::literal(&victim), mysql::identified(&victim_password)))
            .await
            .unwrap();
        case.put(&aimed_at(&good, &victim)).await;
        let record = rotate(&case.h, &case.arn, "rotate-mysql").await;
        assert_refused(&record, &victim, strategy);
        assert!(
            case.db.login(&victim, &victim_password).await.is_ok(),
            "{strategy}: the victim's password is unchanged"
        );
        let clones: Vec<String> =
            root.exec("SELECT User FROM mysql.user WHERE User = ?", (format!("{victim}_clone"),)).await.unwrap();
        assert!(clones.is_empty(), "{strategy}: no clone of the victim was made");
        assert!(case.logs_in(&good).await, "{strategy}: the secret's own user still logs in");

        bind(&case.h, &case.arn, &on_server(&case.user, case.db.port)).await;
        assert_refused(&rotate(&case.h, &case.arn, "rotate-mysql").await, &victim, strategy);
        assert!(
            case.db.login(&victim, &victim_password).await.is_ok(),
            "{strategy}: the victim's password is unchanged"
        );
    }
}

#[tokio::test]
async fn an_administrators_tag_binds_a_mariadb_user_whose_password_never_worked() {
    for strategy in ["admin", "alternating-users"] {
        let case = mysql::setup(strategy, &unique("app"), "%", vec![]).await;
        never_worked(&case.h, &case.arn, &case.secret("AWSCURRENT").await).await;
        assert_refused(&rotate(&case.h, &case.arn, "rotate-mysql").await, &case.user, strategy);
        bind(&case.h, &case.arn, &on_server(&case.user, case.db.port)).await;
        let record = rotate(&case.h, &case.arn, "rotate-mysql").await;
        assert_eq!(record["state"], "succeeded", "{strategy}: {record}");
        assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "{strategy}: AWSCURRENT logs in");
    }
}

#[tokio::test]
async fn a_tag_pins_a_user_on_its_own_server_only() {
    // One function reaches the server under two names (as it could reach two servers that both have an `app`):
    // its ADMIN_SECRET_ARNS allows an admin secret for each. The secret is pinned to its user on 127.0.0.1.
    let case = postgres::setup("admin", &unique("app"), vec![]).await;
    postgres::configure(&case).await;
    let good = case.secret("AWSCURRENT").await;
    bind(&case.h, &case.arn, &on_server(&case.user, case.pg.port)).await;
    let admin_name = good["masterarn"].as_str().unwrap().rsplit(':').next().unwrap().rsplit_once('-').unwrap().0;
    let mut other_admin: Value =
        serde_json::from_str(&case.h.value(good["masterarn"].as_str().unwrap(), "AWSCURRENT").await).unwrap();
    other_admin["host"] = json!("localhost");
    let other_admin = case.h.create_secret(&format!("{admin_name}-other"), &other_admin.to_string()).await;
    // The writer moves the secret to the other server, keeping the pinned user's name, with a made-up password.
    let mut moved = aimed_at(&good, &case.user);
    moved["host"] = json!("localhost");
    moved["masterarn"] = json!(other_admin);
    case.put(&moved).await;
    let record = rotate(&case.h, &case.arn, "rotate-postgres").await;
    assert_eq!(record["error_type"], "IdentityNotBound", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("rotor:user tag names"), "{record}");
    assert!(case.logs_in(&good).await, "the user's password is unchanged");
}

#[tokio::test]
async fn a_writer_of_one_redis_secret_cannot_take_over_another_acl_user() {
    crate::redis_server::RedisServer::on_every_variant(|redis| async move {
        for strategy in ["admin", "alternating-users"] {
            let case = crate::redis_acl::setup(&redis, strategy, &unique("rd-app"), &[], &["~*", "&*", "+@all"]).await;
            let good = case.secret("AWSCURRENT").await;
            let (victim, victim_password) = (unique("rd-victim"), uuid::Uuid::new_v4().to_string());
            let hash = rotation_redis::password_hash(&victim_password);
            redis.run(&["ACL", "SETUSER", &victim, "on", &hash, "resetchannels", "~app:*", "+ping"]).await;
            let aimed = aimed_at(&good, &victim);
            case.h
                .client
                .put_secret_value()
                .secret_id(&case.arn)
                .secret_string(aimed.to_string())
                .send()
                .await
                .unwrap();
            let record = rotate(&case.h, &case.arn, "rotate-redis").await;
            assert_refused(&record, &victim, strategy);
            assert!(
                redis.login(&victim, &victim_password).await.is_ok(),
                "{strategy}: the victim's password is unchanged"
            );
            assert!(
                redis.login(&victim, aimed["password"].as_str().unwrap()).await.is_err(),
                "{strategy}: no planted password"
            );
            let users = format!("{:?}", redis.run(&["ACL", "USERS"]).await);
            assert!(!users.contains(&format!("{victim}_clone")), "{strategy}: no clone of the victim was made");
            assert!(case.logs_in(&good).await, "{strategy}: the secret's own user still logs in");
        }
    })
    .await;
}
