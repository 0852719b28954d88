//! MySQL/MariaDB security regressions, each trying the attack against the real MariaDB server (general and slow
//! query logs on, `NO_BACKSLASH_ESCAPES` and `ANSI_QUOTES` in its global `sql_mode`).

use mysql_async::prelude::Queryable;
use serde_json::json;

use crate::harness::unique;
use crate::mysql::{ARN_PREFIX, identified, literal, setup};

/// Every punctuation character but `\ ' "`, so generated passwords are made of digits and those three.
fn hostile_password_env() -> Vec<(String, String)> {
    let exclude: String = rotation_core::PUNCTUATION.chars().filter(|c| !"\\'\"".contains(*c)).collect();
    [
        ("EXCLUDE_CHARACTERS", exclude.as_str()),
        ("EXCLUDE_LOWERCASE", "true"),
        ("EXCLUDE_UPPERCASE", "true"),
        ("PASSWORD_LENGTH", "28"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[tokio::test]
async fn passwords_with_quotes_and_backslashes_rotate_under_a_hostile_sql_mode_and_never_reach_a_log() {
    let mut seen = String::new();
    for strategy in ["single-user", "admin", "alternating-users"] {
        let case = setup(strategy, &unique("app"), "%", hostile_password_env()).await;
        case.configure().await;
        for round in 1..=3 {
            let old = case.secret("AWSCURRENT").await;
            let record = case.rotate().await;
            assert_eq!(record["state"], "succeeded", "{strategy} round {round}: {record}");
            let current = case.secret("AWSCURRENT").await;
            assert!(case.logs_in(&current).await, "{strategy} round {round}: AWSCURRENT logs in as stored");
            if strategy != "alternating-users" {
                assert!(!case.logs_in(&old).await, "{strategy} round {round}: the old password stops working");
            }
            seen.push_str(current["password"].as_str().unwrap());
        }
        case.assert_no_password_leaks().await;
    }
    for c in ['\\', '\'', '"'] {
        assert!(seen.contains(c), "the generated passwords exercised {c}");
    }
}

#[tokio::test]
async fn a_user_secret_cannot_name_an_admin_secret_the_function_does_not_allow() {
    let case = setup("admin", &unique("app"), "%", vec![]).await;
    case.configure().await;
    let good = case.secret("AWSCURRENT").await;
    let admin_value = case.h.value(&case.admin_arn, "AWSCURRENT").await;
    let other = case.h.create_secret(&unique("other-admin"), &admin_value).await;
    for masterarn in [other, format!("{ARN_PREFIX}no-such-admin-AbCdEf")] {
        let mut aimed = good.clone();
        aimed["masterarn"] = json!(masterarn);
        case.put(&aimed).await;
        let record = case.rotate().await;
        assert_eq!(record["state"], "failed", "{record}");
        let message = record["error_message"].as_str().unwrap();
        assert!(
            message.contains("ADMIN_SECRET_ARNS does not list") || message.contains("check the masterarn"),
            "{record}"
        );
        assert!(case.logs_in(&aimed).await, "the user's password did not change");
    }
}

#[tokio::test]
async fn the_admin_refuses_itself_and_privileged_users_unless_the_function_allows_them() {
    for strategy in ["admin", "alternating-users"] {
        let case = setup(strategy, &unique("app"), "%", vec![]).await;
        case.configure().await;
        let good = case.secret("AWSCURRENT").await;
        let boss = unique("boss");
        let boss_password = uuid::Uuid::new_v4().to_string();
        let mut root = case.db.root().await;
        root.query_drop(format!("CREATE USER {}@'%' {}", literal(&boss), identified(&boss_password))).await.unwrap();
        root.query_drop(format!("GRANT CREATE USER ON *.* TO {}@'%'", literal(&boss))).await.unwrap();
        // Aimed at the admin or a privileged user: refused before anything changes (for alternating users, a
        // clone of such a user would inherit its rights).
        for (target, password, why) in [
            (case.admin.clone(), case.admin_password.clone(), "is the admin secret's own user"),
            (boss.clone(), boss_password.clone(), "holds administrative rights (CREATE USER)"),
        ] {
            let mut aimed = good.clone();
            aimed["username"] = json!(target);
            aimed["password"] = json!(password);
            case.put(&aimed).await;
            let record = case.rotate().await;
            assert_eq!(record["error_type"], "ConfusedDeputy", "{strategy} {target}: {record}");
            assert!(record["error_message"].as_str().unwrap().contains(why), "{record}");
        }
        if strategy == "alternating-users" {
            // `<admin>_clone` would make the admin the user whose password is set: that account does not exist,
            // so nothing logs in as it and the rotation fails.
            let mut aimed = good.clone();
            aimed["username"] = json!(format!("{}_clone", case.admin));
            case.put(&aimed).await;
            assert_eq!(case.rotate().await["state"], "failed");
        }
        let clone_exists: Option<String> =
            root.exec_first("SELECT User FROM mysql.user WHERE User = ?", (format!("{boss}_clone"),)).await.unwrap();
        assert!(clone_exists.is_none(), "{strategy}: no clone of the privileged user was made");
        assert!(
            case.db.login(&case.admin, &case.admin_password).await.is_ok(),
            "{strategy}: the admin's password is untouched"
        );
        assert!(
            case.db.login(&boss, &boss_password).await.is_ok(),
            "{strategy}: the privileged user's password is untouched"
        );
    }

    let case = setup("admin", &unique("app"), "%", vec![("ALLOW_PRIVILEGED_USERS".into(), "true".into())]).await;
    let mut root = case.db.root().await;
    root.query_drop(format!("GRANT CREATE USER ON *.* TO {}@'%'", literal(&case.user))).await.unwrap();
    case.configure().await;
    assert_eq!(case.rotate().await["state"], "succeeded", "the function opted in");
    assert!(case.logs_in(&case.secret("AWSCURRENT").await).await);
}

#[tokio::test]
async fn alternating_users_stay_alike_both_ways_with_roles_and_the_tls_requirement() {
    let case = setup("alternating-users", &unique("app"), "127.0.0.1", vec![]).await;
    let base = case.user.clone();
    let clone = format!("{base}_clone");
    let account = |user: &str| format!("{}@{}", literal(user), literal(&case.host));
    let role = unique("reporting").replace('-', "_");
    let mut root = case.db.root().await;
    for statement in [
        format!("CREATE ROLE {role}"),
        format!("GRANT {role} TO {}", account(&base)),
        format!("GRANT {role} TO {}@'127.0.0.1' WITH ADMIN OPTION", literal(&case.admin)),
        format!("GRANT PROCESS ON *.* TO {}", account(&base)),
        format!("ALTER USER {} REQUIRE SSL", account(&base)),
    ] {
        root.query_drop(&statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    case.configure().await;
    let record = case.rotate().await;
    assert_eq!(record["state"], "succeeded", "{record}");
    let require = |user: String| {
        let db = &case.db;
        async move {
            let rows: Vec<(String, String, String)> = db
                .root()
                .await
                .exec(
                    "SELECT ssl_type, x509_subject, x509_issuer FROM mysql.user WHERE User = ? AND Host = '127.0.0.1'",
                    (user,),
                )
                .await
                .unwrap();
            rows.into_iter().next().unwrap()
        }
    };
    assert_eq!(require(clone.clone()).await.0, "ANY", "the clone has the user's REQUIRE SSL");
    assert_eq!(case.grants(&base).await, case.grants(&clone).await, "the same grants and roles");

    // The clone is active now: take a privilege and the role from it, and its REQUIRE; the next rotation takes
    // them from the original user too.
    for statement in [
        format!("REVOKE PROCESS ON *.* FROM {}", account(&clone)),
        format!("REVOKE {role} FROM {}", account(&clone)),
        format!("ALTER USER {} REQUIRE NONE", account(&clone)),
    ] {
        root.query_drop(&statement).await.unwrap();
    }
    let record = case.rotate().await;
    assert_eq!(record["state"], "succeeded", "{record}");
    assert_eq!(case.secret("AWSCURRENT").await["username"], base.as_str());
    assert_eq!(case.grants(&base).await, case.grants(&clone).await, "revokes reached the other user");
    assert!(!case.grants(&base).await.iter().any(|g| g.contains("PROCESS") || g.contains(&role)));
    assert_eq!(require(base.clone()).await.0, "", "REQUIRE NONE reached the other user");
    assert!(case.logs_in(&case.secret("AWSCURRENT").await).await);
}

#[tokio::test]
async fn a_clone_name_over_the_servers_limit_is_refused_at_create_secret() {
    let db = crate::mariadb_server::MariaDbServer::get().await;
    let mut root = db.root().await;
    let limit: u64 = root
        .query_first(
            "SELECT MAX(CHARACTER_MAXIMUM_LENGTH) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME IN ('user', 'global_priv') AND COLUMN_NAME = 'User'",
        )
        .await
        .unwrap()
        .unwrap();
    let base = unique("app");
    let user = format!("{base}{}", "x".repeat(limit as usize - base.len() - 2));
    let case = setup("alternating-users", &user, "%", vec![]).await;
    case.configure().await;
    let record = case.rotate().await;
    assert_eq!(
        (record["step"].as_str(), record["error_type"].as_str()),
        (Some("createSecret"), Some("InvalidSecret")),
        "{record}"
    );
    assert!(
        record["error_message"]
            .as_str()
            .unwrap()
            .contains(&format!("over the {limit} characters this server's mysql.user takes")),
        "{record}"
    );
    let pending = case.h.holding(&case.arn, "AWSPENDING").await.unwrap();
    assert!(
        case.h.client.get_secret_value().secret_id(&case.arn).version_id(&pending).send().await.is_err(),
        "nothing stored"
    );
    assert!(case.logs_in(&case.secret("AWSCURRENT").await).await);
}
