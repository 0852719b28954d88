//! The admin secret (`masterarn`) of the admin and alternating-users strategies.

use crate::database::{Connection, TlsMode};
use crate::rds::Rds;
use crate::{RotationError, Secret, SetContext, TargetErrorKind};

/// The admin's connection and TLS mode, ready to log in.
#[derive(Debug, Clone)]
pub struct Admin {
    /// Where and as whom to log in; the database is the user's.
    pub connection: Connection,
    /// The TLS mode of the admin secret.
    pub mode: TlsMode,
}

/// Reads the admin secret named by the current secret's `masterarn` and checks it manages the user's server.
///
/// A secret RDS manages holds only a username and a password: its database is found, as AWS's functions find
/// it, through its `aws:rds:primaryDBInstanceArn`/`aws:rds:primaryDBClusterArn` tag and RDS's description.
/// `connection_of` parses a secret with all its fields.
pub async fn load_admin(
    ctx: &SetContext<'_>,
    rds: &Rds,
    user: &Connection,
    default_mode: TlsMode,
    connection_of: impl Fn(&Secret) -> Result<Connection, RotationError>,
) -> Result<Admin, RotationError> {
    let arn = ctx.current.require_str("masterarn")?;
    let secret = ctx.load_secret(arn).await?;
    let mut connection = if secret.get("host").is_some() {
        connection_of(&secret)?
    } else {
        let description = ctx.describe_secret(arn).await?;
        let endpoint = rds.endpoint_of(&description).await?.ok_or_else(|| {
            secret.invalid(
                "host",
                "is missing, and the secret has no aws:rds:primaryDBInstanceArn or aws:rds:primaryDBClusterArn tag to find it by",
            )
        })?;
        Connection {
            engine: endpoint.engine,
            host: endpoint.host,
            port: endpoint.port,
            dbname: None,
            username: secret.require_str("username")?.to_owned(),
            password: secret.require_str("password")?.to_owned(),
        }
    };
    if !connection.host.eq_ignore_ascii_case(&user.host) || connection.port != user.port {
        return Err(RotationError::target(
            TargetErrorKind::ConfusedDeputy,
            user.address(),
            format!(
                "the admin secret {arn} names another server ({}); it must manage the user's own server",
                connection.address()
            ),
        ));
    }
    connection.dbname = user.dbname.clone();
    Ok(Admin { connection, mode: TlsMode::for_secret(&secret, default_mode)? })
}
