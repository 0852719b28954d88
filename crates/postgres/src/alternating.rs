//! Alternating users: the admin keeps `<user>` and `<user>_clone` alike, both ways, on every rotation.
//!
//! The inactive user is brought in line with the active one: LOGIN and role attributes, role memberships,
//! per-role settings, membership of the clone in the original role, and the privileges granted directly to the
//! active user on tables and their columns, sequences, schemas, routines and the database. What the inactive user
//! holds and the active one does not is revoked, after what it lacks was granted.
//!
//! A user an operator disabled (NOLOGIN, or a VALID UNTIL in the past) is never enabled by the sync: the step is
//! refused before any change, naming it. A GRANT or REVOKE the server skips with a warning (the admin holds the
//! privilege without the right to pass it on) fails the step naming the privilege.
//!
//! The admin runs none of the user's code: the session's `search_path` is pinned at startup
//! ([`crate::connect::PINNED_SEARCH_PATH`]) and every function, operator and type in this file's SQL is
//! schema-qualified, so a function or operator the user planted (`public.quote_ident(name)`) never wins overload
//! resolution. Statements are built from catalog keywords and names quoted with postgres-protocol's escaping or by
//! the server's own `quote_ident`, `regclass` and `regprocedure` output; setting values are quoted with
//! postgres-protocol's escaping, or travel as bind parameters.

use std::collections::BTreeMap;

use postgres_protocol::escape::{escape_identifier, escape_literal};
use rotation_core::{RotationError, TargetErrorKind};
use rotation_database::CLONE_SUFFIX;

use crate::connect::PostgresSession;
use crate::password::password_statement;

/// Privileges that may appear in `aclexplode` and be granted again as keywords.
const PRIVILEGES: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
    "USAGE",
    "CREATE",
    "CONNECT",
    "TEMPORARY",
    "EXECUTE",
    "MAINTAIN",
];

/// Role attributes copied from the active user, as (keyword if true, keyword if false), in the order of
/// [`ATTRIBUTES_SQL`]'s columns.
const ATTRIBUTES: &[(&str, &str)] = &[
    ("CREATEDB", "NOCREATEDB"),
    ("CREATEROLE", "NOCREATEROLE"),
    ("INHERIT", "NOINHERIT"),
    ("REPLICATION", "NOREPLICATION"),
    ("BYPASSRLS", "NOBYPASSRLS"),
];

/// A role's attributes: [`ATTRIBUTES`], the connection limit, VALID UNTIL as text (the session's `DateStyle` is
/// pinned), whether it may log in, and whether its password expired.
const ATTRIBUTES_SQL: &str = "SELECT rolcreatedb, rolcreaterole, rolinherit, rolreplication, rolbypassrls, rolconnlimit, \
     rolvaliduntil::pg_catalog.text, rolcanlogin, \
     COALESCE(rolvaliduntil OPERATOR(pg_catalog.<) pg_catalog.now(), false) \
     FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) $1";

const MEMBERSHIPS_SQL: &str = "SELECT r.rolname::pg_catalog.text, m.admin_option FROM pg_catalog.pg_auth_members m \
     JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) m.roleid \
     JOIN pg_catalog.pg_roles u ON u.oid OPERATOR(pg_catalog.=) m.member WHERE u.rolname OPERATOR(pg_catalog.=) $1";

const SETTINGS_SQL: &str = "SELECT d.datname::pg_catalog.text, s.setconfig FROM pg_catalog.pg_db_role_setting s \
     JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) s.setrole \
     LEFT JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) s.setdatabase \
     WHERE r.rolname OPERATOR(pg_catalog.=) $1";

/// The privileges granted directly to a role: (object kind, object, column or empty, privilege, grantable).
const PRIVILEGES_SQL: &str = "WITH me AS (SELECT oid FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) $1) \
     SELECT CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, \
            c.oid::pg_catalog.regclass::pg_catalog.text, '', a.privilege_type, a.is_grantable \
       FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a, me \
      WHERE a.grantee OPERATOR(pg_catalog.=) me.oid \
        AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r','v','m','f','p','S']::pg_catalog.\"char\"[]) \
     UNION ALL SELECT 'TABLE', c.oid::pg_catalog.regclass::pg_catalog.text, pg_catalog.quote_ident(t.attname::pg_catalog.text), \
            a.privilege_type, a.is_grantable \
       FROM pg_catalog.pg_attribute t JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.attrelid, \
            pg_catalog.aclexplode(t.attacl) a, me \
      WHERE a.grantee OPERATOR(pg_catalog.=) me.oid AND NOT t.attisdropped \
     UNION ALL SELECT 'SCHEMA', pg_catalog.quote_ident(n.nspname::pg_catalog.text), '', a.privilege_type, a.is_grantable \
       FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a, me WHERE a.grantee OPERATOR(pg_catalog.=) me.oid \
     UNION ALL SELECT 'ROUTINE', p.oid::pg_catalog.regprocedure::pg_catalog.text, '', a.privilege_type, a.is_grantable \
       FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a, me WHERE a.grantee OPERATOR(pg_catalog.=) me.oid \
     UNION ALL SELECT 'DATABASE', pg_catalog.quote_ident(d.datname::pg_catalog.text), '', a.privilege_type, a.is_grantable \
       FROM pg_catalog.pg_database d, pg_catalog.aclexplode(d.datacl) a, me \
      WHERE a.grantee OPERATOR(pg_catalog.=) me.oid AND d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()";

/// Roles whose members hold what amounts to administrative rights (besides the admin itself and any role with
/// SUPERUSER, CREATEROLE, REPLICATION or BYPASSRLS).
const PRIVILEGED_ROLES: &str = "ARRAY['rds_superuser','pg_execute_server_program','pg_write_server_files',\
     'pg_read_server_files']::pg_catalog.name[]";

/// The administrative rights `user` holds, directly or as a member of another role: SUPERUSER, CREATEROLE,
/// REPLICATION, BYPASSRLS, or membership in `rds_superuser`, the server-file roles or the admin's own role.
/// Empty when none, or when the user does not exist.
pub async fn privileged_rights(admin: &PostgresSession, user: &str) -> Result<Vec<String>, RotationError> {
    let admin_user = admin.connection().username.as_str();
    let sql = format!(
        "SELECT r.rolsuper, r.rolcreaterole, r.rolreplication, r.rolbypassrls, \
           ARRAY(SELECT g.rolname::pg_catalog.text FROM pg_catalog.pg_roles g \
             WHERE g.oid OPERATOR(pg_catalog.<>) r.oid AND pg_catalog.pg_has_role(r.oid, g.oid, 'MEMBER') \
               AND (g.rolsuper OR g.rolcreaterole OR g.rolreplication OR g.rolbypassrls \
                    OR g.rolname OPERATOR(pg_catalog.=) ANY ({PRIVILEGED_ROLES}) OR g.rolname OPERATOR(pg_catalog.=) $2)) \
         FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) $1"
    );
    let rows = admin.query(&sql, &[&user, &admin_user]).await?;
    let Some(row) = rows.first() else { return Ok(Vec::new()) };
    let mut rights = Vec::new();
    for (i, name) in ["SUPERUSER", "CREATEROLE", "REPLICATION", "BYPASSRLS"].iter().enumerate() {
        if row.get::<_, bool>(i) {
            rights.push((*name).to_owned());
        }
    }
    rights.extend(row.get::<_, Vec<String>>(4).into_iter().map(|role| format!("member of {role:?}")));
    Ok(rights)
}

/// Creates `inactive` when missing, brings it in line with `active` both ways, and sets its password (as a
/// verifier). Idempotent: every statement adds only what is missing, removes only what is extra, or sets what is
/// already set.
pub async fn sync_and_set_password(
    admin: &PostgresSession,
    active: &str,
    inactive: &str,
    password: &str,
) -> Result<(), RotationError> {
    let rows = admin.query(ATTRIBUTES_SQL, &[&active]).await?;
    let row = rows.first().ok_or_else(|| {
        RotationError::target(
            TargetErrorKind::Rejected,
            admin.connection().address(),
            format!("the active user {active:?} does not exist; check the secret's username"),
        )
    })?;
    let current = admin.query(ATTRIBUTES_SQL, &[&inactive]).await?;
    if let Some(why) = disabled(row) {
        return Err(refuse_disabled(admin, active, format!("the active user {active:?} {why}")));
    }
    match current.first() {
        Some(current) => {
            if let Some(why) = disabled(current) {
                let who = format!("{inactive:?}, the other user of the pair, {why} while {active:?} can log in");
                return Err(refuse_disabled(admin, inactive, who));
            }
        }
        None => admin.execute(&format!("CREATE ROLE {} WITH LOGIN", escape_identifier(inactive))).await?,
    }

    // Attributes, LOGIN and the password in one statement.
    let mut options = vec!["LOGIN".to_owned()];
    for (i, (yes, no)) in ATTRIBUTES.iter().enumerate() {
        options.push((if row.get::<_, bool>(i) { yes } else { no }).to_string());
    }
    options.push(format!("CONNECTION LIMIT {}", row.get::<_, i32>(5)));
    options.push(match row.get::<_, Option<String>>(6) {
        Some(until) => format!("VALID UNTIL {}", escape_literal(&until)),
        None => "VALID UNTIL 'infinity'".to_owned(),
    });
    // REPLICATION and BYPASSRLS need a superuser to change: only name them when they must change (a role just
    // created has neither).
    let (replication, bypassrls) = current.first().map_or((false, false), |c| (c.get::<_, bool>(3), c.get(4)));
    options.retain(|o| {
        !((o == "REPLICATION" && replication)
            || (o == "NOREPLICATION" && !replication)
            || (o == "BYPASSRLS" && bypassrls)
            || (o == "NOBYPASSRLS" && !bypassrls))
    });
    admin.execute(&password_statement(inactive, password, &options.join(" "))).await?;

    sync_memberships(admin, active, inactive).await?;
    sync_settings(admin, active, inactive).await?;
    sync_privileges(admin, active, inactive).await
}

/// Why a user of the pair counts as disabled by an operator (NOLOGIN, or a VALID UNTIL in the past), from its
/// [`ATTRIBUTES_SQL`] row; `None` when it may log in.
fn disabled(row: &tokio_postgres::Row) -> Option<String> {
    if !row.get::<_, bool>(7) {
        Some("cannot log in (NOLOGIN)".to_owned())
    } else if row.get::<_, bool>(8) {
        Some(format!("has a password that expired (VALID UNTIL {})", row.get::<_, String>(6)))
    } else {
        None
    }
}

/// The refusal of a disabled user, before any change: the sync makes the inactive user LOGIN with the active
/// one's VALID UNTIL, which would enable a disabled clone, or give a disabled user's rights and a working password
/// to its clone. `who` names the user and why it is disabled.
fn refuse_disabled(admin: &PostgresSession, user: &str, who: String) -> RotationError {
    RotationError::target(
        TargetErrorKind::Rejected,
        admin.connection().address(),
        format!(
            "{who}: rotor does not re-enable a role an operator disabled, so nothing was changed; re-enable it \
             (ALTER ROLE {} LOGIN, with VALID UNTIL 'infinity' or a later date) or turn rotation off for this secret",
            escape_identifier(user)
        ),
    )
}

/// Role memberships: the inactive user is in every role the active user is in (with the same admin option), in
/// no other, and the clone is in the original role.
async fn sync_memberships(admin: &PostgresSession, active: &str, inactive: &str) -> Result<(), RotationError> {
    let memberships = |rows: Vec<tokio_postgres::Row>| -> BTreeMap<String, bool> {
        rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, bool>(1))).collect()
    };
    let mut wanted = memberships(admin.query(MEMBERSHIPS_SQL, &[&active]).await?);
    wanted.remove(inactive);
    if let Some(base) = inactive.strip_suffix(CLONE_SUFFIX) {
        wanted.entry(base.to_owned()).or_insert(false);
    }
    let present = memberships(admin.query(MEMBERSHIPS_SQL, &[&inactive]).await?);
    let user = escape_identifier(inactive);
    let mut statements = Vec::new();
    for (role, admin_option) in &wanted {
        let role_sql = escape_identifier(role);
        match present.get(role) {
            Some(held) if held == admin_option => {}
            Some(true) => statements.push(format!("REVOKE ADMIN OPTION FOR {role_sql} FROM {user};")),
            _ => {
                let with = if *admin_option { " WITH ADMIN OPTION" } else { "" };
                statements.push(format!("GRANT {role_sql} TO {user}{with};"));
            }
        }
    }
    for role in present.keys().filter(|role| !wanted.contains_key(*role)) {
        statements.push(format!("REVOKE {} FROM {user};", escape_identifier(role)));
    }
    if !statements.is_empty() {
        admin.execute(&statements.join("\n")).await?;
    }
    Ok(())
}

/// Settings whose stored text is a list of quoted names: given back as one literal, it would be read as one name.
/// They change nothing the copy's statements do.
const QUOTED_LISTS: &[&str] = &[
    "search_path",
    "temp_tablespaces",
    "local_preload_libraries",
    "session_preload_libraries",
    "shared_preload_libraries",
];

/// Per-role settings (`ALTER ROLE ... [IN DATABASE ...] SET`), both ways. A value is copied as the literal text the
/// server stored, never applied to the admin's session: a user's `transaction_read_only`, `statement_timeout`,
/// `idle_in_transaction_session_timeout` or `role` would otherwise steer the admin's own transaction. Only the
/// [`QUOTED_LISTS`] are applied, inside a transaction (`set_config(.., true)`, a bind parameter parsed as the server
/// parses the stored text) and copied with `FROM CURRENT`; the commit ends it.
async fn sync_settings(admin: &PostgresSession, active: &str, inactive: &str) -> Result<(), RotationError> {
    let settings_of = |rows: Vec<tokio_postgres::Row>| -> BTreeMap<(Option<String>, String), String> {
        let mut settings = BTreeMap::new();
        for row in rows {
            let database: Option<String> = row.get(0);
            for entry in row.get::<_, Vec<String>>(1) {
                if let Some((name, value)) = entry.split_once('=') {
                    settings.insert((database.clone(), name.to_owned()), value.to_owned());
                }
            }
        }
        settings
    };
    let wanted = settings_of(admin.query(SETTINGS_SQL, &[&active]).await?);
    let present = settings_of(admin.query(SETTINGS_SQL, &[&inactive]).await?);
    let role = escape_identifier(inactive);
    let scope = |database: &Option<String>| match database {
        Some(db) => format!(" IN DATABASE {}", escape_identifier(db)),
        None => String::new(),
    };
    for (database, name) in present.keys().filter(|key| !wanted.contains_key(*key)) {
        admin.execute(&format!("ALTER ROLE {role}{} RESET {}", scope(database), escape_identifier(name))).await?;
    }
    for ((database, name), value) in &wanted {
        if present.get(&(database.clone(), name.clone())) == Some(value) {
            continue;
        }
        if !QUOTED_LISTS.iter().any(|list| list.eq_ignore_ascii_case(name)) {
            let (scope, name, value) = (scope(database), escape_identifier(name), escape_literal(value));
            admin.execute(&format!("ALTER ROLE {role}{scope} SET {name} TO {value}")).await?;
            continue;
        }
        admin.execute("BEGIN").await?;
        let copied = async {
            admin.query("SELECT pg_catalog.set_config($1, $2, true)", &[name, value]).await?;
            admin
                .execute(&format!(
                    "ALTER ROLE {role}{} SET {} FROM CURRENT; COMMIT",
                    scope(database),
                    escape_identifier(name)
                ))
                .await
        };
        if let Err(error) = copied.await {
            admin.execute("ROLLBACK").await.ok();
            return Err(error);
        }
    }
    Ok(())
}

/// One privilege held directly: (kind, object, column or empty, privilege).
type Privilege = (String, String, String, String);

async fn privileges_of(admin: &PostgresSession, role: &str) -> Result<BTreeMap<Privilege, bool>, RotationError> {
    let rows = admin.query(PRIVILEGES_SQL, &[&role]).await?;
    Ok(rows
        .iter()
        .filter(|row| PRIVILEGES.contains(&row.get::<_, String>(3).as_str()))
        .map(|row| ((row.get(0), row.get(1), row.get(2), row.get(3)), row.get(4)))
        .collect())
}

/// `SELECT ON TABLE public.t` or `SELECT (c) ON TABLE public.t`.
fn on(privilege: &Privilege) -> String {
    let (kind, object, column, name) = privilege;
    let column = if column.is_empty() { String::new() } else { format!(" ({column})") };
    format!("{name}{column} ON {kind} {object}")
}

/// Privileges granted directly to the active user are granted to the inactive one; those the inactive one holds
/// beyond them are revoked afterwards. A privilege the admin cannot grant or revoke (it holds it without the right
/// to pass it on, or another role granted it) fails the step, naming it.
async fn sync_privileges(admin: &PostgresSession, active: &str, inactive: &str) -> Result<(), RotationError> {
    let wanted = privileges_of(admin, active).await?;
    let present = privileges_of(admin, inactive).await?;
    let user = escape_identifier(inactive);
    // One statement each: a privilege the server skips (with only a warning) is named in the error.
    for (privilege, grantable) in &wanted {
        if present.get(privilege).is_none_or(|held| !held && *grantable) {
            let with = if *grantable { " WITH GRANT OPTION" } else { "" };
            let sql = format!("GRANT {} TO {user}{with}", on(privilege));
            admin.change(&sql, &format!("{} to {inactive:?}{with}", on(privilege))).await?;
        }
    }
    let mut revoked = false;
    for (privilege, grantable) in &present {
        let (sql, what) = match wanted.get(privilege) {
            None => (format!("REVOKE {} FROM {user}", on(privilege)), on(privilege)),
            Some(false) if *grantable => (
                format!("REVOKE GRANT OPTION FOR {} FROM {user}", on(privilege)),
                format!("the grant option of {}", on(privilege)),
            ),
            Some(_) => continue,
        };
        admin.change(&sql, &format!("{what} from {inactive:?}")).await?;
        revoked = true;
    }
    if !revoked {
        return Ok(());
    }
    let left: Vec<String> = privileges_of(admin, inactive)
        .await?
        .into_iter()
        .filter(|(privilege, grantable)| wanted.get(privilege).is_none_or(|w| *grantable && !w))
        .map(|(privilege, _)| on(&privilege))
        .collect();
    if left.is_empty() {
        return Ok(());
    }
    Err(RotationError::target(
        TargetErrorKind::Rejected,
        admin.connection().address(),
        format!(
            "{inactive:?} holds {} which {active:?} does not, and the admin cannot revoke it (another role granted it); revoke it by hand so the two users stay alike",
            left.join(", ")
        ),
    ))
}
