//! Connecting to MySQL/MariaDB in a TLS mode within time-outs.

use std::future::Future;
use std::time::Duration;

use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{Conn, OptsBuilder, Params, SslOpts};
use rotation_core::{RotationError, TargetErrorKind};
use rotation_database::{DatabaseConfig, LoginFields, TlsMode, no_answer, rds_roots};

use crate::account::Account;
use crate::error::{classify, redact};
use crate::version::{Flavor, Version};

/// The `sql_mode` of every rotor session, set at connect: without `NO_BACKSLASH_ESCAPES` or `ANSI_QUOTES`, the
/// driver's escaping of literals and rotor's quoting of names mean what rotor meant, whatever the server's global
/// mode.
pub const SESSION_SQL_MODE: &str = "SET SESSION sql_mode = ''";

/// A logged-in connection whose every call is bounded on the client side; errors name the host and the cause.
pub struct MysqlSession {
    conn: Conn,
    connection: LoginFields,
    mode: TlsMode,
    bound: Duration,
    version: Option<Version>,
}

impl std::fmt::Debug for MysqlSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        rotation_database::fmt_session(f, &self.connection, self.mode)
    }
}

impl MysqlSession {
    /// The connection this session logged in with.
    pub fn connection(&self) -> &LoginFields {
        &self.connection
    }

    /// Its TLS mode.
    pub fn mode(&self) -> TlsMode {
        self.mode
    }

    /// Runs a statement that returns no rows.
    pub async fn execute(&mut self, sql: impl AsRef<str>) -> Result<(), RotationError> {
        let bound = self.bound;
        bounded(bound, &self.connection, self.mode, self.conn.query_drop(sql.as_ref())).await
    }

    /// Runs a statement that carries a credential (a password or its hash). A server message that echoes the
    /// statement (`1064 ... near '...'`) has `secrets` cut out before it becomes an error. The server's error code
    /// is kept beside the error, for a caller that tries another statement on a known refusal.
    pub async fn execute_credential(&mut self, sql: String, secrets: &[String]) -> Result<(), StatementError> {
        let call = self.conn.query_drop(sql);
        match tokio::time::timeout(self.bound, call).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                let error = redact(error, secrets);
                let code = match &error {
                    mysql_async::Error::Server(server) => Some(server.code),
                    _ => None,
                };
                Err(StatementError { code, error: classify(error, &self.connection, self.mode) })
            }
            Err(_) => {
                let what = format!("a statement as {:?}", self.connection.username);
                Err(StatementError { code: None, error: no_answer(&self.connection, &what, self.bound) })
            }
        }
    }

    /// The server's flavor (MySQL or MariaDB, from `@@version`), asked once per session.
    pub async fn flavor(&mut self) -> Result<Flavor, RotationError> {
        self.version().await.map(|version| version.flavor)
    }

    /// The server's flavor and release (from `@@version`), asked once per session.
    pub async fn version(&mut self) -> Result<Version, RotationError> {
        match self.version {
            Some(version) => Ok(version),
            None => self.current_account().await.map(|_| self.version.unwrap_or(Version::parse(""))),
        }
    }

    /// The account the server logged the session in as (`CURRENT_USER()`, the real `user@host`); the server's
    /// version comes in the same query.
    pub async fn current_account(&mut self) -> Result<Account, RotationError> {
        let row: Option<(String, String)> = self.first("SELECT CURRENT_USER(), @@version").await?;
        let (current, version) = row.unwrap_or_default();
        self.version = Some(Version::parse(&version));
        Account::parse(&current)
            .map_err(|reason| RotationError::target(TargetErrorKind::Rejected, self.connection.address(), reason))
    }

    /// Runs a query and returns its rows.
    pub async fn query<T: FromRow + Send + 'static>(&mut self, sql: impl AsRef<str>) -> Result<Vec<T>, RotationError> {
        let bound = self.bound;
        bounded(bound, &self.connection, self.mode, self.conn.query(sql.as_ref())).await
    }

    /// Runs a query and returns its first row.
    pub async fn first<T: FromRow + Send + 'static>(
        &mut self,
        sql: impl AsRef<str>,
    ) -> Result<Option<T>, RotationError> {
        let bound = self.bound;
        bounded(bound, &self.connection, self.mode, self.conn.query_first(sql.as_ref())).await
    }

    /// Runs a prepared statement with parameters and returns its rows.
    pub async fn exec<T: FromRow + Send + 'static>(
        &mut self,
        sql: &str,
        params: impl Into<Params> + Send,
    ) -> Result<Vec<T>, RotationError> {
        let bound = self.bound;
        bounded(bound, &self.connection, self.mode, self.conn.exec(sql, params)).await
    }
}

/// Logs in as `connection.username`. TLS is never dropped: in every mode but `disable` the server must accept
/// TLS, and a failed handshake is an error naming the host, the mode and the cause. The login is bounded by
/// `CONNECT_TIMEOUT_SECONDS`, TCP keepalives are on, and the session's `sql_mode` is [`SESSION_SQL_MODE`].
pub async fn connect(
    connection: &LoginFields,
    mode: TlsMode,
    config: &DatabaseConfig,
) -> Result<MysqlSession, RotationError> {
    // The driver's built-in roots (Mozilla's), the Amazon RDS roots, and TLS_CA_BUNDLE, handed over already
    // decoded (DER): the driver builds its connector at every login.
    let roots = || rds_roots().iter().chain(&config.ca_bundle).map(|der| der.to_vec().into()).collect::<Vec<_>>();
    let ssl = match mode {
        TlsMode::Disable => {
            tracing::warn!(host = %connection.address(), "TLS is disabled for this database: credentials cross the network in the clear");
            None
        }
        TlsMode::Require => Some(SslOpts::default().with_root_certs(roots()).with_danger_accept_invalid_certs(true)),
        TlsMode::VerifyCa => Some(SslOpts::default().with_root_certs(roots()).with_danger_skip_domain_validation(true)),
        TlsMode::VerifyFull => Some(SslOpts::default().with_root_certs(roots())),
    };
    let opts = OptsBuilder::default()
        .ip_or_hostname(connection.host.clone())
        .tcp_port(connection.port)
        .user(Some(connection.username.clone()))
        .pass(Some(connection.password.expose()))
        .db_name(connection.dbname.clone())
        .prefer_socket(false)
        .stmt_cache_size(0)
        .tcp_keepalive(Some(Duration::from_secs(5)))
        .init(vec![SESSION_SQL_MODE])
        .ssl_opts(ssl);
    rotation_core::telemetry::count_login();
    let conn = match tokio::time::timeout(config.connect_timeout, Conn::new(opts)).await {
        Ok(result) => result.map_err(|e| classify(e, connection, mode))?,
        Err(_) => {
            let what = format!("the login as {:?}", connection.username);
            return Err(no_answer(connection, &what, config.connect_timeout));
        }
    };
    Ok(MysqlSession { conn, connection: connection.clone(), mode, bound: config.statement_bound(), version: None })
}

/// Runs a driver call within `limit`, classifying its error.
async fn bounded<T>(
    limit: Duration,
    connection: &LoginFields,
    mode: TlsMode,
    call: impl Future<Output = Result<T, mysql_async::Error>>,
) -> Result<T, RotationError> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result.map_err(|e| classify(e, connection, mode)),
        Err(_) => Err(no_answer(connection, &format!("a statement as {:?}", connection.username), limit)),
    }
}

/// A failed statement: the classified error, and the server's error code when the server refused it.
#[derive(Debug)]
pub struct StatementError {
    code: Option<u16>,
    error: RotationError,
}

impl StatementError {
    /// The server's error code (`codes::*`), when the server refused the statement.
    pub fn server_code(&self) -> Option<u16> {
        self.code
    }
}

impl From<StatementError> for RotationError {
    fn from(error: StatementError) -> Self {
        error.error
    }
}
