//! [`PostgresEngine`]: PostgreSQL for rotation-database's [`DatabaseTarget`](rotation_database::DatabaseTarget).

use rotation_core::{Password, RotationError, Secret};
use rotation_database::{DatabaseConfig, Engine, LoginFields, Purpose, TlsMode, proven_by_engine_login};

use crate::alternating::{privileged_rights, sync_and_set_password};
use crate::connect::{PostgresSession, connect, prove};
use crate::defaults::{DEFAULT_DBNAME, DEFAULT_PORT, ENGINES, MAX_NAME_BYTES};
use crate::password::password_statement;
use rotation_database::TlsRoots;

/// PostgreSQL (and Aurora PostgreSQL): roles by name, passwords sent as SCRAM-SHA-256 verifiers, rotor's sessions
/// with a pinned `search_path`.
#[derive(Debug, Clone)]
pub struct PostgresEngine {
    roots: TlsRoots,
}

impl PostgresEngine {
    /// An engine trusting `roots`.
    pub fn new(roots: TlsRoots) -> Self {
        Self { roots }
    }
}

impl rotation_database::Session for PostgresSession {
    fn connection(&self) -> &LoginFields {
        PostgresSession::connection(self)
    }
}

impl Engine for PostgresEngine {
    type Session = PostgresSession;
    type User = String;

    /// Setting the same verifier again is harmless, so the common path saves a refused login; a single user
    /// whose current password is refused still tries the pending one (a retry after the change).
    const CHECK_PENDING_FIRST: bool = false;

    fn name(&self) -> &'static str {
        "postgres"
    }

    fn connection(&self, secret: &Secret) -> Result<LoginFields, RotationError> {
        LoginFields::parse(secret, ENGINES, DEFAULT_PORT, Some(DEFAULT_DBNAME))
    }

    fn check_username(&self, secret: &Secret, username: &str) -> Result<(), RotationError> {
        if username.len() > MAX_NAME_BYTES {
            return Err(secret.invalid(
                "username",
                format!(
                    "{username:?} is {} bytes, over PostgreSQL's {MAX_NAME_BYTES}-byte limit on names; use a shorter username",
                    username.len()
                ),
            ));
        }
        Ok(())
    }

    async fn login(
        &self,
        config: &DatabaseConfig,
        connection: &LoginFields,
        mode: TlsMode,
        purpose: Purpose,
    ) -> Result<PostgresSession, RotationError> {
        connect(connection, mode, purpose, &self.roots, config).await
    }

    /// One login with SCRAM channel binding proves possession ([`prove`]); a server that authenticates the login
    /// any other way (`trust`, `md5`, TLS off) is asked the generic way, with a wrong password beside it.
    async fn proves(
        &self,
        config: &DatabaseConfig,
        connection: &LoginFields,
        mode: TlsMode,
    ) -> Result<bool, RotationError> {
        match prove(connection, mode, &self.roots, config).await? {
            Some(proven) => Ok(proven),
            None => proven_by_engine_login(self, config, connection, mode).await,
        }
    }

    async fn set_own_password(&self, session: &mut PostgresSession, password: &Password) -> Result<(), RotationError> {
        let role = session.connection().username.clone();
        session.execute(&password_statement(&role, password.expose(), "")).await
    }

    async fn user(
        &self,
        _config: &DatabaseConfig,
        _admin: &mut PostgresSession,
        connection: &LoginFields,
        _mode: TlsMode,
    ) -> Result<String, RotationError> {
        Ok(connection.username.clone())
    }

    fn alternate(&self, _active: &String, name: &str) -> Result<String, String> {
        Ok(name.to_owned())
    }

    fn user_name<'u>(&self, user: &'u String) -> &'u str {
        user
    }

    async fn privileged_rights(
        &self,
        admin: &mut PostgresSession,
        user: &String,
    ) -> Result<Vec<String>, RotationError> {
        privileged_rights(admin, user).await
    }

    async fn set_password(
        &self,
        admin: &mut PostgresSession,
        user: &String,
        password: &Password,
    ) -> Result<(), RotationError> {
        admin.execute(&password_statement(user, password.expose(), "")).await
    }

    async fn sync_alternate(
        &self,
        admin: &mut PostgresSession,
        active: &String,
        inactive: &String,
        password: &Password,
    ) -> Result<(), RotationError> {
        sync_and_set_password(admin, active, inactive, password.expose()).await
    }

    async fn missing_admin_rights(&self, admin: &mut PostgresSession) -> Result<Option<String>, RotationError> {
        let rows = admin
            .query(
                "SELECT rolsuper OR rolcreaterole FROM pg_catalog.pg_roles \
                 WHERE rolname OPERATOR(pg_catalog.=) pg_catalog.current_user()",
                &[],
            )
            .await?;
        let may = rows.first().is_some_and(|row| row.get::<_, bool>(0));
        Ok((!may).then(|| "CREATEROLE".to_owned()))
    }

    async fn probe(&self, session: &mut PostgresSession, query: &str) -> Result<(), RotationError> {
        session.simple_query(query).await
    }
}
