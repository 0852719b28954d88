//! PostgreSQL's part of the trust model, each test trying the attack against the real server: the owner of the
//! user's database (here the user itself) or the user's own role settings steer the admin's session (a read-only
//! default, a `role` to run as, a read-only transaction in the settings the sync copies, a lock on the user's own
//! role); alternating users re-enable a user an operator disabled; an admin that may not pass a privilege on
//! (PostgreSQL answers such a GRANT or REVOKE with a warning only) reports the sync as done.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_postgres::Client;

use crate::harness::unique;
use crate::identity::{bind, on_server};
use crate::postgres::{Case, configure, quote, setup};

/// A session of the secret's AWSCURRENT user in the case's database.
async fn as_current(case: &Case) -> Client {
    let current = case.secret("AWSCURRENT").await;
    let (user, password) = (current["username"].as_str().unwrap(), current["password"].as_str().unwrap());
    case.pg.login(user, password, &case.db).await.unwrap()
}

/// Hands the case's database to its user, as when an application owns its database.
async fn owned_by_the_user(case: &Case) {
    let superuser = case.pg.superuser("postgres").await;
    superuser
        .batch_execute(&format!("ALTER DATABASE {} OWNER TO {}", quote(&case.db), quote(&case.user)))
        .await
        .unwrap();
}

/// The error message of a failed rotation, after checking it failed in setSecret with `error_type`.
fn failed_with<'r>(record: &'r Value, error_type: &str, what: &str) -> &'r str {
    assert_eq!(record["state"], "failed", "{what}: {record}");
    assert_eq!(record["step"], "setSecret", "{what}: {record}");
    assert_eq!(record["error_type"], error_type, "{what}: {record}");
    record["error_message"].as_str().unwrap()
}

/// Whether `role` may log in (LOGIN, and no VALID UNTIL in the past); `None` when there is no such role.
async fn can_log_in(case: &Case, role: &str) -> Option<bool> {
    let superuser = case.pg.superuser("postgres").await;
    let rows = superuser
        .query(
            "SELECT rolcanlogin AND COALESCE(rolvaliduntil > now(), true) FROM pg_roles WHERE rolname = $1",
            &[&role],
        )
        .await
        .unwrap();
    rows.first().map(|row| row.get(0))
}

/// Whether `role` was granted SELECT on `table` itself (the clone also inherits the original user's privileges, as
/// a member of it).
async fn granted(case: &Case, role: &str, table: &str) -> bool {
    let superuser = case.pg.superuser(&case.db).await;
    let sql = "SELECT EXISTS (SELECT 1 FROM pg_class c, aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee \
               WHERE c.oid = $2::text::regclass AND r.rolname = $1 AND a.privilege_type = 'SELECT')";
    superuser.query_one(sql, &[&role, &table]).await.unwrap().get(0)
}

#[tokio::test]
async fn a_read_only_default_on_the_database_or_the_user_does_not_block_rotation() {
    for strategy in ["single-user", "admin", "alternating-users"] {
        for (scope, sql) in [
            ("the database", "ALTER DATABASE {db} SET default_transaction_read_only = on"),
            ("the user", "ALTER ROLE {user} SET default_transaction_read_only = on"),
            ("the user in the database", "ALTER ROLE {user} IN DATABASE {db} SET default_transaction_read_only = on"),
        ] {
            let what = format!("{strategy}, read-only by default on {scope}");
            let case = setup(strategy, &unique("app"), vec![]).await;
            owned_by_the_user(&case).await;
            let sql = sql.replace("{db}", &quote(&case.db)).replace("{user}", &quote(&case.user));
            as_current(&case).await.batch_execute(&sql).await.unwrap();
            // The user's own sessions are read-only now; rotor's are not.
            let row = as_current(&case).await.query_one("SHOW transaction_read_only", &[]).await.unwrap();
            assert_eq!(row.get::<_, String>(0), "on", "{what}: the setting took effect");
            configure(&case).await;
            for round in 1..=2 {
                let record = case.rotate().await;
                assert_eq!(record["state"], "succeeded", "{what}, round {round}: {record}");
                assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "{what}, round {round}");
            }
        }
    }
}

#[tokio::test]
async fn neither_the_database_owner_nor_the_users_settings_steer_the_admins_session() {
    for strategy in ["admin", "alternating-users"] {
        let case = setup(strategy, &unique("app"), vec![]).await;
        owned_by_the_user(&case).await;
        // The admin is a member of a role without its rights (as an admin often is of roles it manages); the
        // database's `role` setting would run every statement of the admin's as that role.
        let group = unique("group");
        case.pg
            .superuser("postgres")
            .await
            .batch_execute(&format!("CREATE ROLE {g}; GRANT {g} TO {a};", g = quote(&group), a = quote(&case.admin)))
            .await
            .unwrap();
        let user = as_current(&case).await;
        let (db, me) = (quote(&case.db), quote(&case.user));
        user.batch_execute(&format!(
            "ALTER DATABASE {db} SET role = {group}; ALTER DATABASE {db} SET idle_in_transaction_session_timeout = 1; \
             ALTER ROLE {me} SET transaction_read_only = on; ALTER ROLE {me} SET lock_timeout = 1; \
             ALTER ROLE {me} SET search_path = app, public;",
            group = quote(&group)
        ))
        .await
        .unwrap();
        configure(&case).await;
        for round in 1..=2 {
            let record = case.rotate().await;
            assert_eq!(record["state"], "succeeded", "{strategy}, round {round}: {record}");
            assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "{strategy}, round {round}");
        }
        if strategy == "alternating-users" {
            // The sync copied the user's settings to its clone, as they are.
            let superuser = case.pg.superuser("postgres").await;
            let row = superuser
                .query_one(
                    "SELECT setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole \
                     WHERE r.rolname = $1 AND s.setdatabase = 0",
                    &[&format!("{}_clone", case.user)],
                )
                .await
                .unwrap();
            let mut settings: Vec<String> = row.get(0);
            settings.sort();
            assert_eq!(settings, ["lock_timeout=1", "search_path=app, public", "transaction_read_only=on"]);
        }
    }
}

#[tokio::test]
async fn a_lock_the_user_holds_on_its_own_role_fails_the_step_within_its_bound() {
    // lock_timeout is half the statement time-out: 2 s here; the statement time-out alone would end it at 4 s.
    let env = vec![("STATEMENT_TIMEOUT_SECONDS".to_string(), "4".to_string())];
    for strategy in ["single-user", "admin"] {
        let case = setup(strategy, &unique("app"), env.clone()).await;
        configure(&case).await;
        let good = case.secret("AWSCURRENT").await;
        // The user changes its own password (to the same one) in a transaction it leaves open: its role's row stays
        // locked until the transaction ends.
        let user = as_current(&case).await;
        let same = rotation_postgres::password_statement(&case.user, good["password"].as_str().unwrap(), "");
        user.batch_execute(&format!("BEGIN; {same}")).await.unwrap();
        let started = Instant::now();
        let record = case.rotate().await;
        let took = started.elapsed();
        let message = failed_with(&record, "TargetUnreachable", strategy);
        assert!(
            message.contains("another session holds a lock") && message.contains("lock timeout"),
            "{strategy}: the error names the lock wait: {record}"
        );
        assert!(took < Duration::from_secs(20), "{strategy}: the rotation ended in {took:?}");
        user.batch_execute("ROLLBACK").await.unwrap();
        assert!(case.logs_in(&good).await, "{strategy}: AWSCURRENT still logs in");
        // Once the lock is gone, the next rotation goes through.
        case.put(&good).await;
        assert_eq!(case.rotate().await["state"], "succeeded", "{strategy}");
        assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "{strategy}");
    }
}

#[tokio::test]
async fn alternating_users_never_re_enable_a_user_an_operator_disabled() {
    // The active user disabled: NOLOGIN, or a password expired by VALID UNTIL.
    for disable in ["NOLOGIN", "VALID UNTIL '2001-01-01'"] {
        let case = setup("alternating-users", &unique("app"), vec![]).await;
        configure(&case).await;
        let good = case.secret("AWSCURRENT").await;
        // A disabled user cannot prove the secret's claim by logging in: an administrator binds it.
        bind(&case.h, &case.arn, &on_server(&case.user, case.pg.port)).await;
        let superuser = case.pg.superuser("postgres").await;
        superuser.batch_execute(&format!("ALTER ROLE {} {disable}", quote(&case.user))).await.unwrap();
        let record = case.rotate().await;
        let message = failed_with(&record, "TargetRejected", disable);
        assert!(
            message.contains(&format!("the active user {:?}", case.user))
                && message.contains("rotor does not re-enable a role an operator disabled")
                && message.contains("turn rotation off"),
            "{disable}: {record}"
        );
        assert_eq!(can_log_in(&case, &case.user).await, Some(false), "{disable}: the user is still disabled");
        assert_eq!(can_log_in(&case, &format!("{}_clone", case.user)).await, None, "{disable}: no clone was made");
        assert_eq!(case.secret("AWSCURRENT").await, good, "{disable}: AWSCURRENT is unchanged");
    }

    // The other user of the pair disabled while the active one works: the sync would make it LOGIN again.
    for disable in ["NOLOGIN", "VALID UNTIL '2001-01-01'"] {
        let case = setup("alternating-users", &unique("app"), vec![]).await;
        configure(&case).await;
        assert_eq!(case.rotate().await["state"], "succeeded", "{disable}");
        let current = case.secret("AWSCURRENT").await;
        assert_eq!(current["username"], format!("{}_clone", case.user), "{disable}: the clone is active");
        // The pair's base user proves the pair, and a disabled one cannot log in: an administrator binds it.
        bind(&case.h, &case.arn, &on_server(&case.user, case.pg.port)).await;
        let superuser = case.pg.superuser("postgres").await;
        superuser.batch_execute(&format!("ALTER ROLE {} {disable}", quote(&case.user))).await.unwrap();
        let record = case.rotate().await;
        let message = failed_with(&record, "TargetRejected", disable);
        assert!(
            message.contains(&format!("{:?}, the other user of the pair", case.user))
                && message.contains("rotor does not re-enable a role an operator disabled"),
            "{disable}: {record}"
        );
        assert_eq!(can_log_in(&case, &case.user).await, Some(false), "{disable}: the user is still disabled");
        assert!(case.logs_in(&current).await, "{disable}: AWSCURRENT still logs in");
    }
}

#[tokio::test]
async fn an_admin_that_may_not_pass_a_privilege_on_fails_the_sync_naming_it() {
    let case = setup("alternating-users", &unique("app"), vec![]).await;
    let superuser = case.pg.superuser(&case.db).await;
    // The user reads a table the admin may read too, but without the right to pass it on: PostgreSQL answers the
    // admin's GRANT with a warning ("no privileges were granted"), not an error. The database's owner also asks
    // for errors only, which would hide that warning from a session that does not pin it.
    superuser
        .batch_execute(&format!(
            "CREATE TABLE ledger (id int); GRANT SELECT ON ledger TO {u}; GRANT SELECT ON ledger TO {a}; \
             ALTER DATABASE {d} SET client_min_messages = error;",
            u = quote(&case.user),
            a = quote(&case.admin),
            d = quote(&case.db)
        ))
        .await
        .unwrap();
    configure(&case).await;
    let good = case.secret("AWSCURRENT").await;
    let clone = format!("{}_clone", case.user);
    let record = case.rotate().await;
    let message = failed_with(&record, "TargetPermissionDenied", "grant");
    for expected in [
        format!("{:?} could not grant SELECT ON TABLE public.ledger to {clone:?}", case.admin),
        "no privileges were granted".to_owned(),
        "WITH GRANT OPTION".to_owned(),
    ] {
        assert!(message.contains(&expected), "{expected} in {record}");
    }
    assert!(!granted(&case, &clone, "ledger").await, "the clone did not get it");
    assert_eq!(case.secret("AWSCURRENT").await, good, "AWSCURRENT is unchanged");
    assert!(case.logs_in(&good).await, "AWSCURRENT still logs in");

    // The operator follows the fix; the next rotation makes the clone alike and active.
    superuser
        .batch_execute(&format!("GRANT SELECT ON ledger TO {} WITH GRANT OPTION", quote(&case.admin)))
        .await
        .unwrap();
    case.put(&good).await;
    assert_eq!(case.rotate().await["state"], "succeeded");
    assert_eq!(case.secret("AWSCURRENT").await["username"], clone.as_str());
    assert!(granted(&case, &clone, "ledger").await, "the clone got it");

    // The original user, now the inactive one, holds what the clone does not, on a table the admin may read
    // without the right to pass it on: its REVOKE is answered by a warning too ("no privileges could be revoked").
    superuser
        .batch_execute(&format!(
            "CREATE TABLE journal (id int); GRANT SELECT ON journal TO {u}; GRANT SELECT ON journal TO {a};",
            u = quote(&case.user),
            a = quote(&case.admin)
        ))
        .await
        .unwrap();
    let current = case.secret("AWSCURRENT").await;
    let record = case.rotate().await;
    let message = failed_with(&record, "TargetPermissionDenied", "revoke");
    for expected in [
        format!("{:?} could not revoke SELECT ON TABLE public.journal from {:?}", case.admin, case.user),
        "no privileges could be revoked".to_owned(),
        "WITH GRANT OPTION".to_owned(),
    ] {
        assert!(message.contains(&expected), "{expected} in {record}");
    }
    assert!(case.logs_in(&current).await, "AWSCURRENT still logs in");
}
