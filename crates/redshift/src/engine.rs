//! [`RedshiftEngine`]: Amazon Redshift for rotation-database's [`DatabaseTarget`](rotation_database::DatabaseTarget).

use rotation_core::{Description, Password, PasswordPolicy, RotationError, Secret, TargetErrorKind};
use rotation_database::{DatabaseConfig, Engine, LoginFields, Purpose, RdsEndpoint, TlsMode, TlsRoots};
use rotation_postgres::{Param, PostgresSession};
use tokio_postgres::types::Type;

use crate::admin::ManagedAdmins;
use crate::alternating::sync_and_set_password;
use crate::defaults::{DEFAULT_DBNAME, DEFAULT_PORT, ENGINES, MAX_NAME_BYTES};
use crate::password::password_statement;
use crate::policy::refuse_policy;
use crate::redshift_sql::{ADMIN_SEES_ALL_SQL, PRIVILEGED_ROLES_SQL, PRIVILEGED_SYSTEM_PRIVILEGES_SQL};
use crate::server::{Server, login, server_and, server_of};

/// Whether the user named `$1` is a superuser (Redshift's `CREATEUSER` makes one): the catalog both Redshift and
/// PostgreSQL have.
const SUPERUSER_SQL: &str = "SELECT usesuper FROM pg_catalog.pg_user WHERE usename = $1";

/// Amazon Redshift users (provisioned clusters and Serverless workgroups): users by name, passwords sent as
/// Redshift's `md5` hash, rotor's sessions pinned by statements; an admin secret Redshift manages is found through
/// its tag and the Redshift or Redshift Serverless API.
#[derive(Debug, Clone)]
pub struct RedshiftEngine {
    roots: TlsRoots,
    managed_admins: ManagedAdmins,
}

impl RedshiftEngine {
    /// An engine trusting `roots`, finding an admin secret Redshift manages with `redshift` (clusters) and
    /// `serverless` (namespaces) clients of the function's configuration, built only when such a secret is met.
    pub fn new(
        roots: TlsRoots,
        redshift: aws_sdk_redshift::config::Builder,
        serverless: aws_sdk_redshiftserverless::config::Builder,
    ) -> Self {
        Self { roots, managed_admins: ManagedAdmins::new(redshift, serverless) }
    }
}

/// The answer of [`ADMIN_SEES_ALL_SQL`]: whether the admin sees other users' grants.
fn admin_sees_all(rows: &[tokio_postgres::Row]) -> bool {
    rows.first().is_some_and(|row| row.get::<_, Option<bool>>(0) == Some(true))
}

impl Engine for RedshiftEngine {
    type Session = PostgresSession;
    type User = String;

    /// Setting the same `md5` hash again is harmless, so the common path saves a refused login; a single user
    /// whose current password is refused still tries the pending one (a retry after the change).
    const CHECK_PENDING_FIRST: bool = false;

    fn name(&self) -> &'static str {
        "redshift"
    }

    fn connection(&self, secret: &Secret) -> Result<LoginFields, RotationError> {
        LoginFields::parse(secret, ENGINES, DEFAULT_PORT, Some(DEFAULT_DBNAME))
    }

    fn check_username(&self, secret: &Secret, username: &str) -> Result<(), RotationError> {
        if username.len() > MAX_NAME_BYTES {
            return Err(secret.invalid(
                "username",
                format!(
                    "{username:?} is {} bytes, over Redshift's {MAX_NAME_BYTES}-byte limit on user names; use a shorter username",
                    username.len()
                ),
            ));
        }
        Ok(())
    }

    fn refuse_policy(&self, policy: &PasswordPolicy) -> Option<String> {
        refuse_policy(policy).map(|(setting, reason)| format!("{setting} {reason}"))
    }

    /// An admin secret Redshift manages names its cluster (`aws:redshift:primaryclusterarn`: `DescribeClusters`)
    /// or Serverless namespace (`aws:redshift-serverless:namespacearn`: the namespace's workgroup), as AWS's
    /// Redshift MultiUser function reads it.
    async fn managed_admin_endpoint(&self, description: &Description) -> Result<Option<RdsEndpoint>, RotationError> {
        self.managed_admins.endpoint_of(description).await
    }

    async fn login(
        &self,
        config: &DatabaseConfig,
        connection: &LoginFields,
        mode: TlsMode,
        purpose: Purpose,
    ) -> Result<PostgresSession, RotationError> {
        login(connection, mode, purpose, &self.roots, config).await
    }

    async fn set_own_password(&self, session: &mut PostgresSession, password: &Password) -> Result<(), RotationError> {
        let user = session.connection().username.clone();
        session.execute(&password_statement(&user, password.expose(), "")).await
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

    /// A superuser on any server; on Redshift also the user-managing system roles and system privileges, held
    /// directly or through roles ([`crate::redshift_sql`]). On Redshift an admin that cannot see other users'
    /// grants (neither a superuser nor a holder of `ACCESS SYSTEM TABLE`) is refused rather than trusted to have
    /// found nothing.
    async fn privileged_rights(
        &self,
        admin: &mut PostgresSession,
        user: &String,
    ) -> Result<Vec<String>, RotationError> {
        let (server, rows) = server_and(admin, SUPERUSER_SQL, &[(user, Type::NAME)]).await?;
        let mut rights = Vec::new();
        if rows.first().is_some_and(|row| row.get::<_, bool>(0)) {
            rights.push("SUPERUSER".to_owned());
        }
        if server == Server::Redshift {
            let params: &[Param<'_>] = &[(user, Type::TEXT)];
            let [sees_all, roles, privileges] = admin
                .queries([
                    (ADMIN_SEES_ALL_SQL, &[]),
                    (PRIVILEGED_ROLES_SQL, params),
                    (PRIVILEGED_SYSTEM_PRIVILEGES_SQL, params),
                ])
                .await?;
            if !admin_sees_all(&sees_all) {
                return Err(RotationError::target(
                    TargetErrorKind::PermissionDenied,
                    admin.connection().address(),
                    format!(
                        "the admin {:?} is not a superuser and lacks the ACCESS SYSTEM TABLE system privilege, so Redshift shows it only its own roles and cannot tell whether {user:?} holds administrative rights; use the cluster's admin user, or GRANT ACCESS SYSTEM TABLE TO the admin",
                        admin.connection().username
                    ),
                ));
            }
            rights.extend(roles.iter().chain(&privileges).map(|row| row.get::<_, String>(0)));
        }
        Ok(rights)
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
        let server = server_of(admin).await?;
        sync_and_set_password(admin, server, active, inactive, password.expose()).await
    }

    /// A superuser, or on Redshift a holder of the `ALTER USER` system privilege that also sees other users'
    /// grants (`ACCESS SYSTEM TABLE`); on the PostgreSQL stand-in, a superuser or `CREATEROLE`.
    async fn missing_admin_rights(&self, admin: &mut PostgresSession) -> Result<Option<String>, RotationError> {
        let me = admin.connection().username.clone();
        let (server, rows) = server_and(admin, SUPERUSER_SQL, &[(&me, Type::NAME)]).await?;
        if rows.first().is_some_and(|row| row.get::<_, bool>(0)) {
            return Ok(None);
        }
        let may = match server {
            Server::Redshift => {
                let params: &[Param<'_>] = &[(&me, Type::TEXT)];
                let [sees_all, privileges] =
                    admin.queries([(ADMIN_SEES_ALL_SQL, &[]), (PRIVILEGED_SYSTEM_PRIVILEGES_SQL, params)]).await?;
                admin_sees_all(&sees_all)
                    && privileges.iter().any(|row| row.get::<_, String>(0) == "system privilege ALTER USER")
            }
            Server::PostgreSql => {
                let rows = admin
                    .query("SELECT rolcreaterole FROM pg_catalog.pg_roles WHERE rolname = $1", &[(&me, Type::NAME)])
                    .await?;
                rows.first().is_some_and(|row| row.get::<_, bool>(0))
            }
        };
        Ok((!may).then(|| "superuser, or the ALTER USER and ACCESS SYSTEM TABLE system privileges".to_owned()))
    }

    async fn probe(&self, session: &mut PostgresSession, query: &str) -> Result<(), RotationError> {
        session.simple_query(query).await
    }
}
