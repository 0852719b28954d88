//! MySQL/MariaDB trust regressions of issue 24, each trying the attack through `rotate-mysql` (admin and
//! alternating-users strategies) against the real MariaDB server: a user that administers users through a role or
//! through the grant tables passes as unprivileged no more, and alternating users never re-enable a user an
//! operator locked. Each victim is created with a known password and the secret aimed at it holds that password,
//! so the secret proves the identity and only the privilege check stands between the writer and the victim.

use mysql_async::prelude::Queryable;
use serde_json::{Value, json};

use crate::harness::unique;
use crate::mysql::{Case, identified, literal, setup};

/// A role name the server takes unquoted, unique to this test.
fn role(prefix: &str) -> String {
    unique(prefix).replace('-', "_")
}

/// Runs the test's setup statements as the all-privileged test user.
async fn as_root(case: &Case, statements: &[String]) {
    let mut root = case.db.root().await;
    for statement in statements {
        root.query_drop(statement).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

/// `user@'%'`'s row of `mysql.global_priv`: its password hash and whether it is locked. `None`: no such account.
async fn account(case: &Case, user: &str) -> Option<(String, bool)> {
    let row: Option<(Option<String>, Option<String>)> = case
        .db
        .root()
        .await
        .exec_first(
            "SELECT JSON_VALUE(Priv, '$.authentication_string'), JSON_VALUE(Priv, '$.account_locked') \
             FROM mysql.global_priv WHERE User = ? AND Host = '%'",
            (user,),
        )
        .await
        .unwrap();
    row.map(|(hash, locked)| (hash.unwrap_or_default(), locked.as_deref() == Some("1")))
}

/// Aims the case's secret at `victim` with its real password, rotates, and asserts the rotation is refused at
/// setSecret naming each of `rights` and the fix, and that nothing changed: the victim logs in with its old
/// password, AWSCURRENT still logs in, and no clone of the victim was made.
async fn assert_refused(case: &Case, good: &Value, victim: &str, password: &str, rights: &[String]) {
    let mut aimed = good.clone();
    aimed["username"] = json!(victim);
    aimed["password"] = json!(password);
    case.put(&aimed).await;
    let record = case.rotate().await;
    assert_eq!(
        (record["state"].as_str(), record["step"].as_str(), record["error_type"].as_str()),
        (Some("failed"), Some("setSecret"), Some("ConfusedDeputy")),
        "{victim}: {record}"
    );
    let message = record["error_message"].as_str().unwrap();
    for right in rights {
        assert!(message.contains(right.as_str()), "{victim}: the message names {right:?}: {message}");
    }
    assert!(message.contains("ALLOW_PRIVILEGED_USERS"), "{victim}: the message names the fix: {message}");
    assert!(case.db.login(victim, password).await.is_ok(), "{victim}: the password is unchanged");
    assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "{victim}: AWSCURRENT still logs in");
    assert!(account(case, &format!("{victim}_clone")).await.is_none(), "{victim}: no clone was made");
}

#[tokio::test]
async fn a_user_holding_create_user_through_a_default_role_or_a_role_of_a_role_is_refused() {
    for strategy in ["admin", "alternating-users"] {
        let case = setup(strategy, &unique("app"), "%", vec![]).await;
        case.configure().await;
        let good = case.secret("AWSCURRENT").await;
        let (admin_role, outer, inner) = (role("r_admin"), role("r_outer"), role("r_inner"));
        let (by_default, by_nesting) = (unique("by-default"), unique("by-nesting"));
        let password = uuid::Uuid::new_v4().to_string();
        as_root(
            &case,
            &[
                format!("CREATE ROLE {admin_role}"),
                format!("GRANT CREATE USER ON *.* TO {admin_role}"),
                format!("CREATE USER {}@'%' {}", literal(&by_default), identified(&password)),
                format!("GRANT {admin_role} TO {}@'%'", literal(&by_default)),
                format!("SET DEFAULT ROLE {admin_role} FOR {}@'%'", literal(&by_default)),
                format!("CREATE ROLE {inner}"),
                format!("GRANT CREATE USER ON *.* TO {inner}"),
                format!("CREATE ROLE {outer}"),
                format!("GRANT {inner} TO {outer}"),
                format!("CREATE USER {}@'%' {}", literal(&by_nesting), identified(&password)),
                format!("GRANT {outer} TO {}@'%'", literal(&by_nesting)),
            ],
        )
        .await;
        assert_refused(
            &case,
            &good,
            &by_default,
            &password,
            &[format!("CREATE USER through default role `{admin_role}`")],
        )
        .await;
        assert_refused(
            &case,
            &good,
            &by_nesting,
            &password,
            &[format!("CREATE USER through role `{inner}` via role `{outer}`")],
        )
        .await;
    }
}

#[tokio::test]
async fn a_user_with_privileges_on_the_grant_tables_is_refused() {
    for strategy in ["admin", "alternating-users"] {
        let case = setup(strategy, &unique("app"), "%", vec![]).await;
        case.configure().await;
        let good = case.secret("AWSCURRENT").await;
        let password = uuid::Uuid::new_v4().to_string();
        // Each victim: the grant that lets it write the grant tables, and the rights the refusal names.
        let victims: Vec<(String, &str, Vec<&str>)> = vec![
            (unique("db-dml"), "INSERT, UPDATE ON `mysql`.*", vec!["INSERT on `mysql`.*", "UPDATE on `mysql`.*"]),
            (unique("db-pattern"), "DELETE ON `mysq_`.*", vec!["DELETE on `mysq_`.*"]),
            (unique("table"), "UPDATE ON `mysql`.`global_priv`", vec!["UPDATE on `mysql`.`global_priv`"]),
            (
                unique("view"),
                "INSERT, DELETE ON `mysql`.`user`",
                vec!["INSERT on `mysql`.`user`", "DELETE on `mysql`.`user`"],
            ),
            (
                unique("column"),
                "UPDATE (`Priv`) ON `mysql`.`global_priv`",
                vec!["UPDATE (columns) on `mysql`.`global_priv`"],
            ),
            (unique("global"), "INSERT ON *.*", vec!["INSERT on *.* (the grant tables in mysql.* included)"]),
        ];
        for (victim, grant, rights) in victims {
            as_root(
                &case,
                &[
                    format!("CREATE USER {}@'%' {}", literal(&victim), identified(&password)),
                    format!("GRANT {grant} TO {}@'%'", literal(&victim)),
                ],
            )
            .await;
            let rights: Vec<String> = rights.into_iter().map(str::to_owned).collect();
            assert_refused(&case, &good, &victim, &password, &rights).await;
        }
    }
}

#[tokio::test]
async fn alternating_users_never_re_enable_a_locked_user() {
    let case = setup("alternating-users", &unique("app"), "%", vec![]).await;
    let base = case.user.clone();
    let clone = format!("{base}_clone");
    case.configure().await;
    let good = case.secret("AWSCURRENT").await;

    // The active user is locked: refused, still locked, and no clone holds its grants with a working password.
    as_root(&case, &[format!("ALTER USER {}@'%' ACCOUNT LOCK", literal(&base))]).await;
    let (hash, _) = account(&case, &base).await.unwrap();
    let record = case.rotate().await;
    assert_eq!(record["state"], "failed", "{record}");
    let message = record["error_message"].as_str().unwrap();
    for part in [base.as_str(), "is locked", "does not re-enable an account an operator locked", "ACCOUNT UNLOCK"] {
        assert!(message.contains(part), "the message names {part:?}: {message}");
    }
    let (after, locked) = account(&case, &base).await.unwrap();
    assert!(locked && after == hash, "the active user is still locked, its password unchanged");
    assert!(account(&case, &clone).await.is_none(), "no clone was made");

    // The operator unlocks it: rotation works again and the clone becomes the active user.
    as_root(&case, &[format!("ALTER USER {}@'%' ACCOUNT UNLOCK", literal(&base))]).await;
    case.put(&good).await;
    let record = case.rotate().await;
    assert_eq!(record["state"], "succeeded", "{record}");
    assert_eq!(case.secret("AWSCURRENT").await["username"], clone.as_str());

    // Now the inactive user (the original) is locked by the operator: refused before its password changes. The
    // pair's base user proves the pair, and a locked one cannot log in: an administrator's tag binds it.
    as_root(&case, &[format!("ALTER USER {}@'%' ACCOUNT LOCK", literal(&base))]).await;
    crate::identity::bind(&case.h, &case.arn, &crate::identity::on_server(&base, case.db.port)).await;
    let (hash, _) = account(&case, &base).await.unwrap();
    let record = case.rotate().await;
    assert_eq!((record["state"].as_str(), record["step"].as_str()), (Some("failed"), Some("setSecret")), "{record}");
    let message = record["error_message"].as_str().unwrap();
    for part in [base.as_str(), "the other user", "is locked", "does not re-enable an account an operator locked"] {
        assert!(message.contains(part), "the message names {part:?}: {message}");
    }
    let (after, locked) = account(&case, &base).await.unwrap();
    assert!(locked && after == hash, "the inactive user is still locked, its password unchanged");
    let current = case.secret("AWSCURRENT").await;
    assert_eq!(current["username"], clone.as_str());
    assert!(case.logs_in(&current).await, "AWSCURRENT still logs in");
}

#[tokio::test]
async fn alternating_users_mirror_a_harmless_default_role_both_ways() {
    let case = setup("alternating-users", &unique("app"), "%", vec![]).await;
    let (reader, other) = (role("reader"), role("other"));
    let base = format!("{}@'%'", literal(&case.user));
    let admin = format!("{}@'127.0.0.1'", literal(&case.admin));
    as_root(
        &case,
        &[
            format!("CREATE ROLE {reader}"),
            format!("CREATE ROLE {other}"),
            format!("GRANT {reader} TO {admin} WITH ADMIN OPTION"),
            format!("GRANT {other} TO {admin} WITH ADMIN OPTION"),
            format!("GRANT {reader} TO {base}"),
            format!("SET DEFAULT ROLE {reader} FOR {base}"),
        ],
    )
    .await;
    let default_role = |user: String| {
        let db = &case.db;
        async move {
            let row: Option<Option<String>> = db
                .root()
                .await
                .exec_first("SELECT default_role FROM mysql.user WHERE User = ? AND Host = '%'", (user,))
                .await
                .unwrap();
            row.flatten().unwrap_or_default()
        }
    };
    case.configure().await;
    let clone = format!("{}_clone", case.user);
    let record = case.rotate().await;
    assert_eq!(record["state"], "succeeded", "the default role is mirrored: {record}");
    assert_eq!(default_role(clone.clone()).await, reader, "the clone gets the active user's default role");
    assert!(case.logs_in(&case.secret("AWSCURRENT").await).await);
    // The operator moves the clone (now active) to another default role: the base user follows.
    as_root(
        &case,
        &[
            format!("GRANT {other} TO {}@'%'", literal(&clone)),
            format!("SET DEFAULT ROLE {other} FOR {}@'%'", literal(&clone)),
        ],
    )
    .await;
    let record = case.rotate().await;
    assert_eq!(record["state"], "succeeded", "{record}");
    assert_eq!(default_role(case.user.clone()).await, other, "the base user follows the active user's default role");
    assert!(case.logs_in(&case.secret("AWSCURRENT").await).await);
}
