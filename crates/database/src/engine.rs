//! The [`Engine`] trait: what one kind of database server must do for [`DatabaseTarget`](crate::DatabaseTarget)
//! to rotate its credentials by every strategy.

use std::fmt::Debug;
use std::future::{Future, ready};

use rotation_core::{Description, Password, PasswordPolicy, RotationError, Secret};

use crate::config::DatabaseConfig;
use crate::login::LoginFields;
use crate::rds::RdsEndpoint;
use crate::tls_mode::TlsMode;

/// What a session is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// rotor's own statements (the admin's, or a user changing its own password): an engine that can be made to
    /// run a user's code by name (PostgreSQL's `search_path`) pins it for these sessions.
    Rotor,
    /// testSecret's probe (`TEST_QUERY`) as the pending user, with that user's own settings.
    Probe,
}

/// A logged-in session of an engine. It owns its connection, bounds every call, and classifies its own errors
/// from the driver's typed codes into [`RotationError`]s that name the host and the fix.
pub trait Session: Send {
    /// The connection this session logged in with.
    fn connection(&self) -> &LoginFields;
}

/// A proof of possession by `login`: `true` when it logs in with `connection`'s password and is refused a random
/// one, tried side by side; `false` when the server refuses the password, or lets the wrong one in too (`trust`
/// in `pg_hba.conf`, a Redis `nopass` user): such a server proves nothing about who holds the user. An error when
/// the server cannot be asked.
pub async fn proven_by_login<F, Fut>(connection: &LoginFields, login: F) -> Result<bool, RotationError>
where
    F: Fn(LoginFields) -> Fut,
    Fut: Future<Output = Result<(), RotationError>>,
{
    let wrong = LoginFields { password: PasswordPolicy::default().generate()?, ..connection.clone() };
    let (right, wrong) = tokio::join!(login(connection.clone()), login(wrong));
    match (right, wrong) {
        (Err(error), _) if error.is_authentication_failure() => Ok(false),
        (Err(error), _) => Err(error),
        (Ok(()), Err(error)) if error.is_authentication_failure() => Ok(true),
        (Ok(()), Err(error)) => Err(error),
        (Ok(()), Ok(())) => {
            tracing::warn!(
                target = %connection.address(),
                "the server lets a wrong password in for this user (trust authentication, or a user without a password): a login proves nothing; bind the user with a rotor:user tag"
            );
            Ok(false)
        }
    }
}

/// [`proven_by_login`] with `engine`'s own login ([`Purpose::Rotor`]): the default [`Engine::proves`], and what an
/// engine with a cheaper proof falls back to where the server does not allow it.
pub async fn proven_by_engine_login<E: Engine + ?Sized>(
    engine: &E,
    config: &DatabaseConfig,
    connection: &LoginFields,
    mode: TlsMode,
) -> Result<bool, RotationError> {
    proven_by_login(
        connection,
        |login| async move { engine.login(config, &login, mode, Purpose::Rotor).await.map(drop) },
    )
    .await
}

/// A session's `Debug`: its connection (the password redacted) and TLS mode, never the driver's state.
pub fn fmt_session(f: &mut std::fmt::Formatter<'_>, connection: &LoginFields, mode: TlsMode) -> std::fmt::Result {
    f.debug_struct("Session").field("connection", connection).field("mode", &mode).finish_non_exhaustive()
}

/// One kind of database server. Shaped like sqlx's `Database`/`LoginFields` pair: the engine knows how to log in
/// and how to change a credential; [`DatabaseTarget`](crate::DatabaseTarget) owns the strategies, the admin
/// secret, the confused-deputy checks and the fallbacks, written once for every engine.
///
/// A "user" is whatever the engine addresses a credential by: a role name (PostgreSQL), an account `user@host`
/// (MySQL), an ACL user (Redis); an engine with native dual passwords (Redis ACLs, MySQL's `RETAIN CURRENT
/// PASSWORD`) keeps the old one when it sets the new. Only engines you log in to: a credential an AWS API changes
/// (ElastiCache users) is a [`ManagedCredential`](rotation_core::ManagedCredential) instead. Every method that
/// changes a password must be idempotent: setSecret is retried after any failure, including after the change
/// succeeded.
pub trait Engine: Send + Sync + Debug + 'static {
    /// A logged-in session.
    type Session: Session;
    /// How the engine addresses a user's credential.
    type User: Send + Sync + Debug;

    /// A short name for logs and metrics (`postgres`).
    fn name(&self) -> &'static str;

    /// Whether setSecret first checks that the pending password already logs in, and then does nothing: for
    /// engines where setting the same password again is not harmless (MySQL's `RETAIN CURRENT PASSWORD` would
    /// drop the retained one). Never for alternating users, whose (idempotent) sync always runs.
    const CHECK_PENDING_FIRST: bool;

    /// Whether the admin logs in to the database its own secret names (MongoDB: its authentication database,
    /// `admin` by default) rather than the user's (the default: PostgreSQL's alternating sync grants on the user's
    /// database's objects).
    const ADMIN_USES_ITS_OWN_DATABASE: bool = false;

    /// The secret's connection fields, with the engine's accepted `engine` values and defaults.
    fn connection(&self, secret: &Secret) -> Result<LoginFields, RotationError>;

    /// Where the user `connection` names lives, for the identity rule's claim and its `rotor:user` tag
    /// (`user@<location>`): `host:port` by default. An engine whose users are named per database (MongoDB's
    /// authentication databases) adds it, so a pinned tag names one user and a secret's writer cannot move the
    /// rotation to a namesake in another database.
    fn user_location(&self, connection: &LoginFields) -> String {
        format!("{}:{}", connection.host, connection.port)
    }

    /// The other user of an alternating pair (`app` and `app_clone`, [`other_username`](crate::other_username));
    /// an engine whose user names have structure puts the suffix on the name itself (a directory: the leaf of a
    /// DN, the part of a UPN before `@`).
    fn other_username(&self, username: &str) -> String {
        crate::alternating::other_username(username)
    }

    /// The base user of an alternating pair (`app` for both `app` and `app_clone`).
    fn base_username(&self, username: &str) -> String {
        crate::alternating::base_username(username).to_owned()
    }

    /// Refuses a user name the engine cannot take (over a length limit, characters rotor does not quote);
    /// `secret` is the one to blame in the error.
    fn check_username(&self, secret: &Secret, username: &str) -> Result<(), RotationError> {
        let _ = (secret, username);
        Ok(())
    }

    /// Why the server would refuse passwords `policy` makes (Redshift: 8 to 64 characters, each of upper case,
    /// lower case and digits, none of `'"\/@` or the space), naming the setting at fault; `None` when it takes
    /// them. Checked at cold start against the function's policy and at createSecret against a secret's tags. The
    /// default takes any policy.
    fn refuse_policy(&self, policy: &PasswordPolicy) -> Option<String> {
        let _ = policy;
        None
    }

    /// Where the database of an admin secret that holds only a username and a password is, found from the
    /// secret's tags through the engine's own service (Redshift's `aws:redshift:primaryclusterarn`); `None` to look
    /// in RDS. Asked only of such a secret, so an engine's client costs nothing until one is met. The default
    /// leaves it to RDS.
    fn managed_admin_endpoint(
        &self,
        description: &Description,
    ) -> impl Future<Output = Result<Option<RdsEndpoint>, RotationError>> + Send {
        let _ = description;
        ready(Ok(None))
    }

    /// The admin's connection as the engine logs it in; the default keeps the user's database.
    fn admin_connection(&self, admin: LoginFields) -> LoginFields {
        admin
    }

    /// Logs in. TLS is never dropped below `mode`; the login is bounded by the configuration's time-out.
    fn login(
        &self,
        config: &DatabaseConfig,
        connection: &LoginFields,
        mode: TlsMode,
        purpose: Purpose,
    ) -> impl Future<Output = Result<Self::Session, RotationError>> + Send;

    /// The identity rule's proof of possession: whether `connection`'s password logs in as its user (`Ok(false)`
    /// when the server refuses it, or lets in a wrong password too). The default is [`proven_by_engine_login`]; an engine
    /// whose server may log a client in as someone else than it asked (MySQL's anonymous accounts) checks who it
    /// is instead.
    fn proves(
        &self,
        config: &DatabaseConfig,
        connection: &LoginFields,
        mode: TlsMode,
    ) -> impl Future<Output = Result<bool, RotationError>> + Send {
        proven_by_engine_login(self, config, connection, mode)
    }

    /// Single user: the session's own user sets its password to `password`.
    fn set_own_password(
        &self,
        session: &mut Self::Session,
        password: &Password,
    ) -> impl Future<Output = Result<(), RotationError>> + Send;

    /// The user the admin acts on, for the user secret's `connection` (`mode`: its TLS mode, for an engine that
    /// asks the server by logging in as the user).
    fn user(
        &self,
        config: &DatabaseConfig,
        admin: &mut Self::Session,
        connection: &LoginFields,
        mode: TlsMode,
    ) -> impl Future<Output = Result<Self::User, RotationError>> + Send;

    /// The other user of the alternating strategy, named `name`, addressed like `active`.
    fn alternate(&self, active: &Self::User, name: &str) -> Result<Self::User, String>;

    /// The user's name, for messages and the admin's refusal of itself.
    fn user_name<'u>(&self, user: &'u Self::User) -> &'u str;

    /// The administrative rights `user` holds (empty: none, or no such user): the admin refuses such users.
    fn privileged_rights(
        &self,
        admin: &mut Self::Session,
        user: &Self::User,
    ) -> impl Future<Output = Result<Vec<String>, RotationError>> + Send;

    /// Admin: sets `user`'s password.
    fn set_password(
        &self,
        admin: &mut Self::Session,
        user: &Self::User,
        password: &Password,
    ) -> impl Future<Output = Result<(), RotationError>> + Send;

    /// Alternating users: creates `inactive` when missing, makes it alike `active` both ways (what it lacks is
    /// given, what it holds beyond `active` is taken), and sets its password.
    fn sync_alternate(
        &self,
        admin: &mut Self::Session,
        active: &Self::User,
        inactive: &Self::User,
        password: &Password,
    ) -> impl Future<Output = Result<(), RotationError>> + Send;

    /// Whether createSecret must ask the server, as the admin, about the other user's name `name`
    /// ([`Engine::refuse_name`]) before storing an alternating user's pending secret: only when not every server
    /// the engine supports is known to take it. Asking costs a read of the admin secret and a login.
    fn asks_about_name(&self, name: &str) -> bool {
        let _ = name;
        false
    }

    /// Alternating users, at createSecret: why the server would not take `name` (over its limit on names), when
    /// only the server knows; `None` when it would.
    fn refuse_name(
        &self,
        admin: &mut Self::Session,
        name: &str,
    ) -> impl Future<Output = Result<Option<String>, RotationError>> + Send {
        let _ = (admin, name);
        ready(Ok(None))
    }

    /// What the admin lacks to change other users' passwords (`CREATEROLE`, `CREATE USER`), asked of the server by
    /// `rotatectl doctor`; `None` when it has it.
    fn missing_admin_rights(
        &self,
        admin: &mut Self::Session,
    ) -> impl Future<Output = Result<Option<String>, RotationError>> + Send;

    /// testSecret: runs the test query on a [`Purpose::Probe`] session of the pending user.
    fn probe(&self, session: &mut Self::Session, query: &str)
    -> impl Future<Output = Result<(), RotationError>> + Send;
}
