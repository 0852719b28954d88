//! [`DatabaseTarget`]: the one database [`Target`], the strategies written once over an [`Engine`].

use rotation_core::{
    Claim, CreateContext, Password, Possession, RotationError, STRATEGY_TAG, Secret, SecretSettings, SetContext,
    Target, TargetErrorKind, TestContext,
};

use crate::admin::{load_admin, refuse_privileged};
use crate::config::DatabaseConfig;
use crate::engine::{Engine, Purpose, Session};
use crate::login::LoginFields;
use crate::pending::{check_same_target, next_secret};
use crate::rds::Rds;
use crate::strategy::Strategy;
use crate::tls_mode::TlsMode;

/// Rotates a database credential by the configured strategy (single user, admin, alternating users) on the
/// engine `E`.
#[derive(Debug, Clone)]
pub struct DatabaseTarget<E: Engine> {
    engine: E,
    config: DatabaseConfig,
    rds: Rds,
}

impl<E: Engine> DatabaseTarget<E> {
    /// A target with its engine, its configuration, and an RDS client for RDS-managed admin secrets.
    pub fn new(engine: E, config: DatabaseConfig, rds: Rds) -> Self {
        Self { engine, config, rds }
    }

    /// The engine.
    pub fn engine(&self) -> &E {
        &self.engine
    }

    /// The configuration.
    pub fn config(&self) -> &DatabaseConfig {
        &self.config
    }

    /// The RDS client that finds an RDS-managed admin secret's database.
    pub fn rds(&self) -> &Rds {
        &self.rds
    }

    async fn login(&self, connection: &LoginFields, mode: TlsMode) -> Result<E::Session, RotationError> {
        self.engine.login(&self.config, connection, mode, Purpose::Rotor).await
    }

    /// Logs in with the (pinned) admin secret named by the current secret's `masterarn`.
    async fn admin(&self, ctx: &SetContext<'_>, user: &LoginFields) -> Result<E::Session, RotationError> {
        let admin = load_admin(ctx, &self.rds, user, &self.config, &self.engine).await?;
        self.login(&self.engine.admin_connection(admin.connection), admin.mode).await
    }

    /// The admin's session, once the user `current` names is bound to the secret (the identity rule: pinned by the
    /// secret's `rotor:user` tag, `user@host:port` ([`Engine::user_location`]), or proven by a login as it with `AWSCURRENT`'s or
    /// `AWSPREVIOUS`'s password on the same server). For alternating users the pair's base user is the one bound:
    /// owning a user that merely ends in `_clone` never reaches the user before the suffix. The admin's login and
    /// the proof run side by side; nothing changes before both succeed.
    async fn bound_admin(&self, ctx: &SetContext<'_>, current: &LoginFields) -> Result<E::Session, RotationError> {
        let base;
        let user = match self.config.strategy {
            Strategy::AlternatingUsers => {
                base = self.engine.base_username(&current.username);
                base.as_str()
            }
            _ => &current.username,
        };
        // One function may reach several servers with users of the same name: the user is named on its server
        // (and, where the engine names users per database, in its database).
        let at = self.engine.user_location(current);
        let claim = Claim { kind: "user", name: user, at: Some(&at) };
        let proof = LoginProof { target: self, current, user };
        let (admin, bound) = tokio::join!(self.admin(ctx, current), ctx.bind_identity(&claim, &proof));
        bound?;
        admin
    }

    /// Refuses users the admin must not act on: itself, and users with administrative rights (unless allowed).
    async fn refuse_privileged(&self, admin: &mut E::Session, users: &[&E::User]) -> Result<(), RotationError> {
        for user in users {
            let rights = self.engine.privileged_rights(admin, user).await?;
            refuse_privileged(&self.config, admin.connection(), self.engine.user_name(user), &rights)?;
        }
        Ok(())
    }

    /// Single user: logs in with the current password and sets the pending one; when the current password is
    /// refused (an earlier attempt was interrupted after the change, or a rotation abandoned after its
    /// setSecret changed it), with the pending one, the previous one, then the values of abandoned rotations,
    /// each only when it names the same host, port, database, engine and user as the current secret: nothing is
    /// ever sent to a server the current secret does not name.
    async fn set_own_password(&self, ctx: &SetContext<'_>, pending: &LoginFields) -> Result<(), RotationError> {
        let current = self.engine.connection(ctx.current)?;
        let refused = match self.set_own_password_as(&current, ctx.current, pending).await {
            Err(error) if error.is_authentication_failure() => error,
            done => return done,
        };
        // The pending password itself: a retry after the change logs in with it and sets it again, harmlessly.
        let mut fallbacks: Vec<(&str, Secret)> = vec![("AWSPENDING", ctx.pending.clone())];
        fallbacks.extend(ctx.previous().await?.into_iter().map(|p| ("AWSPREVIOUS", p)));
        fallbacks.extend(ctx.abandoned().await?.into_iter().map(|a| ("an abandoned rotation's value", a)));
        for (what, secret) in fallbacks {
            let login = self.engine.connection(&secret)?;
            if let Err(error) =
                check_same_target(&current, &login, Strategy::SingleUser, |u| self.engine.base_username(u))
            {
                tracing::warn!(error = %error, "{what} names another target than AWSCURRENT; not using it");
                continue;
            }
            match self.set_own_password_as(&login, &secret, pending).await {
                Err(error) if error.is_authentication_failure() => {}
                done => return done,
            }
        }
        Err(RotationError::Target {
            kind: TargetErrorKind::AuthenticationFailed,
            target: current.address(),
            message: format!(
                "neither the pending, the current, the previous nor an abandoned rotation's password logs in as {:?}; set the password by hand and put it in AWSCURRENT",
                current.username
            ),
            source: Some(Box::new(refused)),
        })
    }

    /// Logs in as `login` (in the TLS mode `secret` asks for) and sets the pending password of the same user.
    async fn set_own_password_as(
        &self,
        login: &LoginFields,
        secret: &Secret,
        pending: &LoginFields,
    ) -> Result<(), RotationError> {
        let mut session = self.login(login, self.config.tls.for_secret(secret)?).await?;
        self.engine.set_own_password(&mut session, &pending.password).await
    }
}

impl<E: Engine> Target for DatabaseTarget<E> {
    fn name(&self) -> &'static str {
        self.engine.name()
    }

    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        let connection = self.engine.connection(current)?;
        let next =
            next_secret(current, &connection, self.config.strategy, password, |u| self.engine.other_username(u))?;
        self.engine.check_username(current, next.require_str("username")?)?;
        Ok(next)
    }

    /// A `rotor:strategy` tag must name this function's strategy, and a secret's password tags must make
    /// passwords the server takes ([`Engine::refuse_policy`]). The steps of one rotation are separate
    /// invocations and a secret's version has nowhere to pin a strategy, so a tag changed mid-rotation would switch
    /// it between steps. A secret chooses its strategy by the function its rotation names.
    fn accepts(&self, secret: &str, settings: &SecretSettings) -> Result<(), RotationError> {
        let invalid = |reason: String| RotationError::InvalidTag {
            secret: secret.to_owned(),
            tag: STRATEGY_TAG.to_owned(),
            reason,
        };
        if let Some(name) = &settings.strategy {
            let Some(strategy) = Strategy::parse(name) else {
                return Err(invalid("must be single-user, admin or alternating-users".into()));
            };
            if strategy != self.config.strategy {
                return Err(invalid(format!(
                    "asks for {}, but this function rotates with {}: a secret's strategy is the function its rotation names, so point the secret's rotation at rotor's {} function for {}",
                    strategy.as_str(),
                    self.config.strategy.as_str(),
                    strategy.as_str(),
                    self.engine.name()
                )));
            }
        }
        if settings.tagged
            && let Some(reason) = self.engine.refuse_policy(&settings.policy)
        {
            return Err(RotationError::InvalidTag {
                secret: secret.to_owned(),
                tag: "rotor:password-*".to_owned(),
                reason: format!("{reason}; change the secret's password tags"),
            });
        }
        Ok(())
    }

    /// The next secret; for alternating users whose other user's name [only the server can
    /// judge](Engine::asks_about_name), the name is put to the server, as the admin, before anything is stored.
    async fn create(
        &self,
        ctx: &CreateContext<'_>,
        current: &Secret,
        password: Password,
    ) -> Result<Secret, RotationError> {
        let next = self.next_secret(current, password)?;
        let name = next.require_str("username")?;
        if self.config.strategy == Strategy::AlternatingUsers && self.engine.asks_about_name(name) {
            let user = self.engine.connection(current)?;
            let mut admin = self.admin(&ctx.lookup(&next, current), &user).await?;
            if let Some(reason) = self.engine.refuse_name(&mut admin, name).await? {
                return Err(current.invalid("username", reason));
            }
        }
        Ok(next)
    }

    /// On an engine that [checks the pending password first](Engine::CHECK_PENDING_FIRST), whether it already
    /// logs in (a retry after the change); never for alternating users, whose idempotent sync always runs.
    async fn already_set(&self, ctx: &SetContext<'_>) -> Result<bool, RotationError> {
        if self.config.strategy == Strategy::AlternatingUsers || !E::CHECK_PENDING_FIRST {
            return Ok(false);
        }
        let current = self.engine.connection(ctx.current)?;
        let pending = self.engine.connection(ctx.pending)?;
        check_same_target(&current, &pending, self.config.strategy, |u| self.engine.base_username(u))?;
        match self.login(&pending, self.config.tls.for_secret(ctx.pending)?).await {
            Ok(_) => Ok(true),
            Err(error) if error.is_authentication_failure() => Ok(false),
            Err(error) => Err(error),
        }
    }

    async fn set(&self, ctx: &SetContext<'_>) -> Result<(), RotationError> {
        let strategy = self.config.strategy;
        let current = self.engine.connection(ctx.current)?;
        let pending = self.engine.connection(ctx.pending)?;
        check_same_target(&current, &pending, strategy, |u| self.engine.base_username(u))?;
        match strategy {
            Strategy::SingleUser => self.set_own_password(ctx, &pending).await,
            Strategy::Admin => {
                let mut admin = self.bound_admin(ctx, &current).await?;
                let mode = self.config.tls.for_secret(ctx.current)?;
                let user = self.engine.user(&self.config, &mut admin, &current, mode).await?;
                self.refuse_privileged(&mut admin, &[&user]).await?;
                self.engine.set_password(&mut admin, &user, &pending.password).await
            }
            Strategy::AlternatingUsers => {
                let mut admin = self.bound_admin(ctx, &current).await?;
                let mode = self.config.tls.for_secret(ctx.current)?;
                let active = self.engine.user(&self.config, &mut admin, &current, mode).await?;
                let inactive = self
                    .engine
                    .alternate(&active, &pending.username)
                    .map_err(|reason| ctx.pending.invalid("username", reason))?;
                self.refuse_privileged(&mut admin, &[&active, &inactive]).await?;
                self.engine.sync_alternate(&mut admin, &active, &inactive, &pending.password).await
            }
        }
    }

    /// Logs in with the pending credential and runs the test query (finishSecret's proof: the login alone), with
    /// backoff. A refused password is retried too: a new password may take a moment to reach every node
    /// (replicas, proxies). No try starts that could not end before the invocation's deadline.
    async fn test(&self, ctx: &TestContext<'_>) -> Result<(), RotationError> {
        let connection = self.engine.connection(ctx.pending)?;
        let mode = self.config.tls.for_secret(ctx.pending)?;
        let retry_on = |error: &RotationError| error.is_retryable() || error.is_authentication_failure();
        let deadline = ctx.deadline.map(|deadline| (deadline, self.config.test_attempt_bound()));
        self.config
            .test_backoff
            .retry_if(retry_on, deadline, || async {
                let mut session = self.engine.login(&self.config, &connection, mode, Purpose::Probe).await?;
                if ctx.is_proof() {
                    return Ok(());
                }
                self.engine.probe(&mut session, &self.config.test_query).await
            })
            .await
    }
}

/// The database's proof of possession: a login, on the current secret's server, as the secret's user (for
/// alternating users, as the pair's base user), with one of the secret's own credentials.
struct LoginProof<'t, E: Engine> {
    target: &'t DatabaseTarget<E>,
    current: &'t LoginFields,
    /// The user a login must be as: the secret's, or for alternating users the pair's base user.
    user: &'t str,
}

impl<E: Engine> Possession for LoginProof<'_, E> {
    async fn proves(&self, secret: &Secret) -> Result<bool, RotationError> {
        let target = self.target;
        let Ok(login) = target.engine.connection(secret) else { return Ok(false) };
        // A credential for another server or user proves nothing about this one.
        if check_same_target(self.current, &login, target.config.strategy, |u| target.engine.base_username(u)).is_err()
        {
            return Ok(false);
        }
        if login.username != self.user {
            return Ok(false);
        }
        target.engine.proves(&target.config, &login, target.config.tls.for_secret(secret)?).await
    }
}
