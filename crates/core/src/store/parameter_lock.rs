//! A parameter rotation's lock and pending value: the companion parameter `<name>.rotor-pending`, created with
//! `Overwrite=false` (so its existence is the lock), holding `{"rotation", "base", "value"}` from createSecret until
//! the parameter is written. A parameter, and its companion, are bound to their function by the `rotor:function` tag.

use serde_json::{Value, json};

use crate::error::RotationError;
use crate::secret::Secret;
use crate::store::parameter_store::{FUNCTION_TAG, Parameter, ParameterStore};

/// The suffix of the companion parameter that holds a rotation's pending value.
pub const PENDING_SUFFIX: &str = ".rotor-pending";
/// The label of the current version.
pub const CURRENT_LABEL: &str = "current";
/// The label of the version before it.
pub const PREVIOUS_LABEL: &str = "previous";

/// The rotation holding a parameter's lock, as its companion names it; never the pending value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    /// The rotation's id (the `RotationId` to resume it with).
    pub rotation: String,
    /// The parameter's version it rotates from.
    pub base: i64,
}

impl ParameterStore {
    /// Who holds `name`'s lock: the rotation its companion `<name>.rotor-pending` names, `None` when no rotation
    /// is in flight. Reads the companion (decrypted) and parses it as a rotation does; an error when it cannot be
    /// read, or is not a rotation's (naming the fix). The pending value is never returned.
    pub async fn lock_holder(&self, name: &str) -> Result<Option<LockHolder>, RotationError> {
        let Some(companion) = self.read_one(&format!("{name}{PENDING_SUFFIX}")).await? else { return Ok(None) };
        let Pending { rotation, base, .. } = Pending::parse(name, &companion)?;
        Ok(Some(LockHolder { rotation, base }))
    }
}

/// The event names a parameter that does not exist.
pub(crate) fn no_parameter(name: &str) -> RotationError {
    RotationError::invalid_secret(name, "ParameterName", "names no parameter; create it with the credential first")
}

/// One parameter rotation's hold on its parameter: the parameter, the rotation's id, and the companion parameter
/// whose existence is the lock and whose value is the pending one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParameterLock<'a> {
    pub(crate) store: &'a ParameterStore,
    pub(crate) name: &'a str,
    pub(crate) id: &'a str,
    pub(crate) companion: &'a str,
}

impl ParameterLock<'_> {
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
    pub(crate) async fn check_bound(&self, companion: Option<&str>) -> Result<(), RotationError> {
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
    pub(crate) async fn pending_of(&self, companion: &Parameter) -> Result<Pending, RotationError> {
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

    pub(crate) fn state(&self, reason: String) -> RotationError {
        RotationError::VersionState { secret: self.name.to_owned(), version: self.id.to_owned(), reason }
    }

    pub(crate) fn in_progress(&self, other: &str) -> RotationError {
        self.state(format!(
            "cannot start: rotation {other:?} holds {}; run it again with that RotationId to finish it, or, once you know which credential logs in, delete {} and rotate again",
            self.companion, self.companion
        ))
    }
}

/// The companion's value: the rotation holding it, the version it rotates from, and the pending value.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Pending {
    /// The rotation holding the lock.
    pub(crate) rotation: String,
    /// The parameter's version it rotates from.
    pub(crate) base: i64,
    /// The pending value.
    pub(crate) value: String,
}

impl Pending {
    pub(crate) fn parse(name: &str, companion: &Parameter) -> Result<Self, RotationError> {
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

    pub(crate) fn to_value(&self) -> String {
        json!({"rotation": self.rotation, "base": self.base, "value": self.value}).to_string()
    }
}
