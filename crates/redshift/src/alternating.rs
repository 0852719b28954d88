//! Alternating users on Redshift: the admin keeps `<user>` and `<user>_clone` alike, both ways, on every rotation.
//!
//! What is mirrored onto the inactive user, from the active one:
//! - `CREATEDB` or `NOCREATEDB`, and `VALID UNTIL` (the active user's instant, or `'infinity'` when it has none),
//!   set by the statement that sets the password (Redshift takes `VALID UNTIL` only beside `PASSWORD`);
//! - group memberships (`pg_group`), both ways: `ALTER GROUP ... ADD USER` and `... DROP USER`;
//! - on Redshift only, the roles granted to the user (role-based access control, `svv_user_grants`), both ways:
//!   `GRANT ROLE` and `REVOKE ROLE`, without the admin option;
//! - the effective privileges, compared with `has_table_privilege`, `has_schema_privilege` and
//!   `has_database_privilege` after the memberships are in line (a privilege that comes through a group or role
//!   both users are now in needs nothing more): SELECT, INSERT, UPDATE, DELETE and REFERENCES on the tables, views
//!   and materialized views of the user schemas; CREATE and USAGE on those schemas; CREATE and TEMPORARY on every
//!   database. What the active user holds and the inactive one lacks is granted to it; what the inactive user holds
//!   beyond the active one is revoked from it, except on an object the inactive user owns: an owner holds its
//!   object's privileges by ownership, which the sync does not move, and taking them away would only break the
//!   owner's own objects (the owner, once active, has them mirrored onto the other user at the next rotation).
//!
//! What is not mirrored: the connection limit and `SESSION TIMEOUT`, session defaults (`ALTER USER ... SET`),
//! `SYSLOG ACCESS`, column privileges, default privileges (`ALTER DEFAULT PRIVILEGES`), the table privileges
//! Redshift adds to PostgreSQL's (`DROP`, `ALTER`, `TRUNCATE`), privileges on functions and procedures, Redshift's
//! scoped privileges and system privileges, datashares, and the admin option of roles. Functions are left out
//! because Redshift documents no `has_function_privilege` (it lists PostgreSQL's access privilege inquiry functions
//! as unsupported, but for the table, schema and database ones) and has no `regprocedure` to name one by; EXECUTE is
//! granted to PUBLIC by default anyway.
//!
//! A privilege the active user holds that the inactive one cannot be given (the admin may not pass it on, or it
//! comes by a route the sync does not copy), or one a REVOKE cannot take away (another user granted it), fails the
//! step naming the first such difference; the transaction is rolled back, so a sync that fails changes nothing.
//! A user whose password expired (`VALID UNTIL` in the past: an operator disabled it) is never re-enabled: the step
//! is refused before any change, naming it. The sync is idempotent: every statement adds only what is missing,
//! removes only what is extra, or sets what is already set.
//!
//! The sync costs four round trips when privileges differ and three when they do not: one reads both users, their
//! groups and (on Redshift) their roles, pipelined; one opens the transaction, creates the inactive user when it is
//! missing and sets its password (a message of its own: a server logs a failed message's whole text), brings the
//! memberships in line, and reads the privileges that still differ, pipelined; one grants and revokes those and
//! reads what still differs, pipelined; the last commits, or rolls back when anything failed or remained.
//!
//! The admin needs USAGE on every user schema (as it does to grant on their tables): the privilege functions look a
//! table up by its name, which a schema the admin may not use refuses, failing the step with the server's words.
//!
//! The admin runs none of the user's code: the session's `search_path` is pinned to the catalog
//! ([`crate::server::PINNED_SEARCH_PATH`]), every function in this file's SQL is named with its schema, and
//! operators resolve through that path only (Redshift has no `CREATE OPERATOR`). Names reach statements quoted by
//! postgres-protocol's `escape_identifier`, privileges only as keywords of this file's lists, and the password
//! only as its `md5` hash.
//!
//! The tests' PostgreSQL 15 stand-in runs all of this SQL but the roles' (it has Redshift's `pg_user`, `pg_group`,
//! `pg_database` and the three `has_*_privilege` functions), so it proves the reads, the memberships, the
//! privileges both ways, the check and the rollback. Only Redshift runs the roles' sync, takes `VALID UNTIL` as
//! its `abstime`, and answers the catalog from its leader node; PostgreSQL lists in `pg_user` only roles that may
//! log in (a NOLOGIN active user is missing there) and in `pg_group` only roles that may not.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use postgres_protocol::escape::{escape_identifier, escape_literal};
use rotation_core::{RotationError, TargetErrorKind};
use rotation_postgres::{Param, PostgresSession};
use tokio_postgres::Row;
use tokio_postgres::error::DbError;
use tokio_postgres::types::Type;

use crate::password::{create_statement, password_statement};
use crate::redshift_sql::{ROLES_SQL, grant_role, revoke_role};
use crate::server::Server;

/// The table privileges compared, as the SQL lists them.
const TABLE_PRIVILEGES: &[&str] = &["SELECT", "INSERT", "UPDATE", "DELETE", "REFERENCES"];
/// The schema privileges compared.
const SCHEMA_PRIVILEGES: &[&str] = &["CREATE", "USAGE"];
/// The database privileges compared.
const DATABASE_PRIVILEGES: &[&str] = &["CREATE", "TEMPORARY"];

/// The users named `$1` and `$2` that exist: name, CREATEDB, and VALID UNTIL as seconds since the Unix epoch
/// (NULL for none). Redshift's `valuntil` is an `abstime`, which the driver cannot read, and its text would
/// depend on the session's `DateStyle` and `TimeZone`: the epoch is neither.
const USERS_SQL: &str = "SELECT usename, usecreatedb, \
       CASE WHEN valuntil IS NULL OR valuntil = 'infinity' THEN NULL \
            ELSE pg_catalog.date_part('epoch', valuntil) END \
     FROM pg_catalog.pg_user WHERE usename IN ($1, $2)";

/// The groups of the users named `$1` and `$2`: (user, group).
const GROUPS_SQL: &str = "SELECT u.usename, g.groname FROM pg_catalog.pg_group g, pg_catalog.pg_user u \
     WHERE u.usename IN ($1, $2) AND u.usesysid = ANY (g.grolist)";

/// The schemas whose objects are compared (as `n`): none of the catalog's, Redshift's internal ones, or the
/// per-session temporary ones.
const USER_SCHEMA: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_internal', 'pg_automv') \
     AND n.nspname NOT LIKE 'pg!_toast%' ESCAPE '!' AND n.nspname NOT LIKE 'pg!_temp!_%' ESCAPE '!'";

/// What the active user (`$1`) and the inactive one (`$2`) hold differently: (kind, schema of a table or empty,
/// name, privilege or empty for a group, whether the active user holds it), in a stable order, from
/// [`differences_sql`]. No row when either user is missing.
static DIFFERENCES_SQL: LazyLock<String> = LazyLock::new(differences_sql);

/// The text of [`DIFFERENCES_SQL`]. A privilege the inactive user holds on an object it owns is left out (see the
/// module's documentation). The privileges compared are a `UNION ALL` of this file's lists (Redshift's leader node
/// takes no `VALUES` list in `FROM`).
fn differences_sql() -> String {
    let listed = |privileges: &[&str]| {
        let (first, rest) = privileges.split_first().expect("no list of privileges is empty");
        let rest: String = rest.iter().map(|privilege| format!(" UNION ALL SELECT '{privilege}'")).collect();
        format!("(SELECT '{first}' AS privilege{rest}) p")
    };
    let pair = "pg_catalog.pg_user a, pg_catalog.pg_user i WHERE a.usename = $1 AND i.usename = $2";
    format!(
        "SELECT d.kind, d.schema_name, d.object_name, d.privilege, d.active_holds FROM ( \
         SELECT 'TABLE' AS kind, t.nspname AS schema_name, t.relname AS object_name, p.privilege, \
           pg_catalog.has_table_privilege(a.usename, t.qualified, p.privilege) AS active_holds, \
           pg_catalog.has_table_privilege(i.usename, t.qualified, p.privilege) AS inactive_holds, \
           t.relowner = i.usesysid AS inactive_owns \
         FROM (SELECT n.nspname, c.relname, c.relowner, \
                 pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS qualified \
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
               WHERE c.relkind IN ('r', 'v', 'm') AND {USER_SCHEMA}) t, {tables}, {pair} \
         UNION ALL \
         SELECT 'SCHEMA', '', n.nspname, p.privilege, \
           pg_catalog.has_schema_privilege(a.usename, n.nspname, p.privilege), \
           pg_catalog.has_schema_privilege(i.usename, n.nspname, p.privilege), \
           n.nspowner = i.usesysid \
         FROM pg_catalog.pg_namespace n, {schemas}, {pair} AND {USER_SCHEMA} \
         UNION ALL \
         SELECT 'DATABASE', '', d.datname, p.privilege, \
           pg_catalog.has_database_privilege(a.usename, d.datname, p.privilege), \
           pg_catalog.has_database_privilege(i.usename, d.datname, p.privilege), \
           false \
         FROM pg_catalog.pg_database d, {databases}, {pair} \
         UNION ALL \
         SELECT 'GROUP', '', g.groname, '', \
           COALESCE(a.usesysid = ANY (g.grolist), false), \
           COALESCE(i.usesysid = ANY (g.grolist), false), \
           false \
         FROM pg_catalog.pg_group g, {pair} \
         ) d \
         WHERE d.active_holds <> d.inactive_holds AND NOT (d.inactive_holds AND d.inactive_owns) \
         ORDER BY 1, 2, 3, 4",
        tables = listed(TABLE_PRIVILEGES),
        schemas = listed(SCHEMA_PRIVILEGES),
        databases = listed(DATABASE_PRIVILEGES),
    )
}

/// Creates `inactive` when missing, brings it in line with `active` both ways (see the module's documentation), and
/// sets its password (as Redshift's `md5` hash), all in one transaction. Idempotent, and a sync that fails changes
/// nothing.
pub async fn sync_and_set_password(
    admin: &PostgresSession,
    server: Server,
    active: &str,
    inactive: &str,
    password: &str,
) -> Result<(), RotationError> {
    let pair = read_pair(admin, server, active, inactive).await?;
    let wanted = pair.active.as_ref().ok_or_else(|| {
        RotationError::target(
            TargetErrorKind::Rejected,
            admin.connection().address(),
            format!("the active user {active:?} does not exist; check the secret's username"),
        )
    })?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64());
    if let Some(why) = expired(wanted, now) {
        return Err(refuse_disabled(admin, active, format!("the active user {active:?} {why}")));
    }
    if let Some(why) = pair.inactive.as_ref().and_then(|held| expired(held, now)) {
        let who = format!("{inactive:?}, the other user of the pair, {why} while {active:?} can log in");
        return Err(refuse_disabled(admin, inactive, who));
    }
    let result = apply(admin, &pair, wanted, (active, inactive), password).await;
    if result.is_err() {
        // A failure of its own (the connection is gone, which ends the transaction too) changes nothing.
        admin.execute("ROLLBACK").await.ok();
    }
    result
}

/// The sync's transaction, from `BEGIN` to `COMMIT`, making `inactive` alike `active` (`wanted`, as `pair` read
/// it); the caller rolls it back when this fails.
async fn apply(
    admin: &PostgresSession,
    pair: &Pair,
    wanted: &User,
    (active, inactive): (&str, &str),
    password: &str,
) -> Result<(), RotationError> {
    let first = password_batch(inactive, password, wanted, pair.inactive.is_none());
    let memberships = statements(inactive, &pair.memberships);
    let both: &[Param<'_>] = &[(&active, Type::NAME), (&inactive, Type::NAME)];
    let check = Some((DIFFERENCES_SQL.as_str(), both));
    let (rows, warnings) = admin.apply(&[&first, &memberships], check).await?;
    if let Some(warning) = warnings.first() {
        return Err(not_mirrored(admin, active, inactive, &[], Some(warning)));
    }
    let differing = differences(&rows);
    if !differing.is_empty() {
        let (rows, warnings) = admin.apply(&[&statements(inactive, &differing)], check).await?;
        let left = differences(&rows);
        if !left.is_empty() || !warnings.is_empty() {
            return Err(not_mirrored(admin, active, inactive, &left, warnings.first()));
        }
    }
    // COMMIT only once every batch answered: a batch the client stopped waiting for is rolled back when the
    // session ends, never committed behind a reported failure.
    admin.execute("COMMIT").await
}

/// One user of the pair, as the sync compares it.
#[derive(Debug, Clone, PartialEq)]
struct User {
    create_db: bool,
    /// VALID UNTIL, in seconds since the Unix epoch; `None` for none (or `'infinity'`).
    valid_until: Option<f64>,
}

/// Both users (`None` for one that does not exist), and how their memberships differ.
#[derive(Debug)]
struct Pair {
    active: Option<User>,
    inactive: Option<User>,
    /// The groups, then the roles, one user of the pair is in and the other is not.
    memberships: Vec<Difference>,
}

/// Both users, their groups, and on Redshift their roles, in one round trip.
async fn read_pair(
    admin: &PostgresSession,
    server: Server,
    active: &str,
    inactive: &str,
) -> Result<Pair, RotationError> {
    let both: &[Param<'_>] = &[(&active, Type::NAME), (&inactive, Type::NAME)];
    let [users, groups, active_roles, inactive_roles] = match server {
        Server::Redshift => {
            let (of_active, of_inactive): (&[Param<'_>], &[Param<'_>]) =
                (&[(&active, Type::TEXT)], &[(&inactive, Type::TEXT)]);
            admin
                .queries([(USERS_SQL, both), (GROUPS_SQL, both), (ROLES_SQL, of_active), (ROLES_SQL, of_inactive)])
                .await?
        }
        Server::PostgreSql => {
            let [users, groups] = admin.queries([(USERS_SQL, both), (GROUPS_SQL, both)]).await?;
            [users, groups, Vec::new(), Vec::new()]
        }
    };
    let user = |name: &str| {
        users.iter().find(|row| row.get::<_, &str>(0) == name).map(|row| User {
            create_db: row.get(1),
            valid_until: row.get::<_, Option<f64>>(2).filter(|until| *until != f64::INFINITY),
        })
    };
    let groups_of = |name: &str| -> BTreeSet<String> {
        groups.iter().filter(|row| row.get::<_, &str>(0) == name).map(|row| row.get(1)).collect()
    };
    let names = |rows: &[Row]| -> BTreeSet<String> { rows.iter().map(|row| row.get(0)).collect() };
    let mut memberships = membership_differences(Holding::Group, &groups_of(active), &groups_of(inactive));
    memberships.extend(membership_differences(Holding::Role, &names(&active_roles), &names(&inactive_roles)));
    Ok(Pair { active: user(active), inactive: user(inactive), memberships })
}

/// Why a user counts as disabled by an operator (a VALID UNTIL before `now`, in seconds since the Unix epoch);
/// `None` when it may log in.
fn expired(user: &User, now: f64) -> Option<String> {
    let until = user.valid_until.filter(|until| *until < now)?;
    Some(format!("has a password that expired (VALID UNTIL {})", valid_until_text(until)))
}

/// The refusal of a disabled user, before any change: the sync gives the inactive user a working password and the
/// active one's VALID UNTIL, which would enable a disabled clone, or give a disabled user's rights and a working
/// password to its clone. `who` names the user and why it is disabled.
fn refuse_disabled(admin: &PostgresSession, user: &str, who: String) -> RotationError {
    RotationError::target(
        TargetErrorKind::Rejected,
        admin.connection().address(),
        format!(
            "{who}: rotor does not re-enable a user an operator disabled, so nothing was changed; re-enable {} \
             (a VALID UNTIL of 'infinity' or a later date) or turn rotation off for this secret",
            escape_identifier(user)
        ),
    )
}

/// An instant of VALID UNTIL (seconds since the Unix epoch) as the text both servers read back as the same instant,
/// whatever the session's `DateStyle` and `TimeZone`: ISO 8601 in UTC, `2030-01-31 12:00:00+00`, with
/// microseconds when it has any.
fn valid_until_text(epoch: f64) -> String {
    if !epoch.is_finite() {
        return if epoch < 0.0 { "-infinity" } else { "infinity" }.to_owned();
    }
    let micros = (epoch * 1e6).round() as i64;
    let (seconds, fraction) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (second_of_day / 3600, second_of_day % 3600 / 60, second_of_day % 60);
    let fraction = if fraction == 0 { String::new() } else { format!(".{fraction:06}") };
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}{fraction}+00")
}

/// The proleptic Gregorian (year, month, day) of the day `days` after 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The first message of the sync's transaction: it opens it, and creates `inactive` when `create` or else alters
/// it, with its password (as Redshift's `md5` hash) and the active user's (`wanted`) CREATEDB and VALID UNTIL. A
/// server logs the whole text of a message that fails, so this one holds nothing the plan adds.
fn password_batch(inactive: &str, password: &str, wanted: &User, create: bool) -> String {
    let create_db = if wanted.create_db { "CREATEDB" } else { "NOCREATEDB" };
    let until = wanted.valid_until.map_or_else(|| "'infinity'".to_owned(), |e| escape_literal(&valid_until_text(e)));
    // Redshift documents VALID UNTIL as a clause of PASSWORD: it comes after the hash in both statements.
    let statement = if create {
        format!("{} {create_db} VALID UNTIL {until}", create_statement(inactive, password))
    } else {
        format!("{} VALID UNTIL {until}", password_statement(inactive, password, create_db))
    };
    format!("BEGIN;\n{statement}")
}

/// What one user of the pair holds and the other does not.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Holding {
    /// Membership of a group.
    Group(String),
    /// A Redshift role (role-based access control).
    Role(String),
    /// A privilege (a keyword of this file's lists) on an object.
    Privilege { privilege: &'static str, on: Object },
}

/// An object privileges are held on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Object {
    Database(String),
    Schema(String),
    Table { schema: String, name: String },
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Database(name) => write!(f, "DATABASE {}", escape_identifier(name)),
            Self::Schema(name) => write!(f, "SCHEMA {}", escape_identifier(name)),
            Self::Table { schema, name } => {
                write!(f, "TABLE {}.{}", escape_identifier(schema), escape_identifier(name))
            }
        }
    }
}

impl fmt::Display for Holding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Group(name) => write!(f, "membership of group {}", escape_identifier(name)),
            Self::Role(name) => write!(f, "role {}", escape_identifier(name)),
            Self::Privilege { privilege, on } => write!(f, "{privilege} ON {on}"),
        }
    }
}

/// A [`Holding`] one user of the pair has and the other has not.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Difference {
    holding: Holding,
    /// The active user holds it (the inactive one lacks it); else the inactive user holds it beyond the active one.
    active_holds: bool,
}

impl Difference {
    /// The statement that brings `inactive` in line: given what it lacks, deprived of what it holds beyond.
    fn statement(&self, inactive: &str) -> String {
        let user = escape_identifier(inactive);
        match (&self.holding, self.active_holds) {
            (Holding::Group(group), true) => format!("ALTER GROUP {} ADD USER {user}", escape_identifier(group)),
            (Holding::Group(group), false) => format!("ALTER GROUP {} DROP USER {user}", escape_identifier(group)),
            (Holding::Role(role), true) => grant_role(&escape_identifier(role), &user),
            (Holding::Role(role), false) => revoke_role(&escape_identifier(role), &user),
            (Holding::Privilege { privilege, on }, true) => format!("GRANT {privilege} ON {on} TO {user}"),
            (Holding::Privilege { privilege, on }, false) => format!("REVOKE {privilege} ON {on} FROM {user}"),
        }
    }
}

/// The memberships (`holding` of a name) one user of the pair has and the other has not.
fn membership_differences(
    holding: fn(String) -> Holding,
    of_active: &BTreeSet<String>,
    of_inactive: &BTreeSet<String>,
) -> Vec<Difference> {
    let lacking = of_active.difference(of_inactive).map(|name| (name, true));
    let beyond = of_inactive.difference(of_active).map(|name| (name, false));
    lacking
        .chain(beyond)
        .map(|(name, active_holds)| Difference { holding: holding(name.clone()), active_holds })
        .collect()
}

/// The statements that bring `inactive` in line with `differences`, what it lacks given first; one batch, empty
/// when there is none.
fn statements(inactive: &str, differences: &[Difference]) -> String {
    let (lacking, beyond): (Vec<&Difference>, Vec<&Difference>) =
        differences.iter().partition(|difference| difference.active_holds);
    lacking.iter().chain(&beyond).map(|difference| difference.statement(inactive)).collect::<Vec<_>>().join(";\n")
}

/// [`DIFFERENCES_SQL`]'s rows.
fn differences(rows: &[Row]) -> Vec<Difference> {
    rows.iter().filter_map(|row| difference(row.get(0), row.get(1), row.get(2), row.get(3), row.get(4))).collect()
}

/// One row of [`DIFFERENCES_SQL`]: `None` for a kind or privilege this file does not list, which its SQL never
/// returns (so no text of the server's becomes a keyword of a statement).
fn difference(kind: &str, schema: String, name: String, privilege: &str, active_holds: bool) -> Option<Difference> {
    let listed = |list: &[&'static str]| list.iter().copied().find(|listed| *listed == privilege);
    let holding = match kind {
        "GROUP" => Holding::Group(name),
        "DATABASE" => Holding::Privilege { privilege: listed(DATABASE_PRIVILEGES)?, on: Object::Database(name) },
        "SCHEMA" => Holding::Privilege { privilege: listed(SCHEMA_PRIVILEGES)?, on: Object::Schema(name) },
        "TABLE" => Holding::Privilege { privilege: listed(TABLE_PRIVILEGES)?, on: Object::Table { schema, name } },
        _ => return None,
    };
    Some(Difference { holding, active_holds })
}

/// The refusal once the sync could not make the users alike: `left` is what still differs after the grants and
/// revokes, `warning` the server's first warning that a GRANT or REVOKE was not (fully) applied.
fn not_mirrored(
    admin: &PostgresSession,
    active: &str,
    inactive: &str,
    left: &[Difference],
    warning: Option<&DbError>,
) -> RotationError {
    let said =
        warning.map_or_else(String::new, |w| format!("; the server warned: {:?} ({})", w.message(), w.code().code()));
    // Only a skipped GRANT or REVOKE with nothing left to name is the admin's lack of a right.
    let kind = if left.is_empty() { TargetErrorKind::PermissionDenied } else { TargetErrorKind::Rejected };
    RotationError::target(kind, admin.connection().address(), mirroring_refusal(active, inactive, left, &said))
}

/// The message of [`not_mirrored`], `said` the server's warning (or empty): with one, the admin's lack of a grant
/// option is the likely cause.
fn mirroring_refusal(active: &str, inactive: &str, left: &[Difference], said: &str) -> String {
    let Some(first) = left.first() else {
        return format!(
            "the admin could not make {inactive:?} alike {active:?}, so nothing was changed: a GRANT or REVOKE was not applied{said}; grant the admin the privilege WITH GRANT OPTION (as the object's owner or a superuser), then retry"
        );
    };
    let admin_may = if said.is_empty() {
        ""
    } else {
        "grant it to the admin WITH GRANT OPTION (as the object's owner or a superuser), or "
    };
    let more = match left.len() {
        1 => String::new(),
        n => format!(" (and {} more differences)", n - 1),
    };
    let (holds, why) = if first.active_holds {
        (
            format!("{active:?} holds {} and {inactive:?} does not", first.holding),
            "the grant did not give it: the admin may not pass it on, or the active user holds it through what the sync does not copy",
        )
    } else {
        (
            format!("{inactive:?} holds {} and {active:?} does not", first.holding),
            "the revoke did not take it away: another user granted it, or it comes through what the sync does not remove",
        )
    };
    format!(
        "the users of the pair cannot be made alike, so nothing was changed; cannot be mirrored: {holds} ({why}){more}{said}; {admin_may}grant or revoke it by hand (to the user, its group or role, or PUBLIC) so that both users hold the same, then retry"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(privilege: &'static str, schema: &str, name: &str, active_holds: bool) -> Difference {
        let on = Object::Table { schema: schema.to_owned(), name: name.to_owned() };
        Difference { holding: Holding::Privilege { privilege, on }, active_holds }
    }

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn differences_become_grants_then_revokes_with_every_name_quoted() {
        let hostile = "a\"b; DROP";
        let differences = [
            table("UPDATE", "app", "t", false),
            table("SELECT", hostile, hostile, true),
            difference("SCHEMA", String::new(), hostile.to_owned(), "USAGE", true).unwrap(),
            difference("DATABASE", String::new(), "dev".to_owned(), "TEMPORARY", false).unwrap(),
            difference("GROUP", String::new(), hostile.to_owned(), "", true).unwrap(),
        ];
        assert_eq!(
            statements(hostile, &differences).split(";\n").collect::<Vec<_>>(),
            [
                r#"GRANT SELECT ON TABLE "a""b; DROP"."a""b; DROP" TO "a""b; DROP""#,
                r#"GRANT USAGE ON SCHEMA "a""b; DROP" TO "a""b; DROP""#,
                r#"ALTER GROUP "a""b; DROP" ADD USER "a""b; DROP""#,
                r#"REVOKE UPDATE ON TABLE "app"."t" FROM "a""b; DROP""#,
                r#"REVOKE TEMPORARY ON DATABASE "dev" FROM "a""b; DROP""#,
            ]
        );
        assert_eq!(statements("app_clone", &[]), "");
    }

    #[test]
    fn memberships_are_mirrored_both_ways_groups_and_roles() {
        let mut differences =
            membership_differences(Holding::Group, &names(&["readers", "both"]), &names(&["both", "writers"]));
        differences.extend(membership_differences(Holding::Role, &names(&["sys:operator"]), &names(&["r\"x"])));
        assert_eq!(
            statements("app_clone", &differences).split(";\n").collect::<Vec<_>>(),
            [
                r#"ALTER GROUP "readers" ADD USER "app_clone""#,
                r#"GRANT ROLE "sys:operator" TO "app_clone""#,
                r#"ALTER GROUP "writers" DROP USER "app_clone""#,
                r#"REVOKE ROLE "r""x" FROM "app_clone""#,
            ]
        );
        assert!(membership_differences(Holding::Group, &names(&["g"]), &names(&["g"])).is_empty());
    }

    #[test]
    fn only_listed_kinds_and_privileges_become_statements() {
        let row = |kind: &str, privilege: &str| difference(kind, "s".into(), "t".into(), privilege, true);
        assert_eq!(row("TABLE", "SELECT"), Some(table("SELECT", "s", "t", true)));
        assert_eq!(row("TABLE", "SELECT; DROP TABLE x"), None);
        assert_eq!(row("TABLE", "USAGE"), None, "a schema privilege on a table");
        assert_eq!(row("FUNCTION", "EXECUTE"), None);
        assert_eq!(row("GROUP", ""), Some(Difference { holding: Holding::Group("t".into()), active_holds: true }));
    }

    #[test]
    fn the_password_travels_as_a_hash_with_the_active_users_options_after_it() {
        let wanted = User { create_db: true, valid_until: Some(1_927_857_906.5) };
        let altered = password_batch("app_clone", "s3cret-Pa55word", &wanted, false);
        let hash = postgres_protocol::password::md5(b"s3cret-Pa55word", "app_clone");
        assert_eq!(
            altered,
            format!(
                "BEGIN;\nALTER USER \"app_clone\" CREATEDB PASSWORD '{hash}' VALID UNTIL '2031-02-03 04:05:06.500000+00'"
            )
        );
        let created = password_batch("we\"ird", "s3cret-Pa55word", &User { create_db: false, valid_until: None }, true);
        let hash = postgres_protocol::password::md5(b"s3cret-Pa55word", "we\"ird");
        assert_eq!(
            created,
            format!("BEGIN;\nCREATE USER \"we\"\"ird\" PASSWORD '{hash}' NOCREATEDB VALID UNTIL 'infinity'")
        );
        assert!(!altered.contains("s3cret-Pa55word") && !created.contains("s3cret-Pa55word"));
    }

    #[test]
    fn valid_until_is_written_in_utc_whatever_the_session() {
        assert_eq!(valid_until_text(0.0), "1970-01-01 00:00:00+00");
        assert_eq!(valid_until_text(951_782_400.0), "2000-02-29 00:00:00+00");
        assert_eq!(valid_until_text(1_893_455_999.25), "2029-12-31 23:59:59.250000+00");
        assert_eq!(valid_until_text(2_147_483_647.0), "2038-01-19 03:14:07+00");
        assert_eq!(valid_until_text(-86_400.0), "1969-12-31 00:00:00+00");
        assert_eq!(valid_until_text(f64::NEG_INFINITY), "-infinity");
    }

    #[test]
    fn only_a_valid_until_in_the_past_disables_a_user() {
        let mut user = User { create_db: false, valid_until: None };
        assert_eq!(expired(&user, 1e9), None);
        user.valid_until = Some(2e9);
        assert_eq!(expired(&user, 1e9), None);
        user.valid_until = Some(978_307_200.0);
        assert_eq!(
            expired(&user, 1e9).as_deref(),
            Some("has a password that expired (VALID UNTIL 2001-01-01 00:00:00+00)")
        );
        user.valid_until = Some(f64::NEG_INFINITY);
        assert!(expired(&user, 1e9).is_some());
    }

    #[test]
    fn a_difference_left_is_named_with_what_to_do() {
        let left = [table("SELECT", "app", "t", true), table("INSERT", "app", "t", false)];
        let message = mirroring_refusal("app", "app_clone", &left, "");
        assert!(
            message.contains(r#"cannot be mirrored: "app" holds SELECT ON TABLE "app"."t" and "app_clone" does not (the grant did not give it: the admin may not pass it on"#),
            "{message}"
        );
        assert!(message.contains("(and 1 more differences)") && message.contains("then retry"), "{message}");
        let message = mirroring_refusal("app", "app_clone", &left[1..], "");
        assert!(
            message.contains(
                r#""app_clone" holds INSERT ON TABLE "app"."t" and "app" does not (the revoke did not take it away: another user granted it"#
            ),
            "{message}"
        );
        let said = "; the server warned: \"no privileges were granted\" (01007)";
        let message = mirroring_refusal("app", "app_clone", &left[..1], said);
        assert!(message.contains("(01007); grant it to the admin WITH GRANT OPTION"), "{message}");
        let message = mirroring_refusal("app", "app_clone", &[], said);
        assert!(message.contains("a GRANT or REVOKE was not applied; the server warned"), "{message}");
    }

    /// Every catalog relation and function is named with its schema (the session's `search_path` is pinned, but a
    /// statement that needs no path cannot be steered by one), and the privileges are listed as `UNION ALL`s.
    #[test]
    fn the_sql_is_qualified_and_lists_the_privileges_without_values() {
        let names = [
            "pg_user",
            "pg_group",
            "pg_class",
            "pg_namespace",
            "pg_database",
            "has_table_privilege(",
            "has_schema_privilege(",
            "has_database_privilege(",
            "quote_ident(",
            "date_part(",
        ];
        for sql in [USERS_SQL, GROUPS_SQL, DIFFERENCES_SQL.as_str()] {
            for name in names {
                let bare = sql.matches(name).count();
                let qualified = sql.matches(&format!("pg_catalog.{name}")).count();
                assert_eq!(bare, qualified, "{name} qualified in {sql}");
            }
        }
        assert!(
            DIFFERENCES_SQL.contains(
                "(SELECT 'SELECT' AS privilege UNION ALL SELECT 'INSERT' UNION ALL SELECT 'UPDATE' UNION ALL SELECT 'DELETE' UNION ALL SELECT 'REFERENCES') p"
            ),
            "{}",
            *DIFFERENCES_SQL
        );
        assert!(DIFFERENCES_SQL.contains("(SELECT 'CREATE' AS privilege UNION ALL SELECT 'TEMPORARY') p"));
    }
}
