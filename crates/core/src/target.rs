//! What a system must provide to be rotated.

use std::future::Future;
use std::time::Instant;

use crate::error::RotationError;
use crate::identity::{Binding, BindingSource, Claim, Possession};
use crate::password::Password;
use crate::password::PasswordPolicy;
use crate::secret::Secret;
use crate::settings::{STRATEGY_TAG, SecretSettings};
use crate::store::handle::StoreHandle;
use crate::store::secrets_manager::{Description, SecretsManager, Selector};
use crate::versions::AWSCURRENT;

/// A system whose credential rotor rotates: a database, a webhook, or nothing at all (a generated secret).
///
/// The core owns the protocol (guard, labels, createSecret storage, finishSecret promotion); a target only builds
/// the next secret, makes its system accept it, and proves it works. Implement it in your own crate and call
/// [`crate::run`] to get a rotation Lambda:
///
/// ```no_run
/// use rotation_core::{Password, RotationError, Secret, SetContext, Target, TestContext};
///
/// struct ApiKey;
///
/// impl Target for ApiKey {
///     fn name(&self) -> &'static str { "api-key" }
///     fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
///         current.with_field("api_key", password.into_inner())
///     }
///     async fn set(&self, _ctx: &SetContext<'_>) -> Result<(), RotationError> { Ok(()) }
///     async fn test(&self, _ctx: &TestContext<'_>) -> Result<(), RotationError> { Ok(()) }
/// }
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() -> Result<(), lambda_runtime::Error> {
///     rotation_core::run(|_init| Ok(ApiKey), rotation_core::RunOptions::default()).await
/// }
/// ```
pub trait Target: Send + Sync + 'static {
    /// A short name for logs and metrics (`postgres`, `generated`).
    fn name(&self) -> &'static str;

    /// The pending secret made from the current one and a fresh password: every other field kept.
    /// May switch the user (alternating users). Pure: no I/O.
    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError>;

    /// createSecret's new secret. The default is [`Target::next_secret`]; a target whose system mints the
    /// credential itself (a webhook that issues API keys) asks it here. Called once per rotation token, but again
    /// if storing the result failed: a minting system should answer the same token with the same credential.
    fn create(
        &self,
        ctx: &CreateContext<'_>,
        current: &Secret,
        password: Password,
    ) -> impl Future<Output = Result<Secret, RotationError>> + Send {
        let _ = ctx;
        std::future::ready(self.next_secret(current, password))
    }

    /// Whether this target can rotate a secret with `settings`, its `rotor:` tags applied over the function's
    /// defaults: a password policy its system accepts, the strategy it runs. createSecret checks it before it
    /// makes anything; an error names the tag. The default accepts any policy and refuses a strategy tag (a
    /// target without strategies has none to choose).
    fn accepts(&self, secret: &str, settings: &SecretSettings) -> Result<(), RotationError> {
        match &settings.strategy {
            None => Ok(()),
            Some(_) => Err(RotationError::InvalidTag {
                secret: secret.to_owned(),
                tag: STRATEGY_TAG.to_owned(),
                reason: format!("the {} target has no strategy to choose; remove the tag", self.name()),
            }),
        }
    }

    /// Whether the system already accepts the pending credential, checked by setSecret before its guard and
    /// changing nothing: `true` ends setSecret with nothing to do. For a target that cannot set the same
    /// credential twice harmlessly (MySQL's `RETAIN CURRENT PASSWORD` would drop the retained one). The default
    /// says no and reads nothing.
    fn already_set(&self, ctx: &SetContext<'_>) -> impl Future<Output = Result<bool, RotationError>> + Send {
        let _ = ctx;
        std::future::ready(Ok(false))
    }

    /// Makes the system accept the pending credential. Must be idempotent: it is retried with the same pending
    /// secret after any failure, including after it already succeeded.
    fn set(&self, ctx: &SetContext<'_>) -> impl Future<Output = Result<(), RotationError>> + Send;

    /// Proves the pending credential works. Also runs when pending equals current (the configuration test of
    /// `RotateSecret` with `RotateImmediately=false`), and in finishSecret right before the promotion, so no
    /// credential that does not log in at that moment is ever promoted. Retries must end before the context's
    /// deadline.
    fn test(&self, ctx: &TestContext<'_>) -> impl Future<Output = Result<(), RotationError>> + Send;

    /// Runs in finishSecret only once the pending version is `AWSCURRENT` (never before the promotion, which may
    /// fail and leave AWSCURRENT naming the old credential). Best effort: an error here is logged and never fails
    /// the step. Clients cache AWSCURRENT (up to an hour), so a hook must not revoke what they still hold. The
    /// default does nothing and reads nothing.
    fn finish(&self, ctx: &FinishContext<'_>) -> impl Future<Output = Result<(), RotationError>> + Send {
        let _ = ctx;
        std::future::ready(Ok(()))
    }
}

/// What createSecret tells a target, and the reads a target may make to refuse, before anything is stored, a
/// secret that cannot work (a clone name over the server's limit).
#[derive(Debug, Clone, Copy)]
pub struct CreateContext<'a> {
    /// The secret's ARN (for a parameter: its name).
    pub secret_id: &'a str,
    /// The rotation's token (the pending version; for a parameter: the rotation's id).
    pub token: &'a str,
    secrets: &'a SecretsManager,
    store: StoreHandle<'a>,
    tags: Option<&'a [(String, String)]>,
}

impl<'a> CreateContext<'a> {
    /// A context for a target's create step.
    pub fn new(secret_id: &'a str, token: &'a str, secrets: &'a SecretsManager) -> Self {
        Self::in_store(StoreHandle::secret(secrets, secret_id, Some(token)), secret_id, token, secrets)
    }

    /// A context over `store`, the credential's store (a driver's).
    pub(crate) fn in_store(
        store: StoreHandle<'a>,
        secret_id: &'a str,
        token: &'a str,
        secrets: &'a SecretsManager,
    ) -> Self {
        Self { secret_id, token, secrets, store, tags: None }
    }

    /// The same context, knowing the secret's tags (read by the guard's `DescribeSecret`): the identity rule reads
    /// its binding tag there.
    pub fn with_tags(self, tags: &'a [(String, String)]) -> Self {
        Self { tags: Some(tags), ..self }
    }

    /// Checks that this rotation still owns `AWSPENDING`, for a target that changes its system before the value
    /// is stored (one that mints the credential): the rotator's own check comes only right before it stores. An
    /// error names what happened. For a parameter: that no other rotation holds its lock.
    pub async fn still_pending(&self) -> Result<(), RotationError> {
        self.store.still_pending(true).await
    }

    /// The value an earlier attempt of this createSecret already stored for the token, if any: a target whose
    /// system shows a minted credential only once (IAM's secret access key) returns it instead of minting
    /// another. Always `None` for a parameter, whose rotation reuses its stored value before it asks the target.
    pub async fn stored(&self) -> Result<Option<Secret>, RotationError> {
        self.store.stored().await
    }

    /// The reads of setSecret (the admin secret, other secrets) for checking `next` against the target system
    /// before it is stored; nothing of it is stored yet.
    pub fn lookup(&self, next: &'a Secret, current: &'a Secret) -> SetContext<'a> {
        let mut ctx = SetContext::in_store(self.store, self.secret_id, next, current, self.secrets);
        ctx.tags = self.tags;
        ctx
    }
}

/// What testSecret tells a target: the credential to prove, and the invocation's deadline.
#[derive(Debug, Clone, Copy)]
pub struct TestContext<'a> {
    /// The secret to prove: the token's `AWSPENDING` value (or `AWSCURRENT`'s, in a configuration test).
    pub pending: &'a Secret,
    /// When the invocation ends (Lambda's deadline), if known: retries stop in time to report their own error.
    pub deadline: Option<Instant>,
    settings: Option<(StoreHandle<'a>, &'a PasswordPolicy)>,
    proof: bool,
}

impl<'a> TestContext<'a> {
    /// A context without a deadline (tests, tools).
    pub fn new(pending: &'a Secret) -> Self {
        Self { pending, deadline: None, settings: None, proof: false }
    }

    /// The same context for finishSecret's proof right before the promotion: the credential must still log in;
    /// testSecret already ran the target's probe, so a target may skip it.
    pub(crate) fn as_proof(self) -> Self {
        Self { proof: true, ..self }
    }

    /// Whether this is finishSecret's proof ([`TestContext::as_proof`]) rather than testSecret.
    pub fn is_proof(&self) -> bool {
        self.proof
    }

    /// The same context, ending at `deadline`.
    pub fn until(self, deadline: Option<Instant>) -> Self {
        Self { deadline, ..self }
    }

    /// The same context, able to read the credential's own settings from its `store` (over the function's
    /// `policy`).
    pub(crate) fn with_settings_of(self, store: StoreHandle<'a>, policy: &'a PasswordPolicy) -> Self {
        Self { settings: Some((store, policy)), ..self }
    }

    /// The secret's own settings (its `rotor:` tags over the function's defaults), read with one `DescribeSecret`
    /// when asked: a target that checks the pending value against the password policy asks only when the
    /// function's policy does not admit it. `None` where there is no secret to describe (a parameter, a tool).
    pub async fn secret_settings(&self) -> Result<Option<SecretSettings>, RotationError> {
        let Some((store, policy)) = self.settings else { return Ok(None) };
        store.settings(policy).await
    }
}

/// What finishSecret offers a target: the pending secret, read only when asked.
#[derive(Debug)]
pub struct FinishContext<'a> {
    /// The secret's ARN (for a parameter: its name).
    pub secret_id: &'a str,
    /// The rotation's token (the pending version; for a parameter: the rotation's id).
    pub token: &'a str,
    store: StoreHandle<'a>,
    promoted: Option<&'a Secret>,
}

impl<'a> FinishContext<'a> {
    /// A context for a target's finish hook.
    pub fn new(secret_id: &'a str, token: &'a str, secrets: &'a SecretsManager) -> Self {
        Self { secret_id, token, store: StoreHandle::secret(secrets, secret_id, Some(token)), promoted: None }
    }

    /// A context over `store` for a driver that has just promoted `promoted`: [`FinishContext::pending`] reads
    /// nothing.
    pub(crate) fn promoted(store: StoreHandle<'a>, secret_id: &'a str, token: &'a str, promoted: &'a Secret) -> Self {
        Self { secret_id, token, store, promoted: Some(promoted) }
    }

    /// The pending secret: the value just promoted (read again from the store only by a context built with
    /// [`FinishContext::new`]).
    pub async fn pending(&self) -> Result<Secret, RotationError> {
        if let Some(promoted) = self.promoted {
            return Ok(promoted.clone());
        }
        self.store.stored().await?.ok_or_else(|| {
            RotationError::invalid_secret(self.secret_id, "SecretString", "has no AWSPENDING value for this rotation")
        })
    }
}

/// What setSecret knows: the pending and current secrets, and reads of the previous one and of other secrets
/// (an admin secret a target's secret names), made only when a target asks.
#[derive(Debug)]
pub struct SetContext<'a> {
    /// The secret's ARN (for a parameter: its name).
    pub secret_id: &'a str,
    /// The `AWSPENDING` value to make the system accept.
    pub pending: &'a Secret,
    /// The `AWSCURRENT` value.
    pub current: &'a Secret,
    /// When the invocation ends (Lambda's deadline), if known.
    pub deadline: Option<Instant>,
    secrets: &'a SecretsManager,
    store: StoreHandle<'a>,
    tags: Option<&'a [(String, String)]>,
}

impl<'a> SetContext<'a> {
    /// A context for a target's set step.
    pub fn new(secret_id: &'a str, pending: &'a Secret, current: &'a Secret, secrets: &'a SecretsManager) -> Self {
        Self::in_store(StoreHandle::secret(secrets, secret_id, None), secret_id, pending, current, secrets)
    }

    /// A context over `store`, the credential's store (a driver's).
    pub(crate) fn in_store(
        store: StoreHandle<'a>,
        secret_id: &'a str,
        pending: &'a Secret,
        current: &'a Secret,
        secrets: &'a SecretsManager,
    ) -> Self {
        Self { secret_id, pending, current, deadline: None, secrets, store, tags: None }
    }

    /// The same context, knowing the secret's tags (read by the guard's `DescribeSecret`): the identity rule reads
    /// its binding tag there.
    pub fn with_tags(self, tags: &'a [(String, String)]) -> Self {
        Self { tags: Some(tags), ..self }
    }

    /// The same context, ending at `deadline`.
    pub(crate) fn until(self, deadline: Option<Instant>) -> Self {
        Self { deadline, ..self }
    }

    /// The identity rule of the trust model, before any change a target makes to an identity other than by logging
    /// in as it: `claim` must be pinned by the secret's `rotor:user` tag, or proven by `possession` of
    /// `AWSCURRENT`'s (or else `AWSPREVIOUS`'s) credential; otherwise an error naming the identity and both ways to
    /// bind it. A tag naming another identity refuses outright.
    pub async fn bind_identity(
        &self,
        claim: &Claim<'_>,
        possession: &impl Possession,
    ) -> Result<Binding, RotationError> {
        let binding = crate::identity::bind(self, claim, possession).await?;
        tracing::info!(binding = binding.as_str(), "the identity to change is bound to the secret");
        Ok(binding)
    }

    /// The same context for the rotation `token`, whose guard [`SetContext::still_pending`] re-checks, ending at
    /// `deadline`.
    pub fn for_rotation(mut self, token: &'a str, deadline: Option<Instant>) -> Self {
        self.store = self.store.for_token(token);
        self.deadline = deadline;
        self
    }

    /// Re-checks that this rotation still owns `AWSPENDING` (an operator or a newer rotation may have moved it).
    /// The rotator runs this check right before it calls [`Target::set`]; a target that does slow work of its own
    /// before it changes its system (a login, a remote call) calls it again right before the change. An error
    /// names what happened.
    pub async fn still_pending(&self) -> Result<(), RotationError> {
        self.store.still_pending(false).await
    }

    /// Reads the `AWSPREVIOUS` value, when there is one (a single-user target logs in with it when neither the
    /// pending nor the current credential works).
    pub async fn previous(&self) -> Result<Option<Secret>, RotationError> {
        self.store.previous().await
    }

    /// The values of rotations abandoned since `AWSCURRENT` (versions left without a label, newest first, at
    /// most three): a single-user target whose current and previous passwords are refused logs in with these,
    /// because an abandoned rotation may have changed the password before it was abandoned.
    pub async fn abandoned(&self) -> Result<Vec<Secret>, RotationError> {
        self.store.abandoned().await
    }

    /// Describes another secret (its full ARN, and the tags that name the database of an RDS-managed admin
    /// secret); `None` when no such secret exists.
    pub async fn describe_secret(&self, secret_id: &str) -> Result<Option<Description>, RotationError> {
        self.secrets.describe_optional(secret_id).await
    }

    /// Reads the `AWSCURRENT` value of another secret, such as an admin secret the target's secret names.
    pub async fn load_secret(&self, secret_id: &str) -> Result<Secret, RotationError> {
        Ok(self.load_secret_resolved(secret_id).await?.1)
    }

    /// [`SetContext::load_secret`], with the full ARN Secrets Manager resolved `secret_id` to.
    pub async fn load_secret_resolved(&self, secret_id: &str) -> Result<(String, Secret), RotationError> {
        let (arn, value) =
            self.secrets.get_resolved(secret_id, Selector::Stage(AWSCURRENT)).await?.ok_or_else(|| {
                RotationError::invalid_secret(
                    secret_id,
                    "SecretString",
                    "does not exist or has no AWSCURRENT value; check the field of the secret that names it",
                )
            })?;
        let secret = Secret::parse(&arn, &value);
        Ok((arn, secret))
    }
}

impl BindingSource for SetContext<'_> {
    fn secret_id(&self) -> &str {
        self.secret_id
    }

    fn tags(&self) -> Option<&[(String, String)]> {
        self.tags
    }

    fn current(&self) -> &Secret {
        self.current
    }

    async fn previous(&self) -> Result<Option<Secret>, RotationError> {
        SetContext::previous(self).await
    }
}
