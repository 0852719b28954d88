//! Rotation of a Parameter Store SecureString: the four steps run in one invocation, over the parameter's versions
//! and labels and a companion parameter that holds the pending value (the README's "Parameter Store" design).
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

use serde_json::{Value, json};

use crate::error::RotationError;
use crate::event::{RotationEvent, Step};
use crate::notify::Rotated;
use crate::password::PasswordSource;
use crate::protocol::secrets_manager::{Outcome, Rotator};
use crate::secret::Secret;
use crate::store::parameter_store::{Created, Parameter, ParameterStore, Settings};
use crate::target::{CreateContext, FinishContext, SetContext, Target, TestContext};
use crate::telemetry::{self, StepRecord};

/// The suffix of the companion parameter that holds a rotation's pending value.
pub const PENDING_SUFFIX: &str = ".rotor-pending";
/// The label of the current version.
pub const CURRENT_LABEL: &str = "current";
/// The label of the version before it.
pub const PREVIOUS_LABEL: &str = "previous";
/// The tag that binds a parameter, and its companion, to the function that rotates it.
pub const FUNCTION_TAG: &str = "rotor:function";

/// A parameter rotation's event: `{"ParameterName": ..., "RotationId": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterEvent {
    /// The parameter's name (`/prod/db/app`).
    pub name: String,
    /// The rotation's id: the same for every run of one rotation, new for the next.
    pub rotation_id: String,
}

impl ParameterEvent {
    /// Whether an event is a parameter's (it has `ParameterName`).
    pub fn is_parameter_event(value: &Value) -> bool {
        value.get("ParameterName").is_some()
    }

    /// Parses the event; errors name the field.
    pub fn from_value(value: &Value) -> Result<Self, RotationError> {
        let field = |name: &'static str| match value.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(_) => Err(RotationError::InvalidEvent { field: name, reason: "must be a non-empty string".into() }),
            None => Err(RotationError::InvalidEvent { field: name, reason: "is missing".into() }),
        };
        let name = field("ParameterName")?;
        let rotation_id = field("RotationId")?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || "/_.-".contains(c);
        if !name.chars().all(allowed) || name.ends_with(PENDING_SUFFIX) || name.len() > 1011 - PENDING_SUFFIX.len() {
            return Err(RotationError::InvalidEvent {
                field: "ParameterName",
                reason: "must be a parameter name (letters, digits, / _ . -), not a rotation's companion".into(),
            });
        }
        if rotation_id.len() > 80 || !rotation_id.chars().all(|c| c.is_ascii_alphanumeric() || "_.-:".contains(c)) {
            return Err(RotationError::InvalidEvent {
                field: "RotationId",
                reason: "must be at most 80 letters, digits, _ . - or : (the schedule's scheduled-time fits)".into(),
            });
        }
        Ok(Self { name, rotation_id })
    }

    /// The label that marks the version this rotation wrote: `rotation-` and the id, `:` made `-` (labels take
    /// letters, digits, `.`, `-`, `_`).
    pub fn label(&self) -> String {
        rotation_label(&self.rotation_id)
    }

    /// The companion's name.
    pub fn companion(&self) -> String {
        format!("{}{PENDING_SUFFIX}", self.name)
    }
}

/// The event names a parameter that does not exist.
fn no_parameter(name: &str) -> RotationError {
    RotationError::invalid_secret(name, "ParameterName", "names no parameter; create it with the credential first")
}

/// The version a write that answered an error made all the same (it took effect, and its answer was lost): the
/// parameter's newest version, past the base, holding the tested value. `None` when there is none, or the
/// parameter cannot be read: the target is then set back, never left holding a value the parameter lacks.
async fn written_anyway(rotation: &ParameterRotation<'_>, current: &Current, pending: &Pending) -> Option<i64> {
    let now = rotation.store.read(&[rotation.name]).await.ok()?.into_iter().next().flatten()?;
    (now.version > current.version && now.value == pending.value).then_some(now.version)
}

/// The label of the version rotation `id` wrote.
fn rotation_label(id: &str) -> String {
    format!("rotation-{}", id.replace(':', "-"))
}

/// One parameter rotation, as the step contexts see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParameterRotation<'a> {
    pub(crate) store: &'a ParameterStore,
    pub(crate) name: &'a str,
    pub(crate) id: &'a str,
    pub(crate) companion: &'a str,
}

impl ParameterRotation<'_> {
    /// Whether this rotation holds the lock (or, with `absent_ok`, nobody does yet).
    pub(crate) async fn check_lock(&self, absent_ok: bool) -> Result<(), RotationError> {
        let found = self.store.read(&[self.companion]).await?.pop().flatten();
        match found {
            None if absent_ok => Ok(()),
            None => Err(self.state("no longer holds the lock: its companion parameter was deleted".into())),
            Some(companion) => {
                let pending = self.pending_of(&companion).await?;
                if pending.rotation == self.id { Ok(()) } else { Err(self.in_progress(&pending.rotation)) }
            }
        }
    }

    /// Refuses a parameter (`None`: the one rotated) whose `rotor:function` tag does not name this function: the
    /// binding a secret has through its role's condition, checked here too so that an event sent to the wrong
    /// function changes nothing even where the role would allow it.
    async fn check_bound(&self, companion: Option<&str>) -> Result<(), RotationError> {
        let parameter = companion.unwrap_or(self.name);
        let function = self.store.function();
        let Some(tags) = self.store.tags(parameter).await? else {
            return Err(no_parameter(self.name));
        };
        let tagged = tags.iter().find(|(key, _)| key == FUNCTION_TAG).map(|(_, value)| value.as_str());
        let reason = match (tagged, companion) {
            (Some(value), _) if value == function => return Ok(()),
            (_, Some(companion)) => format!(
                "the companion {companion} is not rotor's own (it lacks the tag {FUNCTION_TAG}={function} the function sets when it creates one): someone else wrote it, so its value is not used; nothing was changed: delete {companion} and rotate again"
            ),
            (Some(value), None) => format!(
                "is tagged {FUNCTION_TAG}={value}, not {function}, the value of the function it was sent to; nothing was read or written: send its rotation to rotate-{value}, or have an administrator retag it"
            ),
            (None, None) => format!(
                "has no {FUNCTION_TAG} tag, so no function may rotate it; nothing was read or written: have an administrator tag it {FUNCTION_TAG}={function} (the tag-guard SCP keeps rotor:* tags to administrators)"
            ),
        };
        Err(RotationError::InvalidTag { secret: self.name.to_owned(), tag: FUNCTION_TAG.to_owned(), reason })
    }

    /// A companion's pending value, once it is known to be rotor's own: tagged by the function, and never
    /// overwritten (rotor creates it once, with `Overwrite=false`, so it is at version 1; a later version was written
    /// over it by someone who may put parameters under the path, keeping the tag).
    async fn pending_of(&self, companion: &Parameter) -> Result<Pending, RotationError> {
        self.check_bound(Some(&companion.name)).await?;
        if companion.version != 1 {
            return Err(RotationError::InvalidTag {
                secret: self.name.to_owned(),
                tag: FUNCTION_TAG.to_owned(),
                reason: format!(
                    "the companion {} is at version {}, but rotor writes a companion once: someone overwrote it, so its value is not used; nothing was changed: delete {} and rotate again",
                    companion.name, companion.version, companion.name
                ),
            });
        }
        Pending::parse(self.name, companion)
    }

    /// The `previous` version's value.
    pub(crate) async fn previous(&self) -> Result<Option<Secret>, RotationError> {
        let found = self.store.read_one(&format!("{}:{PREVIOUS_LABEL}", self.name)).await?;
        Ok(found.map(|p| Secret::parse(self.name, &p.value)))
    }

    fn state(&self, reason: String) -> RotationError {
        RotationError::VersionState { secret: self.name.to_owned(), version: self.id.to_owned(), reason }
    }

    fn in_progress(&self, other: &str) -> RotationError {
        self.state(format!(
            "cannot start: rotation {other:?} holds {}; run it again with that RotationId to finish it, or, once you know which credential logs in, delete {} and rotate again",
            self.companion, self.companion
        ))
    }
}

/// The companion's value: the rotation holding it, the version it rotates from, and the pending value.
#[derive(Clone, PartialEq, Eq)]
struct Pending {
    rotation: String,
    base: i64,
    value: String,
}

impl Pending {
    fn parse(name: &str, companion: &Parameter) -> Result<Self, RotationError> {
        if companion.kind != "SecureString" {
            return Err(RotationError::invalid_secret(
                &companion.name,
                "Type",
                format!("is {}, not the SecureString rotor creates; delete it and rotate {name} again", companion.kind),
            ));
        }
        let parsed: Option<Self> = serde_json::from_str::<Value>(&companion.value).ok().and_then(|v| {
            Some(Self {
                rotation: v.get("rotation")?.as_str()?.to_owned(),
                base: v.get("base")?.as_i64()?,
                value: v.get("value")?.as_str()?.to_owned(),
            })
        });
        parsed.ok_or_else(|| {
            RotationError::invalid_secret(
                &companion.name,
                "SecretString",
                format!("is not a rotation's pending value; delete it (it is not {name} itself) and rotate again"),
            )
        })
    }

    fn to_value(&self) -> String {
        json!({"rotation": self.rotation, "base": self.base, "value": self.value}).to_string()
    }
}

impl<T: Target> Rotator<T> {
    /// Rotates a parameter: createSecret, setSecret, testSecret and finishSecret in order, each recorded like a
    /// secret's step, the whole ending [`crate::DEADLINE_MARGIN`] before `deadline`.
    pub async fn rotate_parameter(
        &self,
        store: &ParameterStore,
        event: &ParameterEvent,
        deadline: Option<Instant>,
    ) -> Result<Outcome, RotationError> {
        let stop = deadline.map(|d| d.checked_sub(crate::DEADLINE_MARGIN).unwrap_or(d));
        let run = Box::pin(self.parameter_steps(store, event, stop));
        match stop {
            None => run.await,
            Some(stop) => match tokio::time::timeout_at(stop.into(), run).await {
                Ok(result) => result,
                Err(_) => Err(RotationError::StepTimedOut {
                    step: "the parameter's rotation",
                    margin: crate::DEADLINE_MARGIN,
                }),
            },
        }
    }

    async fn parameter_steps(
        &self,
        store: &ParameterStore,
        event: &ParameterEvent,
        deadline: Option<Instant>,
    ) -> Result<Outcome, RotationError> {
        let companion = event.companion();
        let rotation = ParameterRotation { store, name: &event.name, id: &event.rotation_id, companion: &companion };
        let finished = format!("{}:{}", event.name, event.label());
        let step_event = |step| RotationEvent {
            step,
            secret_id: event.name.clone(),
            client_request_token: event.rotation_id.clone(),
            rotation_token: None,
        };

        // createSecret: the binding first, then the lock and the pending value.
        let started = (Instant::now(), self.secrets().calls());
        let created = match rotation.check_bound(None).await {
            Ok(()) => self.parameter_create(&rotation, &finished).await,
            Err(error) => Err(error),
        };
        self.record(&step_event(Step::CreateSecret), started, created.as_ref().map(|(o, _)| *o));
        let (outcome, state) = created?;
        let Some((current, pending, settings)) = state else { return Ok(outcome) };

        let started = (Instant::now(), self.secrets().calls());
        let set = async {
            // Even after a crash after setSecret: the write in finishSecret must be able to succeed.
            make_room(&rotation, current.version).await?;
            let ctx = SetContext::for_parameter(rotation, &pending.secret, &current.secret, self.secrets(), deadline);
            if self.target().already_set(&ctx).await? {
                return Ok(Outcome::AlreadyDone);
            }
            rotation.check_lock(false).await?;
            self.target().set(&ctx).await.map(|()| Outcome::Done)
        }
        .await;
        self.record(&step_event(Step::SetSecret), started, set.as_ref().copied());
        set?;

        let started = (Instant::now(), self.secrets().calls());
        let test = self.target().test(&TestContext::new(&pending.secret).until(deadline)).await.map(|()| Outcome::Done);
        self.record(&step_event(Step::TestSecret), started, test.as_ref().copied());
        test?;

        let started = (Instant::now(), self.secrets().calls());
        let finish = self.parameter_finish(&rotation, &current, &pending, &settings, deadline).await;
        self.record(&step_event(Step::FinishSecret), started, finish.as_ref().copied());
        finish
    }

    fn record(&self, event: &RotationEvent, (started, calls): (Instant, u64), result: Result<Outcome, &RotationError>) {
        telemetry::record_step(&StepRecord {
            target: self.target().name(),
            event,
            duration: started.elapsed(),
            secrets_manager_calls: self.secrets().calls() - calls,
            result,
        });
    }

    /// createSecret: reads the parameter and its companion in one call (and, when there is no companion, whether
    /// this rotation already finished); then reuses this rotation's pending value, or makes one and creates the
    /// companion with it. `None` when
    /// there is nothing left to do (the rotation finished, or finishes here after a crash after the write).
    async fn parameter_create(
        &self,
        rotation: &ParameterRotation<'_>,
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
                        self.parameter_promoted(rotation, &pending, current.version).await?;
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
                let password = match self.policy().source {
                    PasswordSource::Local => self.policy().generate()?,
                    PasswordSource::SecretsManager => self.secrets().random_password(name, self.policy()).await?,
                };
                let ctx = CreateContext::for_parameter(*rotation, self.secrets());
                let next = self.target().create(&ctx, &current_secret.secret, password).await?;
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
    async fn parameter_finish(
        &self,
        rotation: &ParameterRotation<'_>,
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
                None => return Err(self.parameter_set_back(rotation, current, pending, deadline, error).await),
            },
        };
        self.parameter_promoted(rotation, &pending.pending, version).await?;
        let ctx = FinishContext::for_parameter(rotation, &pending.secret, self.secrets());
        if let Err(error) = self.target().finish(&ctx).await {
            tracing::warn!(error_type = error.error_type(), error = %error, "the target's finish hook failed after the promotion");
        }
        let rotated =
            Rotated { store: "ssm", id: rotation.name, version: version.to_string(), target: self.target().name() };
        self.notify(rotated).await;
        Ok(Outcome::Done)
    }

    /// After a write that failed once the target took the pending credential: sets the target back to the
    /// parameter's current credential (logging in with the pending one where it must), as the Secrets Manager
    /// rotator's repair does, and deletes the lock when that worked, so the parameter consumers read still logs in
    /// and the next rotation may start. Returns `error`, saying what became of the target.
    async fn parameter_set_back(
        &self,
        rotation: &ParameterRotation<'_>,
        current: &Current,
        pending: &PendingSecret,
        deadline: Option<Instant>,
        error: RotationError,
    ) -> RotationError {
        let ctx = SetContext::for_parameter(*rotation, &current.secret, &pending.secret, self.secrets(), deadline);
        let outcome = match self.target().set(&ctx).await {
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
    async fn parameter_promoted(
        &self,
        rotation: &ParameterRotation<'_>,
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
async fn make_room(rotation: &ParameterRotation<'_>, base: i64) -> Result<(), RotationError> {
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
