//! The PostgreSQL target: next secret, set, test for the three strategies.

use rotation_core::database::{
    Connection, DatabaseConfig, Strategy, TlsMode, check_same_target, other_username, set_own_password,
    test_with_retries,
};
use rotation_core::rds::Rds;
use rotation_core::{Password, RotationError, Secret, SetContext, Target, TargetErrorKind};
use tokio_postgres::Client;

use crate::alternating::sync_and_set_password;
use crate::connect::connect;
use crate::error::classify;
use crate::password::password_statement;
use crate::tls::TlsRoots;
use crate::{DEFAULT_DBNAME, DEFAULT_PORT, ENGINES, MAX_NAME_BYTES};

/// Rotates a PostgreSQL credential by the configured strategy.
#[derive(Debug, Clone)]
pub struct PostgresTarget {
    config: DatabaseConfig,
    roots: TlsRoots,
    rds: Rds,
}

impl PostgresTarget {
    /// A target with its configuration, the trusted roots, and an RDS client for RDS-managed admin secrets.
    pub fn new(config: DatabaseConfig, roots: TlsRoots, rds: Rds) -> Self {
        Self { config, roots, rds }
    }

    /// The admin secret's connection: its own fields, or, for a secret RDS manages (a username and a password
    /// only), the endpoint RDS describes for the database named in its tags.
    async fn admin_connection(
        &self,
        ctx: &SetContext<'_>,
        arn: &str,
        secret: &Secret,
    ) -> Result<Connection, RotationError> {
        if secret.get("host").is_some() {
            return self.connection(secret);
        }
        let description = ctx.describe_secret(arn).await?;
        let endpoint = self.rds.endpoint_of(&description).await?.ok_or_else(|| {
            secret.invalid("host", "is missing, and the secret has no aws:rds:primaryDBInstanceArn or aws:rds:primaryDBClusterArn tag to find it by")
        })?;
        Ok(Connection {
            engine: endpoint.engine,
            host: endpoint.host,
            port: endpoint.port,
            dbname: None,
            username: secret.require_str("username")?.to_owned(),
            password: secret.require_str("password")?.to_owned(),
        })
    }

    fn connection(&self, secret: &Secret) -> Result<Connection, RotationError> {
        Connection::parse(secret, ENGINES, DEFAULT_PORT, Some(DEFAULT_DBNAME))
    }

    async fn login(&self, connection: &Connection, mode: TlsMode) -> Result<Client, RotationError> {
        connect(connection, mode, &self.roots, &self.config).await
    }

    /// Logs in with the admin secret named by the current secret's `masterarn`, in the user's database.
    async fn admin(
        &self,
        ctx: &SetContext<'_>,
        user: &Connection,
    ) -> Result<(Client, Connection, TlsMode), RotationError> {
        let arn = ctx.current.require_str("masterarn")?;
        let secret = ctx.load_secret(arn).await?;
        let mut admin = self.admin_connection(ctx, arn, &secret).await?;
        if !admin.host.eq_ignore_ascii_case(&user.host) || admin.port != user.port {
            return Err(RotationError::target(
                TargetErrorKind::ConfusedDeputy,
                user.address(),
                format!(
                    "the admin secret {arn} names another server ({}); it must manage the user's own server",
                    admin.address()
                ),
            ));
        }
        admin.dbname = user.dbname.clone();
        let mode = TlsMode::for_secret(&secret, self.config.tls_mode)?;
        let client = self.login(&admin, mode).await?;
        Ok((client, admin, mode))
    }

    /// Logs in as `login` and sets the pending password of the same user.
    async fn set_password_as(
        &self,
        login: Connection,
        mode: TlsMode,
        pending: &Connection,
    ) -> Result<(), RotationError> {
        let client = self.login(&login, mode).await?;
        let statement = password_statement(&pending.username, &pending.password, "");
        client.batch_execute(&statement).await.map_err(|e| classify(e, &login, mode))
    }
}

impl Target for PostgresTarget {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        let connection = self.connection(current)?;
        if self.config.strategy.needs_admin() {
            current.require_str("masterarn")?;
        }
        let next = current.with_field("password", password.into_inner())?;
        if self.config.strategy != Strategy::AlternatingUsers {
            return Ok(next);
        }
        let username = other_username(&connection.username);
        if username.len() > MAX_NAME_BYTES {
            return Err(current.invalid(
                "username",
                format!(
                    "{:?} is {} bytes with the _clone suffix, over PostgreSQL's {MAX_NAME_BYTES}-byte limit on names; use a shorter username",
                    connection.username,
                    username.len()
                ),
            ));
        }
        next.with_field("username", username)
    }

    async fn set(&self, ctx: &SetContext<'_>) -> Result<(), RotationError> {
        let current = self.connection(ctx.current)?;
        let pending = self.connection(ctx.pending)?;
        check_same_target(&current, &pending, self.config.strategy)?;
        let pending_mode = TlsMode::for_secret(ctx.pending, self.config.tls_mode)?;
        match self.login(&pending, pending_mode).await {
            Ok(_) => return Ok(()),
            Err(error) if error.is_authentication_failure() => {}
            Err(error) => return Err(error),
        }
        match self.config.strategy {
            Strategy::SingleUser => {
                let connection_of = |secret: &Secret| self.connection(secret);
                set_own_password(ctx, self.config.tls_mode, connection_of, |login, mode| {
                    self.set_password_as(login, mode, &pending)
                })
                .await
            }
            Strategy::Admin => {
                let (client, admin, mode) = self.admin(ctx, &current).await?;
                let statement = password_statement(&pending.username, &pending.password, "");
                client.batch_execute(&statement).await.map_err(|e| classify(e, &admin, mode))
            }
            Strategy::AlternatingUsers => {
                let (client, admin, mode) = self.admin(ctx, &current).await?;
                sync_and_set_password(&client, &admin, mode, &current.username, &pending.username, &pending.password)
                    .await
            }
        }
    }

    async fn test(&self, pending: &Secret) -> Result<(), RotationError> {
        let connection = self.connection(pending)?;
        let mode = TlsMode::for_secret(pending, self.config.tls_mode)?;
        test_with_retries(&self.config.test_backoff, || async {
            let client = self.login(&connection, mode).await?;
            client.simple_query(&self.config.test_query).await.map_err(|e| classify(e, &connection, mode))?;
            Ok(())
        })
        .await
    }
}
