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
//! The sync costs three round trips, whatever the users hold: one reads both users (four queries, pipelined); one
//! sends, inside a transaction, the password's statement (a message of its own) and every other change (one
//! batch), with the check after revokes pipelined beside them; the third commits once they answered, or rolls
//! back when anything failed or the server skipped a GRANT or REVOKE. A sync that fails changes nothing, and a
//! retry does it all again.
//!
//! The admin runs none of the user's code: the session's `search_path` is pinned at startup
//! ([`crate::connect::PINNED_SEARCH_PATH`]) and every function, operator and type in this file's SQL is
//! schema-qualified, so a function or operator the user planted (`public.quote_ident(name)`) never wins overload
//! resolution. Statements are built from catalog keywords and names quoted with postgres-protocol's escaping or by
//! the server's own `quote_ident`, `regclass` and `regprocedure` output; setting values are quoted with
//! postgres-protocol's escaping.

use std::collections::BTreeMap;

use postgres_protocol::escape::{escape_identifier, escape_literal};
use rotation_core::{RotationError, TargetErrorKind};
use rotation_database::CLONE_SUFFIX;
use tokio_postgres::Row;
use tokio_postgres::error::DbError;
use tokio_postgres::types::Type;

use crate::connect::{PINNED_SEARCH_PATH, Param, PostgresSession};
use crate::error::not_applied;
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

/// The attributes of the roles named in `$1` (`name[]`), each row tagged by its role: [`ATTRIBUTES`], the
/// connection limit, VALID UNTIL as text (the session's `DateStyle` is pinned), whether it may log in, and whether
/// its password expired.
const ATTRIBUTES_SQL: &str = "SELECT rolname::pg_catalog.text, rolcreatedb, rolcreaterole, rolinherit, rolreplication, \
     rolbypassrls, rolconnlimit, rolvaliduntil::pg_catalog.text, rolcanlogin, \
     COALESCE(rolvaliduntil OPERATOR(pg_catalog.<) pg_catalog.now(), false) \
     FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) ANY ($1)";

/// The role memberships of the roles named in `$1`: (member, role, admin option).
const MEMBERSHIPS_SQL: &str = "SELECT u.rolname::pg_catalog.text, r.rolname::pg_catalog.text, m.admin_option \
     FROM pg_catalog.pg_auth_members m \
     JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) m.roleid \
     JOIN pg_catalog.pg_roles u ON u.oid OPERATOR(pg_catalog.=) m.member \
     WHERE u.rolname OPERATOR(pg_catalog.=) ANY ($1)";

/// The per-role settings of the roles named in `$1`: (role, database or NULL for all, `name=value` entries).
const SETTINGS_SQL: &str = "SELECT r.rolname::pg_catalog.text, d.datname::pg_catalog.text, s.setconfig \
     FROM pg_catalog.pg_db_role_setting s \
     JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) s.setrole \
     LEFT JOIN pg_catalog.pg_database d ON d.oid OPERATOR(pg_catalog.=) s.setdatabase \
     WHERE r.rolname OPERATOR(pg_catalog.=) ANY ($1)";

/// The privileges granted directly to the roles named in `$1`: (role, object kind, object, column or empty,
/// privilege, grantable).
const PRIVILEGES_SQL: &str = "WITH me AS (SELECT oid, rolname FROM pg_catalog.pg_roles \
       WHERE rolname OPERATOR(pg_catalog.=) ANY ($1)) \
     SELECT me.rolname::pg_catalog.text, \
            CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, \
            c.oid::pg_catalog.regclass::pg_catalog.text, '', a.privilege_type, a.is_grantable \
       FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a, me \
      WHERE a.grantee OPERATOR(pg_catalog.=) me.oid \
        AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r','v','m','f','p','S']::pg_catalog.\"char\"[]) \
     UNION ALL SELECT me.rolname::pg_catalog.text, 'TABLE', c.oid::pg_catalog.regclass::pg_catalog.text, \
            pg_catalog.quote_ident(t.attname::pg_catalog.text), a.privilege_type, a.is_grantable \
       FROM pg_catalog.pg_attribute t JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.attrelid, \
            pg_catalog.aclexplode(t.attacl) a, me \
      WHERE a.grantee OPERATOR(pg_catalog.=) me.oid AND NOT t.attisdropped \
     UNION ALL SELECT me.rolname::pg_catalog.text, 'SCHEMA', pg_catalog.quote_ident(n.nspname::pg_catalog.text), '', \
            a.privilege_type, a.is_grantable \
       FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a, me WHERE a.grantee OPERATOR(pg_catalog.=) me.oid \
     UNION ALL SELECT me.rolname::pg_catalog.text, 'ROUTINE', p.oid::pg_catalog.regprocedure::pg_catalog.text, '', \
            a.privilege_type, a.is_grantable \
       FROM pg_catalog.pg_proc p, pg_catalog.aclexplode(p.proacl) a, me WHERE a.grantee OPERATOR(pg_catalog.=) me.oid \
     UNION ALL SELECT me.rolname::pg_catalog.text, 'DATABASE', pg_catalog.quote_ident(d.datname::pg_catalog.text), '', \
            a.privilege_type, a.is_grantable \
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
    let rows = admin.query(&sql, &[(&user, Type::NAME), (&admin_user, Type::NAME)]).await?;
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
/// verifier), all in one transaction. Idempotent: every statement adds only what is missing, removes only what is
/// extra, or sets what is already set, and a sync that fails changes nothing.
pub async fn sync_and_set_password(
    admin: &PostgresSession,
    active: &str,
    inactive: &str,
    password: &str,
) -> Result<(), RotationError> {
    let (wanted, present) = read_pair(admin, active, inactive).await?;
    let wanted = wanted.ok_or_else(|| {
        RotationError::target(
            TargetErrorKind::Rejected,
            admin.connection().address(),
            format!("the active user {active:?} does not exist; check the secret's username"),
        )
    })?;
    if let Some(why) = disabled(&wanted.attributes) {
        return Err(refuse_disabled(admin, active, format!("the active user {active:?} {why}")));
    }
    if let Some(why) = present.as_ref().and_then(|present| disabled(&present.attributes)) {
        let who = format!("{inactive:?}, the other user of the pair, {why} while {active:?} can log in");
        return Err(refuse_disabled(admin, inactive, who));
    }

    let plan = plan(inactive, &wanted, present.as_ref());
    // Only a REVOKE can leave something behind (another grantor's grant): then the check reads what is left.
    let revokes = plan.statements.iter().any(|s| matches!(s, Statement::Privilege { revoke: true, .. }));
    let names: &[&str] = &[inactive];
    let check: &[Param<'_>] = &[(&names, Type::NAME_ARRAY)];
    let (password_batch, changes) = plan.batches(inactive, password);
    let batches = [password_batch.as_str(), changes.as_str()];
    let (rows, warnings) = match admin.apply(&batches, revokes.then_some((PRIVILEGES_SQL, check))).await {
        Ok(applied) => applied,
        Err(error) => {
            rollback(admin).await;
            return Err(error);
        }
    };
    if !warnings.is_empty() {
        rollback(admin).await;
        return Err(skipped(admin, inactive, &plan, &warnings).await);
    }
    let left: Vec<String> = privileges_by_role(&rows)
        .remove(inactive)
        .unwrap_or_default()
        .into_iter()
        .filter(|(privilege, grantable)| wanted.privileges.get(privilege).is_none_or(|w| *grantable && !w))
        .map(|(privilege, _)| on(&privilege))
        .collect();
    if !left.is_empty() {
        rollback(admin).await;
        return Err(RotationError::target(
            TargetErrorKind::Rejected,
            admin.connection().address(),
            format!(
                "{inactive:?} holds {} which {active:?} does not, and the admin cannot revoke it (another role granted it); revoke it by hand so the two users stay alike",
                left.join(", ")
            ),
        ));
    }
    // COMMIT only once the batches answered: a batch the client stopped waiting for (its bound passed while the
    // server waited on locks) is rolled back when the session ends, never committed behind a reported failure.
    admin.execute("COMMIT").await
}

/// Ends the sync's transaction without applying anything; a failure of its own (the connection is gone, which
/// ends the transaction too) changes nothing.
async fn rollback(admin: &PostgresSession) {
    admin.execute("ROLLBACK").await.ok();
}

/// What the sync compares of one user.
#[derive(Debug, Default)]
struct Facets {
    attributes: Attributes,
    /// The roles it is a member of, with the admin option.
    memberships: BTreeMap<String, bool>,
    /// Its settings by (database, or `None` for all, and name): the text the server stored.
    settings: BTreeMap<(Option<String>, String), String>,
    /// The privileges granted to it directly, with the grant option.
    privileges: BTreeMap<Privilege, bool>,
}

/// A role's attributes, from its [`ATTRIBUTES_SQL`] row.
#[derive(Debug, Default)]
struct Attributes {
    /// [`ATTRIBUTES`], in order.
    flags: [bool; ATTRIBUTES.len()],
    connection_limit: i32,
    /// VALID UNTIL, `None` for none.
    valid_until: Option<String>,
    can_login: bool,
    /// VALID UNTIL is in the past.
    expired: bool,
}

impl Attributes {
    fn of(row: &Row) -> Self {
        Self {
            flags: std::array::from_fn(|i| row.get(1 + i)),
            connection_limit: row.get(6),
            valid_until: row.get(7),
            can_login: row.get(8),
            expired: row.get(9),
        }
    }
}

/// Both users as the sync compares them, read in one round trip; `None` for a user that does not exist.
async fn read_pair(
    admin: &PostgresSession,
    active: &str,
    inactive: &str,
) -> Result<(Option<Facets>, Option<Facets>), RotationError> {
    let names: &[&str] = &[active, inactive];
    let both: &[Param<'_>] = &[(&names, Type::NAME_ARRAY)];
    let [attributes, memberships, settings, privileges] = admin
        .queries([(ATTRIBUTES_SQL, both), (MEMBERSHIPS_SQL, both), (SETTINGS_SQL, both), (PRIVILEGES_SQL, both)])
        .await?;
    let mut users: BTreeMap<String, Facets> = attributes
        .iter()
        .map(|row| (row.get(0), Facets { attributes: Attributes::of(row), ..Facets::default() }))
        .collect();
    for row in &memberships {
        if let Some(user) = users.get_mut(row.get::<_, &str>(0)) {
            user.memberships.insert(row.get(1), row.get(2));
        }
    }
    for row in &settings {
        if let Some(user) = users.get_mut(row.get::<_, &str>(0)) {
            let database: Option<String> = row.get(1);
            for entry in row.get::<_, Vec<String>>(2) {
                if let Some((name, value)) = entry.split_once('=') {
                    user.settings.insert((database.clone(), name.to_owned()), value.to_owned());
                }
            }
        }
    }
    for (role, held) in privileges_by_role(&privileges) {
        if let Some(user) = users.get_mut(&role) {
            user.privileges = held;
        }
    }
    Ok((users.remove(active), users.remove(inactive)))
}

/// One privilege held directly: (kind, object, column or empty, privilege).
type Privilege = (String, String, String, String);

/// [`PRIVILEGES_SQL`]'s rows by role: the privileges rotor grants again, with the grant option.
fn privileges_by_role(rows: &[Row]) -> BTreeMap<String, BTreeMap<Privilege, bool>> {
    let mut roles: BTreeMap<String, BTreeMap<Privilege, bool>> = BTreeMap::new();
    for row in rows.iter().filter(|row| PRIVILEGES.contains(&row.get::<_, &str>(4))) {
        roles.entry(row.get(0)).or_default().insert((row.get(1), row.get(2), row.get(3), row.get(4)), row.get(5));
    }
    roles
}

/// Why a user of the pair counts as disabled by an operator (NOLOGIN, or a VALID UNTIL in the past); `None` when
/// it may log in.
fn disabled(attributes: &Attributes) -> Option<String> {
    if !attributes.can_login {
        Some("cannot log in (NOLOGIN)".to_owned())
    } else if attributes.expired {
        let until = attributes.valid_until.as_deref().unwrap_or_default();
        Some(format!("has a password that expired (VALID UNTIL {until})"))
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

/// What brings the inactive user in line with the active one.
#[derive(Debug)]
struct Plan {
    /// The inactive user does not exist yet.
    create: bool,
    /// The options of the ALTER ROLE that sets the password: LOGIN and the active user's attributes.
    options: String,
    /// The other statements, in the order they run: memberships, settings, privileges (what is lacking granted,
    /// then what is extra revoked), and the settings copied `FROM CURRENT` last.
    statements: Vec<Statement>,
}

/// One statement of a [`Plan`].
#[derive(Debug, PartialEq)]
enum Statement {
    /// One the server applies, or refuses with an error.
    Plain(String),
    /// A GRANT or REVOKE of a privilege, and what it changes (`SELECT ON TABLE public.t to "app"`): the server
    /// skips one the admin may not pass on with a warning only.
    Privilege { sql: String, what: String, revoke: bool },
}

impl Statement {
    fn sql(&self) -> &str {
        match self {
            Statement::Plain(sql) | Statement::Privilege { sql, .. } => sql,
        }
    }
}

impl Plan {
    /// The two batches of the sync's transaction: the first opens it, creates `inactive` when missing and sets its
    /// password (as a verifier); the second applies the plan's changes (empty when there are none) and leaves the
    /// transaction open. A server logs the whole text of a message that fails (`log_min_error_statement`), so the
    /// verifier travels in a message of its own, which a failure of the plan's statements never logs.
    fn batches(&self, inactive: &str, password: &str) -> (String, String) {
        let mut first = vec!["BEGIN".to_owned()];
        if self.create {
            first.push(format!("CREATE ROLE {} WITH LOGIN", escape_identifier(inactive)));
        }
        first.push(password_statement(inactive, password, &self.options));
        let changes: Vec<&str> = self.statements.iter().map(Statement::sql).collect();
        (first.join(";\n"), changes.join(";\n"))
    }
}

/// The plan that brings `inactive` (`present`, `None` when it does not exist) in line with the active user
/// (`wanted`). With users already alike, it has no statement but the password's.
fn plan(inactive: &str, wanted: &Facets, present: Option<&Facets>) -> Plan {
    let missing = Facets::default();
    let held = present.unwrap_or(&missing);
    let mut statements = memberships(inactive, wanted, held);
    let copied = settings(inactive, wanted, held, &mut statements);
    statements.extend(privileges(inactive, wanted, held));
    statements.extend(copied);
    Plan { create: present.is_none(), options: options(&wanted.attributes, &held.attributes), statements }
}

/// LOGIN and the attributes of the active user (`wanted`), for the ALTER ROLE that sets the password.
/// REPLICATION and BYPASSRLS need a superuser to change: they are only named when they must change (a role just
/// created has neither).
fn options(wanted: &Attributes, held: &Attributes) -> String {
    let mut options = vec!["LOGIN".to_owned()];
    for (i, ((yes, no), on)) in ATTRIBUTES.iter().zip(wanted.flags).enumerate() {
        let superuser_only = matches!(*yes, "REPLICATION" | "BYPASSRLS");
        if !(superuser_only && on == held.flags[i]) {
            options.push((if on { yes } else { no }).to_string());
        }
    }
    options.push(format!("CONNECTION LIMIT {}", wanted.connection_limit));
    options.push(match &wanted.valid_until {
        Some(until) => format!("VALID UNTIL {}", escape_literal(until)),
        None => "VALID UNTIL 'infinity'".to_owned(),
    });
    options.join(" ")
}

/// Role memberships: the inactive user is in every role the active user is in (with the same admin option), in
/// no other, and the clone is in the original role.
fn memberships(inactive: &str, wanted: &Facets, held: &Facets) -> Vec<Statement> {
    let mut roles = wanted.memberships.clone();
    roles.remove(inactive);
    if let Some(base) = inactive.strip_suffix(CLONE_SUFFIX) {
        roles.entry(base.to_owned()).or_insert(false);
    }
    let user = escape_identifier(inactive);
    let mut statements = Vec::new();
    for (role, admin_option) in &roles {
        let role_sql = escape_identifier(role);
        match held.memberships.get(role) {
            Some(option) if option == admin_option => {}
            Some(true) => statements.push(format!("REVOKE ADMIN OPTION FOR {role_sql} FROM {user}")),
            _ => {
                let with = if *admin_option { " WITH ADMIN OPTION" } else { "" };
                statements.push(format!("GRANT {role_sql} TO {user}{with}"));
            }
        }
    }
    for role in held.memberships.keys().filter(|role| !roles.contains_key(*role)) {
        statements.push(format!("REVOKE {} FROM {user}", escape_identifier(role)));
    }
    statements.into_iter().map(Statement::Plain).collect()
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

/// Per-role settings (`ALTER ROLE ... [IN DATABASE ...] SET`), both ways, pushed onto `statements`. A value is
/// copied as the literal text the server stored, never applied to the admin's session: a user's
/// `transaction_read_only`, `statement_timeout`, `idle_in_transaction_session_timeout` or `role` would otherwise
/// steer the admin's own transaction. Only the [`QUOTED_LISTS`] are applied, for the rest of the transaction
/// (`set_config(.., true)`, the value a literal the server parses as it parses the stored text), and copied with
/// `FROM CURRENT`; `search_path` is pinned again right after each, so no later statement resolves a name with the
/// user's. Those are returned, to run last; the commit ends them.
fn settings(inactive: &str, wanted: &Facets, held: &Facets, statements: &mut Vec<Statement>) -> Vec<Statement> {
    let role = escape_identifier(inactive);
    let scope = |database: &Option<String>| match database {
        Some(db) => format!(" IN DATABASE {}", escape_identifier(db)),
        None => String::new(),
    };
    for (database, name) in held.settings.keys().filter(|key| !wanted.settings.contains_key(*key)) {
        statements.push(Statement::Plain(format!(
            "ALTER ROLE {role}{} RESET {}",
            scope(database),
            escape_identifier(name)
        )));
    }
    let mut copied = Vec::new();
    for ((database, name), value) in &wanted.settings {
        if held.settings.get(&(database.clone(), name.clone())) == Some(value) {
            continue;
        }
        let (scope, name_sql) = (scope(database), escape_identifier(name));
        if !QUOTED_LISTS.iter().any(|list| list.eq_ignore_ascii_case(name)) {
            statements.push(Statement::Plain(format!(
                "ALTER ROLE {role}{scope} SET {name_sql} TO {}",
                escape_literal(value)
            )));
            continue;
        }
        copied.extend([
            format!("SELECT pg_catalog.set_config({}, {}, true)", escape_literal(name), escape_literal(value)),
            format!("ALTER ROLE {role}{scope} SET {name_sql} FROM CURRENT"),
            format!("SELECT pg_catalog.set_config('search_path', {}, true)", escape_literal(PINNED_SEARCH_PATH)),
        ]);
    }
    copied.into_iter().map(Statement::Plain).collect()
}

/// `SELECT ON TABLE public.t` or `SELECT (c) ON TABLE public.t`.
fn on(privilege: &Privilege) -> String {
    let (kind, object, column, name) = privilege;
    let column = if column.is_empty() { String::new() } else { format!(" ({column})") };
    format!("{name}{column} ON {kind} {object}")
}

/// Privileges granted directly to the active user are granted to the inactive one; those the inactive one holds
/// beyond them are revoked afterwards. One statement each, so that the one the server skips can be named.
fn privileges(inactive: &str, wanted: &Facets, held: &Facets) -> Vec<Statement> {
    let user = escape_identifier(inactive);
    let mut statements = Vec::new();
    for (privilege, grantable) in &wanted.privileges {
        if held.privileges.get(privilege).is_none_or(|option| !option && *grantable) {
            let with = if *grantable { " WITH GRANT OPTION" } else { "" };
            statements.push(Statement::Privilege {
                sql: format!("GRANT {} TO {user}{with}", on(privilege)),
                what: format!("{} to {inactive:?}{with}", on(privilege)),
                revoke: false,
            });
        }
    }
    for (privilege, grantable) in &held.privileges {
        let (sql, what) = match wanted.privileges.get(privilege) {
            None => (format!("REVOKE {} FROM {user}", on(privilege)), on(privilege)),
            Some(false) if *grantable => (
                format!("REVOKE GRANT OPTION FOR {} FROM {user}", on(privilege)),
                format!("the grant option of {}", on(privilege)),
            ),
            Some(_) => continue,
        };
        statements.push(Statement::Privilege { sql, what: format!("{what} from {inactive:?}"), revoke: true });
    }
    statements
}

/// The error for the GRANTs and REVOKEs the server skipped with a warning (`warnings`, in order), once the
/// batch is rolled back. A warning names the object, not the statement: the plan's GRANTs and REVOKEs run again
/// one at a time, in a transaction rolled back afterwards, until the server skips one, so that the error names
/// that privilege. Only this failure, which a person must fix, costs those round trips.
async fn skipped(admin: &PostgresSession, inactive: &str, plan: &Plan, warnings: &[DbError]) -> RotationError {
    let culprit = async {
        let mut begin = "BEGIN".to_owned();
        if plan.create {
            begin.push_str(&format!("; CREATE ROLE {} WITH LOGIN", escape_identifier(inactive)));
        }
        admin.execute(&begin).await?;
        for statement in &plan.statements {
            if let Statement::Privilege { sql, what, .. } = statement
                && !admin.apply(&[sql.as_str()], None).await?.1.is_empty()
            {
                return Ok(Some(what.clone()));
            }
        }
        Ok::<_, RotationError>(None)
    };
    let what = culprit.await.ok().flatten();
    rollback(admin).await;
    let first = &warnings[0];
    not_applied(admin.connection(), first.code(), first.message(), warnings.len() - 1, what.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn privilege(kind: &str, object: &str, column: &str, name: &str) -> Privilege {
        (kind.to_owned(), object.to_owned(), column.to_owned(), name.to_owned())
    }

    /// An active user: CREATEDB, a connection limit, a member of `readers`, two settings (one a quoted list) and
    /// two privileges.
    fn active() -> Facets {
        let mut facets = Facets::default();
        facets.attributes.flags = [true, false, true, false, false];
        facets.attributes.connection_limit = 7;
        facets.attributes.can_login = true;
        facets.memberships.insert("readers".to_owned(), false);
        facets.settings.insert((None, "work_mem".to_owned()), "8MB".to_owned());
        facets.settings.insert((None, "search_path".to_owned()), "app, public".to_owned());
        facets.privileges.insert(privilege("TABLE", "public.t", "", "SELECT"), false);
        facets.privileges.insert(privilege("TABLE", "public.t", "id", "UPDATE"), true);
        facets
    }

    fn sqls(plan: &Plan) -> Vec<&str> {
        plan.statements.iter().map(Statement::sql).collect()
    }

    #[test]
    fn users_already_alike_need_no_statement_but_the_passwords() {
        let wanted = active();
        let mut present = active();
        present.memberships.insert("app".to_owned(), false);
        let plan = plan("app_clone", &wanted, Some(&present));
        assert!(!plan.create);
        assert_eq!(sqls(&plan), Vec::<&str>::new());
        assert_eq!(plan.options, "LOGIN CREATEDB NOCREATEROLE INHERIT CONNECTION LIMIT 7 VALID UNTIL 'infinity'");
        // With the clone active, the original user is not made a member of itself.
        let mut clone = active();
        clone.memberships.insert("app".to_owned(), false);
        let plan = super::plan("app", &clone, Some(&active()));
        assert_eq!(sqls(&plan), Vec::<&str>::new());
    }

    #[test]
    fn a_missing_clone_is_created_and_given_everything_with_quoted_lists_last() {
        let plan = plan("app_clone", &active(), None);
        assert!(plan.create);
        assert_eq!(
            sqls(&plan),
            [
                r#"GRANT "app" TO "app_clone""#,
                r#"GRANT "readers" TO "app_clone""#,
                r#"ALTER ROLE "app_clone" SET "work_mem" TO '8MB'"#,
                r#"GRANT SELECT ON TABLE public.t TO "app_clone""#,
                r#"GRANT UPDATE (id) ON TABLE public.t TO "app_clone" WITH GRANT OPTION"#,
                "SELECT pg_catalog.set_config('search_path', 'app, public', true)",
                r#"ALTER ROLE "app_clone" SET "search_path" FROM CURRENT"#,
                "SELECT pg_catalog.set_config('search_path', 'pg_catalog,pg_temp', true)",
            ]
        );
        assert_eq!(
            plan.statements[3],
            Statement::Privilege {
                sql: r#"GRANT SELECT ON TABLE public.t TO "app_clone""#.to_owned(),
                what: r#"SELECT ON TABLE public.t to "app_clone""#.to_owned(),
                revoke: false,
            }
        );
    }

    #[test]
    fn what_the_inactive_user_holds_beyond_the_active_one_is_taken_back_after_the_grants() {
        let mut wanted = active();
        wanted.privileges.insert(privilege("SCHEMA", "app", "", "USAGE"), false);
        wanted.settings.insert((Some("we'ird db".to_owned()), "temp_tablespaces".to_owned()), "\"t s\"".to_owned());
        let mut present = active();
        present.memberships.insert("writers".to_owned(), false);
        present.memberships.insert("readers".to_owned(), true);
        present.settings.insert((Some("db".to_owned()), "lock_timeout".to_owned()), "1".to_owned());
        present.privileges.insert(privilege("TABLE", "public.t", "", "SELECT"), true);
        present.privileges.insert(privilege("ROUTINE", "public.f(integer)", "", "EXECUTE"), false);
        let plan = plan("app", &wanted, Some(&present));
        assert_eq!(
            sqls(&plan),
            [
                r#"REVOKE ADMIN OPTION FOR "readers" FROM "app""#,
                r#"REVOKE "writers" FROM "app""#,
                r#"ALTER ROLE "app" IN DATABASE "db" RESET "lock_timeout""#,
                r#"GRANT USAGE ON SCHEMA app TO "app""#,
                r#"REVOKE EXECUTE ON ROUTINE public.f(integer) FROM "app""#,
                r#"REVOKE GRANT OPTION FOR SELECT ON TABLE public.t FROM "app""#,
                r#"SELECT pg_catalog.set_config('temp_tablespaces', '"t s"', true)"#,
                r#"ALTER ROLE "app" IN DATABASE "we'ird db" SET "temp_tablespaces" FROM CURRENT"#,
                "SELECT pg_catalog.set_config('search_path', 'pg_catalog,pg_temp', true)",
            ]
        );
        let revokes: Vec<&str> = plan
            .statements
            .iter()
            .filter_map(|s| match s {
                Statement::Privilege { what, revoke: true, .. } => Some(what.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            revokes,
            [
                r#"EXECUTE ON ROUTINE public.f(integer) from "app""#,
                r#"the grant option of SELECT ON TABLE public.t from "app""#
            ]
        );
    }

    #[test]
    fn replication_and_bypassrls_are_named_only_when_they_change() {
        let mut wanted =
            Attributes { can_login: true, valid_until: Some("2030-01-01 00:00:00+00".into()), ..Default::default() };
        assert_eq!(
            options(&wanted, &Attributes::default()),
            "LOGIN NOCREATEDB NOCREATEROLE NOINHERIT CONNECTION LIMIT 0 VALID UNTIL '2030-01-01 00:00:00+00'"
        );
        wanted.flags = [false, false, true, true, false];
        let mut held = Attributes::default();
        held.flags[4] = true;
        assert_eq!(
            options(&wanted, &held),
            "LOGIN NOCREATEDB NOCREATEROLE INHERIT REPLICATION NOBYPASSRLS CONNECTION LIMIT 0 VALID UNTIL '2030-01-01 00:00:00+00'"
        );
    }

    #[test]
    fn the_verifier_travels_alone_and_the_batches_never_commit() {
        let plan = plan("app_clone", &active(), None);
        let (first, changes) = plan.batches("app_clone", "s3cret-Pa55word");
        assert!(!first.contains("s3cret-Pa55word"), "{first}");
        let statements: Vec<&str> = first.split(";\n").collect();
        assert_eq!(statements[..2], ["BEGIN", r#"CREATE ROLE "app_clone" WITH LOGIN"#]);
        assert!(
            statements[2]
                .starts_with(&format!(r#"ALTER ROLE "app_clone" WITH {} PASSWORD 'SCRAM-SHA-256$"#, plan.options)),
            "{first}"
        );
        assert_eq!(statements.len(), 3, "the verifier's message holds nothing the plan adds: {first}");
        assert!(!changes.contains("SCRAM-SHA-256$") && !changes.contains("COMMIT"), "{changes}");
        assert_eq!(changes.split(";\n").collect::<Vec<_>>(), sqls(&plan));
        let alike = super::plan("app", &active(), Some(&active()));
        let (first, changes) = alike.batches("app", "s3cret-Pa55word");
        assert_eq!((first.split(";\n").count(), changes.as_str()), (2, ""), "{first}");
    }

    #[test]
    fn a_disabled_user_is_named_with_why() {
        let mut attributes = Attributes { can_login: false, ..Default::default() };
        assert_eq!(disabled(&attributes).as_deref(), Some("cannot log in (NOLOGIN)"));
        attributes.can_login = true;
        assert_eq!(disabled(&attributes), None);
        attributes.expired = true;
        attributes.valid_until = Some("2001-01-01 00:00:00+00".to_owned());
        assert_eq!(
            disabled(&attributes).as_deref(),
            Some("has a password that expired (VALID UNTIL 2001-01-01 00:00:00+00)")
        );
    }
}
