//! Connecting to PostgreSQL with a credential, in a TLS mode, within time-outs.

use rotation_core::RotationError;
use rotation_core::database::{Connection, TlsMode};
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, NoTls};

use crate::error::classify;
use crate::tls::TlsRoots;
use rotation_core::database::DatabaseConfig;

/// Logs in as `connection.username` and returns the client; the connection task runs in the background.
///
/// TLS is never dropped: in every mode but `disable` the server must accept TLS, and a failed handshake is an
/// error naming the host, the mode and the cause. `disable` logs a warning at every connection.
pub async fn connect(
    connection: &Connection,
    mode: TlsMode,
    roots: &TlsRoots,
    config: &DatabaseConfig,
) -> Result<Client, RotationError> {
    let mut pg = tokio_postgres::Config::new();
    pg.host(&connection.host)
        .port(connection.port)
        .user(&connection.username)
        .password(connection.password.as_bytes())
        .dbname(connection.dbname.as_deref().unwrap_or(crate::DEFAULT_DBNAME))
        .application_name("rotor")
        .connect_timeout(config.connect_timeout)
        .options(format!("-c statement_timeout={}", config.statement_timeout.as_millis()));
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
    // The connect time-out covers the TCP connect; this bounds the TLS handshake and authentication too.
    tokio::time::timeout(config.connect_timeout * 2, attempt).await.unwrap_or_else(|_| {
        Err(RotationError::target(
            rotation_core::TargetErrorKind::Unreachable,
            connection.address(),
            format!(
                "no answer within {:?}; check the host, the port, the security group, and that the function runs in the database's VPC",
                config.connect_timeout * 2
            ),
        ))
    })
}
