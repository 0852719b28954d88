//! Connecting to PostgreSQL with a credential, in a TLS mode, and a session whose every call is bounded.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use rotation_core::RotationError;
use rotation_database::{DatabaseConfig, LoginFields, Purpose, TlsMode, no_answer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_postgres::config::{ChannelBinding, SslMode};
use tokio_postgres::error::{DbError, SqlState};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{AsyncMessage, Client, NoTls, Row};

use crate::error::{classify, not_applied};
use rotation_database::TlsRoots;

/// The `search_path` of [`Purpose::Rotor`] sessions: a startup option, which no statement in the session undoes.
pub const PINNED_SEARCH_PATH: &str = "pg_catalog,pg_temp";

/// Settings pinned as startup options of [`Purpose::Rotor`] sessions, besides `search_path`, `statement_timeout`
/// and the lock and idle-transaction bounds (which follow `STATEMENT_TIMEOUT_SECONDS`). A startup option outranks
/// `ALTER DATABASE ... SET`, `ALTER ROLE ... SET` and `ALTER ROLE ... IN DATABASE ... SET`, so the owner of the
/// user's database (often the user itself) cannot steer rotor's statements with them:
/// - read-write transactions at read committed: a read-only default refuses every change (no need to pin
///   `transaction_read_only`: each transaction starts from the default);
/// - `role=none`: a database's `role` setting would run the admin's statements as that role;
/// - `client_min_messages=warning`: a GRANT or REVOKE that did not take effect says so only by a warning;
/// - `DateStyle=ISO`: the `VALID UNTIL` read as text and written back keeps its instant (a zone abbreviation in
///   another style may name another zone when parsed).
const PINNED: &[&str] = &[
    "default_transaction_read_only=off",
    "default_transaction_isolation=read\\ committed",
    "role=none",
    "client_min_messages=warning",
    "DateStyle=ISO",
];

/// Time-outs a database could set to end rotor's session between two statements (one millisecond idle, one
/// millisecond for any transaction), pinned off on the servers that know them, newest first. A server older than
/// one refuses a login that names it (`undefined_object`), and the login is tried again without it: such a server
/// has no such setting to steer anything.
const NEWER_PINS: &[&str] = &["transaction_timeout=0", "idle_session_timeout=0"];

/// How many of [`NEWER_PINS`] each server (by address) refused, learned once per process: a warm function logs in
/// once per session, not once per setting its server is too old to know.
fn refused_pins(address: &str) -> usize {
    REFUSED_PINS.lock().expect("the pin table is never poisoned").get(address).copied().unwrap_or(0)
}

fn remember_refused_pins(address: &str, refused: usize) {
    REFUSED_PINS.lock().expect("the pin table is never poisoned").insert(address.to_owned(), refused);
}

static REFUSED_PINS: std::sync::LazyLock<Mutex<std::collections::HashMap<String, usize>>> =
    std::sync::LazyLock::new(Mutex::default);

/// The server's warnings that a GRANT or REVOKE was applied in part or not at all, collected from the connection.
type Notices = Arc<Mutex<Vec<DbError>>>;

/// A logged-in connection whose every call is bounded on the client side, as well as by the server's
/// `statement_timeout`: a server or a network that stops answering fails the call with a message naming the
/// host and what timed out.
pub struct PostgresSession {
    client: Client,
    connection: LoginFields,
    mode: TlsMode,
    bound: Duration,
    notices: Notices,
}

impl std::fmt::Debug for PostgresSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        rotation_database::fmt_session(f, &self.connection, self.mode)
    }
}

impl PostgresSession {
    /// Runs statements (no parameters, no rows). A GRANT or REVOKE among them that the server did not fully
    /// apply fails the call, with the server's words: PostgreSQL answers it with a warning, not an error.
    pub async fn execute(&self, sql: &str) -> Result<(), RotationError> {
        self.bounded("a statement", self.client.batch_execute(sql)).await
    }

    /// Runs a query with bind parameters of the given types: one round trip, since the types need no prepare.
    pub async fn query(&self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, RotationError> {
        self.bounded("a query", self.client.query_typed(sql, params)).await
    }

    /// Runs queries side by side, bounded as one call: tokio-postgres pipelines them, so they cost one round trip
    /// together. Their rows come back in the order of the queries; a failure is the first query's that failed.
    pub async fn queries<const N: usize>(
        &self,
        queries: [(&str, &[Param<'_>]); N],
    ) -> Result<[Vec<Row>; N], RotationError> {
        let calls = queries.map(|(sql, params)| -> Call<'_> { Box::pin(self.client.query_typed(sql, params)) });
        let call = async {
            let rows = in_order(Vec::from(calls)).await?;
            Ok(rows.try_into().unwrap_or_else(|_| unreachable!("one answer per query")))
        };
        self.bounded("a query", call).await
    }

    /// Runs `batches` (each statements in the simple protocol, sent as its own message, in order) and, in the same
    /// round trip, `check`, a query that sees what the batches did (inside the transaction the first one opened
    /// and the last one left open). Returns the check's rows and the server's warnings that a GRANT or REVOKE of
    /// the batches was not (fully) applied: the caller rolls the transaction back before it reports them. When a
    /// batch fails, the first failure is the call's. A server logs a failed message's whole text
    /// (`log_min_error_statement`), so a statement that carries a verifier goes in a message of its own.
    pub async fn apply(
        &self,
        batches: &[&str],
        check: Option<(&str, &[Param<'_>])>,
    ) -> Result<(Vec<Row>, Vec<DbError>), RotationError> {
        let mut calls: Vec<Call<'_>> = batches
            .iter()
            .filter(|batch| !batch.is_empty())
            .map(|batch| -> Call<'_> {
                Box::pin(async { self.client.batch_execute(batch).await.map(|()| Vec::new()) })
            })
            .collect();
        if let Some((sql, params)) = check {
            calls.push(Box::pin(self.client.query_typed(sql, params)));
        }
        let checked = check.is_some();
        let call = async move {
            let mut rows = in_order(calls).await?;
            Ok(if checked { rows.pop().unwrap_or_default() } else { Vec::new() })
        };
        self.warned("a statement", call).await
    }

    /// Runs a query in the simple protocol (testSecret's probe, which may be any statement).
    pub async fn simple_query(&self, sql: &str) -> Result<(), RotationError> {
        self.bounded("the test query", self.client.simple_query(sql)).await.map(drop)
    }

    /// The connection this session logged in with.
    pub fn connection(&self) -> &LoginFields {
        &self.connection
    }

    /// Its TLS mode.
    pub fn mode(&self) -> TlsMode {
        self.mode
    }

    /// A call bounded on the client side, whose warnings that a GRANT or REVOKE was not (fully) applied fail it.
    async fn bounded<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, RotationError> {
        let (result, warnings) = self.warned(what, call).await?;
        match warnings.first() {
            None => Ok(result),
            Some(first) => Err(not_applied(&self.connection, first.code(), first.message(), warnings.len() - 1, None)),
        }
    }

    /// A call bounded on the client side, with the server's warnings that a GRANT or REVOKE it made was not
    /// (fully) applied.
    async fn warned<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<(T, Vec<DbError>), RotationError> {
        self.notices.lock().expect("the notice list is never poisoned").clear();
        let result = match tokio::time::timeout(self.bound, call).await {
            Ok(result) => result.map_err(|e| classify(e, &self.connection, self.mode))?,
            Err(_) => {
                return Err(no_answer(
                    &self.connection,
                    &format!("{what} as {:?}", self.connection.username),
                    self.bound,
                ));
            }
        };
        // The connection task records a notice before it hands the call its answer, which follows the notice on
        // the wire: every warning of this call is here.
        let warnings = std::mem::take(&mut *self.notices.lock().expect("the notice list is never poisoned"));
        Ok((result, warnings))
    }
}

/// A bind parameter with its type, which lets a query travel with its parameters, without a prepare first.
pub type Param<'a> = (&'a (dyn ToSql + Sync), Type);

/// One driver call of a pipeline.
type Call<'a> = Pin<Box<dyn Future<Output = Result<Vec<Row>, tokio_postgres::Error>> + Send + 'a>>;

/// Polls `calls` together, always in order, so each sends its request before the next one does: tokio-postgres
/// writes them together and the server answers them in order, one round trip for all. Waits for every answer
/// (none is left unread on the connection), then gives the rows in order, or the first call's error.
async fn in_order(mut calls: Vec<Call<'_>>) -> Result<Vec<Vec<Row>>, tokio_postgres::Error> {
    let mut answers: Vec<Option<Result<Vec<Row>, tokio_postgres::Error>>> = calls.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (call, answer) in calls.iter_mut().zip(answers.iter_mut()) {
            if answer.is_none()
                && let Poll::Ready(result) = call.as_mut().poll(cx)
            {
                *answer = Some(result);
            }
        }
        if answers.iter().all(Option::is_some) { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    answers.into_iter().map(|answer| answer.expect("every call answered")).collect()
}

/// The startup options of a session: `statement_timeout` always, and for [`Purpose::Rotor`] the pinned settings,
/// with `newer` of [`NEWER_PINS`] (the ones this server knows).
fn startup_options(purpose: Purpose, config: &DatabaseConfig, newer: &[&str]) -> String {
    let statement = config.statement_timeout.as_millis();
    let mut options = vec![format!("statement_timeout={statement}")];
    if purpose == Purpose::Rotor {
        options.push(format!("search_path={PINNED_SEARCH_PATH}"));
        options.extend(PINNED.iter().map(|pin| (*pin).to_owned()));
        // A lock held by another session (the user's open transaction on its own role) fails the statement with
        // its own error (55P03, named as a lock wait) while half the statement's time is left, rather than with
        // the statement's time-out; a statement never waits for a lock longer than it may run.
        options.push(format!("lock_timeout={}", (statement / 2).max(1)));
        // rotor never idles inside a transaction longer than one statement's bound; should it stop there (a
        // function frozen mid-rotation), the server ends the transaction and frees the role's rows.
        options.push(format!("idle_in_transaction_session_timeout={statement}"));
        options.extend(newer.iter().map(|pin| (*pin).to_owned()));
    }
    options.iter().map(|option| format!("-c {option}")).collect::<Vec<_>>().join(" ")
}

/// Logs in as `connection.username` and returns the session; the connection task runs in the background,
/// collecting the server's warnings that a GRANT or REVOKE was not (fully) applied.
///
/// TLS is never dropped: in every mode but `disable` the server must accept TLS, and a failed handshake is an
/// error naming the host, the mode and the cause. `disable` logs a warning at every connection. The login (TCP
/// connect, TLS handshake and authentication together) is bounded by `CONNECT_TIMEOUT_SECONDS`, and TCP
/// keepalives are on.
pub async fn connect(
    connection: &LoginFields,
    mode: TlsMode,
    purpose: Purpose,
    roots: &TlsRoots,
    config: &DatabaseConfig,
) -> Result<PostgresSession, RotationError> {
    let login = login(connection, mode, Startup::Pinned(purpose), roots, config, ChannelBinding::Prefer).await;
    session_of(login, connection)
}

/// A proof of possession in one login: `connection`'s password logs in as its user, and the server checked it.
/// The login accepts only SCRAM-SHA-256-PLUS, bound to the TLS session (`channel_binding=require`): the server
/// verified the password against the user's verifier and proved, in SCRAM's last message, that it holds the
/// verifier, so `trust`, `password` or `md5` lines in `pg_hba.conf` (a login that proves nothing, or nothing of
/// the verifier) never pass. `None` when the server authenticated the login any other way, or TLS is off: then
/// only a wrong password tried beside it tells whether the server checks passwords
/// ([`rotation_database::proven_by_login`]).
pub async fn prove(
    connection: &LoginFields,
    mode: TlsMode,
    roots: &TlsRoots,
    config: &DatabaseConfig,
) -> Result<Option<bool>, RotationError> {
    if mode == TlsMode::Disable {
        return Ok(None);
    }
    match login(connection, mode, Startup::Pinned(Purpose::Rotor), roots, config, ChannelBinding::Require).await {
        Ok(_) => Ok(Some(true)),
        Err(LoginFailure::Unbound) => Ok(None),
        Err(LoginFailure::Failed(error)) if error.is_authentication_failure() => Ok(Some(false)),
        Err(LoginFailure::Failed(error)) => Err(error),
    }
}

/// [`connect`] without startup options, for servers that speak PostgreSQL's protocol but refuse its settings at
/// startup (Amazon Redshift): the caller pins what its sessions need with statements right after the login. Same
/// TLS, bounds and warnings as [`connect`].
pub async fn connect_plain(
    connection: &LoginFields,
    mode: TlsMode,
    roots: &TlsRoots,
    config: &DatabaseConfig,
) -> Result<PostgresSession, RotationError> {
    let login = login(connection, mode, Startup::Plain, roots, config, ChannelBinding::Prefer).await;
    session_of(login, connection)
}

/// A login that prefers channel binding: its session, or its error (only a login that requires channel binding
/// is refused for the lack of it).
fn session_of(
    login: Result<PostgresSession, LoginFailure>,
    connection: &LoginFields,
) -> Result<PostgresSession, RotationError> {
    login.map_err(|failure| match failure {
        LoginFailure::Failed(error) => error,
        LoginFailure::Unbound => unbound(connection),
    })
}

/// What a login sends as startup options: the settings of its purpose, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Startup {
    Pinned(Purpose),
    Plain,
}

/// Why a login failed: the server authenticated it without the channel binding it required, or anything else.
enum LoginFailure {
    Unbound,
    Failed(RotationError),
}

impl From<RotationError> for LoginFailure {
    fn from(error: RotationError) -> Self {
        Self::Failed(error)
    }
}

/// The error of a login refused because the server did not use channel binding.
fn unbound(connection: &LoginFields) -> RotationError {
    RotationError::target(
        rotation_core::TargetErrorKind::Tls,
        connection.address(),
        "the server authenticated the login without SCRAM channel binding",
    )
}

/// Whether tokio-postgres refused a login because the server authenticated it without channel binding (trust,
/// password, md5, or SCRAM without the TLS session bound) while the login required it: the client's own error,
/// which has no SQLSTATE.
fn is_unbound(error: &tokio_postgres::Error) -> bool {
    use std::error::Error as _;
    error.code().is_none()
        && error.source().is_some_and(|cause| cause.to_string() == "server did not use channel binding")
}

/// [`connect`], with the channel binding the login requires or prefers.
async fn login(
    connection: &LoginFields,
    mode: TlsMode,
    startup: Startup,
    roots: &TlsRoots,
    config: &DatabaseConfig,
    binding: ChannelBinding,
) -> Result<PostgresSession, LoginFailure> {
    let mut pg = tokio_postgres::Config::new();
    pg.host(&connection.host)
        .port(connection.port)
        .user(&connection.username)
        .password(connection.password.expose().as_bytes())
        .dbname(connection.dbname.as_deref().unwrap_or(crate::defaults::DEFAULT_DBNAME))
        .application_name("rotor")
        .channel_binding(binding)
        .connect_timeout(config.connect_timeout)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(5));
    let notices = Notices::default();
    let attempt = async {
        let tls = match roots.client_config(mode)? {
            None => {
                tracing::warn!(host = %connection.address(), "TLS is disabled for this database: credentials cross the network in the clear");
                pg.ssl_mode(SslMode::Disable);
                None
            }
            Some(tls) => {
                pg.ssl_mode(SslMode::Require);
                Some(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
            }
        };
        let address = connection.address();
        let mut newer =
            if startup == Startup::Pinned(Purpose::Rotor) { &NEWER_PINS[refused_pins(&address)..] } else { &[] };
        loop {
            if let Startup::Pinned(purpose) = startup {
                pg.options(startup_options(purpose, config, newer));
            }
            rotation_core::telemetry::count_login();
            let login = match &tls {
                None => pg.connect(NoTls).await.map(|(client, conn)| spawn(client, conn, &notices)),
                Some(tls) => pg.connect(tls.clone()).await.map(|(client, conn)| spawn(client, conn, &notices)),
            };
            match login {
                Ok(client) => return Ok(client),
                Err(error) if error.code() == Some(&SqlState::UNDEFINED_OBJECT) && !newer.is_empty() => {
                    tracing::debug!(host = %address, pin = newer[0], "the server does not know this setting; logging in without it");
                    newer = &newer[1..];
                    remember_refused_pins(&address, NEWER_PINS.len() - newer.len());
                }
                Err(error) if binding == ChannelBinding::Require && is_unbound(&error) => {
                    return Err(LoginFailure::Unbound);
                }
                Err(error) => return Err(LoginFailure::Failed(classify(error, connection, mode))),
            }
        }
    };
    let client = tokio::time::timeout(config.connect_timeout, attempt).await.unwrap_or_else(|_| {
        Err(no_answer(connection, &format!("the login as {:?}", connection.username), config.connect_timeout).into())
    })?;
    Ok(PostgresSession { client, connection: connection.clone(), mode, bound: config.statement_bound(), notices })
}

/// Drives the connection in the background, keeping the warnings that a GRANT (01007) or REVOKE (01006) was not
/// applied, in order, for the call that caused them; other notices are dropped. Returns the client.
fn spawn<S, T>(client: Client, mut connection: tokio_postgres::Connection<S, T>, notices: &Notices) -> Client
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let notices = notices.clone();
    tokio::spawn(async move {
        while let Some(Ok(message)) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if let AsyncMessage::Notice(notice) = message
                && [SqlState::WARNING_PRIVILEGE_NOT_GRANTED, SqlState::WARNING_PRIVILEGE_NOT_REVOKED]
                    .contains(notice.code())
            {
                notices.lock().expect("the notice list is never poisoned").push(notice);
            }
        }
    });
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> DatabaseConfig {
        let env = rotation_core::Env::from_pairs([("STATEMENT_TIMEOUT_SECONDS".to_owned(), "4".to_owned())]);
        DatabaseConfig::from_env(&env).unwrap()
    }

    #[test]
    fn rotor_sessions_pin_what_a_database_could_steer_and_probes_keep_the_users_settings() {
        let rotor = startup_options(Purpose::Rotor, &config(), NEWER_PINS);
        for pin in [
            "-c statement_timeout=4000",
            "-c search_path=pg_catalog,pg_temp",
            "-c default_transaction_read_only=off",
            "-c default_transaction_isolation=read\\ committed",
            "-c role=none",
            "-c client_min_messages=warning",
            "-c lock_timeout=2000",
            "-c idle_in_transaction_session_timeout=4000",
            "-c transaction_timeout=0",
            "-c idle_session_timeout=0",
        ] {
            assert!(rotor.contains(pin), "{pin} in {rotor}");
        }
        let older = startup_options(Purpose::Rotor, &config(), &NEWER_PINS[1..]);
        assert!(!older.contains("transaction_timeout=0 ") && older.ends_with("-c idle_session_timeout=0"), "{older}");
        assert_eq!(startup_options(Purpose::Probe, &config(), &[]), "-c statement_timeout=4000");
    }
}
