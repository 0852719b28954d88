//! The Secrets Manager protocol: one step per invocation (createSecret, setSecret, testSecret or finishSecret),
//! each behind the guard of CONTRACT section 4, and the repair of a target after a rotation lost `AWSPENDING`.

use std::time::{Duration, Instant};

use crate::error::RotationError;
use crate::event::{RotationEvent, Step};
use crate::notify::Rotated;
use crate::outcome::Outcome;
use crate::protocol::shared::Shared;
use crate::secret::Secret;
use crate::settings::SecretSettings;
use crate::store::handle::StoreHandle;
use crate::store::secrets_manager::{Description, Selector, Stored, guard, read_pending, still_pending};
use crate::target::{CreateContext, FinishContext, SetContext, Target, TestContext};
use crate::versions::{AWSCURRENT, Verdict};

/// How old finishSecret's guard may be when the promotion starts: its `DescribeSecret` is read alongside the proof
/// of the pending credential, and read again when the proof ended longer after the guard's answer than this (a
/// login's time, with room).
const GUARD_FRESHNESS: Duration = Duration::from_millis(250);

/// How long a rotation that lost `AWSPENDING` waits for the one that took over before it repairs the target.
const REPAIR_WAIT: Duration = Duration::from_secs(3);

/// The Secrets Manager driver: runs one step of a secret's rotation. Holds no state between invocations: every step
/// re-derives it from Secrets Manager, so each is idempotent.
#[derive(Debug)]
pub(crate) struct SecretsManagerDriver<'r, T> {
    shared: &'r Shared<T>,
}

impl<'r, T: Target> SecretsManagerDriver<'r, T> {
    /// The driver over what the rotator holds.
    pub(crate) fn new(shared: &'r Shared<T>) -> Self {
        Self { shared }
    }

    /// Runs one step: the guard, then the step itself, ending before `deadline` (already the invocation's deadline
    /// less the margin).
    pub(crate) async fn step(
        &self,
        event: &RotationEvent,
        deadline: Option<Instant>,
    ) -> Result<Outcome, RotationError> {
        let token = event.client_request_token.as_str();
        // createSecret runs its guard once, before it stores. setSecret runs it before it changes the target, and
        // again after; its three reads (the pending value, AWSCURRENT's, the guard's DescribeSecret) go out
        // together. finishSecret runs the guard alongside its proof of the pending credential, right before the
        // promotion. testSecret changes nothing: the token's AWSPENDING value is all it needs.
        match event.step {
            Step::CreateSecret => return self.create(&event.secret_id, token, event.rotation_token.as_deref()).await,
            Step::SetSecret => return self.set(&event.secret_id, token, deadline).await,
            Step::TestSecret | Step::FinishSecret => {}
        }
        if let Some(pending) = read_pending(&self.shared.secrets, &event.secret_id, token).await? {
            return self.with_pending(event, &event.secret_id, pending, deadline).await;
        }
        // No AWSPENDING value: the service's placeholder, or a version that no longer holds AWSPENDING (a step
        // replayed after its rotation finished, the AWSCURRENT token of a configuration test). The guard decides.
        let description = self.shared.secrets.describe(&event.secret_id).await?;
        let arn = description.arn.as_str();
        match guard(&description, token)? {
            // The configuration test (RotateImmediately=false) puts AWSPENDING on the current version: test it.
            Verdict::AlreadyCurrent if event.step == Step::TestSecret => {
                let current = self.required(arn, Selector::Stage(AWSCURRENT), "AWSCURRENT").await?.with_version(token);
                self.shared.target.test(&self.test_context(arn, &current, deadline)).await?;
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

    /// testSecret or finishSecret, with the token's pending value read.
    async fn with_pending(
        &self,
        event: &RotationEvent,
        secret_id: &str,
        pending: Secret,
        deadline: Option<Instant>,
    ) -> Result<Outcome, RotationError> {
        if event.step == Step::FinishSecret {
            return self.finish(event, &pending, deadline).await;
        }
        self.shared.target.test(&self.test_context(secret_id, &pending, deadline)).await?;
        Ok(Outcome::Done)
    }

    /// setSecret. The pending value, `AWSCURRENT`'s and the guard's `DescribeSecret` are read together; the guard
    /// passes before the target changes its system (a target that first does slow work of its own checks again
    /// with [`SetContext::still_pending`]); afterwards the guard is checked again, and a rotation that lost
    /// `AWSPENDING` meanwhile (an operator or a newer rotation moved it) sets the system back to `AWSCURRENT`'s
    /// credential (after the rotation that took over, if any, finished) before it fails.
    async fn set(&self, secret_id: &str, token: &str, deadline: Option<Instant>) -> Result<Outcome, RotationError> {
        let secrets = &self.shared.secrets;
        let (pending, current, description) = tokio::join!(
            read_pending(secrets, secret_id, token),
            self.required(secret_id, Selector::Stage(AWSCURRENT), "AWSCURRENT"),
            secrets.describe(secret_id)
        );
        let description = description?;
        // The guard first: a replayed step (no AWSPENDING value, the version already AWSCURRENT) does nothing,
        // whatever the other reads found.
        if guard(&description, token)? == Verdict::AlreadyCurrent {
            return Ok(Outcome::AlreadyCurrent);
        }
        let arn = description.arn.as_str();
        let pending = match pending? {
            Some(pending) => pending,
            // AWSPENDING, but without a value a moment ago: read it again (createSecret may just have stored it).
            None => self.pending(arn, token).await?,
        };
        let current = current?;
        // A target that cannot set the same credential twice harmlessly checks first, changing nothing, whether
        // an earlier attempt already did.
        let check = SetContext::new(arn, &pending, &current, secrets).for_rotation(token, deadline);
        if self.shared.target.already_set(&check).await? {
            return Ok(Outcome::AlreadyDone);
        }
        let ctx = SetContext::new(arn, &pending, &current, secrets)
            .for_rotation(token, deadline)
            .with_tags(&description.tags);
        let result = self.shared.target.set(&ctx).await;
        let description = secrets.describe(arn).await?;
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
        let description = self.shared.secrets.describe(arn).await?;
        let before = description.versions.current().map(str::to_owned);
        let current = self.required(arn, Selector::Stage(AWSCURRENT), "AWSCURRENT").await?;
        let mut ctx = SetContext::new(arn, &current, mine, &self.shared.secrets).with_tags(&description.tags);
        ctx.deadline = deadline;
        self.shared.target.set(&ctx).await?;
        let after = self.shared.secrets.describe(arn).await.ok().and_then(|d| d.versions.current().map(str::to_owned));
        Ok(after == before)
    }

    /// Waits (at most [`REPAIR_WAIT`], and never past the deadline) while another version holds `AWSPENDING`:
    /// the rotation that took over may be between its last login check and its promotion, and the repair must set
    /// the target to what `AWSCURRENT` holds after it.
    async fn await_rotation_in_flight(&self, arn: &str, token: &str, deadline: Option<Instant>) {
        let until = Instant::now() + REPAIR_WAIT;
        let until = deadline.map_or(until, |d| until.min(d.checked_sub(Duration::from_secs(1)).unwrap_or(d)));
        while Instant::now() < until {
            let in_flight = match self.shared.secrets.describe(arn).await {
                Ok(description) => description.versions.stuck_pending().is_some_and(|v| v != token),
                Err(_) => false,
            };
            if !in_flight {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// finishSecret: proves the pending credential logs in while the guard's `DescribeSecret` is read, right before
    /// the promotion; promotes only when both pass, then runs the target's finish hook.
    async fn finish(
        &self,
        event: &RotationEvent,
        pending: &Secret,
        deadline: Option<Instant>,
    ) -> Result<Outcome, RotationError> {
        let token = event.client_request_token.as_str();
        let ctx = self.test_context(&event.secret_id, pending, deadline).as_proof();
        let read = async { (self.shared.secrets.describe(&event.secret_id).await, Instant::now()) };
        let (proof, (description, read_at)) = tokio::join!(self.shared.target.test(&ctx), read);
        // A proof that ended well after the guard's answer (it retried: a password still reaching a replica) leaves
        // the guard stale: it is read again.
        let description = match description {
            Ok(_) if read_at.elapsed() > GUARD_FRESHNESS => self.shared.secrets.describe(&event.secret_id).await?,
            read => read?,
        };
        // The guard's verdict first: a rotation another invocation finished meanwhile has nothing left to do.
        if guard(&description, token)? == Verdict::AlreadyCurrent {
            return Ok(Outcome::AlreadyCurrent);
        }
        proof?;
        let arn = description.arn.as_str();
        let Some(promotion) = description.versions.promotion(token) else { return Ok(Outcome::AlreadyCurrent) };
        self.shared.secrets.promote(arn, &promotion).await?;
        let ctx =
            FinishContext::promoted(StoreHandle::secret(&self.shared.secrets, arn, Some(token)), arn, token, pending);
        if let Err(error) = self.shared.target.finish(&ctx).await {
            tracing::warn!(error_type = error.error_type(), error = %error, "the target's finish hook failed after the promotion");
        }
        let rotated =
            Rotated { store: "secretsmanager", id: arn, version: token.to_owned(), target: self.shared.target.name() };
        self.shared.notify(rotated).await;
        Ok(Outcome::Done)
    }

    /// createSecret. The guard runs first, with the one `DescribeSecret` that also reads the secret's tags (its
    /// password rules, [`SecretSettings`]), read alongside `AWSCURRENT`'s value; then the value is made and
    /// stored. Storing moves `AWSPENDING` to this version wherever it is, so the time between the guard and the
    /// store is kept short: making a value is local work, and a target that changes its system before the store (one that mints the credential) checks
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
        let (current, description) = tokio::join!(
            self.required(secret_id, Selector::Stage(AWSCURRENT), "AWSCURRENT"),
            self.shared.secrets.describe(secret_id)
        );
        let description = description?;
        if guard(&description, token)? == Verdict::AlreadyCurrent {
            return Ok(Outcome::AlreadyCurrent);
        }
        let current = current?;
        let arn = description.arn.as_str();
        let settings = self.settings(&description)?;
        let password = self.shared.password(&settings.policy, arn).await?;
        let ctx = CreateContext::new(arn, token, &self.shared.secrets).with_tags(&description.tags);
        let next = self.shared.target.create(&ctx, &current, password).await?;
        match self.shared.secrets.put_pending(arn, token, &next.to_secret_string(), rotation_token).await? {
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
        let store = StoreHandle::secret(&self.shared.secrets, secret_id, None);
        TestContext::new(pending).until(deadline).with_settings_of(store, &self.shared.policy)
    }

    /// The secret's settings: its `rotor:` tags over the function's defaults, checked by the target.
    fn settings(&self, description: &Description) -> Result<SecretSettings, RotationError> {
        let settings = SecretSettings::from_tags(&description.arn, &description.tags, &self.shared.policy)?;
        self.shared.target.accepts(&description.arn, &settings)?;
        Ok(settings)
    }

    async fn pending(&self, arn: &str, token: &str) -> Result<Secret, RotationError> {
        read_pending(&self.shared.secrets, arn, token).await?.ok_or_else(|| RotationError::VersionState {
            secret: arn.to_owned(),
            version: token.to_owned(),
            reason: "has no AWSPENDING value: createSecret has not stored one; the service retries from createSecret"
                .into(),
        })
    }

    async fn required(&self, arn: &str, selector: Selector<'_>, what: &str) -> Result<Secret, RotationError> {
        let value = self.shared.secrets.get(arn, selector).await?;
        value.map(|v| Secret::parse(arn, &v)).ok_or_else(|| {
            RotationError::invalid_secret(arn, "SecretString", format!("has no {what} value; put a value first"))
        })
    }
}
