//! Connecting to Redis or Valkey as an ACL user, in a TLS mode, and a session whose every command is bounded.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Cmd, FromRedisValue, RedisConnectionInfo, RedisError};
use rotation_core::{RotationError, TargetErrorKind};
use rotation_database::{CONNECTION_FAILED, DatabaseConfig, LoginFields, TlsMode, TlsRoots, no_answer};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;

use crate::error::{classify, tls_failure};

/// A logged-in connection whose every command is bounded on the client side: a server or a network that stops
/// answering fails the command with a message naming the host and what timed out.
pub struct RedisSession {
    connection: LoginFields,
    mode: TlsMode,
    bound: Duration,
    redis: MultiplexedConnection,
}

impl std::fmt::Debug for RedisSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        rotation_database::fmt_session(f, &self.connection, self.mode)
    }
}

impl rotation_database::Session for RedisSession {
    fn connection(&self) -> &LoginFields {
        &self.connection
    }
}

impl RedisSession {
    /// Runs a command; `what` names it in errors (never its arguments, which may hold a password's hash).
    pub async fn run<T: FromRedisValue>(&mut self, what: &str, command: &Cmd) -> Result<T, RotationError> {
        self.query(what, command).await?.map_err(|e| classify(e, &self.connection, self.mode, what))
    }

    /// Runs a command whose plain error answer (`ERR`, as for a command the server does not have) is an answer
    /// rather than a failure: `None` then. Every other error is [`RedisSession::run`]'s.
    pub(crate) async fn run_or_err<T: FromRedisValue>(
        &mut self,
        what: &str,
        command: &Cmd,
    ) -> Result<Option<T>, RotationError> {
        match self.query(what, command).await? {
            Ok(value) => Ok(Some(value)),
            Err(error) if error.code() == Some("ERR") => Ok(None),
            Err(error) => Err(classify(error, &self.connection, self.mode, what)),
        }
    }

    /// The driver's answer to a command, within the session's bound.
    async fn query<T: FromRedisValue>(
        &mut self,
        what: &str,
        command: &Cmd,
    ) -> Result<Result<T, RedisError>, RotationError> {
        tokio::time::timeout(self.bound, command.query_async::<T>(&mut self.redis))
            .await
            .map_err(|_| no_answer(&self.connection, &format!("{what} as {:?}", self.connection.username), self.bound))
    }

    /// The connection this session logged in with.
    pub fn connection(&self) -> &LoginFields {
        &self.connection
    }
}

/// The user an AUTH token (`requirepass`, an ElastiCache replication group's token) logs in as.
pub(crate) const DEFAULT_USER: &str = "default";

/// Logs in as `connection.username` (`AUTH <user> <password>`, an ACL user; [`DEFAULT_USER`] with the one-argument
/// `AUTH <password>`, which every Redis and ElastiCache version takes for an AUTH token). TLS is never dropped: in
/// every mode but `disable` the server must complete a TLS handshake verified as the mode says. The login (TCP
/// connect, TLS handshake and `AUTH` together) is bounded by `CONNECT_TIMEOUT_SECONDS`.
pub async fn connect(
    connection: &LoginFields,
    mode: TlsMode,
    roots: &TlsRoots,
    config: &DatabaseConfig,
) -> Result<RedisSession, RotationError> {
    let mut info = RedisConnectionInfo::default().set_password(connection.password.expose()).set_skip_set_lib_name();
    if connection.username != DEFAULT_USER {
        info = info.set_username(&connection.username);
    }
    // How far the login got, for the error when it runs out of time.
    let handshaking = std::sync::atomic::AtomicBool::new(false);
    rotation_core::telemetry::count_login();
    let login = async {
        let tcp = TcpStream::connect((connection.host.as_str(), connection.port)).await.map_err(|e| {
            RotationError::Target {
                kind: TargetErrorKind::Unreachable,
                target: connection.address(),
                message: CONNECTION_FAILED.into(),
                source: Some(Box::new(e)),
            }
        })?;
        tcp.set_nodelay(true).ok();
        let refused = |e| classify(e, connection, mode, "the login");
        // The driver's own response time-out is rotor's bound on a command (its default, 500 ms, is not).
        let driver_config = AsyncConnectionConfig::new().set_response_timeout(Some(config.statement_bound()));
        // The driver's I/O task runs in the background until the session is dropped.
        let redis = match roots.client_config(mode)? {
            None => {
                tracing::warn!(host = %connection.address(), "TLS is disabled for this server: credentials cross the network in the clear");
                let (redis, driver) =
                    MultiplexedConnection::new_with_config(&info, tcp, driver_config.clone()).await.map_err(refused)?;
                tokio::spawn(driver);
                redis
            }
            Some(tls) => {
                let name = ServerName::try_from(connection.host.clone()).map_err(|e| RotationError::Target {
                    kind: TargetErrorKind::Tls,
                    target: connection.address(),
                    message: format!("{:?} is not a host name TLS can verify", connection.host),
                    source: Some(Box::new(e)),
                })?;
                handshaking.store(true, std::sync::atomic::Ordering::Relaxed);
                let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
                    .connect(name, tcp)
                    .await
                    .map_err(|e| tls_failure(e, connection, mode))?;
                handshaking.store(false, std::sync::atomic::Ordering::Relaxed);
                let (redis, driver) = MultiplexedConnection::new_with_config(&info, stream, driver_config.clone())
                    .await
                    .map_err(refused)?;
                tokio::spawn(driver);
                redis
            }
        };
        Ok::<_, RotationError>(redis)
    };
    let redis = tokio::time::timeout(config.connect_timeout, login).await.unwrap_or_else(|_| {
        if handshaking.load(std::sync::atomic::Ordering::Relaxed) {
            // A plaintext Redis port reads a ClientHello as the start of a command and waits for the rest.
            return Err(RotationError::target(
                TargetErrorKind::Tls,
                connection.address(),
                format!(
                    "the TLS handshake in mode {} got no answer within {}s: the port may speak plaintext (Redis serves TLS on its tls-port); rotor never falls back to plaintext",
                    mode.as_str(),
                    config.connect_timeout.as_secs()
                ),
            ));
        }
        Err(no_answer(connection, &format!("the login as {:?}", connection.username), config.connect_timeout))
    })?;
    Ok(RedisSession { connection: connection.clone(), mode, bound: config.statement_bound(), redis })
}
