//! Credentials an AWS API manages (ElastiCache users and AUTH tokens, Redshift admins, DocumentDB masters,
//! Directory Service users): what every such target shares, written once.
//!
//! A [`ManagedCredential`] says which resource a secret names (only one the function's configuration names), how
//! the API describes it, how to change its credential through the API, and how to prove a credential by a real
//! login. [`ManagedTarget`] makes it a [`Target`]:
//! - **createSecret** refuses a resource the configuration does not name, before anything is stored, then makes
//!   the next secret (by default the `password` replaced);
//! - **setSecret** waits for the resource to be ready, binds it to the secret (the identity rule: an
//!   administrator's `rotor:user` tag pins it, or a login with `AWSCURRENT`'s or `AWSPREVIOUS`'s credential
//!   proves it; where neither does and the pending credential logs in already, a retry after the change, it
//!   changes nothing), logs in with `AWSCURRENT`'s credential again (a change keeps it beside the new one only when it
//!   logs in now), re-checks that the rotation still owns `AWSPENDING`, and modifies: in phases when the API
//!   needs them, waiting for the resource between them;
//! - **testSecret** waits for the resource to be ready (the change has reached it), then logs in with the pending
//!   credential, with bounded retries.
//!
//! A wait looks at the resource every [`ManagedTiming::interval`] and ends by [`ManagedTiming::max_wait`], and
//! before the invocation's deadline with room for one login: it runs on [`Backoff`], the one retry loop of the
//! house.

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::error::{RotationError, TargetErrorKind};
use crate::identity::{Claim, Possession};
use crate::password::{Password, PasswordPolicy};
use crate::retry::Backoff;
use crate::secret::Secret;
use crate::settings::{STRATEGY_TAG, SecretSettings};
use crate::target::{CreateContext, SetContext, Target, TestContext};

/// The most phases one setSecret makes ([`Change::Again`]); a credential that asks for more is refused.
const MAX_PHASES: usize = 3;

/// Whether a resource can take a change now, as the API describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness<R> {
    /// It is ready (`active`, `available`), with what was read of it.
    Ready(R),
    /// It is applying a change (`modifying`): its status, for messages.
    Busy(String),
    /// It does not exist (any more): the fix, for the error.
    Gone(String),
}

/// What one [`ManagedCredential::modify`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The change is made: the resource accepts the pending credential once it is ready again.
    Done,
    /// One phase is made; modify again once the resource is ready (an AUTH token `ROTATE`d in, then `SET` alone).
    Again,
}

/// How long a [`ManagedTarget`] waits and retries: the function's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManagedTiming {
    /// The longest wait for the resource to be ready (never past the invocation's deadline).
    pub max_wait: Duration,
    /// The variable that sets `max_wait`, named when a wait runs out (`MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS`).
    pub max_wait_variable: &'static str,
    /// Between two looks at the resource.
    pub interval: Duration,
    /// testSecret's login tries.
    pub test: Backoff,
    /// The longest one login may take: a wait leaves this much before the deadline, and no login try starts that
    /// could not end before it.
    pub attempt: Duration,
}

/// A credential an AWS API changes and a real login proves (Redis `AUTH`, SQL, Kerberos, STS). Implement it and
/// run [`ManagedTarget`]. Every call bounds its own I/O; none logs a credential.
pub trait ManagedCredential: Send + Sync + 'static {
    /// What a secret names: the resource whose credential the API changes (never the credential itself).
    /// AWSPENDING must name the same one as AWSCURRENT.
    type Resource: PartialEq + Send + Sync;
    /// What [`ManagedCredential::describe`] read of a ready resource (where to log in, its rights), handed to the
    /// other calls.
    type Ready: Send + Sync;

    /// The status of a ready resource, for messages (`active`).
    const READY: &'static str;

    /// The `rotor:strategy` tag value a secret may carry, for a function that once ran under the database
    /// strategies (ElastiCache users: `admin`); `None` refuses the tag, as every target without strategies does.
    const STRATEGY: Option<&'static str> = None;

    /// A short name for logs and metrics (`elasticache`).
    fn name(&self) -> &'static str;

    /// The resource `secret` names, refused (a `ConfusedDeputy` error naming the setting) unless the function's
    /// configuration names it: a secret never widens what the function may change. Pure: no I/O.
    fn resource(&self, secret: &Secret) -> Result<Self::Resource, RotationError>;

    /// The identity the trust model binds for `resource`: its `rotor:user` value (an ARN). Errors name the
    /// resource by it.
    fn claim<'r>(&self, resource: &'r Self::Resource) -> Claim<'r>;

    /// The pending secret: by default the `password` field replaced, every other field kept. Pure: no I/O.
    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        current.with_field("password", password.into_inner())
    }

    /// createSecret's pending secret for `resource`: by default [`ManagedCredential::next_secret`]; a credential
    /// whose pending secret holds more than the password, derived with what only its system knows (a keytab's
    /// salt and key version), asks it here.
    fn create(
        &self,
        resource: &Self::Resource,
        current: &Secret,
        password: Password,
    ) -> impl Future<Output = Result<Secret, RotationError>> + Send {
        let _ = resource;
        std::future::ready(self.next_secret(current, password))
    }

    /// Why the API would refuse passwords from `policy` (a length, a character), checked at createSecret when a
    /// secret's tags set its own rules (the function checks its own policy at cold start); `None` when it takes
    /// them.
    fn refuse_policy(&self, policy: &PasswordPolicy) -> Option<String> {
        let _ = policy;
        None
    }

    /// Whether the resource can take a change now, as the API describes it. An error when it cannot be asked, or
    /// when it is not the resource the secret names (another user's name under its ARN).
    fn describe(
        &self,
        resource: &Self::Resource,
    ) -> impl Future<Output = Result<Readiness<Self::Ready>, RotationError>> + Send;

    /// Whether `secret`'s credential logs in as `resource` where the API says it lives (never where a secret says:
    /// whoever writes the secret chooses that), and a wrong one is refused there: the identity rule's proof, and
    /// the proof that lets a change keep AWSCURRENT's credential. `Ok(false)` when refused (or `secret` holds no
    /// credential); an error only when the system cannot be asked. `secret` names `resource`.
    fn proves(
        &self,
        resource: &Self::Resource,
        ready: &Self::Ready,
        secret: &Secret,
    ) -> impl Future<Output = Result<bool, RotationError>> + Send;

    /// Makes the API accept `pending`'s credential, keeping `current`'s beside it where the API holds two
    /// (`current` is given only when it has just logged in: a secret's writer cannot have a credential of its
    /// choosing kept). Refuses a resource the function must not change (a privileged user) before any call.
    /// Idempotent: setSecret is retried after any failure, including after the change succeeded.
    fn modify(
        &self,
        resource: &Self::Resource,
        ready: &Self::Ready,
        pending: &Secret,
        current: Option<&Secret>,
    ) -> impl Future<Output = Result<Change, RotationError>> + Send;

    /// testSecret's proof: logs in with `secret`'s credential as its consumers will, and runs the function's
    /// probe. A refused credential is an authentication failure, which is retried (a change may take a moment to
    /// reach every node).
    fn login(
        &self,
        resource: &Self::Resource,
        ready: &Self::Ready,
        secret: &Secret,
    ) -> impl Future<Output = Result<(), RotationError>> + Send;
}

/// A look at a resource that is not ready: still busy (looked at again), or a failure that ends the wait.
#[derive(Debug)]
enum Look {
    Busy(String),
    Failed(RotationError),
}

/// Rotates a [`ManagedCredential`] (see the module's documentation): the [`Target`] of every credential an AWS
/// API manages.
#[derive(Debug, Clone)]
pub struct ManagedTarget<C> {
    credential: C,
    timing: ManagedTiming,
}

impl<C: ManagedCredential> ManagedTarget<C> {
    /// A target for `credential`, waiting and retrying as `timing` says.
    pub fn new(credential: C, timing: ManagedTiming) -> Self {
        Self { credential, timing }
    }

    /// The credential.
    pub fn credential(&self) -> &C {
        &self.credential
    }

    /// How it waits and retries.
    pub fn timing(&self) -> &ManagedTiming {
        &self.timing
    }

    /// Waits until the API describes `resource` as ready, looking every [`ManagedTiming::interval`], for at most
    /// [`ManagedTiming::max_wait`], and ending early enough before `deadline` for one login. When it runs out, an
    /// `Unreachable` error (the service retries the step) names the status and the variable to raise; a resource
    /// that is gone fails at once.
    pub async fn wait_ready(
        &self,
        resource: &C::Resource,
        deadline: Option<Instant>,
    ) -> Result<C::Ready, RotationError> {
        let timing = &self.timing;
        let claim = self.credential.claim(resource);
        let started = Instant::now();
        let interval = timing.interval.max(Duration::from_millis(1));
        // The clock ends the wait (`until`); the number of looks bounds it too, where the clock stands still.
        let looks = u32::try_from(timing.max_wait.as_millis() / interval.as_millis()).unwrap_or(u32::MAX);
        let polling =
            Backoff { attempts: looks.saturating_add(1), initial_delay: interval, max_delay: interval, jitter: false };
        // A login follows the wait: it must have time to end, with its own error, before the deadline.
        let mut until = started + timing.max_wait;
        if let Some(deadline) = deadline {
            until = until.min(deadline.checked_sub(timing.attempt).unwrap_or(deadline));
        }
        let look = || async {
            match self.credential.describe(resource).await {
                Ok(Readiness::Ready(ready)) => Ok(ready),
                Ok(Readiness::Busy(status)) => Err(Look::Busy(status)),
                Ok(Readiness::Gone(fix)) => {
                    Err(Look::Failed(RotationError::target(TargetErrorKind::Rejected, claim.pinned_as(), fix)))
                }
                Err(error) => Err(Look::Failed(error)),
            }
        };
        let busy = |look: &Look| matches!(look, Look::Busy(_));
        let waiting = |look: &Look, _, _| {
            if let Look::Busy(status) = look {
                // Not the identity: a secret's every field (an ARN too) stays out of the logs.
                tracing::info!(%status, "waiting for the {} to be {}", claim.kind, C::READY);
            }
        };
        match polling.retry_when(busy, Some((until, Duration::ZERO)), look, waiting).await {
            Ok(ready) => Ok(ready),
            Err(Look::Failed(error)) => Err(error),
            Err(Look::Busy(status)) => Err(RotationError::target(
                TargetErrorKind::Unreachable,
                claim.pinned_as(),
                format!(
                    "the {} is still {status:?}, not {}, after waiting {} s; the service retries the step (raise {} and the function's timeout if changes take longer)",
                    claim.kind,
                    C::READY,
                    started.elapsed().as_secs(),
                    timing.max_wait_variable
                ),
            )),
        }
    }

    /// The resource AWSCURRENT names, which AWSPENDING must name too: a rotation changes only the credential,
    /// never the target.
    fn same_resource(&self, current: &Secret, pending: &Secret) -> Result<C::Resource, RotationError> {
        let resource = self.credential.resource(current)?;
        if self.credential.resource(pending)? != resource {
            return Err(RotationError::target(
                TargetErrorKind::ConfusedDeputy,
                self.credential.claim(&resource).pinned_as(),
                "the pending secret names another resource than the current one; rotate only the credential, never the target",
            ));
        }
        Ok(resource)
    }
}

impl<C: ManagedCredential> Target for ManagedTarget<C> {
    fn name(&self) -> &'static str {
        self.credential.name()
    }

    /// The next secret, for a resource the function's configuration names only.
    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        self.credential.resource(current)?;
        self.credential.next_secret(current, password)
    }

    /// The pending secret, for a resource the function's configuration names only ([`ManagedCredential::create`]).
    async fn create(
        &self,
        _ctx: &CreateContext<'_>,
        current: &Secret,
        password: Password,
    ) -> Result<Secret, RotationError> {
        let resource = self.credential.resource(current)?;
        self.credential.create(&resource, current, password).await
    }

    /// A `rotor:strategy` tag must name [`ManagedCredential::STRATEGY`]; a password policy from the tags must be
    /// one the API takes.
    fn accepts(&self, secret: &str, settings: &SecretSettings) -> Result<(), RotationError> {
        let invalid = |tag: &str, reason: String| RotationError::InvalidTag {
            secret: secret.to_owned(),
            tag: tag.to_owned(),
            reason,
        };
        if let Some(tag) = &settings.strategy
            && !C::STRATEGY.is_some_and(|strategy| tag.eq_ignore_ascii_case(strategy))
        {
            let reason = match C::STRATEGY {
                Some(strategy) => format!("the {} target rotates by {strategy} only; remove the tag", self.name()),
                None => format!("the {} target has no strategy to choose; remove the tag", self.name()),
            };
            return Err(invalid(STRATEGY_TAG, reason));
        }
        match self.credential.refuse_policy(&settings.policy) {
            Some(reason) if settings.tagged => Err(invalid("rotor:password-*", reason)),
            _ => Ok(()),
        }
    }

    /// Waits for the resource, binds it to the secret, proves AWSCURRENT's credential, and modifies, re-checking
    /// that this rotation still owns AWSPENDING right before each phase. Nothing changes before the resource is
    /// bound.
    async fn set(&self, ctx: &SetContext<'_>) -> Result<(), RotationError> {
        let resource = self.same_resource(ctx.current, ctx.pending)?;
        let mut ready = self.wait_ready(&resource, ctx.deadline).await?;
        let claim = self.credential.claim(&resource);
        let login = Login {
            credential: &self.credential,
            resource: &resource,
            ready: &ready,
            current: ctx.current,
            current_proven: OnceLock::new(),
        };
        match ctx.bind_identity(&claim, &login).await {
            Ok(_) => {}
            // A retry after the change, where only one credential is held (a directory user, a Redshift admin):
            // AWSCURRENT's and AWSPREVIOUS's no longer log in. A pending credential that does is set already:
            // nothing changes, whoever wrote it.
            Err(error @ RotationError::IdentityNotBound { .. }) => {
                if login.proves(ctx.pending).await? {
                    tracing::info!("the pending credential logs in already: nothing to change");
                    return Ok(());
                }
                return Err(error);
            }
            Err(error) => return Err(error),
        }
        // The binding's proof has just logged in with AWSCURRENT's credential, unless a tag pinned the resource.
        let proven = match login.current_proven.get() {
            Some(proven) => *proven,
            None => login.proves(ctx.current).await?,
        };
        let current = proven.then_some(ctx.current);
        if current.is_none() {
            tracing::warn!(
                "AWSCURRENT's credential does not log in, so the change does not keep it beside the new one"
            );
        }
        for _ in 0..MAX_PHASES {
            ctx.still_pending().await?;
            match self.credential.modify(&resource, &ready, ctx.pending, current).await? {
                Change::Done => return Ok(()),
                Change::Again => ready = self.wait_ready(&resource, ctx.deadline).await?,
            }
        }
        Err(RotationError::target(
            TargetErrorKind::Rejected,
            claim.pinned_as(),
            format!("the change was not done after {MAX_PHASES} phases"),
        ))
    }

    /// Waits for the resource (the change has reached it), then logs in with the pending credential, with
    /// backoff; a refused credential is retried too (propagation). No try starts that could not end before the
    /// invocation's deadline.
    async fn test(&self, ctx: &TestContext<'_>) -> Result<(), RotationError> {
        let resource = self.credential.resource(ctx.pending)?;
        let ready = self.wait_ready(&resource, ctx.deadline).await?;
        let retry_on = |error: &RotationError| error.is_retryable() || error.is_authentication_failure();
        let deadline = ctx.deadline.map(|deadline| (deadline, self.timing.attempt));
        self.timing.test.retry_if(retry_on, deadline, || self.credential.login(&resource, &ready, ctx.pending)).await
    }
}

/// The identity rule's proof for a managed credential: [`ManagedCredential::proves`], for a secret that names the
/// same resource (a credential for another resource proves nothing about this one). It remembers what it found of
/// AWSCURRENT's credential, which setSecret needs again right after the binding.
struct Login<'a, C: ManagedCredential> {
    credential: &'a C,
    resource: &'a C::Resource,
    ready: &'a C::Ready,
    current: &'a Secret,
    current_proven: OnceLock<bool>,
}

impl<C: ManagedCredential> Possession for Login<'_, C> {
    async fn proves(&self, secret: &Secret) -> Result<bool, RotationError> {
        let proven = match self.credential.resource(secret) {
            Ok(named) if named == *self.resource => self.credential.proves(self.resource, self.ready, secret).await?,
            _ => false,
        };
        if std::ptr::eq(secret, self.current) {
            let _ = self.current_proven.set(proven);
        }
        Ok(proven)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;
    use crate::store::secrets_manager::SecretsManager;

    /// A credential whose API answers as scripted: the statuses `describe` reads in turn (then `active`), the
    /// answers of testSecret's logins in turn (then success), the phases of `modify`; the password "right" logs in.
    #[derive(Default)]
    struct Fake {
        statuses: Mutex<VecDeque<Readiness<()>>>,
        logins: Mutex<VecDeque<TargetErrorKind>>,
        phases: Mutex<VecDeque<Change>>,
        described: Mutex<u32>,
        /// How many times a login proved (or refused) a credential.
        proofs: Mutex<u32>,
        /// Each modify: the pending password, and AWSCURRENT's when it was handed over.
        modified: Mutex<Vec<(String, Option<String>)>>,
    }

    impl Fake {
        fn busy(statuses: &[&str]) -> Self {
            let statuses = statuses.iter().map(|s| Readiness::Busy((*s).to_owned())).collect();
            Self { statuses: Mutex::new(statuses), ..Self::default() }
        }
    }

    fn password(secret: &Secret) -> String {
        secret.optional_str("password").unwrap().unwrap_or_default().to_owned()
    }

    impl ManagedCredential for Fake {
        type Resource = String;
        type Ready = ();
        const READY: &'static str = "active";

        fn name(&self) -> &'static str {
            "fake"
        }
        fn resource(&self, secret: &Secret) -> Result<String, RotationError> {
            let arn = secret.require_str("arn")?;
            match arn.starts_with("arn:fake:") {
                true => Ok(arn.to_owned()),
                false => Err(RotationError::target(TargetErrorKind::ConfusedDeputy, arn, "not in FAKE_ARNS")),
            }
        }
        fn claim<'r>(&self, resource: &'r String) -> Claim<'r> {
            Claim { kind: "fake user", name: resource, at: None }
        }
        async fn describe(&self, _resource: &String) -> Result<Readiness<()>, RotationError> {
            *self.described.lock().unwrap() += 1;
            Ok(self.statuses.lock().unwrap().pop_front().unwrap_or(Readiness::Ready(())))
        }
        async fn proves(&self, _resource: &String, _ready: &(), secret: &Secret) -> Result<bool, RotationError> {
            *self.proofs.lock().unwrap() += 1;
            Ok(password(secret) == "right")
        }
        async fn modify(
            &self,
            _resource: &String,
            _ready: &(),
            pending: &Secret,
            current: Option<&Secret>,
        ) -> Result<Change, RotationError> {
            self.modified.lock().unwrap().push((password(pending), current.map(password)));
            Ok(self.phases.lock().unwrap().pop_front().unwrap_or(Change::Done))
        }
        async fn login(&self, resource: &String, _ready: &(), _secret: &Secret) -> Result<(), RotationError> {
            match self.logins.lock().unwrap().pop_front() {
                Some(kind) => Err(RotationError::target(kind, resource, "refused")),
                None => Ok(()),
            }
        }
    }

    fn timing() -> ManagedTiming {
        ManagedTiming {
            max_wait: Duration::from_secs(10),
            max_wait_variable: "MAX_WAIT",
            interval: Duration::from_secs(1),
            test: Backoff { attempts: 3, ..Backoff::default() },
            attempt: Duration::from_secs(5),
        }
    }

    fn secret(arn: &str, password: &str) -> Secret {
        Secret::parse("arn:secret:s", &format!(r#"{{"arn":"{arn}","password":"{password}","kept":1}}"#))
    }

    /// A Secrets Manager client the tests never call (no token to re-check, no tag, AWSCURRENT proves itself).
    fn unused_store() -> SecretsManager {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
            .build();
        SecretsManager::from_client(aws_sdk_secretsmanager::Client::from_conf(config))
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_looks_at_the_interval_until_the_resource_is_ready() {
        let target = ManagedTarget::new(Fake::busy(&["modifying", "modifying", "modifying"]), timing());
        let started = tokio::time::Instant::now();
        target.wait_ready(&"arn:fake:u".to_owned(), None).await.unwrap();
        assert_eq!(started.elapsed(), Duration::from_secs(3));
        assert_eq!(*target.credential.described.lock().unwrap(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_ends_at_its_bound_naming_the_status_and_the_variable() {
        let target = ManagedTarget::new(Fake::busy(&["modifying"; 30]), timing());
        let started = tokio::time::Instant::now();
        let error = target.wait_ready(&"arn:fake:u".to_owned(), None).await.unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_secs(10), "at most MAX_WAIT");
        assert_eq!(*target.credential.described.lock().unwrap(), 11, "a look every second, the last at the bound");
        assert_eq!(error.error_type(), "TargetUnreachable", "the service retries the step");
        let message = error.to_string();
        assert!(message.contains("arn:fake:u") && message.contains("still \"modifying\", not active"), "{message}");
        assert!(message.contains("raise MAX_WAIT"), "{message}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_leaves_room_before_the_deadline_for_a_login() {
        let target = ManagedTarget::new(Fake::busy(&["modifying"; 30]), timing());
        // The deadline is 5.5 s away, and a login may take 5 s: no second look fits.
        let deadline = Instant::now() + Duration::from_millis(5_500);
        let error = target.wait_ready(&"arn:fake:u".to_owned(), Some(deadline)).await.unwrap_err();
        assert!(error.to_string().contains("still \"modifying\""), "{error}");
        assert_eq!(*target.credential.described.lock().unwrap(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_resource_that_is_gone_fails_at_once() {
        let fake = Fake::default();
        fake.statuses.lock().unwrap().push_back(Readiness::Gone("no such user; fix the secret".into()));
        let target = ManagedTarget::new(fake, timing());
        let error = target.wait_ready(&"arn:fake:u".to_owned(), None).await.unwrap_err();
        assert_eq!(error.error_type(), "TargetRejected");
        assert!(error.to_string().contains("arn:fake:u: no such user; fix the secret"), "{error}");
        assert_eq!(*target.credential.described.lock().unwrap(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn set_waits_binds_and_modifies_in_phases_keeping_a_current_credential_that_logs_in() {
        let fake = Fake::busy(&["modifying"]);
        fake.phases.lock().unwrap().push_back(Change::Again);
        let target = ManagedTarget::new(fake, timing());
        let secrets = unused_store();
        let (pending, current) = (secret("arn:fake:u", "new"), secret("arn:fake:u", "right"));
        target.set(&SetContext::new("arn:secret:s", &pending, &current, &secrets)).await.unwrap();
        let modified = target.credential.modified.lock().unwrap().clone();
        let kept = ("new".to_owned(), Some("right".to_owned()));
        assert_eq!(modified, [kept.clone(), kept], "two phases, AWSCURRENT kept: it logs in");
        assert_eq!(*target.credential.described.lock().unwrap(), 3, "a wait before each phase");
        assert_eq!(*target.credential.proofs.lock().unwrap(), 1, "the binding's proof of AWSCURRENT serves again");
    }

    #[tokio::test]
    async fn set_hands_over_no_current_credential_that_does_not_log_in_and_changes_nothing_unbound() {
        let target = ManagedTarget::new(Fake::default(), timing());
        let secrets = unused_store();
        let (pending, planted) = (secret("arn:fake:u", "new"), secret("arn:fake:u", "planted"));
        let tags = [(crate::identity::USER_TAG.to_owned(), "arn:fake:u".to_owned())];
        let ctx = SetContext::new("arn:secret:s", &pending, &planted, &secrets).with_tags(&tags);
        target.set(&ctx).await.unwrap();
        assert_eq!(*target.credential.modified.lock().unwrap(), [("new".to_owned(), None)]);
        assert_eq!(*target.credential.proofs.lock().unwrap(), 1, "pinned by the tag: AWSCURRENT is still tried once");

        // A pending secret naming another resource is refused before any look or change.
        let elsewhere = secret("arn:fake:other", "new");
        let current = secret("arn:fake:u", "right");
        let error = target.set(&SetContext::new("arn:secret:s", &elsewhere, &current, &secrets)).await.unwrap_err();
        assert_eq!(error.error_type(), "ConfusedDeputy");
        assert_eq!(target.credential.modified.lock().unwrap().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn test_waits_then_retries_a_refused_login_within_its_tries() {
        let fake = Fake::busy(&["modifying"]);
        fake.logins.lock().unwrap().extend([TargetErrorKind::AuthenticationFailed, TargetErrorKind::Unreachable]);
        let target = ManagedTarget::new(fake, timing());
        target.test(&TestContext::new(&secret("arn:fake:u", "new"))).await.unwrap();

        let fake = Fake::default();
        fake.logins.lock().unwrap().extend([TargetErrorKind::AuthenticationFailed; 5]);
        let target = ManagedTarget::new(fake, timing());
        let error = target.test(&TestContext::new(&secret("arn:fake:u", "new"))).await.unwrap_err();
        assert!(error.is_authentication_failure());
        assert_eq!(target.credential.logins.lock().unwrap().len(), 2, "three tries of five refusals");
    }

    #[test]
    fn the_next_secret_replaces_the_password_of_a_resource_the_configuration_names_only() {
        let target = ManagedTarget::new(Fake::default(), timing());
        let next = target.next_secret(&secret("arn:fake:u", "old"), Password::new("new".into())).unwrap();
        assert_eq!((password(&next), next.get("kept")), ("new".to_owned(), Some(&serde_json::json!(1))));
        let error = target.next_secret(&secret("arn:other:u", "old"), Password::new("new".into())).unwrap_err();
        assert_eq!(error.error_type(), "ConfusedDeputy");
    }

    #[test]
    fn a_strategy_tag_must_name_the_credentials_own() {
        let target = ManagedTarget::new(Fake::default(), timing());
        let mut settings = SecretSettings::defaults(&PasswordPolicy::default());
        assert!(target.accepts("s", &settings).is_ok());
        settings.strategy = Some("admin".into());
        let error = target.accepts("s", &settings).unwrap_err().to_string();
        assert!(error.contains("the fake target has no strategy to choose"), "{error}");
    }
}
