//! Connecting to PostgreSQL with a credential, in a TLS mode, and a session whose every call is bounded.

use std::future::Future;
use std::time::Duration;

use rotation_core::RotationError;
use rotation_database::{Connection, DatabaseConfig, Purpose, TlsMode, no_answer};
use tokio_postgres::config::SslMode;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row};

use crate::error::classify;
use rotation_database::TlsRoots;

/// The `search_path` of [`Purpose::Rotor`] sessions: a startup option, which no statement in the session undoes.
pub const PINNED_SEARCH_PATH: &str = "pg_catalog,pg_temp";

/// A logged-in connection whose every call is bounded on the client side, as well as by the server's
/// `statement_timeout`: a server or a network that stops answering fails the call with a message naming the
/// host and what timed out.
pub struct Session {
    client: Client,
    connection: Connection,
    mode: TlsMode,
    bound: Duration,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        rotation_database::fmt_session(f, &self.connection, self.mode)
    }
}

impl Session {
    /// Runs statements (no parameters, no rows).
    pub async fn execute(&self, sql: &str) -> Result<(), RotationError> {
        self.bounded("a statement", self.client.batch_execute(sql)).await
    }

    /// Runs a query with bind parameters.
    pub async fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, RotationError> {
        self.bounded("a query", self.client.query(sql, params)).await
    }

    /// Runs a query in the simple protocol (testSecret's probe, which may be any statement).
    pub async fn simple_query(&self, sql: &str) -> Result<(), RotationError> {
        self.bounded("the test query", self.client.simple_query(sql)).await.map(drop)
    }

    /// The connection this session logged in with.
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// Its TLS mode.
    pub fn mode(&self) -> TlsMode {
        self.mode
    }

    async fn bounded<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, RotationError> {
        match tokio::time::timeout(self.bound, call).await {
            Ok(result) => result.map_err(|e| classify(e, &self.connection, self.mode)),
            Err(_) => {
                Err(no_answer(&self.connection, &format!("{what} as {:?}", self.connection.username), self.bound))
            }
        }
    }
}

/// Logs in as `connection.username` and returns the session; the connection task runs in the background.
///
/// TLS is never dropped: in every mode but `disable` the server must accept TLS, and a failed handshake is an
/// error naming the host, the mode and the cause. `disable` logs a warning at every connection. The login (TCP
/// connect, TLS handshake and authentication together) is bounded by `CONNECT_TIMEOUT_SECONDS`, and TCP
/// keepalives are on.
pub async fn connect(
    connection: &Connection,
    mode: TlsMode,
    purpose: Purpose,
    roots: &TlsRoots,
    config: &DatabaseConfig,
) -> Result<Session, RotationError> {
    let mut pg = tokio_postgres::Config::new();
    let mut options = format!("-c statement_timeout={}", config.statement_timeout.as_millis());
    if purpose == Purpose::Rotor {
        options.push_str(&format!(" -c search_path={PINNED_SEARCH_PATH}"));
    }
    pg.host(&connection.host)
        .port(connection.port)
        .user(&connection.username)
        .password(connection.password.expose().as_bytes())
        .dbname(connection.dbname.as_deref().unwrap_or(crate::DEFAULT_DBNAME))
        .application_name("rotor")
        .connect_timeout(config.connect_timeout)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(5))
        .options(options);
    let attempt = async {
        match roots.client_config(mode)? {
            None => {
                tracing::warn!(host = %connection.address(), "TLS is disabled for this database: credentials cross the network in the clear");
                pg.ssl_mode(SslMode::Disable);
                let (client, conn) = pg.connect(NoTls).await.map_err(|e| classify(e, connection, mode))?;
                tokio::spawn(conn);
                Ok(client)
            }
            Some(tls) => {
                pg.ssl_mode(SslMode::Require);
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
                let (client, conn) = pg.connect(tls).await.map_err(|e| classify(e, connection, mode))?;
                tokio::spawn(conn);
                Ok(client)
            }
        }
    };
    let client = tokio::time::timeout(config.connect_timeout, attempt).await.unwrap_or_else(|_| {
        Err(no_answer(connection, &format!("the login as {:?}", connection.username), config.connect_timeout))
    })?;
    Ok(Session { client, connection: connection.clone(), mode, bound: config.statement_bound() })
}
