//! What both drivers share: the function's target, its password policy, its Secrets Manager client and its
//! notifier, and the few things both do with them (make a password, announce a promotion, bound a run by the
//! invocation's deadline).

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::RotationError;
use crate::notify::{Notifier, Rotated};
use crate::password::{Password, PasswordPolicy, PasswordSource};
use crate::store::secrets_manager::SecretsManager;
use crate::target::Target;

/// How long before the invocation's deadline a step gives up, so it reports its own error instead of being
/// killed by Lambda without one.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// The parts of a rotation function the drivers run on.
#[derive(Debug)]
pub(crate) struct Shared<T> {
    pub(crate) secrets: SecretsManager,
    pub(crate) target: T,
    pub(crate) policy: PasswordPolicy,
    pub(crate) notifier: Option<Notifier>,
}

impl<T: Target> Shared<T> {
    /// A fresh password under `policy`: generated here, or by `GetRandomPassword` when the policy says so
    /// (`for_id` names the secret or parameter in its errors).
    pub(crate) async fn password(&self, policy: &PasswordPolicy, for_id: &str) -> Result<Password, RotationError> {
        match policy.source {
            PasswordSource::Local => policy.generate(),
            PasswordSource::SecretsManager => self.secrets.random_password(for_id, policy).await,
        }
    }

    /// Publishes the "rotated" event, when a notifier is configured.
    pub(crate) async fn notify(&self, rotated: Rotated<'_>) {
        if let Some(notifier) = &self.notifier {
            notifier.rotated(&rotated).await;
        }
    }
}

/// Runs `run(stop)` so that it ends [`DEADLINE_MARGIN`] before `deadline` (the invocation's), with an error naming
/// `what` if it does not; `stop` is the instant it is given to end by. Boxed: a target's futures nest deeply, and a
/// user's own target crate should not need a `recursion_limit`.
pub(crate) async fn bounded<O, F>(
    what: &'static str,
    deadline: Option<Instant>,
    run: impl FnOnce(Option<Instant>) -> F,
) -> Result<O, RotationError>
where
    F: Future<Output = Result<O, RotationError>>,
{
    let Some(deadline) = deadline else { return Box::pin(run(None)).await };
    let stop = deadline.checked_sub(DEADLINE_MARGIN).unwrap_or(deadline);
    match tokio::time::timeout_at(stop.into(), Box::pin(run(Some(stop)))).await {
        Ok(result) => result,
        Err(_) => Err(RotationError::StepTimedOut { step: what, margin: DEADLINE_MARGIN }),
    }
}
