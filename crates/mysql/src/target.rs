//! The MySQL/MariaDB target: next secret, set, test and finish for the three strategies.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use rotation_core::database::{
    Admin, Connection, DatabaseConfig, Strategy, TlsMode, load_admin, next_secret, set_own_password, start_set,
    test_with_retries,
};
use rotation_core::rds::Rds;
use rotation_core::{FinishContext, Password, RotationError, Secret, SetContext, Target, TargetErrorKind};

use crate::account::Account;
use crate::clone::sync_and_set_password;
use crate::connect::{bounded, codes, connect, server_code};
use crate::statements::{PasswordChange, alter_password, discard_old_password, set_password};
use crate::{DEFAULT_PORT, ENGINES};

/// Rotates a MySQL or MariaDB credential by the configured strategy.
#[derive(Debug, Clone)]
pub struct MysqlTarget {
    config: DatabaseConfig,
    rds: Rds,
}

impl MysqlTarget {
    /// A target with its configuration and an RDS client for RDS-managed admin secrets.
    pub fn new(config: DatabaseConfig, rds: Rds) -> Self {
        Self { config, rds }
    }

    fn connection(&self, secret: &Secret) -> Result<Connection, RotationError> {
        Connection::parse(secret, ENGINES, DEFAULT_PORT, None)
    }

    async fn login(&self, connection: &Connection, mode: TlsMode) -> Result<Conn, RotationError> {
        connect(connection, mode, &self.config).await
    }

    /// The account the server logged `connection` in as: `CURRENT_USER()`, the real `user@host`.
    async fn account(&self, conn: &mut Conn, connection: &Connection, mode: TlsMode) -> Result<Account, RotationError> {
        let current: Option<String> =
            bounded(self.config.statement_timeout, connection, mode, conn.query_first("SELECT CURRENT_USER()")).await?;
        current.as_deref().and_then(Account::parse).ok_or_else(|| {
            RotationError::target(TargetErrorKind::Rejected, connection.address(), "CURRENT_USER() gave no user@host")
        })
    }

    /// Changes `account`'s password on `conn`: dual passwords where the server accepts them (MySQL 8.0.14+ with
    /// the privilege), else a plain `ALTER USER`, else MariaDB's `SET PASSWORD` for a user changing its own.
    /// What the server accepts is learned from the server's answers, not from a version string.
    async fn change_password(
        &self,
        conn: &mut Conn,
        connection: &Connection,
        mode: TlsMode,
        account: &Account,
        password: &str,
    ) -> Result<(), RotationError> {
        let limit = self.config.statement_timeout;
        let retain = alter_password(account, password, PasswordChange::RetainCurrent);
        let error = match bounded(limit, connection, mode, conn.query_drop(retain)).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        if !matches!(server_code(&error), Some(codes::PARSE_ERROR | codes::SPECIFIC_ACCESS_DENIED)) {
            return Err(error);
        }
        let replace = alter_password(account, password, PasswordChange::Replace);
        match bounded(limit, connection, mode, conn.query_drop(replace)).await {
            Err(error) if server_code(&error) == Some(codes::SPECIFIC_ACCESS_DENIED) => {
                bounded(limit, connection, mode, conn.query_drop(set_password(account, password))).await
            }
            other => other,
        }
    }

    async fn admin(&self, ctx: &SetContext<'_>, user: &Connection) -> Result<(Conn, Admin), RotationError> {
        let mut admin =
            load_admin(ctx, &self.rds, user, self.config.tls_mode, |secret| self.connection(secret)).await?;
        // MySQL accounts are server-wide: the admin needs no database.
        admin.connection.dbname = None;
        let conn = self.login(&admin.connection, admin.mode).await?;
        Ok((conn, admin))
    }

    /// The user's real account: as the server names it when the current credential logs in, else from the
    /// admin's view of `mysql.user` (which must hold exactly one account of that name).
    async fn user_account(
        &self,
        ctx: &SetContext<'_>,
        user: &Connection,
        conn: &mut Conn,
        admin: &Admin,
    ) -> Result<Account, RotationError> {
        let user_mode = TlsMode::for_secret(ctx.current, self.config.tls_mode)?;
        match self.login(user, user_mode).await {
            Ok(mut conn) => return self.account(&mut conn, user, user_mode).await,
            Err(error) if error.is_authentication_failure() => {}
            Err(error) => return Err(error),
        }
        let hosts: Vec<String> = bounded(
            self.config.statement_timeout,
            &admin.connection,
            admin.mode,
            conn.exec("SELECT Host FROM mysql.user WHERE User = ?", (user.username.clone(),)),
        )
        .await?;
        match hosts.as_slice() {
            [host] => Ok(Account { user: user.username.clone(), host: host.clone() }),
            _ => Err(RotationError::target(
                TargetErrorKind::Rejected,
                user.address(),
                format!(
                    "the current password does not log in and {} accounts are named {:?}; fix the secret so it logs in",
                    hosts.len(),
                    user.username
                ),
            )),
        }
    }
}

impl Target for MysqlTarget {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        next_secret(current, &self.connection(current)?, self.config.strategy, password.into_inner())
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
                let password = pending.password.as_str();
                set_own_password(ctx, self.config.tls_mode, connection_of, |login, mode| async move {
                    let mut conn = self.login(&login, mode).await?;
                    let account = self.account(&mut conn, &login, mode).await?;
                    self.change_password(&mut conn, &login, mode, &account, password).await
                })
                .await
            }
            Strategy::Admin => {
                let (mut conn, admin) = self.admin(ctx, &current).await?;
                let account = self.user_account(ctx, &current, &mut conn, &admin).await?;
                self.change_password(&mut conn, &admin.connection, admin.mode, &account, &pending.password).await
            }
            Strategy::AlternatingUsers => {
                let (mut conn, admin) = self.admin(ctx, &current).await?;
                let active = self.user_account(ctx, &current, &mut conn, &admin).await?;
                let inactive = active.with_user(&pending.username);
                let (connection, mode) = (&admin.connection, admin.mode);
                sync_and_set_password(&mut conn, connection, mode, &self.config, &active, &inactive, &pending.password)
                    .await
            }
        }
    }

    async fn test(&self, pending: &Secret) -> Result<(), RotationError> {
        let connection = self.connection(pending)?;
        let mode = TlsMode::for_secret(pending, self.config.tls_mode)?;
        test_with_retries(&self.config.test_backoff, || async {
            let mut conn = self.login(&connection, mode).await?;
            bounded(self.config.statement_timeout, &connection, mode, conn.query_drop(self.config.test_query.clone()))
                .await
        })
        .await
    }

    async fn finish(&self, ctx: &FinishContext<'_>) -> Result<(), RotationError> {
        // Only a dual-password change left an old password to discard; the clone strategy never makes one.
        if self.config.strategy == Strategy::AlternatingUsers {
            return Ok(());
        }
        let pending = ctx.pending().await?;
        let connection = self.connection(&pending)?;
        let mode = TlsMode::for_secret(&pending, self.config.tls_mode)?;
        let mut conn = self.login(&connection, mode).await?;
        let account = self.account(&mut conn, &connection, mode).await?;
        match bounded(self.config.statement_timeout, &connection, mode, conn.query_drop(discard_old_password(&account)))
            .await
        {
            Err(error) if matches!(server_code(&error), Some(codes::PARSE_ERROR | codes::SPECIFIC_ACCESS_DENIED)) => {
                Ok(())
            }
            other => other,
        }
    }
}
