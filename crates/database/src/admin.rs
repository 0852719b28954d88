//! The admin secret (`masterarn`) of the admin and alternating-users strategies.

use crate::config::DatabaseConfig;
use crate::engine::Engine;
use crate::login::LoginFields;
use crate::rds::Rds;
use crate::tls_mode::TlsMode;
use rotation_core::{Password, RotationError, SetContext, TargetErrorKind};

/// The admin's connection and TLS mode, ready to log in.
#[derive(Debug, Clone)]
pub struct Admin {
    /// Where and as whom to log in; the database is the user's.
    pub connection: LoginFields,
    /// The TLS mode of the admin secret.
    pub mode: TlsMode,
}

/// Reads the admin secret named by the current secret's `masterarn`, checking that the function's
/// `ADMIN_SECRET_ARNS` allows it (compared by the ARN Secrets Manager resolves it to, before its value is used;
/// a `masterarn` the list does not allow as written is resolved before its value is read), and that it manages
/// the user's server.
///
/// A secret RDS or Redshift manages holds only a username and a password: its database is found, as AWS's
/// functions find it, through its tags: first by `engine`'s own service ([`Engine::managed_admin_endpoint`]:
/// Redshift's `aws:redshift:primaryclusterarn`/`aws:redshift-serverless:namespacearn`), then by RDS's
/// description (`aws:rds:primaryDBInstanceArn`/`aws:rds:primaryDBClusterArn`). `engine` parses a secret with all
/// its fields.
pub async fn load_admin(
    ctx: &SetContext<'_>,
    rds: &Rds,
    user: &LoginFields,
    config: &DatabaseConfig,
    engine: &impl Engine,
) -> Result<Admin, RotationError> {
    let named = ctx.current.require_str("masterarn")?;
    let missing = || {
        ctx.current
            .invalid("masterarn", "names a secret that does not exist or has no AWSCURRENT value; check the masterarn")
    };
    // A masterarn the configuration lists as it is written (AWS's secrets name the admin by its full ARN) is read
    // directly; anything else (a name, a partial ARN) is resolved with DescribeSecret first. Either way the check
    // is made on the ARN Secrets Manager resolved, before the value is used.
    let (arn, secret, description) = if config.admin_secrets.allows(named) {
        let (arn, secret) = ctx.load_secret_resolved(named).await?;
        check_admin_allowed(config, &arn, user)?;
        (arn, secret, None)
    } else {
        let description = ctx.describe_secret(named).await?.ok_or_else(missing)?;
        check_admin_allowed(config, &description.arn, user)?;
        let secret = ctx.load_secret(&description.arn).await?;
        (description.arn.clone(), secret, Some(description))
    };
    let arn = arn.as_str();
    let mut connection = if secret.get("host").is_some() {
        engine.connection(&secret)?
    } else {
        // An admin secret RDS or Redshift manages names its database only in its tags.
        let description = match description {
            Some(description) => description,
            None => ctx.describe_secret(arn).await?.ok_or_else(missing)?,
        };
        let endpoint = match engine.managed_admin_endpoint(&description).await? {
            Some(endpoint) => Some(endpoint),
            None => rds.endpoint_of(&description).await?,
        };
        let endpoint = endpoint.ok_or_else(|| {
            secret.invalid(
                "host",
                "is missing, and the secret has no aws:rds:primaryDBInstanceArn, aws:rds:primaryDBClusterArn, aws:redshift:primaryclusterarn or aws:redshift-serverless:namespacearn tag to find it by",
            )
        })?;
        LoginFields {
            engine: endpoint.engine,
            host: endpoint.host,
            port: endpoint.port,
            dbname: None,
            username: secret.require_str("username")?.to_owned(),
            password: Password::new(secret.require_str("password")?.to_owned()),
        }
    };
    check_same_server(arn, &connection, user)?;
    if !engine_uses_own_database(engine) {
        connection.dbname = user.dbname.clone();
    }
    Ok(Admin { connection, mode: config.tls.for_secret(&secret)? })
}

/// [`Engine::ADMIN_USES_ITS_OWN_DATABASE`] of `engine`'s type.
fn engine_uses_own_database<E: Engine>(_engine: &E) -> bool {
    E::ADMIN_USES_ITS_OWN_DATABASE
}

/// Refuses an admin secret (by the full ARN Secrets Manager resolved it to) that the function's
/// `ADMIN_SECRET_ARNS` does not list: a user secret cannot choose its admin.
pub fn check_admin_allowed(config: &DatabaseConfig, arn: &str, user: &LoginFields) -> Result<(), RotationError> {
    if config.admin_secrets.allows(arn) {
        return Ok(());
    }
    Err(RotationError::target(
        TargetErrorKind::ConfusedDeputy,
        user.address(),
        format!(
            "the secret's masterarn names {arn}, which this function's ADMIN_SECRET_ARNS does not list; a user secret may only name an admin secret the function's configuration allows"
        ),
    ))
}

/// Refuses an admin secret that names another server than the user's.
pub fn check_same_server(arn: &str, admin: &LoginFields, user: &LoginFields) -> Result<(), RotationError> {
    if admin.host.eq_ignore_ascii_case(&user.host) && admin.port == user.port {
        return Ok(());
    }
    Err(RotationError::target(
        TargetErrorKind::ConfusedDeputy,
        user.address(),
        format!(
            "the admin secret {arn} names another server ({}); it must manage the user's own server",
            admin.address()
        ),
    ))
}

/// Refuses to let the admin act on a user that is the admin itself, or that holds administrative rights, unless
/// the function's `ALLOW_PRIVILEGED_USERS` opts in. `rights` names what the engine found (empty: none).
pub fn refuse_privileged(
    config: &DatabaseConfig,
    admin: &LoginFields,
    user: &str,
    rights: &[String],
) -> Result<(), RotationError> {
    let reason = if user == admin.username {
        "is the admin secret's own user".to_owned()
    } else if !rights.is_empty() && !config.allow_privileged_users {
        format!("holds administrative rights ({})", rights.join(", "))
    } else {
        return Ok(());
    };
    Err(RotationError::target(
        TargetErrorKind::ConfusedDeputy,
        admin.address(),
        format!(
            "user {user:?} {reason}: the admin does not set its password from a user secret; rotate it with its own single-user secret{}",
            if user == admin.username {
                ""
            } else {
                ", or set ALLOW_PRIVILEGED_USERS=true on the function if this is intended"
            }
        ),
    ))
}
