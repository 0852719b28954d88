//! Amazon Redshift end to end: `rotate-redshift` and `rotate-redshift-alternating` through the Lambda runtime API
//! and the local endpoint, against the declared stand-in for Redshift: a PostgreSQL 15 server whose users log in
//! with md5 (`PgServer::redshift_stand_in`), over verified TLS, logging every statement. It proves the wire, the
//! `md5` password form Redshift documents (set as a hash, the new password logs in, the old one is refused), the
//! catalog Redshift shares with PostgreSQL (`pg_user`, `pg_group`, `has_*_privilege`) and every guarantee the
//! other engines keep; it cannot prove Redshift's own system views (roles, system privileges), its `sha256|` form
//! or its SHA-256 login, which the README lists.

use serde_json::json;

use crate::harness::unique;
use crate::postgres::{Case, Kind, configure, quote, setup_on};

async fn setup(strategy: &str, user: &str, extra_env: Vec<(String, String)>) -> Case {
    setup_on(Kind::Redshift, strategy, user, extra_env).await
}

#[tokio::test]
async fn single_user_and_admin_rotate_five_times_with_the_md5_hash_only() {
    for strategy in ["single-user", "admin"] {
        let case = setup(strategy, &unique("app"), vec![]).await;
        configure(&case).await;
        for round in 1..=5 {
            let old = case.secret("AWSCURRENT").await;
            let record = case.rotate().await;
            assert_eq!(record["state"], "succeeded", "{strategy} round {round}: {record}");
            let current = case.secret("AWSCURRENT").await;
            assert!(case.logs_in(&current).await, "{strategy} round {round}: AWSCURRENT logs in");
            assert!(!case.logs_in(&old).await, "{strategy} round {round}: the old password no longer logs in");
            assert_eq!(current["engine"], "redshift");
            assert_eq!(current["port"], case.pg.port.to_string(), "the port keeps its string form");
            let password = current["password"].as_str().unwrap();
            assert!((8..=64).contains(&password.len()), "Redshift's lengths: {}", password.len());
            assert!(!password.contains(['\'', '"', '\\', '/', '@', ' ']), "no character Redshift refuses");
        }
        // The statements reached the server (log_statement = 'all') as md5 hashes only.
        let log = case.pg.log();
        assert!(log.contains("ALTER USER") && log.contains("PASSWORD 'md5"), "{strategy}: statements are logged");
        case.assert_no_password_leaks().await;
    }
}

#[tokio::test]
async fn alternating_users_both_keep_working_and_stay_alike() {
    let case = setup("alternating-users", &unique("app"), vec![]).await;
    let (base, clone) = (case.user.clone(), format!("{}_clone", case.user));
    let superuser = case.pg.superuser(&case.db).await;
    let group = unique("readers");
    // The admin owns what the users are granted (on Redshift the admin is the cluster's master user).
    let as_admin = case.pg.login(&case.admin, &case.admin_password, &case.db).await.unwrap();
    as_admin
        .batch_execute(&format!(
            "CREATE GROUP {g}; ALTER GROUP {g} ADD USER {u}; CREATE SCHEMA sales; GRANT USAGE ON SCHEMA sales TO {u}; \
             CREATE TABLE sales.orders (id int); GRANT SELECT, INSERT ON sales.orders TO {u};",
            g = quote(&group),
            u = quote(&base)
        ))
        .await
        .unwrap();
    configure(&case).await;
    let alike = "SELECT (SELECT array_agg(g.groname::text ORDER BY g.groname) FROM pg_group g, pg_user u \
                   WHERE u.usename = $1 AND u.usesysid = ANY (g.grolist)), \
                 has_schema_privilege($1, 'sales', 'USAGE'), has_table_privilege($1, 'sales.orders', 'SELECT'), \
                 has_table_privilege($1, 'sales.orders', 'INSERT'), has_table_privilege($1, 'public.accounts', 'SELECT'), \
                 has_table_privilege($1, 'public.audit', 'INSERT')";
    let describe = |row: tokio_postgres::Row| {
        format!(
            "{:?} {:?} {:?} {:?} {:?} {:?}",
            row.get::<_, Option<Vec<String>>>(0),
            row.get::<_, bool>(1),
            row.get::<_, bool>(2),
            row.get::<_, bool>(3),
            row.get::<_, bool>(4),
            row.get::<_, Option<bool>>(5)
        )
    };
    as_admin.batch_execute("CREATE TABLE public.audit (id int)").await.unwrap();
    for round in 1..=5 {
        let record = case.rotate().await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}");
        let current = case.secret("AWSCURRENT").await;
        let previous = case.secret("AWSPREVIOUS").await;
        let expected = if round % 2 == 1 { &clone } else { &base };
        assert_eq!(current["username"], expected.as_str(), "round {round}: the users alternate");
        assert!(case.logs_in(&current).await, "round {round}: AWSCURRENT logs in");
        assert!(case.logs_in(&previous).await, "round {round}: AWSPREVIOUS still logs in");
        let of_base = describe(superuser.query_one(alike, &[&base]).await.unwrap());
        let of_clone = describe(superuser.query_one(alike, &[&clone]).await.unwrap());
        assert_eq!(of_base, of_clone, "round {round}: groups and privileges alike");
        assert!(of_base.starts_with(&format!("Some([{group:?}]) true true true true")), "round {round}: {of_base}");
        match round {
            // A grant made to the active user (now the clone) reaches the other user by the next rotation.
            1 => as_admin.batch_execute(&format!("GRANT INSERT ON public.audit TO {}", quote(&clone))).await.unwrap(),
            // And one taken from the active user (the base again) is taken from the other one.
            2 => {
                assert!(of_base.ends_with("Some(true)"), "round {round}: the grant to the clone reached the base user");
                as_admin.batch_execute(&format!("REVOKE INSERT ON public.audit FROM {}", quote(&base))).await.unwrap();
            }
            3.. => assert!(of_base.ends_with("Some(false)"), "round {round}: the revoke reached the clone: {of_base}"),
            _ => {}
        }
    }
    case.assert_no_password_leaks().await;
}

#[tokio::test]
async fn the_admin_runs_none_of_the_users_code_and_refuses_itself_and_superusers() {
    let case = setup("admin", &unique("app"), vec![]).await;
    crate::postgres_security::plant_shadows(&case).await;
    configure(&case).await;
    assert_eq!(case.rotate().await["state"], "succeeded");
    crate::postgres_security::assert_no_shadow_ran(&case, "admin").await;

    let good = case.secret("AWSCURRENT").await;
    let boss = unique("boss");
    let superuser = case.pg.superuser("postgres").await;
    superuser.batch_execute(&format!("CREATE USER {} SUPERUSER PASSWORD NULL", quote(&boss))).await.unwrap();
    for (target, why) in [
        (case.admin.clone(), "is the admin secret's own user"),
        (boss.clone(), "holds administrative rights (SUPERUSER)"),
    ] {
        crate::identity::bind(&case.h, &case.arn, &crate::identity::on_server(&target, case.pg.port)).await;
        let mut aimed = good.clone();
        aimed["username"] = json!(target);
        case.put(&aimed).await;
        let record = case.rotate().await;
        assert_eq!(record["error_type"], "ConfusedDeputy", "{target}: {record}");
        assert!(record["error_message"].as_str().unwrap().contains(why), "{record}");
    }
    assert!(case.pg.login(&case.admin, &case.admin_password, &case.db).await.is_ok(), "the admin's password holds");
}

#[tokio::test]
async fn bad_input_fails_the_step_clearly_and_the_current_credential_still_logs_in() {
    let case = setup("single-user", &unique("app"), vec![]).await;
    configure(&case).await;
    let good = case.secret("AWSCURRENT").await;
    let cases = [
        ("engine", json!("postgres"), "InvalidSecret", "field `engine` is \"postgres\""),
        ("port", json!(crate::harness::free_port()), "TargetUnreachable", "cannot reach 127.0.0.1"),
        ("password", json!("not-the-password"), "TargetAuthenticationFailed", "neither the pending, the current"),
    ];
    for (field, value, error_type, message) in cases {
        let mut broken = good.clone();
        broken[field] = value;
        // Twice, so that AWSPREVIOUS is broken too (setSecret falls back to the previous password).
        case.put(&broken).await;
        case.put(&broken).await;
        let record = case.rotate().await;
        assert_eq!(record["error_type"], error_type, "{field}: {record}");
        assert!(record["error_message"].as_str().unwrap().contains(message), "{field}: {record}");
        case.put(&good).await;
        assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "{field}: AWSCURRENT still logs in");
    }

    // A pending version that names another cluster (a writer of the secret aiming the rotation elsewhere).
    let mut elsewhere = good.clone();
    elsewhere["host"] = json!("127.0.0.2");
    elsewhere["password"] = json!("Another-cluster-1");
    let refused = case.h.set_secret_with_pending(case.function, &case.arn, &elsewhere).await;
    let (error_type, message) = refused.expect_err("refused");
    assert_eq!(error_type, "ConfusedDeputy", "{message}");
    assert!(message.contains("the pending secret names another host"), "{message}");
    assert!(case.logs_in(&good).await, "the user's password did not change");
    case.assert_no_password_leaks().await;
}

#[tokio::test]
async fn doctor_checks_the_secret_the_server_and_the_admin_and_names_a_policy_redshift_refuses() {
    let case = setup("admin", &unique("app"), vec![]).await;
    let ca = format!("TLS_CA_BUNDLE={}", case.pg.ca().display());
    let admins = format!("ADMIN_SECRET_ARNS={}", case.secret("AWSCURRENT").await["masterarn"].as_str().unwrap());
    let doctor = |extra: &[&str]| {
        let mut args =
            vec!["doctor", &case.arn, "--function", "redshift", "--env", "ROTATION_STRATEGY=admin", "--env", &ca];
        args.extend_from_slice(&["--env", &admins]);
        args.extend_from_slice(extra);
        crate::rotatectl::rotatectl(&case.h, &args)
    };
    let (ok, out) = doctor(&[]);
    assert!(ok, "{out}");
    assert!(out.contains("the current credential logs in") && out.contains("all checks passed"), "{out}");
    assert!(out.contains("PASS  the admin may change other users' passwords"), "{out}");

    let (ok, out) = doctor(&["--env", "PASSWORD_LENGTH=80"]);
    assert!(!ok && out.contains("PASSWORD_LENGTH is 80, but Redshift takes passwords of 8 to 64"), "{out}");
}
