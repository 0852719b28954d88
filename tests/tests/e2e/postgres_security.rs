//! PostgreSQL security regressions, each trying the attack: the rotated user plants functions and operators for
//! the admin to run; whoever writes the user's secret aims the admin at another user or another admin secret, or
//! AWSPREVIOUS at another server; a privilege revoked from the active user must not survive on the other one.

use serde_json::json;

use crate::harness::unique;
use crate::postgres::{ARN_PREFIX, Case, configure, quote, setup};

/// Every function the admin's SQL calls and the operators it uses, planted by the user in `public` and in a
/// schema named after the admin (the first entry of the default `search_path`), with exact argument types so
/// they would win overload resolution. Each records its call in `public.pwned` and tries to make the user a
/// CREATEDB role with the caller's rights.
pub(crate) async fn plant_shadows(case: &Case) {
    let superuser = case.pg.superuser(&case.db).await;
    superuser
        .batch_execute(&format!(
            "CREATE TABLE public.pwned (who text, what text); GRANT ALL ON public.pwned TO PUBLIC; \
             GRANT CREATE ON SCHEMA public TO {u}; GRANT CREATE ON DATABASE {d} TO {u};",
            u = quote(&case.user),
            d = quote(&case.db)
        ))
        .await
        .unwrap();
    let user = case
        .pg
        .login(&case.user, case.secret("AWSCURRENT").await["password"].as_str().unwrap(), &case.db)
        .await
        .unwrap();
    user.batch_execute(&format!("CREATE SCHEMA {}", quote(&case.admin))).await.unwrap();
    let body = |what: &str, result: &str| {
        format!(
            "BEGIN INSERT INTO public.pwned VALUES (current_user, {what}); \
             BEGIN EXECUTE 'ALTER ROLE ' || pg_catalog.quote_ident({user}) || ' CREATEDB'; EXCEPTION WHEN others THEN NULL; END; \
             RETURN {result}; END",
            what = sql_literal(what),
            user = sql_literal(&case.user)
        )
    };
    let functions = [
        ("quote_ident(n name)", "text", "pg_catalog.quote_ident(n::text)"),
        ("quote_ident(n text)", "text", "pg_catalog.quote_ident(n)"),
        ("unnest(a text[])", "SETOF text", "NEXT pg_catalog.unnest(a)"),
        ("aclexplode(a aclitem[])", "SETOF record", "NEXT NULL"),
        ("set_config(a text, b text, c boolean)", "text", "pg_catalog.set_config(a, b, c)"),
        ("current_database()", "name", "pg_catalog.current_database()"),
        ("pg_has_role(a oid, b oid, c text)", "boolean", "pg_catalog.pg_has_role(a, b, c)"),
        ("split_part(a text, b text, c integer)", "text", "pg_catalog.split_part(a, b, c)"),
        ("strpos(a text, b text)", "integer", "pg_catalog.strpos(a, b)"),
        ("substr(a text, b integer)", "text", "pg_catalog.substr(a, b)"),
        ("evil_eq_name(a name, b name)", "boolean", "a::text OPERATOR(pg_catalog.=) b::text"),
        ("evil_eq_name_text(a name, b text)", "boolean", "a::text OPERATOR(pg_catalog.=) b"),
        ("evil_eq_oid(a oid, b oid)", "boolean", "a OPERATOR(pg_catalog.=) b"),
        ("evil_eq_char(a \"char\", b \"char\")", "boolean", "a OPERATOR(pg_catalog.=) b"),
        ("evil_ne_oid(a oid, b oid)", "boolean", "a OPERATOR(pg_catalog.<>) b"),
    ];
    for schema in ["public".to_owned(), quote(&case.admin)] {
        for (signature, returns, result) in functions {
            let name = signature.split('(').next().unwrap();
            let sql = format!(
                "CREATE FUNCTION {schema}.{signature} RETURNS {returns} LANGUAGE plpgsql AS $f${}$f$",
                body(&format!("{schema}.{name}"), result)
            );
            // SETOF bodies return with RETURN NEXT; plpgsql needs a final RETURN too.
            let sql = sql
                .replace("RETURN NEXT NULL; END", "RETURN; END")
                .replace("RETURN NEXT pg_catalog.unnest(a); END", "RETURN QUERY SELECT pg_catalog.unnest(a); END");
            user.batch_execute(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        for (op, function, left, right) in [
            ("=", "evil_eq_name", "name", "name"),
            ("=", "evil_eq_name_text", "name", "text"),
            ("=", "evil_eq_oid", "oid", "oid"),
            ("=", "evil_eq_char", "\"char\"", "\"char\""),
            ("<>", "evil_ne_oid", "oid", "oid"),
        ] {
            user.batch_execute(&format!(
                "CREATE OPERATOR {schema}.{op} (LEFTARG = {left}, RIGHTARG = {right}, FUNCTION = {schema}.{function})"
            ))
            .await
            .unwrap();
        }
    }
}

pub(crate) async fn assert_no_shadow_ran(case: &Case, what: &str) {
    let superuser = case.pg.superuser(&case.db).await;
    let ran: Vec<String> = superuser
        .query("SELECT who || ' ran ' || what FROM public.pwned", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(ran.is_empty(), "{what}: the admin ran the user's code: {ran:?}");
    for user in [case.user.clone(), format!("{}_clone", case.user)] {
        let rows = superuser
            .query("SELECT rolcreatedb, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = $1", &[&user])
            .await
            .unwrap();
        if let Some(row) = rows.first() {
            let attributes: (bool, bool, bool) = (row.get(0), row.get(1), row.get(2));
            assert_eq!(attributes, (false, false, false), "{what}: {user}'s attributes are unchanged");
        }
    }
}

#[tokio::test]
async fn the_admin_runs_none_of_the_users_planted_functions_or_operators() {
    for strategy in ["single-user", "admin", "alternating-users"] {
        let case = setup(strategy, &unique("app"), vec![]).await;
        plant_shadows(&case).await;
        configure(&case).await;
        for round in 1..=2 {
            let record = case.rotate().await;
            assert_eq!(record["state"], "succeeded", "{strategy} round {round}: {record}");
            assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "{strategy} round {round}");
            assert_no_shadow_ran(&case, strategy).await;
        }
    }
}

#[tokio::test]
async fn a_user_secret_cannot_name_an_admin_secret_the_function_does_not_allow() {
    let case = setup("admin", &unique("app"), vec![]).await;
    configure(&case).await;
    let good = case.secret("AWSCURRENT").await;
    let admin_value = case.h.value(good["masterarn"].as_str().unwrap(), "AWSCURRENT").await;
    // A perfectly working admin secret, but not one the function's ADMIN_SECRET_ARNS lists; and a partial ARN
    // that only looks like a listed one.
    let other = case.h.create_secret(&unique("other-admin"), &admin_value).await;
    let prefix_lookalike = case.h.create_secret(&unique("pg-admin"), &admin_value).await;
    for masterarn in [other, prefix_lookalike, format!("{ARN_PREFIX}no-such-admin-AbCdEf")] {
        let mut aimed = good.clone();
        aimed["masterarn"] = json!(masterarn);
        case.put(&aimed).await;
        let record = case.rotate().await;
        assert_eq!(record["state"], "failed", "{masterarn}: {record}");
        let message = record["error_message"].as_str().unwrap();
        assert!(
            message.contains("ADMIN_SECRET_ARNS does not list") || message.contains("check the masterarn"),
            "{masterarn}: {record}"
        );
        assert!(case.logs_in(&aimed).await, "the user's password did not change");
    }
}

#[tokio::test]
async fn the_admin_refuses_itself_and_privileged_users_unless_the_function_allows_them() {
    for strategy in ["admin", "alternating-users"] {
        let case = setup(strategy, &unique("app"), vec![]).await;
        configure(&case).await;
        let good = case.secret("AWSCURRENT").await;
        let superuser = case.pg.superuser("postgres").await;
        let boss = unique("boss");
        superuser.batch_execute(&format!("CREATE ROLE {} LOGIN CREATEROLE PASSWORD NULL", quote(&boss))).await.unwrap();
        // Rights held through a role: a member may SET ROLE to a CREATEROLE role, or to rds_superuser.
        let (deputy, insider) = (unique("deputy"), unique("insider"));
        superuser
            .batch_execute(&format!(
                "CREATE ROLE {d} LOGIN PASSWORD NULL; GRANT {b} TO {d}; \
                 DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_superuser') \
                 THEN CREATE ROLE rds_superuser; END IF; END $$; \
                 CREATE ROLE {i} LOGIN PASSWORD NULL; GRANT rds_superuser TO {i};",
                d = quote(&deputy),
                b = quote(&boss),
                i = quote(&insider)
            ))
            .await
            .unwrap();
        // For alternating users, `<name>_clone` in the secret makes `<name>` the user whose password is set.
        let aim = |user: &str| if strategy == "alternating-users" { format!("{user}_clone") } else { user.to_owned() };
        for (target, why) in [
            (case.admin.clone(), "is the admin secret's own user"),
            (boss.clone(), "holds administrative rights (CREATEROLE)"),
            (deputy.clone(), &format!("holds administrative rights (member of {boss:?})")),
            (insider.clone(), "holds administrative rights (member of \"rds_superuser\")"),
        ] {
            // The privilege check is the second line: even a user an administrator's tag binds to the secret
            // (the identity rule's first line) is refused.
            crate::identity::bind(&case.h, &case.arn, &crate::identity::on_server(&target, case.pg.port)).await;
            let mut aimed = good.clone();
            aimed["username"] = json!(aim(&target));
            case.put(&aimed).await;
            let record = case.rotate().await;
            assert_eq!(record["error_type"], "ConfusedDeputy", "{strategy} {target}: {record}");
            assert!(record["error_message"].as_str().unwrap().contains(why), "{record}");
        }
        // The admin's password is untouched.
        assert!(case.pg.login(&case.admin, &case.admin_password, &case.db).await.is_ok(), "{strategy}");
        crate::identity::bind(&case.h, &case.arn, &crate::identity::on_server(&case.user, case.pg.port)).await;
        case.put(&good).await;
    }

    // An explicit opt-in lets the admin rotate a privileged user.
    let case = setup("admin", &unique("app"), vec![("ALLOW_PRIVILEGED_USERS".into(), "true".into())]).await;
    case.pg
        .superuser("postgres")
        .await
        .batch_execute(&format!("ALTER ROLE {} CREATEROLE", quote(&case.user)))
        .await
        .unwrap();
    configure(&case).await;
    assert_eq!(case.rotate().await["state"], "succeeded");
    assert!(case.logs_in(&case.secret("AWSCURRENT").await).await);
}

#[tokio::test]
async fn the_single_user_fallback_sends_nothing_to_a_server_the_current_secret_does_not_name() {
    let case = setup("single-user", &unique("app"), vec![]).await;
    configure(&case).await;
    let good = case.secret("AWSCURRENT").await;
    // A listener that records whether anything connects: AWSPREVIOUS names it (another port), AWSCURRENT's
    // password is wrong, so the fallback would reach for AWSPREVIOUS.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut elsewhere = good.clone();
    elsewhere["port"] = json!(port);
    case.put(&elsewhere).await;
    let mut wrong = good.clone();
    wrong["password"] = json!("not-the-password");
    case.put(&wrong).await;
    let record = case.rotate().await;
    assert_eq!(record["error_type"], "TargetAuthenticationFailed", "{record}");
    let accepted = tokio::time::timeout(std::time::Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "the function connected to the server AWSPREVIOUS named");
    case.put(&good).await;
    assert!(case.logs_in(&good).await);
}

#[tokio::test]
async fn alternating_users_stay_alike_both_ways() {
    let case = setup("alternating-users", &unique("app"), vec![]).await;
    let base = case.user.clone();
    let clone = format!("{base}_clone");
    let as_admin = case.pg.login(&case.admin, &case.admin_password, &case.db).await.unwrap();
    let role = unique("writers");
    as_admin
        .batch_execute(&format!(
            "CREATE TABLE ledger (id int, secret text); CREATE ROLE {r}; GRANT {r} TO {u}; \
             GRANT INSERT ON ledger TO {u}; GRANT SELECT (id) ON ledger TO {u} WITH GRANT OPTION; \
             ALTER ROLE {u} SET work_mem = '8MB';",
            r = quote(&role),
            u = quote(&base)
        ))
        .await
        .unwrap();
    configure(&case).await;
    let record = case.rotate().await;
    assert_eq!(record["state"], "succeeded", "{record}");
    let superuser = case.pg.superuser(&case.db).await;
    let holds = |user: &str, sql: &str| {
        let (superuser, user, sql) = (&superuser, user.to_owned(), sql.to_owned());
        async move { superuser.query_one(&sql, &[&user]).await.unwrap().get::<_, bool>(0) }
    };
    let insert = "SELECT has_table_privilege($1, 'ledger', 'INSERT')";
    let column = "SELECT has_column_privilege($1, 'ledger', 'id', 'SELECT WITH GRANT OPTION')";
    let member = format!("SELECT pg_has_role($1, {}, 'MEMBER')", sql_literal(&role));
    let setting = "SELECT EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole \
                   WHERE r.rolname = $1 AND 'work_mem=8MB' = ANY (s.setconfig))";
    for sql in [insert, column, member.as_str(), setting] {
        assert!(holds(&clone, sql).await, "the clone got what the user holds: {sql}");
    }
    // Now the clone is active: take from it what the original user still holds; the next rotation takes it from
    // the original user too.
    as_admin
        .batch_execute(&format!(
            "REVOKE {r} FROM {c}; REVOKE INSERT ON ledger FROM {c}; REVOKE SELECT (id) ON ledger FROM {c}; \
             ALTER ROLE {c} RESET work_mem;",
            r = quote(&role),
            c = quote(&clone)
        ))
        .await
        .unwrap();
    let record = case.rotate().await;
    assert_eq!(record["state"], "succeeded", "{record}");
    assert_eq!(case.secret("AWSCURRENT").await["username"], base.as_str());
    for sql in [insert, column, member.as_str(), setting] {
        assert!(!holds(&base, sql).await, "a revoke on the active user reached the other one: {sql}");
    }
    assert!(case.logs_in(&case.secret("AWSCURRENT").await).await);
    assert!(case.logs_in(&case.secret("AWSPREVIOUS").await).await);
}

fn sql_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}
