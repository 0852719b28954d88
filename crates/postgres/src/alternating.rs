//! Alternating users: the admin keeps `<user>` and `<user>_clone` alike, on every rotation.
//!
//! The inactive user is brought in line with the active one: LOGIN and role attributes, role memberships,
//! per-role settings, membership of the clone in the original role, and the privileges granted directly to the
//! active user on tables, sequences, schemas, routines and the database. Everything it sends is built from
//! catalog keywords and names quoted with postgres-protocol's escaping or by the server's own `quote_ident`,
//! `regclass` and `regprocedure` output; setting values travel as bind parameters.

use postgres_protocol::escape::{escape_identifier, escape_literal};
use rotation_core::RotationError;
use rotation_core::database::{CLONE_SUFFIX, Connection, TlsMode};
use tokio_postgres::Client;

use crate::error::classify;
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

/// Role attributes copied from the active user, as (catalog column, keyword if true, keyword if false).
const ATTRIBUTES: &[(&str, &str, &str)] = &[
    ("rolcreatedb", "CREATEDB", "NOCREATEDB"),
    ("rolcreaterole", "CREATEROLE", "NOCREATEROLE"),
    ("rolinherit", "INHERIT", "NOINHERIT"),
    ("rolreplication", "REPLICATION", "NOREPLICATION"),
    ("rolbypassrls", "BYPASSRLS", "NOBYPASSRLS"),
];

/// Runs statements as the admin, classifying failures.
struct Admin<'a> {
    client: &'a Client,
    connection: &'a Connection,
    mode: TlsMode,
}

impl Admin<'_> {
    async fn execute(&self, statement: &str) -> Result<(), RotationError> {
        self.client.batch_execute(statement).await.map_err(|e| classify(e, self.connection, self.mode))
    }

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, RotationError> {
        self.client.query(sql, params).await.map_err(|e| classify(e, self.connection, self.mode))
    }
}

/// Creates `inactive` when missing, brings it in line with `active`, and sets its password (as a verifier).
/// Idempotent: every statement only adds what is missing or sets what is already set.
pub async fn sync_and_set_password(
    client: &Client,
    admin: &Connection,
    mode: TlsMode,
    active: &str,
    inactive: &str,
    password: &str,
) -> Result<(), RotationError> {
    let admin = Admin { client, connection: admin, mode };
    let exists = !admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&inactive]).await?.is_empty();
    if !exists {
        admin.execute(&format!("CREATE ROLE {} WITH LOGIN", escape_identifier(inactive))).await?;
    }

    // Attributes, LOGIN and the password in one statement.
    let rows = admin
        .query(
            "SELECT rolcreatedb, rolcreaterole, rolinherit, rolreplication, rolbypassrls, rolconnlimit, \
             rolvaliduntil::text FROM pg_roles WHERE rolname = $1",
            &[&active],
        )
        .await?;
    let row = rows.first().ok_or_else(|| {
        RotationError::target(
            rotation_core::TargetErrorKind::Rejected,
            admin.connection.address(),
            format!("the active user {active:?} does not exist; check the secret's username"),
        )
    })?;
    let mut options = vec!["LOGIN".to_owned()];
    for (i, (_, yes, no)) in ATTRIBUTES.iter().enumerate() {
        options.push((if row.get::<_, bool>(i) { yes } else { no }).to_string());
    }
    options.push(format!("CONNECTION LIMIT {}", row.get::<_, i32>(5)));
    options.push(match row.get::<_, Option<String>>(6) {
        Some(until) => format!("VALID UNTIL {}", escape_literal(&until)),
        None => "VALID UNTIL 'infinity'".to_owned(),
    });
    let current_attributes =
        admin.query("SELECT rolreplication, rolbypassrls FROM pg_roles WHERE rolname = $1", &[&inactive]).await?;
    // REPLICATION and BYPASSRLS need a superuser to change: only name them when they must change.
    if let Some(current) = current_attributes.first() {
        let (replication, bypassrls) = (current.get::<_, bool>(0), current.get::<_, bool>(1));
        options.retain(|o| {
            !((o == "REPLICATION" && replication)
                || (o == "NOREPLICATION" && !replication)
                || (o == "BYPASSRLS" && bypassrls)
                || (o == "NOBYPASSRLS" && !bypassrls))
        });
    }
    admin.execute(&password_statement(inactive, password, &options.join(" "))).await?;

    // Memberships: every role the active user is in, and the clone in the original role.
    let memberships = admin
        .query(
            "SELECT r.rolname, m.admin_option FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid \
             JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1",
            &[&active],
        )
        .await?;
    let mut roles: Vec<(String, bool)> = memberships
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, bool>(1)))
        .filter(|(r, _)| r != inactive)
        .collect();
    if let Some(base) = inactive.strip_suffix(CLONE_SUFFIX) {
        roles.push((base.to_owned(), false));
    }
    for (role, admin_option) in roles {
        let held = admin
            .query(
                "SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member \
                 WHERE r.rolname = $1 AND u.rolname = $2",
                &[&role, &inactive],
            )
            .await?;
        if held.is_empty() {
            let with = if admin_option { " WITH ADMIN OPTION" } else { "" };
            admin
                .execute(&format!("GRANT {} TO {}{with}", escape_identifier(&role), escape_identifier(inactive)))
                .await?;
        }
    }

    sync_settings(&admin, active, inactive).await?;
    sync_privileges(&admin, active, inactive).await
}

/// Per-role settings (`ALTER ROLE ... [IN DATABASE ...] SET`): each value is applied to the admin's session with
/// `set_config` (a bind parameter, parsed as the server parses the stored text) and copied with `FROM CURRENT`.
async fn sync_settings(admin: &Admin<'_>, active: &str, inactive: &str) -> Result<(), RotationError> {
    let settings_of = |role: &'static str| {
        format!(
            "SELECT d.datname, split_part(c, '=', 1), substr(c, strpos(c, '=') + 1) \
             FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole \
             LEFT JOIN pg_database d ON d.oid = s.setdatabase, unnest(s.setconfig) c WHERE r.rolname = {role}"
        )
    };
    let wanted = admin.query(&settings_of("$1"), &[&active]).await?;
    let present = admin.query(&settings_of("$1"), &[&inactive]).await?;
    let key = |row: &tokio_postgres::Row| (row.get::<_, Option<String>>(0), row.get::<_, String>(1));
    let scope = |database: &Option<String>| match database {
        Some(db) => format!(" IN DATABASE {}", escape_identifier(db)),
        None => String::new(),
    };
    for row in &present {
        let (database, name) = key(row);
        if !wanted.iter().any(|w| key(w) == (database.clone(), name.clone())) {
            let role = escape_identifier(inactive);
            admin.execute(&format!("ALTER ROLE {role}{} RESET {}", scope(&database), escape_identifier(&name))).await?;
        }
    }
    for row in &wanted {
        let (database, name) = key(row);
        let value: String = row.get(2);
        if present.iter().any(|p| key(p) == (database.clone(), name.clone()) && p.get::<_, String>(2) == value) {
            continue;
        }
        admin.query("SELECT set_config($1, $2, false)", &[&name, &value]).await?;
        let role = escape_identifier(inactive);
        admin
            .execute(&format!("ALTER ROLE {role}{} SET {} FROM CURRENT", scope(&database), escape_identifier(&name)))
            .await?;
        admin.execute(&format!("RESET {}", escape_identifier(&name))).await?;
    }
    Ok(())
}

/// Privileges granted directly to the active user, granted to the inactive one too.
async fn sync_privileges(admin: &Admin<'_>, active: &str, inactive: &str) -> Result<(), RotationError> {
    let rows = admin
        .query(
            "WITH me AS (SELECT oid FROM pg_roles WHERE rolname = $1) \
             SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.oid::regclass::text, a.privilege_type, a.is_grantable \
               FROM pg_class c, aclexplode(c.relacl) a, me WHERE a.grantee = me.oid AND c.relkind IN ('r','v','m','f','p','S') \
             UNION ALL SELECT 'SCHEMA', quote_ident(n.nspname), a.privilege_type, a.is_grantable \
               FROM pg_namespace n, aclexplode(n.nspacl) a, me WHERE a.grantee = me.oid \
             UNION ALL SELECT 'ROUTINE', p.oid::regprocedure::text, a.privilege_type, a.is_grantable \
               FROM pg_proc p, aclexplode(p.proacl) a, me WHERE a.grantee = me.oid \
             UNION ALL SELECT 'DATABASE', quote_ident(d.datname), a.privilege_type, a.is_grantable \
               FROM pg_database d, aclexplode(d.datacl) a, me WHERE a.grantee = me.oid AND d.datname = current_database()",
            &[&active],
        )
        .await?;
    let mut statements = Vec::new();
    for row in rows {
        let (kind, object, privilege, grantable): (String, String, String, bool) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        // The privilege goes into SQL as a keyword: only catalog keywords pass.
        let Some(privilege) = PRIVILEGES.iter().find(|p| **p == privilege) else { continue };
        let with = if grantable { " WITH GRANT OPTION" } else { "" };
        statements.push(format!("GRANT {privilege} ON {kind} {object} TO {}{with};", escape_identifier(inactive)));
    }
    if !statements.is_empty() {
        admin.execute(&statements.join("\n")).await?;
    }
    Ok(())
}
