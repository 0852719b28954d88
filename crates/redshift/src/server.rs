//! The server behind a session, and rotor's sessions with it: logged in without startup options, then pinned with
//! statements.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use rotation_core::RotationError;
use rotation_database::{DatabaseConfig, LoginFields, Purpose, TlsMode, TlsRoots};
use rotation_postgres::{Param, PostgresSession, connect_plain};
use tokio_postgres::Row;

/// What answers on the other end: Amazon Redshift, or PostgreSQL standing in for it (the tests' server, which
/// takes Redshift's `md5` passwords and the catalog both share, but has none of Redshift's system views).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// Amazon Redshift (provisioned or Serverless): `version()` names it.
    Redshift,
    /// PostgreSQL: only the catalog Redshift shares with it is read.
    PostgreSql,
}

impl Server {
    /// The server that wrote `version`, the text of `pg_catalog.version()`.
    pub fn from_version(version: &str) -> Self {
        if version.contains("Redshift") { Self::Redshift } else { Self::PostgreSql }
    }
}

/// The query that tells the servers apart.
const VERSION_SQL: &str = "SELECT pg_catalog.version()";

/// The server at each address a session of this process reached, learned from its `version()`: an address keeps
/// its server, so a step asks once and the sync after the privilege checks asks no more.
static SERVERS: LazyLock<Mutex<HashMap<String, Server>>> = LazyLock::new(Mutex::default);

fn remember(admin: &PostgresSession, version: &[Row]) -> Server {
    let version: String = version.first().map(|row| row.get(0)).unwrap_or_default();
    let server = Server::from_version(&version);
    SERVERS.lock().expect("the server table is never poisoned").insert(admin.connection().address(), server);
    server
}

/// Which server the admin's session reached, asked beside `sql` (one round trip for both), and `sql`'s rows.
pub async fn server_and(
    admin: &PostgresSession,
    sql: &str,
    params: &[Param<'_>],
) -> Result<(Server, Vec<Row>), RotationError> {
    let [version, rows] = admin.queries([(VERSION_SQL, &[]), (sql, params)]).await?;
    Ok((remember(admin, &version), rows))
}

/// Which server the admin's session reached: known if a session of this process asked at its address before
/// ([`server_and`]), else asked now.
pub async fn server_of(admin: &PostgresSession) -> Result<Server, RotationError> {
    let known = SERVERS.lock().expect("the server table is never poisoned").get(&admin.connection().address()).copied();
    match known {
        Some(server) => Ok(server),
        None => Ok(remember(admin, &admin.query(VERSION_SQL, &[]).await?)),
    }
}

/// The `search_path` of rotor's admin sessions: nothing but the catalog (and temporary objects last), so no object
/// of a user's is ever resolved by an unqualified name.
pub const PINNED_SEARCH_PATH: &str = "pg_catalog, pg_temp";

/// Logs in and pins the session. Redshift ends a login that names a setting it does not know, so the settings
/// PostgreSQL sessions pin at startup are set here by statements, in one round trip, before the session is used:
/// for [`Purpose::Rotor`] the `search_path` and the `statement_timeout`; a probe keeps the user's own settings
/// (the client side bounds every call anyway).
pub async fn login(
    connection: &LoginFields,
    mode: TlsMode,
    purpose: Purpose,
    roots: &TlsRoots,
    config: &DatabaseConfig,
) -> Result<PostgresSession, RotationError> {
    let session = connect_plain(connection, mode, roots, config).await?;
    if purpose == Purpose::Rotor {
        session.execute(&pins(config)).await?;
    }
    Ok(session)
}

/// The statements that pin a rotor session.
fn pins(config: &DatabaseConfig) -> String {
    format!(
        "SET search_path TO {PINNED_SEARCH_PATH}; SET statement_timeout TO {}",
        config.statement_timeout.as_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redshift_is_told_apart_by_its_version_text() {
        let redshift = "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), Redshift 1.0.77467";
        assert_eq!(Server::from_version(redshift), Server::Redshift);
        assert_eq!(
            Server::from_version("PostgreSQL 15.19 (Debian 15.19-0+deb12u1) on x86_64-pc-linux-gnu"),
            Server::PostgreSql
        );
    }

    #[test]
    fn rotor_sessions_pin_the_catalog_first_and_a_statement_timeout() {
        let env = rotation_core::Env::from_pairs([("STATEMENT_TIMEOUT_SECONDS".to_owned(), "4".to_owned())]);
        let config = DatabaseConfig::from_env(&env).unwrap();
        assert_eq!(pins(&config), "SET search_path TO pg_catalog, pg_temp; SET statement_timeout TO 4000");
    }
}
