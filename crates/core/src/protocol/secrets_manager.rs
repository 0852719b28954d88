//! The four steps: guard, then createSecret, setSecret, testSecret or finishSecret.

use std::time::{Duration, Instant};

use crate::error::RotationError;
use crate::event::{RotationEvent, Step};
use crate::notify::{Notifier, Rotated};
use crate::password::{PasswordPolicy, PasswordSource};
use crate::secret::Secret;
use crate::settings::SecretSettings;
use crate::store::secrets_manager::{Description, SecretsManager, Selector, Stored};
use crate::target::{CreateContext, FinishContext, SetContext, Target, TestContext};
use crate::versions::{AWSCURRENT, AWSPENDING, GuardRefusal, Verdict};

/// How long before the invocation's deadline a step gives up, so it reports its own error instead of being
/// killed by Lambda without one.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// How long a rotation that lost `AWSPENDING` waits for the one that took over before it repairs the target.
const REPAIR_WAIT: Duration = Duration::from_secs(3);

/// What a successful step did, for the step's log record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The step did its work.
    Done,
    /// Nothing to do: the work was already done (a retry, or a repeated invocation).
    AlreadyDone,
    /// Nothing to do: the token's version is already `AWSCURRENT`.
    AlreadyCurrent,
}

impl Outcome {
    /// The outcome's name in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::AlreadyDone => "already_done",
            Self::AlreadyCurrent => "already_current",
        }
    }
}

/// Runs rotation steps for one target. Holds no state between invocations: every step re-derives it from
/// Secrets Manager, so each is idempotent.
#[derive(Debug)]
pub struct Rotator<T> {
    secrets: SecretsManager,
    target: T,
    policy: PasswordPolicy,
    notifier: Option<Notifier>,
}

impl<T: Target> Rotator<T> {
    /// A rotator over a Secrets Manager client, a target and the password policy.
    pub fn new(secrets: SecretsManager, target: T, policy: PasswordPolicy) -> Self {
        Self { secrets, target, policy, notifier: None }
    }

    /// The same rotator, publishing a "rotated" event after each successful promotion when `notifier` is given.
    pub fn with_notifier(mut self, notifier: Option<Notifier>) -> Self {
        self.notifier = notifier;
        self
    }

    /// Publishes the "rotated" event, when a notifier is configured.
    pub(crate) async fn notify(&self, rotated: Rotated<'_>) {
        if let Some(notifier) = &self.notifier {
            notifier.rotated(&rotated).await;
        }
    }

    /// The target.
    pub fn target(&self) -> &T {
        &self.target
    }

    /// The Secrets Manager client.
    pub fn secrets(&self) -> &SecretsManager {
        &self.secrets
    }

    /// The password policy.
    pub fn policy(&self) -> &PasswordPolicy {
        &self.policy
    }

    /// Runs one step: the guard, then the step itself, ending [`DEADLINE_MARGIN`] before `deadline` (the
    /// invocation's) with an error that says so.
    pub async fn handle(&self, event: &RotationEvent, deadline: Option<Instant>) -> Result<Outcome, RotationError> {
        let Some(deadline) = deadline else { return Box::pin(self.step(event, None)).await };
        let stop = deadline.checked_sub(DEADLINE_MARGIN).unwrap_or(deadline);
        // Boxed: a target's futures nest deeply, and a user's own target crate should not need a recursion_limit.
        match tokio::time::timeout_at(stop.into(), Box::pin(self.step(event, Some(stop)))).await {
            Ok(result) => result,
            Err(_) => Err(RotationError::StepTimedOut { step: event.step.as_str(), margin: DEADLINE_MARGIN }),
        }
    }

    async fn step(&self, event: &RotationEvent, deadline: Option<Instant>) -> Result<Outcome, RotationError> {
        let token = event.client_request_token.as_str();
        // createSecret runs its guard once, right before it stores. setSecret and finishSecret run it right before
        // they change anything (the target, the labels): they read the pending value first, and the guard's
        // DescribeSecret comes after, once. testSecret changes nothing: the token's AWSPENDING value is all it
        // needs.
        if event.step == Step::CreateSecret {
            return self.create(&event.secret_id, token, event.rotation_token.as_deref()).await;
        }
        if let Some(pending) = read_pending(&self.secrets, &event.secret_id, token).await? {
            return self.with_pending(event, &event.secret_id, pending, deadline).await;
        }
        // No AWSPENDING value: the service's placeholder, or a version that no longer holds AWSPENDING (a step
        // replayed after its rotation finished, the AWSCURRENT token of a configuration test). The guard decides.
        let description = self.secrets.describe(&event.secret_id).await?;
        let arn = description.arn.as_str();
        match guard(&description, token)? {
            // The configuration test (RotateImmediately=false) puts AWSPENDING on the current version: test it.
            Verdict::AlreadyCurrent if event.step == Step::TestSecret => {
                let current = self.required(arn, Selector::Stage(AWSCURRENT), "AWSCURRENT").await?.with_version(token);
                self.target.test(&self.test_context(arn, &current, deadline)).await?;
                Ok(Outcome::Done)
            }
            Verdict::AlreadyCurrent => Ok(Outcome::AlreadyCurrent),
            // AWSPENDING, but without a value a moment ago: read it again (createSecret may just have stored it).
            Verdict::Pending => {
                let pending = self.pending(arn, token).await?;
                self.with_pending(event, arn, pending, deadline).await
            }
        }
    }

    /// setSecret, testSecret or finishSecret, with the token's pending value read.
    async fn with_pending(
        &self,
        event: &RotationEvent,
        secret_id: &str,
        pending: Secret,
        deadline: Option<Instant>,
    ) -> Result<Outcome, RotationError> {
        match event.step {
            Step::SetSecret => self.set(secret_id, &event.client_request_token, pending, deadline).await,
            Step::TestSecret => {
                self.target.test(&self.test_context(secret_id, &pending, deadline)).await?;
                Ok(Outcome::Done)
            }
            Step::FinishSecret => self.finish(event, &pending, deadline).await,
            Step::CreateSecret => {
                self.create(secret_id, &event.client_request_token, event.rotation_token.as_deref()).await
            }
        }
    }

    /// setSecret, with the pending value read. The guard runs right before the target changes its system (a
    /// target that first does slow work of its own checks again with [`SetContext::still_pending`]); afterwards
    /// the guard is checked again, and a rotation that lost `AWSPENDING` meanwhile (an operator or a newer
    /// rotation moved it) sets the system back to `AWSCURRENT`'s credential (after the rotation that took over,
    /// if any, finished) before it fails.
    async fn set(
        &self,
        secret_id: &str,
        token: &str,
        pending: Secret,
        deadline: Option<Instant>,
    ) -> Result<Outcome, RotationError> {
        let current = self.required(secret_id, Selector::Stage(AWSCURRENT), "AWSCURRENT").await?;
        // A target that cannot set the same credential twice harmlessly checks first, changing nothing, whether
        // an earlier attempt already did.
        let check = SetContext::new(secret_id, &pending, &current, &self.secrets).for_rotation(token, deadline);
        if self.target.already_set(&check).await? {
            return Ok(Outcome::AlreadyDone);
        }
        let description = self.secrets.describe(secret_id).await?;
        if guard(&description, token)? == Verdict::AlreadyCurrent {
            return Ok(Outcome::AlreadyCurrent);
        }
        let arn = description.arn.as_str();
        let ctx = SetContext::new(arn, &pending, &current, &self.secrets)
            .for_rotation(token, deadline)
            .with_tags(&description.tags);
        let result = self.target.set(&ctx).await;
        let description = self.secrets.describe(arn).await?;
        if let Err(lost) = still_pending(&description, token) {
            self.repair(arn, token, &pending, deadline).await;
            return Err(lost);
        }
        result.map(|()| Outcome::Done)
    }

    /// After losing `AWSPENDING`, sets the target back to `AWSCURRENT`'s credential, the one clients read and the
    /// winner logs in with; if `AWSCURRENT` moved meanwhile (the winner promoted), again to the new one, a few
    /// times at most. Logs what it did; the step fails either way.
    async fn repair(&self, arn: &str, token: &str, mine: &Secret, deadline: Option<Instant>) {
        self.await_rotation_in_flight(arn, token, deadline).await;
        for _ in 0..3 {
            match self.set_back_to_current(arn, mine, deadline).await {
                Ok(false) => continue,
                Ok(true) => {
                    tracing::warn!(
                        "this rotation lost AWSPENDING while it set the target; the target was set back to AWSCURRENT's credential"
                    );
                    return;
                }
                Err(error) => {
                    tracing::error!(
                        error_type = error.error_type(),
                        error = %error,
                        "this rotation lost AWSPENDING while it set the target, and setting it back failed; check that AWSCURRENT logs in"
                    );
                    return;
                }
            }
        }
        tracing::error!(
            "this rotation lost AWSPENDING while it set the target, and AWSCURRENT kept moving while it set it back; check that AWSCURRENT logs in"
        );
    }

    /// Sets the target to `AWSCURRENT`'s credential, logging in with `mine` where it must; whether `AWSCURRENT`
    /// stayed on the same version meanwhile.
    async fn set_back_to_current(
        &self,
        arn: &str,
        mine: &Secret,
        deadline: Option<Instant>,
    ) -> Result<bool, RotationError> {
        let description = self.secrets.describe(arn).await?;
        let before = description.versions.current().map(str::to_owned);
        let current = self.required(arn, Selector::Stage(AWSCURRENT), "AWSCURRENT").await?;
        let mut ctx = SetContext::new(arn, &current, mine, &self.secrets).with_tags(&description.tags);
        ctx.deadline = deadline;
        self.target.set(&ctx).await?;
        let after = self.secrets.describe(arn).await.ok().and_then(|d| d.versions.current().map(str::to_owned));
        Ok(after == before)
    }

    /// Waits (at most [`REPAIR_WAIT`], and never past the deadline) while another version holds `AWSPENDING`:
    /// the rotation that took over may be between its last login check and its promotion, and the repair must set
    /// the target to what `AWSCURRENT` holds after it.
    async fn await_rotation_in_flight(&self, arn: &str, token: &str, deadline: Option<Instant>) {
        let until = Instant::now() + REPAIR_WAIT;
        let until = deadline.map_or(until, |d| until.min(d.checked_sub(Duration::from_secs(1)).unwrap_or(d)));
        while Instant::now() < until {
            let in_flight = match self.secrets.describe(arn).await {
                Ok(description) => description.versions.stuck_pending().is_some_and(|v| v != token),
                Err(_) => false,
            };
            if !in_flight {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// finishSecret: proves the pending credential logs in, runs the guard right before the promotion, then
    /// promotes and runs the target's finish hook.
    async fn finish(
        &self,
        event: &RotationEvent,
        pending: &Secret,
        deadline: Option<Instant>,
    ) -> Result<Outcome, RotationError> {
        let token = event.client_request_token.as_str();
        self.target.test(&self.test_context(&event.secret_id, pending, deadline)).await?;
        let description = self.secrets.describe(&event.secret_id).await?;
        if guard(&description, token)? == Verdict::AlreadyCurrent {
            return Ok(Outcome::AlreadyCurrent);
        }
        let arn = description.arn.as_str();
        let Some(promotion) = description.versions.promotion(token) else { return Ok(Outcome::AlreadyCurrent) };
        self.secrets.promote(arn, &promotion).await?;
        if let Err(error) = self.target.finish(&FinishContext::new(arn, token, &self.secrets)).await {
            tracing::warn!(error_type = error.error_type(), error = %error, "the target's finish hook failed after the promotion");
        }
        let rotated =
            Rotated { store: "secretsmanager", id: arn, version: token.to_owned(), target: self.target.name() };
        self.notify(rotated).await;
        Ok(Outcome::Done)
    }

    /// createSecret. The guard runs first, with the one `DescribeSecret` that also reads the secret's tags (its
    /// password rules, [`SecretSettings`]); then the value is made and stored. Storing moves `AWSPENDING` to this
    /// version wherever it is, so the time between the guard and the store is kept short: making a value is local
    /// work, and a target that changes its system before the store (one that mints the credential) checks
    /// [`CreateContext::still_pending`] itself right before it mints. Whether an earlier attempt already stored the
    /// pending value is learned from the store itself (`PutSecretValue` refuses another value for the token),
    /// which saves a read on every rotation; a retry then generates a value that is not kept, and a minting target
    /// is asked again for the same token.
    async fn create(
        &self,
        secret_id: &str,
        token: &str,
        rotation_token: Option<&str>,
    ) -> Result<Outcome, RotationError> {
        let current = self.required(secret_id, Selector::Stage(AWSCURRENT), "AWSCURRENT").await?;
        let description = self.secrets.describe(secret_id).await?;
        if guard(&description, token)? == Verdict::AlreadyCurrent {
            return Ok(Outcome::AlreadyCurrent);
        }
        let arn = description.arn.as_str();
        let settings = self.settings(&description)?;
        let password = match settings.policy.source {
            PasswordSource::Local => settings.policy.generate()?,
            PasswordSource::SecretsManager => self.secrets.random_password(arn, &settings.policy).await?,
        };
        let ctx = CreateContext::new(arn, token, &self.secrets).with_tags(&description.tags);
        let next = self.target.create(&ctx, &current, password).await?;
        match self.secrets.put_pending(arn, token, &next.to_secret_string(), rotation_token).await? {
            Stored::Now => Ok(Outcome::Done),
            Stored::Before => Ok(Outcome::AlreadyDone),
        }
    }

    /// testSecret's context, able to read the secret's tags if the target asks.
    fn test_context<'a>(
        &'a self,
        secret_id: &'a str,
        pending: &'a Secret,
        deadline: Option<Instant>,
    ) -> TestContext<'a> {
        TestContext::new(pending).until(deadline).with_settings_of(&self.secrets, secret_id, &self.policy)
    }

    /// The secret's settings: its `rotor:` tags over the function's defaults, checked by the target.
    fn settings(&self, description: &Description) -> Result<SecretSettings, RotationError> {
        let settings = SecretSettings::from_tags(&description.arn, &description.tags, &self.policy)?;
        self.target.accepts(&description.arn, &settings)?;
        Ok(settings)
    }

    async fn pending(&self, arn: &str, token: &str) -> Result<Secret, RotationError> {
        read_pending(&self.secrets, arn, token).await?.ok_or_else(|| RotationError::VersionState {
            secret: arn.to_owned(),
            version: token.to_owned(),
            reason: "has no AWSPENDING value: createSecret has not stored one; the service retries from createSecret"
                .into(),
        })
    }

    async fn required(&self, arn: &str, selector: Selector<'_>, what: &str) -> Result<Secret, RotationError> {
        let value = self.secrets.get(arn, selector).await?;
        value.map(|v| Secret::parse(arn, &v)).ok_or_else(|| {
            RotationError::invalid_secret(arn, "SecretString", format!("has no {what} value; put a value first"))
        })
    }
}

/// The token's `AWSPENDING` value: `None` while it has none (the service's placeholder) and when the token's version
/// does not hold `AWSPENDING` (any more), whichever of its two answers Secrets Manager gives.
pub(crate) async fn read_pending(
    secrets: &SecretsManager,
    secret_id: &str,
    token: &str,
) -> Result<Option<Secret>, RotationError> {
    let value = secrets.get(secret_id, Selector::VersionInStage(token, AWSPENDING)).await?;
    Ok(value.map(|v| Secret::parse(secret_id, &v).with_version(token)))
}

/// Whether the rotation of `token` still owns `AWSPENDING` (or already finished); an error naming what happened
/// when it does not.
pub(crate) fn still_pending(description: &Description, token: &str) -> Result<(), RotationError> {
    guard(description, token).map(drop)
}

/// The guard of CONTRACT section 4: rotation enabled (a missing flag is fine), the token a version of the
/// secret, and that version `AWSPENDING` or already `AWSCURRENT`.
fn guard(description: &Description, token: &str) -> Result<Verdict, RotationError> {
    if description.rotation_enabled == Some(false) {
        return Err(RotationError::RotationDisabled { secret: description.arn.clone() });
    }
    description.versions.guard(token).map_err(|refusal| RotationError::VersionState {
        secret: description.arn.clone(),
        version: token.to_owned(),
        reason: match refusal {
            GuardRefusal::UnknownVersion => "is not a version of this secret: the rotation was abandoned \
                (for example by a manual PutSecretValue); start a new rotation"
                .into(),
            GuardRefusal::NotPending { stages } => {
                format!("is not AWSPENDING (its labels: {stages:?}): another rotation took over; start a new rotation")
            }
        },
    })
}
