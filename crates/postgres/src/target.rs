//! The PostgreSQL target: next secret, set, test for the three strategies.

use rotation_core::{Password, RotationError, Secret, SetContext, Target, TestContext};
use rotation_database::rds::Rds;
use rotation_database::{
    Connection, DatabaseConfig, PendingCheck, Strategy, TlsMode, load_admin, next_secret, refuse_privileged,
    set_own_password, start_set, test_with_retries,
};

use crate::alternating::{privileged_rights, sync_and_set_password};
use crate::connect::{Purpose, Session, connect};
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

    async fn login(&self, connection: &Connection, mode: TlsMode) -> Result<Session, RotationError> {
        connect(connection, mode, Purpose::Rotor, &self.roots, &self.config).await
    }

    /// Logs in with the admin secret named by the current secret's `masterarn`, in the user's database.
    async fn admin(&self, ctx: &SetContext<'_>, user: &Connection) -> Result<Session, RotationError> {
        let admin = load_admin(ctx, &self.rds, user, &self.config, |secret| self.connection(secret)).await?;
        self.login(&admin.connection, admin.mode).await
    }

    /// Refuses users the admin must not act on: itself, and users with administrative rights (unless allowed).
    async fn refuse_privileged(&self, admin: &Session, users: &[&str]) -> Result<(), RotationError> {
        for user in users {
            let rights = privileged_rights(admin, user).await?;
            refuse_privileged(&self.config, admin.connection(), user, &rights)?;
        }
        Ok(())
    }

    /// Logs in as `login` and sets the pending password of the same user.
    async fn set_password_as(
        &self,
        login: Connection,
        mode: TlsMode,
        pending: &Connection,
    ) -> Result<(), RotationError> {
        let session = self.login(&login, mode).await?;
        session.execute(&password_statement(&pending.username, &pending.password, "")).await
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
        let Some((current, pending)) = start_set(
            ctx,
            self.config.strategy,
            self.config.tls,
            PendingCheck::WhenCurrentIsRefused,
            connection_of,
            already,
        )
        .await?
        else {
            return Ok(());
        };
        match self.config.strategy {
            Strategy::SingleUser => {
                set_own_password(ctx, self.config.tls, connection_of, |login, mode| {
                    self.set_password_as(login, mode, &pending)
                })
                .await
            }
            Strategy::Admin => {
                let admin = self.admin(ctx, &current).await?;
                self.refuse_privileged(&admin, &[&pending.username]).await?;
                admin.execute(&password_statement(&pending.username, &pending.password, "")).await
            }
            Strategy::AlternatingUsers => {
                let admin = self.admin(ctx, &current).await?;
                let (active, inactive) = (&current.username, &pending.username);
                self.refuse_privileged(&admin, &[active, inactive]).await?;
                sync_and_set_password(&admin, active, inactive, &pending.password).await
            }
        }
    }

    async fn test(&self, ctx: &TestContext<'_>) -> Result<(), RotationError> {
        let connection = self.connection(ctx.pending)?;
        let mode = self.config.tls.for_secret(ctx.pending)?;
        let (backoff, bound) = (&self.config.test_backoff, self.config.test_attempt_bound());
        test_with_retries(backoff, bound, ctx.deadline, || async {
            let session = connect(&connection, mode, Purpose::Probe, &self.roots, &self.config).await?;
            session.simple_query(&self.config.test_query).await
        })
        .await
    }
}
