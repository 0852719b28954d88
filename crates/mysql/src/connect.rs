//! Connecting to MySQL/MariaDB in a TLS mode within time-outs, and classifying the driver's errors.

use std::future::Future;
use std::time::Duration;

use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{Conn, OptsBuilder, Params, SslOpts};
use rotation_core::{RotationError, TargetErrorKind};
use rotation_database::{Connection, DatabaseConfig, TlsMode, no_answer, rds_roots};

use crate::account::Account;
use crate::version::{Flavor, Version};

/// Server error codes rotor tells apart.
pub mod codes {
    /// `ER_ACCESS_DENIED_ERROR`: wrong user or password.
    pub const ACCESS_DENIED: u16 = 1045;
    /// `ER_DBACCESS_DENIED_ERROR`: no access to the database.
    pub const DB_ACCESS_DENIED: u16 = 1044;
    /// `ER_SPECIFIC_ACCESS_DENIED_ERROR`: a missing privilege (CREATE USER, ...).
    pub const SPECIFIC_ACCESS_DENIED: u16 = 1227;
    /// `ER_TABLEACCESS_DENIED_ERROR`.
    pub const TABLE_ACCESS_DENIED: u16 = 1142;
    /// `ER_PARSE_ERROR`: the server does not know a statement (MySQL 8 syntax on MariaDB).
    pub const PARSE_ERROR: u16 = 1064;
    /// `ER_BAD_DB_ERROR`: unknown database.
    pub const BAD_DB: u16 = 1049;
    /// `ER_CON_COUNT_ERROR`: too many connections.
    pub const TOO_MANY_CONNECTIONS: u16 = 1040;
    /// `ER_SERVER_SHUTDOWN`.
    pub const SHUTDOWN: u16 = 1053;
    /// `ER_PASSWORD_ANONYMOUS_USER`, `ER_PASSWORD_NOT_ALLOWED`: own password changes refused.
    pub const PASSWORD_NOT_ALLOWED: u16 = 1132;
    /// MySQL's `ER_ACCOUNT_HAS_BEEN_LOCKED`: the account is locked (`ACCOUNT LOCK`).
    pub const ACCOUNT_LOCKED: u16 = 3118;
    /// MariaDB's `ER_ACCOUNT_HAS_BEEN_LOCKED`.
    pub const ACCOUNT_LOCKED_MARIADB: u16 = 4151;
}

/// The `sql_mode` of every rotor session, set at connect: without `NO_BACKSLASH_ESCAPES` or `ANSI_QUOTES`, the
/// driver's escaping of literals and rotor's quoting of names mean what rotor meant, whatever the server's global
/// mode.
pub const SESSION_SQL_MODE: &str = "SET SESSION sql_mode = ''";

/// What rotor says of a locked account (`ACCOUNT LOCK`), wherever it meets one: it never re-enables it.
pub const LOCKED_FIX: &str = "rotor does not re-enable an account an operator locked: unlock it (ALTER USER ... ACCOUNT UNLOCK) or turn rotation off for this secret";

/// A logged-in connection whose every call is bounded on the client side; errors name the host and the cause.
pub struct Session {
    conn: Conn,
    connection: Connection,
    mode: TlsMode,
    bound: Duration,
    version: Option<Version>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        rotation_database::fmt_session(f, &self.connection, self.mode)
    }
}

impl Session {
    /// The connection this session logged in with.
    pub fn connection(&self) -> &Connection {
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
    connection: &Connection,
    mode: TlsMode,
    config: &DatabaseConfig,
) -> Result<Session, RotationError> {
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
    let conn = match tokio::time::timeout(config.connect_timeout, Conn::new(opts)).await {
        Ok(result) => result.map_err(|e| classify(e, connection, mode))?,
        Err(_) => {
            let what = format!("the login as {:?}", connection.username);
            return Err(no_answer(connection, &what, config.connect_timeout));
        }
    };
    Ok(Session { conn, connection: connection.clone(), mode, bound: config.statement_bound(), version: None })
}

/// Runs a driver call within `limit`, classifying its error.
async fn bounded<T>(
    limit: Duration,
    connection: &Connection,
    mode: TlsMode,
    call: impl Future<Output = Result<T, mysql_async::Error>>,
) -> Result<T, RotationError> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result.map_err(|e| classify(e, connection, mode)),
        Err(_) => Err(no_answer(connection, &format!("a statement as {:?}", connection.username), limit)),
    }
}

/// The error with every one of `secrets` cut out of a server message.
fn redact(error: mysql_async::Error, secrets: &[String]) -> mysql_async::Error {
    match error {
        mysql_async::Error::Server(mut server) => {
            for secret in secrets.iter().filter(|s| !s.is_empty()) {
                server.message = server.message.replace(secret.as_str(), "<redacted>");
            }
            // A parse error quotes the statement from where it failed: nothing after "near" is rotor's to show.
            if server.code == codes::PARSE_ERROR
                && let Some(at) = server.message.find(" near ")
            {
                server.message.truncate(at);
                server.message.push_str(" near <statement redacted>");
            }
            mysql_async::Error::Server(server)
        }
        other => other,
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

/// Classifies an error of a connection as `connection.username`; the message names the cause and the fix.
pub fn classify(error: mysql_async::Error, connection: &Connection, mode: TlsMode) -> RotationError {
    let user = &connection.username;
    let (kind, message) = match &error {
        mysql_async::Error::Server(server) => match server.code {
            codes::ACCESS_DENIED => (
                TargetErrorKind::AuthenticationFailed,
                format!(
                    "user {user:?} was refused ({}): a wrong password, or no account for this client's host",
                    server.code
                ),
            ),
            codes::DB_ACCESS_DENIED
            | codes::SPECIFIC_ACCESS_DENIED
            | codes::TABLE_ACCESS_DENIED
            | codes::PASSWORD_NOT_ALLOWED => (
                TargetErrorKind::PermissionDenied,
                format!(
                    "user {user:?} lacks a privilege ({}): {}; grant it (for the admin: CREATE USER, GRANT OPTION, and SELECT on the grant tables in mysql.*)",
                    server.code, server.message
                ),
            ),
            codes::ACCOUNT_LOCKED | codes::ACCOUNT_LOCKED_MARIADB => {
                (TargetErrorKind::Rejected, format!("user {user:?} is locked ({}); {}", server.code, LOCKED_FIX))
            }
            codes::BAD_DB => {
                (TargetErrorKind::Rejected, format!("{} ({}); check the secret's dbname", server.message, server.code))
            }
            codes::TOO_MANY_CONNECTIONS | codes::SHUTDOWN => (
                TargetErrorKind::Unreachable,
                format!("{} ({}); retrying later may succeed", server.message, server.code),
            ),
            code => (TargetErrorKind::Rejected, format!("{} ({code})", server.message)),
        },
        error
            if matches!(error, mysql_async::Error::Io(mysql_async::IoError::Tls(_)))
                || rotation_core::is_tls_error(error) =>
        {
            (TargetErrorKind::Tls, rotation_database::tls_failed(mode))
        }
        mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer) => (
            TargetErrorKind::Tls,
            format!(
                "the server does not offer TLS and the mode is {}; enable TLS on the server, or set ssl=false in the secret to send credentials in the clear (rotor never falls back to plaintext)",
                mode.as_str()
            ),
        ),
        mysql_async::Error::Io(_) => (TargetErrorKind::Unreachable, rotation_database::CONNECTION_FAILED.to_owned()),
        // Driver errors can hold row values in their Debug form: only their Display reaches the message.
        other => (TargetErrorKind::Rejected, other.to_string()),
    };
    RotationError::Target { kind, target: connection.address(), message, source: Some(Box::new(error)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_lose_every_credential_text_and_the_echoed_statement() {
        let secrets = crate::statements::credential_texts("s3cret'pw");
        let echo = format!(
            "You have an error in your SQL syntax; check the manual near '{}' RETAIN CURRENT PASSWORD' at line 1",
            secrets[1]
        );
        let error = mysql_async::Error::Server(mysql_async::ServerError {
            code: codes::PARSE_ERROR,
            message: echo,
            state: "42000".into(),
        });
        let redacted = redact(error, &secrets).to_string();
        assert!(!redacted.contains("s3cret") && !redacted.contains(&secrets[1][1..]), "{redacted}");
        assert!(redacted.contains("near <statement redacted>"), "{redacted}");

        let other = mysql_async::Error::Server(mysql_async::ServerError {
            code: 1396,
            message: "Operation ALTER USER failed for 'app'@'%' with s3cret'pw".into(),
            state: "HY000".into(),
        });
        assert!(!redact(other, &secrets).to_string().contains("s3cret"));
    }
}
