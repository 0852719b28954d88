//! The store-neutral handle the step contexts hold: the one place that tells Secrets Manager and Parameter Store
//! apart. A target reads its credential's other stages (previous, abandoned, already stored) and re-checks that its
//! rotation still holds the pending stage through it, whichever store the credential lives in.

use crate::error::RotationError;
use crate::password::PasswordPolicy;
use crate::secret::Secret;
use crate::settings::SecretSettings;
use crate::store::parameter_lock::ParameterLock;
use crate::store::secrets_manager::{SecretsManager, Selector, read_pending, still_pending};
use crate::versions::AWSPREVIOUS;

/// How many abandoned rotations' values a single-user target may try at most.
const ABANDONED_TRIED: usize = 3;

/// Where the credential under rotation lives, and the rotation's hold on it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum StoreHandle<'a> {
    /// A secret: its id, and the rotation's token once the rotation is known (a repair sets a target back without
    /// one).
    Secret { secrets: &'a SecretsManager, id: &'a str, token: Option<&'a str> },
    /// A parameter, under its rotation's lock.
    Parameter(ParameterLock<'a>),
}

impl<'a> StoreHandle<'a> {
    /// A secret's handle.
    pub(crate) fn secret(secrets: &'a SecretsManager, id: &'a str, token: Option<&'a str>) -> Self {
        Self::Secret { secrets, id, token }
    }

    /// The same handle for the rotation `token` (a secret's; a parameter's knows its rotation).
    pub(crate) fn for_token(self, token: &'a str) -> Self {
        match self {
            Self::Secret { secrets, id, .. } => Self::Secret { secrets, id, token: Some(token) },
            parameter => parameter,
        }
    }

    /// Whether this rotation still holds the pending stage: the secret's `AWSPENDING` (no token: nothing to
    /// check), or the parameter's lock (`absent_ok`: or nobody holds it yet, before createSecret stores).
    pub(crate) async fn still_pending(&self, absent_ok: bool) -> Result<(), RotationError> {
        match self {
            Self::Secret { token: None, .. } => Ok(()),
            Self::Secret { secrets, id, token: Some(token) } => still_pending(&secrets.describe(id).await?, token),
            Self::Parameter(lock) => lock.check_lock(absent_ok).await,
        }
    }

    /// The previous credential (`AWSPREVIOUS`, the parameter's `previous` label), when there is one.
    pub(crate) async fn previous(&self) -> Result<Option<Secret>, RotationError> {
        match self {
            Self::Secret { secrets, id, .. } => {
                let value = secrets.get(id, Selector::Stage(AWSPREVIOUS)).await?;
                Ok(value.map(|v| Secret::parse(*id, &v)))
            }
            Self::Parameter(lock) => lock.previous().await,
        }
    }

    /// The values of rotations abandoned since the current one, newest first (a few at most). A parameter's failed
    /// rotation keeps its lock and is resumed, never abandoned: none.
    pub(crate) async fn abandoned(&self) -> Result<Vec<Secret>, RotationError> {
        let Self::Secret { secrets, id, .. } = self else { return Ok(Vec::new()) };
        let mut values = Vec::new();
        for version in secrets.abandoned_versions(id, ABANDONED_TRIED).await? {
            if let Some(value) = secrets.get(id, Selector::Version(&version)).await? {
                values.push(Secret::parse(*id, &value));
            }
        }
        Ok(values)
    }

    /// The value an earlier attempt of createSecret already stored for this rotation. A parameter's rotation
    /// reuses its stored value before it asks the target: none.
    pub(crate) async fn stored(&self) -> Result<Option<Secret>, RotationError> {
        match self {
            Self::Secret { secrets, id, token: Some(token) } => read_pending(secrets, id, token).await,
            _ => Ok(None),
        }
    }

    /// The secret's own settings (its `rotor:` tags over `policy`), read with one `DescribeSecret`; `None` for a
    /// parameter, whose settings are the function's.
    pub(crate) async fn settings(&self, policy: &PasswordPolicy) -> Result<Option<SecretSettings>, RotationError> {
        let Self::Secret { secrets, id, .. } = self else { return Ok(None) };
        let description = secrets.describe(id).await?;
        SecretSettings::from_tags(&description.arn, &description.tags, policy).map(Some)
    }
}
