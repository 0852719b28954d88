//! Logging in to MongoDB or DocumentDB as a user, in a TLS mode, and a session whose every command is bounded.

use std::time::Duration;

use mongodb::Client;
use mongodb::bson::{Document, doc};
use mongodb::options::{ClientOptions, Credential, ServerAddress, Tls, TlsOptions};
use rotation_core::{RotationError, TargetErrorKind};
use rotation_database::{DatabaseConfig, LoginFields, TlsMode, no_answer};

use crate::ca_file::CaFile;
use crate::defaults::DEFAULT_DBNAME;
use crate::error::classify;

/// A logged-in client of one server (a direct connection, one pooled connection), whose every command is bounded
/// on the client side: a server or a network that stops answering fails the command with a message naming the
/// host and what timed out.
pub struct MongoSession {
    connection: LoginFields,
    mode: TlsMode,
    bound: Duration,
    client: Client,
}

impl std::fmt::Debug for MongoSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        rotation_database::fmt_session(f, &self.connection, self.mode)
    }
}

impl rotation_database::Session for MongoSession {
    fn connection(&self) -> &LoginFields {
        &self.connection
    }
}

impl MongoSession {
    /// Runs `command` on database `db`; `what` names it in errors (never its fields, which may hold a password).
    pub async fn run(&self, what: &str, db: &str, command: Document) -> Result<Document, RotationError> {
        self.answer(what, db, command).await?.map_err(|e| self.fail(e, what))
    }

    /// The driver's answer to a command, within the session's bound.
    pub(crate) async fn answer(
        &self,
        what: &str,
        db: &str,
        command: Document,
    ) -> Result<Result<Document, mongodb::error::Error>, RotationError> {
        let database = self.client.database(db);
        tokio::time::timeout(self.bound, database.run_command(command))
            .await
            .map_err(|_| no_answer(&self.connection, &format!("{what} as {:?}", self.connection.username), self.bound))
    }

    /// The error a failed command of `what` is, classified.
    pub(crate) fn fail(&self, error: mongodb::error::Error, what: &str) -> RotationError {
        classify(error, &self.connection, self.mode, what)
    }

    /// The connection this session logged in with.
    pub fn connection(&self) -> &LoginFields {
        &self.connection
    }

    /// The logged-in user's authentication database (the secret's `dbname`, `admin` by default).
    pub fn auth_db(&self) -> &str {
        self.connection.dbname.as_deref().unwrap_or(DEFAULT_DBNAME)
    }
}

/// Why a TLS mode cannot be had from the MongoDB driver, which verifies the host name with the chain or nothing.
fn unsupported(connection: &LoginFields, mode: TlsMode) -> RotationError {
    RotationError::target(
        TargetErrorKind::Tls,
        connection.address(),
        format!(
            "TLS mode {} is not available for MongoDB and DocumentDB (the MongoDB driver checks the certificate's chain and host name together): use verify-full (a DocumentDB certificate names the cluster's endpoints), or require",
            mode.as_str()
        ),
    )
}

/// Logs in as `connection.username` to its authentication database (`dbname`) with the SCRAM mechanism the server
/// offers for the user (SCRAM-SHA-256, or SCRAM-SHA-1 on DocumentDB before 5.0), directly to the one server the
/// secret names (no discovery of other hosts). TLS is never dropped: in every mode but `disable` the server must
/// complete a TLS handshake verified against `roots` as the mode says. The login (server selection, TCP, TLS and
/// SCRAM together) is bounded by `CONNECT_TIMEOUT_SECONDS`; it is proven by a `connectionStatus` command, so a
/// session is returned only once the server has authenticated the user.
pub async fn connect(
    connection: &LoginFields,
    mode: TlsMode,
    roots: &CaFile,
    config: &DatabaseConfig,
) -> Result<MongoSession, RotationError> {
    let tls = match mode {
        TlsMode::Disable => {
            tracing::warn!(target = %connection.address(), "connecting without TLS (TLS_MODE or the secret's ssl field says disable)");
            Tls::Disabled
        }
        TlsMode::VerifyCa => return Err(unsupported(connection, mode)),
        TlsMode::Require => Tls::Enabled(
            TlsOptions::builder().ca_file_path(roots.path().to_owned()).allow_invalid_certificates(true).build(),
        ),
        TlsMode::VerifyFull => Tls::Enabled(TlsOptions::builder().ca_file_path(roots.path().to_owned()).build()),
    };
    let auth_db = connection.dbname.as_deref().unwrap_or(DEFAULT_DBNAME);
    let credential = Credential::builder()
        .username(connection.username.clone())
        .password(connection.password.expose().to_owned())
        .source(auth_db.to_owned())
        .build();
    let options = ClientOptions::builder()
        .hosts(vec![ServerAddress::Tcp { host: connection.host.clone(), port: Some(connection.port) }])
        .direct_connection(true)
        .credential(credential)
        .tls(tls)
        .connect_timeout(config.connect_timeout)
        .server_selection_timeout(config.connect_timeout)
        .max_pool_size(1)
        .min_pool_size(0)
        .retry_reads(false)
        .retry_writes(false)
        .app_name("rotor".to_owned())
        .build();
    let client = Client::with_options(options).map_err(|e| classify(e, connection, mode, "the login"))?;
    let session = MongoSession { connection: connection.clone(), mode, bound: config.statement_timeout, client };
    rotation_core::telemetry::count_login();
    let database = session.client.database(auth_db);
    let login = tokio::time::timeout(
        config.connect_timeout + Duration::from_secs(1),
        database.run_command(doc! { "connectionStatus": 1 }),
    );
    match login.await {
        Err(_) => Err(no_answer(connection, "the login", config.connect_timeout)),
        Ok(Err(error)) => Err(classify(error, connection, mode, "the login")),
        Ok(Ok(_)) => Ok(session),
    }
}

#[cfg(test)]
mod tests {
    /// The driver builds its TLS on aws-lc-rs's default rustls provider (its `rustls-tls-aws-lc` feature), not on
    /// rotor's: the FIPS build's features make that provider the FIPS one, its suites and groups FIPS-approved.
    #[test]
    fn the_drivers_tls_provider_is_fips_in_the_fips_build() {
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        assert_eq!(provider.fips(), rotation_core::FIPS_BUILD);
        let chacha = provider.cipher_suites.iter().any(|suite| format!("{:?}", suite.suite()).contains("CHACHA20"));
        assert_eq!(chacha, !rotation_core::FIPS_BUILD, "ChaCha20-Poly1305 only outside the FIPS build");
    }
}
