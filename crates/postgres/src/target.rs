//! The PostgreSQL target: next secret, set, test for the three strategies.

use rotation_core::database::{
    Admin, Connection, DatabaseConfig, Strategy, TlsMode, load_admin, next_secret, set_own_password, start_set,
    test_with_retries,
};
use rotation_core::rds::Rds;
use rotation_core::{Password, RotationError, Secret, SetContext, Target};
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

    fn connection(&self, secret: &Secret) -> Result<Connection, RotationError> {
        Connection::parse(secret, ENGINES, DEFAULT_PORT, Some(DEFAULT_DBNAME))
    }

    async fn login(&self, connection: &Connection, mode: TlsMode) -> Result<Client, RotationError> {
        connect(connection, mode, &self.roots, &self.config).await
    }

    /// Logs in with the admin secret named by the current secret's `masterarn`, in the user's database.
    async fn admin(&self, ctx: &SetContext<'_>, user: &Connection) -> Result<(Client, Admin), RotationError> {
        let admin = load_admin(ctx, &self.rds, user, self.config.tls_mode, |secret| self.connection(secret)).await?;
        let client = self.login(&admin.connection, admin.mode).await?;
        Ok((client, admin))
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
        let next = next_secret(current, &connection, self.config.strategy, password.into_inner())?;
        let username = next.require_str("username")?;
        if username.len() > MAX_NAME_BYTES {
            return Err(current.invalid(
                "username",
                format!(
                    "{username:?} is {} bytes, over PostgreSQL's {MAX_NAME_BYTES}-byte limit on names; use a shorter username",
                    username.len()
                ),
            ));
        }
        Ok(next)
    }

    async fn set(&self, ctx: &SetContext<'_>) -> Result<(), RotationError> {
        let connection_of = |secret: &Secret| self.connection(secret);
        let already = |pending: Connection, mode| async move { self.login(&pending, mode).await };
        let Some((current, pending)) =
            start_set(ctx, self.config.strategy, self.config.tls_mode, connection_of, already).await?
        else {
            return Ok(());
        };
        match self.config.strategy {
            Strategy::SingleUser => {
                set_own_password(ctx, self.config.tls_mode, connection_of, |login, mode| {
                    self.set_password_as(login, mode, &pending)
                })
                .await
            }
            Strategy::Admin => {
                let (client, admin) = self.admin(ctx, &current).await?;
                let statement = password_statement(&pending.username, &pending.password, "");
                client.batch_execute(&statement).await.map_err(|e| classify(e, &admin.connection, admin.mode))
            }
            Strategy::AlternatingUsers => {
                let (client, admin) = self.admin(ctx, &current).await?;
                let (active, inactive) = (&current.username, &pending.username);
                sync_and_set_password(&client, &admin.connection, admin.mode, active, inactive, &pending.password).await
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
