//! The Parameter Store protocol: a SecureString's rotation, the four steps in one invocation, over the parameter's versions
//! and labels and a companion parameter that holds the pending value (the book's "Parameter Store" design).
//!
//! The parameter's newest version is the current credential (consumers read it by name); the labels `current`
//! and `previous` mark AWSCURRENT and AWSPREVIOUS, and `rotation-<id>` the version a rotation wrote (so a re-run
//! of one of the last two finished rotations changes nothing; an older one rotates again, its label removed).
//! `<name>.rotor-pending`, created with `Overwrite=false` (the lock),
//! holds `{"rotation", "base", "value"}` from createSecret until the parameter is written.
//!
//! A parameter is bound to its function as a secret is: by its `rotor:function` tag (an administrator's, under the
//! tag-guard SCP), checked before anything else is read or written; a companion is rotor's own only when it carries
//! the same tag, which the function sets when it creates it, and is still at its first version (one a writer of
//! the path planted or overwrote is refused).
//!
//! Parameter Store keeps 100 versions and refuses a new one while the oldest carries a label, so no label may
//! accumulate: before setSecret each rotation removes the `rotation-<id>` labels from every version but the one it
//! rotates from (at most two are ever left: on `current` and on `previous`), and refuses, with nothing changed,
//! a parameter whose oldest of 100 versions still carries a label rotor did not set. A write that fails anyway
//! after setSecret sets the target back to the parameter's current credential, unless the write took effect and
//! only its answer was lost (the parameter then holds the tested value, which is promoted).

use std::time::Instant;

use crate::error::RotationError;
use crate::event::{ParameterEvent, Step, rotation_label};
use crate::notify::Rotated;
use crate::outcome::Outcome;
use crate::protocol::shared::Shared;
use crate::secret::Secret;
use crate::store::handle::StoreHandle;
use crate::store::kind::Store;
use crate::store::parameter_lock::{CURRENT_LABEL, PREVIOUS_LABEL, ParameterLock, Pending, no_parameter};
use crate::store::parameter_store::{Created, ParameterStore, Settings};
use crate::target::{CreateContext, FinishContext, SetContext, Target, TestContext};
use crate::telemetry::{self, Calls, StepRecord};

/// The version a write that answered an error made all the same (it took effect, and its answer was lost): the
/// parameter's newest version, past the base, holding the tested value. `None` when there is none, or the
/// parameter cannot be read: the target is then set back, never left holding a value the parameter lacks.
async fn written_anyway(rotation: &ParameterLock<'_>, current: &Current, pending: &Pending) -> Option<i64> {
    let now = rotation.store.read(&[rotation.name]).await.ok()?.into_iter().next().flatten()?;
    (now.version > current.version && now.value == pending.value).then_some(now.version)
}

/// The Parameter Store driver: runs a parameter's four steps in one invocation, under its lock.
#[derive(Debug)]
pub(crate) struct ParameterStoreDriver<'r, T> {
    shared: &'r Shared<T>,
    store: &'r ParameterStore,
}

impl<'r, T: Target> ParameterStoreDriver<'r, T> {
    /// The driver over what the rotator holds, and the function's Parameter Store client.
    pub(crate) fn new(shared: &'r Shared<T>, store: &'r ParameterStore) -> Self {
        Self { shared, store }
    }

    /// Rotates a parameter: createSecret, setSecret, testSecret and finishSecret in order, each recorded as a step
    /// of the Parameter Store, ending before `deadline` (already the invocation's deadline less the margin).
    pub(crate) async fn rotate(
        &self,
        event: &ParameterEvent,
        deadline: Option<Instant>,
    ) -> Result<Outcome, RotationError> {
        let companion = event.companion();
        let rotation =
            ParameterLock { store: self.store, name: &event.name, id: &event.rotation_id, companion: &companion };
        let finished = format!("{}:{}", event.name, event.label());
        let handle = StoreHandle::Parameter(rotation);
        let (secrets, target) = (&self.shared.secrets, &self.shared.target);

        // createSecret: the binding first, then the lock and the pending value.
        let started = self.started();
        let created = match rotation.check_bound(None).await {
            Ok(()) => self.create(&rotation, &finished).await,
            Err(error) => Err(error),
        };
        self.record(event, Step::CreateSecret, started, created.as_ref().map(|(o, _)| *o));
        let (outcome, state) = created?;
        let Some((current, pending, settings)) = state else { return Ok(outcome) };

        let started = self.started();
        let set = async {
            // Even after a crash after setSecret: the write in finishSecret must be able to succeed.
            make_room(&rotation, current.version).await?;
            let ctx =
                SetContext::in_store(handle, rotation.name, &pending.secret, &current.secret, secrets).until(deadline);
            if target.already_set(&ctx).await? {
                return Ok(Outcome::AlreadyDone);
            }
            ctx.still_pending().await?;
            target.set(&ctx).await.map(|()| Outcome::Done)
        }
        .await;
        self.record(event, Step::SetSecret, started, set.as_ref().copied());
        set?;

        let started = self.started();
        let ctx = TestContext::new(&pending.secret).until(deadline).with_settings_of(handle, &self.shared.policy);
        let test = target.test(&ctx).await.map(|()| Outcome::Done);
        self.record(event, Step::TestSecret, started, test.as_ref().copied());
        test?;

        let started = self.started();
        let finish = self.finish(&rotation, &current, &pending, &settings, deadline).await;
        self.record(event, Step::FinishSecret, started, finish.as_ref().copied());
        finish
    }

    /// When a step started, and the calls made to each store so far.
    fn started(&self) -> (Instant, Calls) {
        (Instant::now(), self.calls())
    }

    fn calls(&self) -> Calls {
        Calls {
            secrets_manager: self.shared.secrets.calls(),
            parameter_store: self.store.calls(),
            logins: crate::telemetry::logins(),
        }
    }

    fn record(
        &self,
        event: &ParameterEvent,
        step: Step,
        (started, before): (Instant, Calls),
        result: Result<Outcome, &RotationError>,
    ) {
        telemetry::record_step(&StepRecord {
            target: self.shared.target.name(),
            store: Store::ParameterStore,
            id: &event.name,
            step,
            version: &event.rotation_id,
            duration: started.elapsed(),
            calls: self.calls().since(before),
            result,
        });
    }

    /// createSecret: reads the parameter and its companion in one call (and, when there is no companion, whether
    /// this rotation already finished); then reuses this rotation's pending value, or makes one and creates the
    /// companion with it. `None` when
    /// there is nothing left to do (the rotation finished, or finishes here after a crash after the write).
    async fn create(
        &self,
        rotation: &ParameterLock<'_>,
        finished: &str,
    ) -> Result<(Outcome, Option<(Current, PendingSecret, Settings)>), RotationError> {
        let store = rotation.store;
        let name = rotation.name;
        let mut found = store.read(&[name, rotation.companion]).await?.into_iter();
        let (current, companion) = (found.next().flatten(), found.next().flatten());
        let current = current.ok_or_else(|| no_parameter(name))?;
        if current.kind != "SecureString" {
            return Err(RotationError::invalid_secret(
                name,
                "Type",
                format!(
                    "is {}; rotor rotates SecureString parameters only (a credential must be encrypted)",
                    current.kind
                ),
            ));
        }
        if companion.is_none() && store.read_one(finished).await?.is_some() {
            return Ok((Outcome::AlreadyCurrent, None));
        }
        let settings = store.settings(name).await?.ok_or_else(|| {
            RotationError::invalid_secret(name, "ParameterName", "was deleted while the rotation ran")
        })?;
        let current_secret = Current { version: current.version, secret: Secret::parse(name, &current.value) };
        let (outcome, pending) = match companion {
            Some(companion) => {
                let pending = rotation.pending_of(&companion).await?;
                if pending.rotation != rotation.id {
                    return Err(rotation.in_progress(&pending.rotation));
                }
                if current.version != pending.base {
                    if current.value == pending.value {
                        // A crash after the parameter was written: only the labels and the lock are left.
                        self.promoted(rotation, &pending, current.version).await?;
                        return Ok((Outcome::AlreadyCurrent, None));
                    }
                    return Err(rotation.state(format!(
                        "cannot continue: {name} was changed (version {}) since the rotation began from version {}; once you know which credential logs in, delete {} and rotate again",
                        current.version, pending.base, rotation.companion
                    )));
                }
                (Outcome::AlreadyDone, pending)
            }
            None => {
                let password = self.shared.password(&self.shared.policy, name).await?;
                let ctx =
                    CreateContext::in_store(StoreHandle::Parameter(*rotation), name, rotation.id, &self.shared.secrets);
                let next = self.shared.target.create(&ctx, &current_secret.secret, password).await?;
                let pending =
                    Pending { rotation: rotation.id.to_owned(), base: current.version, value: next.to_secret_string() };
                check_size(name, &pending.value, &settings)?;
                check_size(rotation.companion, &pending.to_value(), &settings)?;
                match store.put(rotation.companion, &pending.to_value(), &settings, false).await?.0 {
                    Created::Now => (Outcome::Done, pending),
                    // Another run got there first: it is this rotation's only if it holds this id.
                    Created::Exists => {
                        let theirs = match store.read(&[rotation.companion]).await?.pop().flatten() {
                            Some(companion) => Some(rotation.pending_of(&companion).await?),
                            None => None,
                        };
                        match theirs {
                            Some(theirs) if theirs.rotation == rotation.id => (Outcome::AlreadyDone, theirs),
                            Some(theirs) => return Err(rotation.in_progress(&theirs.rotation)),
                            None => {
                                return Err(rotation.state("lost its lock while it was created; rotate again".into()));
                            }
                        }
                    }
                }
            }
        };
        let secret = Secret::parse(name, &pending.value).with_version(rotation.id);
        Ok((outcome, Some((current_secret, PendingSecret { pending, secret }, settings))))
    }

    /// finishSecret: checks that this rotation still holds the lock and the parameter is still at the base
    /// version, writes the tested value (the parameter's newest version), then labels and unlocks.
    async fn finish(
        &self,
        rotation: &ParameterLock<'_>,
        current: &Current,
        pending: &PendingSecret,
        settings: &Settings,
        deadline: Option<Instant>,
    ) -> Result<Outcome, RotationError> {
        let store = rotation.store;
        let mut found = store.read(&[rotation.name, rotation.companion]).await?.into_iter();
        let (now, companion) = (found.next().flatten(), found.next().flatten());
        let theirs = match companion {
            Some(companion) => Some(rotation.pending_of(&companion).await?),
            None => None,
        };
        match theirs {
            Some(theirs) if theirs.rotation != rotation.id => return Err(rotation.in_progress(&theirs.rotation)),
            None => return Err(rotation.state("no longer holds the lock: its companion parameter was deleted".into())),
            Some(_) => {}
        }
        if now.as_ref().map(|p| p.version) != Some(current.version) {
            return Err(rotation.state(format!(
                "cannot promote: {} changed since the rotation began from version {}; the tested credential is kept in {}",
                rotation.name, current.version, rotation.companion
            )));
        }
        let version = match store.put(rotation.name, &pending.pending.value, settings, true).await {
            Ok((_, version)) => version,
            Err(error) => match written_anyway(rotation, current, &pending.pending).await {
                Some(version) => {
                    tracing::warn!(error_type = error.error_type(), error = %error, "the parameter's write answered an error, but the parameter holds the tested value: promoting it");
                    version
                }
                None => return Err(self.set_back(rotation, current, pending, deadline, error).await),
            },
        };
        self.promoted(rotation, &pending.pending, version).await?;
        let ctx =
            FinishContext::promoted(StoreHandle::Parameter(*rotation), rotation.name, rotation.id, &pending.secret);
        if let Err(error) = self.shared.target.finish(&ctx).await {
            tracing::warn!(error_type = error.error_type(), error = %error, "the target's finish hook failed after the promotion");
        }
        let rotated = Rotated {
            store: "ssm",
            id: rotation.name,
            version: version.to_string(),
            target: self.shared.target.name(),
        };
        self.shared.notify(rotated).await;
        Ok(Outcome::Done)
    }

    /// After a write that failed once the target took the pending credential: sets the target back to the
    /// parameter's current credential (logging in with the pending one where it must), as the Secrets Manager
    /// rotator's repair does, and deletes the lock when that worked, so the parameter consumers read still logs in
    /// and the next rotation may start. Returns `error`, saying what became of the target.
    async fn set_back(
        &self,
        rotation: &ParameterLock<'_>,
        current: &Current,
        pending: &PendingSecret,
        deadline: Option<Instant>,
        error: RotationError,
    ) -> RotationError {
        let ctx = SetContext::in_store(
            StoreHandle::Parameter(*rotation),
            rotation.name,
            &current.secret,
            &pending.secret,
            &self.shared.secrets,
        )
        .until(deadline);
        let outcome = match self.shared.target.set(&ctx).await {
            Ok(()) => match rotation.store.delete(rotation.companion).await {
                Ok(()) => {
                    "; the target was set back to the parameter's current credential, which still logs in: fix the cause and rotate again".to_owned()
                }
                Err(_) => format!(
                    "; the target was set back to the parameter's current credential, which still logs in: fix the cause, delete {} and rotate again",
                    rotation.companion
                ),
            },
            Err(set_back) => {
                tracing::error!(error_type = set_back.error_type(), error = %set_back, "setting the target back to the parameter's current credential failed");
                format!(
                    "; setting the target back to the parameter's current credential failed too ({}): the credential the target holds is kept in {}; run this rotation again with the same RotationId once the cause is fixed",
                    set_back.error_type(),
                    rotation.companion
                )
            }
        };
        tracing::warn!(error_type = error.error_type(), error = %error, "the parameter's write failed after setSecret");
        match error {
            RotationError::ParameterStore { operation, parameter, reason, retryable, source } => {
                RotationError::ParameterStore { operation, parameter, reason: reason + &outcome, retryable, source }
            }
            other => other,
        }
    }

    /// After the write of `version`: `current` and this rotation's label on it, `previous` on the base, the lock
    /// deleted.
    async fn promoted(
        &self,
        rotation: &ParameterLock<'_>,
        pending: &Pending,
        version: i64,
    ) -> Result<(), RotationError> {
        let label = rotation_label(rotation.id);
        rotation.store.label(rotation.name, version, &[CURRENT_LABEL, &label]).await?;
        rotation.store.label(rotation.name, pending.base, &[PREVIOUS_LABEL]).await?;
        rotation.store.delete(rotation.companion).await
    }
}

/// Whether a label is one rotor sets on the version a rotation wrote.
fn is_rotation_label(label: &str) -> bool {
    label.starts_with("rotation-")
}

/// Makes sure the write of the next version can succeed before the target changes: removes the rotation labels
/// from every version but `base` (the one this rotation rotates from, whose label tells a re-run it is done; any
/// other is no longer needed), then refuses, with nothing changed, when the history is full and its oldest version
/// still carries a label (Parameter Store would refuse the write: `ParameterMaxVersionLimitExceeded`).
async fn make_room(rotation: &ParameterLock<'_>, base: i64) -> Result<(), RotationError> {
    let store = rotation.store;
    let mut versions = store.labels(rotation.name).await?;
    for (version, labels) in versions.iter_mut().filter(|(v, _)| *v != base) {
        let stale: Vec<String> = labels.iter().filter(|l| is_rotation_label(l)).cloned().collect();
        if !stale.is_empty() {
            store.unlabel(rotation.name, *version, &stale).await?;
            labels.retain(|l| !is_rotation_label(l));
        }
    }
    match versions.first() {
        Some((oldest, labels)) if versions.len() >= MAX_VERSIONS && !labels.is_empty() => {
            Err(rotation.state(format!(
                "cannot write a new version: {} holds {MAX_VERSIONS} versions and the oldest, version {oldest}, carries the labels {labels:?}, so Parameter Store would refuse the write; nothing was changed: move or remove those labels (aws ssm unlabel-parameter-version --name {} --parameter-version {oldest} --labels ...) and rotate again",
                rotation.name, rotation.name
            )))
        }
        _ => Ok(()),
    }
}

/// How many versions Parameter Store keeps of a parameter.
const MAX_VERSIONS: usize = 100;

/// The parameter's version a rotation starts from, and its value.
struct Current {
    version: i64,
    secret: Secret,
}

/// The pending value, as kept and as parsed.
struct PendingSecret {
    pending: Pending,
    secret: Secret,
}

/// Refuses a value over the parameter's tier before anything is written.
fn check_size(name: &str, value: &str, settings: &Settings) -> Result<(), RotationError> {
    let limit = settings.max_value_bytes();
    if value.len() > limit {
        return Err(RotationError::invalid_secret(
            name,
            "Value",
            format!(
                "would be {} bytes, over the {} tier's {limit}; shorten the value{}",
                value.len(),
                settings.tier,
                if limit < 8192 { " or move the parameter to the Advanced tier" } else { "" }
            ),
        ));
    }
    Ok(())
}
