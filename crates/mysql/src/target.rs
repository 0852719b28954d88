//! The MySQL/MariaDB target: next secret, set and test for the three strategies.

use rotation_core::{CreateContext, Password, RotationError, Secret, SetContext, Target, TargetErrorKind, TestContext};
use rotation_database::rds::Rds;
use rotation_database::{
    Connection, DatabaseConfig, PendingCheck, Strategy, TlsMode, load_admin, next_secret, refuse_privileged,
    set_own_password, start_set, test_with_retries,
};

use crate::account::{Account, unsafe_name};
use crate::clone::{name_limit, privileged_rights, sync_and_set_password};
use crate::connect::{Session, codes, connect, server_code};
use crate::statements::{Flavor, PasswordChange, alter_password, credential_texts, set_password_hash};
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

    async fn login(&self, connection: &Connection, mode: TlsMode) -> Result<Session, RotationError> {
        connect(connection, mode, &self.config).await
    }

    /// The account the server logged the session in as (`CURRENT_USER()`, the real `user@host`), and the
    /// server's flavor.
    async fn account(&self, session: &mut Session) -> Result<(Account, Flavor), RotationError> {
        let row: Option<(String, String)> = session.first("SELECT CURRENT_USER(), @@version").await?;
        let (current, version) = row.unwrap_or_default();
        let account = Account::parse(&current).map_err(|reason| {
            RotationError::target(TargetErrorKind::Rejected, session.connection().address(), reason)
        })?;
        Ok((account, Flavor::of_version(&version)))
    }

    /// Changes `account`'s password on `session`, sending the password's hash to MariaDB. MySQL: dual passwords
    /// where the server accepts them (8.0.14+ with the privilege), else a plain `ALTER USER`. MariaDB: `ALTER
    /// USER`, else `SET PASSWORD` for a user changing its own. What the server accepts is learned from its answers.
    async fn change_password(
        &self,
        session: &mut Session,
        flavor: Flavor,
        account: &Account,
        password: &str,
    ) -> Result<(), RotationError> {
        let secrets = credential_texts(password);
        let first = match flavor {
            Flavor::Mysql => PasswordChange::RetainCurrent,
            Flavor::MariaDb => PasswordChange::Replace,
        };
        let error = match session.execute_credential(alter_password(flavor, account, password, first), &secrets).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        match (flavor, server_code(&error)) {
            (Flavor::Mysql, Some(codes::PARSE_ERROR | codes::SPECIFIC_ACCESS_DENIED)) => {
                let replace = alter_password(flavor, account, password, PasswordChange::Replace);
                session.execute_credential(replace, &secrets).await
            }
            (Flavor::MariaDb, Some(codes::SPECIFIC_ACCESS_DENIED)) => {
                session.execute_credential(set_password_hash(account, password), &secrets).await
            }
            _ => Err(error),
        }
    }

    /// Logs in with the (pinned) admin secret; its flavor and own account come with it.
    async fn admin(&self, ctx: &SetContext<'_>, user: &Connection) -> Result<(Session, Flavor), RotationError> {
        let mut admin = load_admin(ctx, &self.rds, user, &self.config, |secret| self.connection(secret)).await?;
        // MySQL accounts are server-wide: the admin needs no database.
        admin.connection.dbname = None;
        let mut session = self.login(&admin.connection, admin.mode).await?;
        let (_, flavor) = self.account(&mut session).await?;
        Ok((session, flavor))
    }

    /// The user's real account: as the server names it when the current credential logs in, else from the
    /// admin's view of `mysql.user` (which must hold exactly one account of that name).
    async fn user_account(
        &self,
        ctx: &SetContext<'_>,
        user: &Connection,
        admin: &mut Session,
    ) -> Result<Account, RotationError> {
        let user_mode = self.config.tls.for_secret(ctx.current)?;
        match self.login(user, user_mode).await {
            Ok(mut session) => return self.account(&mut session).await.map(|(account, _)| account),
            Err(error) if error.is_authentication_failure() => {}
            Err(error) => return Err(error),
        }
        let hosts: Vec<String> =
            admin.exec("SELECT Host FROM mysql.user WHERE User = ?", (user.username.clone(),)).await?;
        match hosts.as_slice() {
            [host] => Account::new(&user.username, host)
                .map_err(|reason| RotationError::target(TargetErrorKind::Rejected, user.address(), reason)),
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

    /// Refuses accounts the admin must not act on: itself, and those with administrative rights (unless allowed).
    async fn refuse_privileged(&self, admin: &mut Session, accounts: &[&Account]) -> Result<(), RotationError> {
        for account in accounts {
            let rights = privileged_rights(admin, account).await?;
            refuse_privileged(&self.config, admin.connection(), &account.user, &rights)?;
        }
        Ok(())
    }
}

impl Target for MysqlTarget {
    fn name(&self) -> &'static str {
        "mysql"
    }

    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        let next = next_secret(current, &self.connection(current)?, self.config.strategy, password.into_inner())?;
        let username = next.require_str("username")?;
        if let Some(reason) = unsafe_name(username) {
            return Err(
                current.invalid("username", format!("{username:?} {reason}; rotor refuses such MySQL user names"))
            );
        }
        Ok(next)
    }

    /// The next secret; for alternating users, the clone's name is checked against the longest user name the
    /// server takes (its `mysql.user` column, read by the admin) before anything is stored.
    async fn create(
        &self,
        ctx: &CreateContext<'_>,
        current: &Secret,
        password: Password,
    ) -> Result<Secret, RotationError> {
        let next = self.next_secret(current, password)?;
        if self.config.strategy == Strategy::AlternatingUsers {
            let user = self.connection(current)?;
            let (mut admin, _) = self.admin(&ctx.lookup(&next, current), &user).await?;
            let clone = next.require_str("username")?;
            if let Some(max) = name_limit(&mut admin).await?
                && clone.chars().count() as u64 > max
            {
                return Err(current.invalid(
                    "username",
                    format!(
                        "gives the other user the name {clone:?}, over the {max} characters this server's mysql.user takes; use a shorter username"
                    ),
                ));
            }
        }
        Ok(next)
    }

    async fn set(&self, ctx: &SetContext<'_>) -> Result<(), RotationError> {
        let connection_of = |secret: &Secret| self.connection(secret);
        let already = |pending: Connection, mode| async move { self.login(&pending, mode).await };
        let Some((current, pending)) =
            start_set(ctx, self.config.strategy, self.config.tls, PendingCheck::First, connection_of, already).await?
        else {
            return Ok(());
        };
        match self.config.strategy {
            Strategy::SingleUser => {
                let password = pending.password.as_str();
                set_own_password(ctx, self.config.tls, connection_of, |login, mode| async move {
                    let mut session = self.login(&login, mode).await?;
                    let (account, flavor) = self.account(&mut session).await?;
                    self.change_password(&mut session, flavor, &account, password).await
                })
                .await
            }
            Strategy::Admin => {
                let (mut admin, flavor) = self.admin(ctx, &current).await?;
                let account = self.user_account(ctx, &current, &mut admin).await?;
                self.refuse_privileged(&mut admin, &[&account]).await?;
                self.change_password(&mut admin, flavor, &account, &pending.password).await
            }
            Strategy::AlternatingUsers => {
                let (mut admin, flavor) = self.admin(ctx, &current).await?;
                let active = self.user_account(ctx, &current, &mut admin).await?;
                let inactive =
                    active.with_user(&pending.username).map_err(|reason| ctx.pending.invalid("username", reason))?;
                self.refuse_privileged(&mut admin, &[&active, &inactive]).await?;
                sync_and_set_password(&mut admin, flavor, &active, &inactive, &pending.password).await
            }
        }
    }

    async fn test(&self, ctx: &TestContext<'_>) -> Result<(), RotationError> {
        let connection = self.connection(ctx.pending)?;
        let mode = self.config.tls.for_secret(ctx.pending)?;
        let (backoff, bound) = (&self.config.test_backoff, self.config.test_attempt_bound());
        test_with_retries(backoff, bound, ctx.deadline, || async {
            let mut session = self.login(&connection, mode).await?;
            session.execute(&self.config.test_query).await
        })
        .await
    }
}
