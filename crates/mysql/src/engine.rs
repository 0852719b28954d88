//! [`MysqlEngine`]: MySQL and MariaDB for rotation-database's [`DatabaseTarget`](rotation_database::DatabaseTarget).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rotation_core::{Password, RotationError, Secret, TargetErrorKind};
use rotation_database::{DatabaseConfig, Engine, LoginFields, Purpose, TlsMode};

use crate::account::{Account, unsafe_name};
use crate::alternating::{name_limit, sync_and_set_password};
use crate::connect::{MysqlSession, connect};
use crate::defaults::{DEFAULT_PORT, ENGINES, NAME_EVERY_SERVER_TAKES};
use crate::error::codes;
use crate::privileges::privileged_rights;
use crate::statements::{PasswordChange, alter_password, credential_texts, set_password_hash};
use crate::version::Flavor;

/// How long the account a proof found answers [`Engine::user`]: within one setSecret, never a later one.
const PROVEN_FOR: Duration = Duration::from_secs(10);

/// MySQL, MariaDB and Aurora MySQL: accounts `user@host` as the server names them, passwords sent as hashes to
/// MariaDB, MySQL 8's dual passwords where the server accepts them.
#[derive(Debug, Clone, Default)]
pub struct MysqlEngine {
    /// The account the last proof of possession found, with the login that found it and when: setSecret's next
    /// question ([`Engine::user`]) about the same login, within [`PROVEN_FOR`], takes it instead of logging in
    /// again.
    proven: Arc<Mutex<Option<(LoginFields, Account, Instant)>>>,
}

impl rotation_database::Session for MysqlSession {
    fn connection(&self) -> &LoginFields {
        MysqlSession::connection(self)
    }
}

impl MysqlEngine {
    /// Changes `account`'s password on `session`, sending the password's hash to MariaDB. MySQL: dual passwords
    /// where the server accepts them (8.0.14+ with the privilege), else a plain `ALTER USER`. MariaDB: `ALTER
    /// USER`, else `SET PASSWORD` for a user changing its own. What the server accepts is learned from its answers.
    async fn change_password(
        &self,
        session: &mut MysqlSession,
        account: &Account,
        password: &Password,
    ) -> Result<(), RotationError> {
        let flavor = session.flavor().await?;
        // The statements below go to the driver: the value leaves its wrapper here, as its hash for MariaDB.
        let password = password.expose();
        let secrets = credential_texts(password);
        let first = match flavor {
            Flavor::Mysql => PasswordChange::RetainCurrent,
            Flavor::MariaDb => PasswordChange::Replace,
        };
        let error = match session.execute_credential(alter_password(flavor, account, password, first), &secrets).await {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        match (flavor, error.server_code()) {
            (Flavor::Mysql, Some(codes::PARSE_ERROR | codes::SPECIFIC_ACCESS_DENIED)) => {
                let replace = alter_password(flavor, account, password, PasswordChange::Replace);
                session.execute_credential(replace, &secrets).await.map_err(RotationError::from)
            }
            (Flavor::MariaDb, Some(codes::SPECIFIC_ACCESS_DENIED)) => session
                .execute_credential(set_password_hash(account, password), &secrets)
                .await
                .map_err(RotationError::from),
            _ => Err(error.into()),
        }
    }
}

/// Logs in as `connection`'s user and returns the account the server names; `None` when the password is refused
/// or the server logged the client in as another account: a user without an account for the client's host is
/// logged in as an anonymous account (`''@'%'`), which proves nothing about the user and must never be changed.
async fn own_account(
    config: &DatabaseConfig,
    connection: &LoginFields,
    mode: TlsMode,
) -> Result<Option<Account>, RotationError> {
    match connect(connection, mode, config).await {
        Ok(mut session) => {
            let account = session.current_account().await?;
            Ok((account.user == connection.username).then_some(account))
        }
        Err(error) if error.is_authentication_failure() => Ok(None),
        Err(error) => Err(error),
    }
}

impl Engine for MysqlEngine {
    type Session = MysqlSession;
    type User = Account;

    /// `RETAIN CURRENT PASSWORD` with the same password again would drop the retained one.
    const CHECK_PENDING_FIRST: bool = true;

    /// A name of at most [`NAME_EVERY_SERVER_TAKES`] characters needs no admin at createSecret.
    fn asks_about_name(&self, name: &str) -> bool {
        name.chars().count() > NAME_EVERY_SERVER_TAKES
    }

    fn name(&self) -> &'static str {
        "mysql"
    }

    fn connection(&self, secret: &Secret) -> Result<LoginFields, RotationError> {
        LoginFields::parse(secret, ENGINES, DEFAULT_PORT, None)
    }

    fn check_username(&self, secret: &Secret, username: &str) -> Result<(), RotationError> {
        match unsafe_name(username) {
            Some(reason) => {
                Err(secret.invalid("username", format!("{username:?} {reason}; rotor refuses such MySQL user names")))
            }
            None => Ok(()),
        }
    }

    /// MySQL accounts are server-wide: the admin needs no database.
    fn admin_connection(&self, mut admin: LoginFields) -> LoginFields {
        admin.dbname = None;
        admin
    }

    async fn login(
        &self,
        config: &DatabaseConfig,
        connection: &LoginFields,
        mode: TlsMode,
        _purpose: Purpose,
    ) -> Result<MysqlSession, RotationError> {
        connect(connection, mode, config).await
    }

    /// A login proves possession only when the server logs the client in as the user it asked for.
    async fn proves(
        &self,
        config: &DatabaseConfig,
        connection: &LoginFields,
        mode: TlsMode,
    ) -> Result<bool, RotationError> {
        let account = own_account(config, connection, mode).await?;
        let proven = account.is_some();
        *self.proven.lock().expect("never poisoned") =
            account.map(|account| (connection.clone(), account, Instant::now()));
        Ok(proven)
    }

    async fn set_own_password(&self, session: &mut MysqlSession, password: &Password) -> Result<(), RotationError> {
        let account = session.current_account().await?;
        self.change_password(session, &account, password).await
    }

    /// The user's real account: as the server names it when the current credential logs in as that user, else
    /// from the admin's view of `mysql.user` (which must hold exactly one account of that name).
    async fn user(
        &self,
        config: &DatabaseConfig,
        admin: &mut MysqlSession,
        connection: &LoginFields,
        mode: TlsMode,
    ) -> Result<Account, RotationError> {
        let proven = self.proven.lock().expect("never poisoned").take();
        if let Some((login, account, at)) = proven
            && &login == connection
            && at.elapsed() < PROVEN_FOR
        {
            return Ok(account);
        }
        if let Some(account) = own_account(config, connection, mode).await? {
            return Ok(account);
        }
        let hosts: Vec<String> =
            admin.exec("SELECT Host FROM mysql.user WHERE User = ?", (connection.username.clone(),)).await?;
        match hosts.as_slice() {
            [host] => Account::new(&connection.username, host)
                .map_err(|reason| RotationError::target(TargetErrorKind::Rejected, connection.address(), reason)),
            _ => Err(RotationError::target(
                TargetErrorKind::Rejected,
                connection.address(),
                format!(
                    "the current password does not log in and {} accounts are named {:?}; fix the secret so it logs in",
                    hosts.len(),
                    connection.username
                ),
            )),
        }
    }

    fn alternate(&self, active: &Account, name: &str) -> Result<Account, String> {
        active.with_user(name)
    }

    fn user_name<'u>(&self, user: &'u Account) -> &'u str {
        &user.user
    }

    async fn privileged_rights(&self, admin: &mut MysqlSession, user: &Account) -> Result<Vec<String>, RotationError> {
        privileged_rights(admin, user).await
    }

    async fn set_password(
        &self,
        admin: &mut MysqlSession,
        user: &Account,
        password: &Password,
    ) -> Result<(), RotationError> {
        self.change_password(admin, user, password).await
    }

    async fn sync_alternate(
        &self,
        admin: &mut MysqlSession,
        active: &Account,
        inactive: &Account,
        password: &Password,
    ) -> Result<(), RotationError> {
        let flavor = admin.flavor().await?;
        sync_and_set_password(admin, flavor, active, inactive, password.expose()).await
    }

    async fn refuse_name(&self, admin: &mut MysqlSession, name: &str) -> Result<Option<String>, RotationError> {
        Ok(name_limit(admin).await?.filter(|max| name.chars().count() as u64 > *max).map(|max| {
            format!(
                "gives the other user the name {name:?}, over the {max} characters this server's mysql.user takes; use a shorter username"
            )
        }))
    }

    async fn missing_admin_rights(&self, admin: &mut MysqlSession) -> Result<Option<String>, RotationError> {
        let grants: Vec<String> = admin.query("SHOW GRANTS").await?;
        let may = grants.iter().any(|g| g.contains("ALL PRIVILEGES ON *.*") || g.contains("CREATE USER"));
        Ok((!may).then(|| "CREATE USER".to_owned()))
    }

    async fn probe(&self, session: &mut MysqlSession, query: &str) -> Result<(), RotationError> {
        session.execute(query).await
    }
}
