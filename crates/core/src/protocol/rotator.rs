//! The rotator: a function's target and clients, and the entry to each store's protocol.

use std::time::Instant;

use crate::error::RotationError;
use crate::event::{ParameterEvent, RotationEvent};
use crate::notify::Notifier;
use crate::outcome::Outcome;
use crate::password::PasswordPolicy;
use crate::protocol::parameter_store::ParameterStoreDriver;
use crate::protocol::secrets_manager::SecretsManagerDriver;
use crate::protocol::shared::{Shared, bounded};
use crate::store::parameter_store::ParameterStore;
use crate::store::secrets_manager::SecretsManager;
use crate::target::Target;

/// Runs rotations for one target: a secret's steps (Secrets Manager's protocol, one step per invocation) and a
/// parameter's rotations (Parameter Store's, four steps in one invocation). Holds no state between invocations:
/// every step re-derives it from the store, so each is idempotent.
#[derive(Debug)]
pub struct Rotator<T> {
    shared: Shared<T>,
}

impl<T: Target> Rotator<T> {
    /// A rotator over a Secrets Manager client, a target and the password policy.
    pub fn new(secrets: SecretsManager, target: T, policy: PasswordPolicy) -> Self {
        Self { shared: Shared { secrets, target, policy, notifier: None } }
    }

    /// The same rotator, publishing a "rotated" event after each successful promotion when `notifier` is given.
    pub fn with_notifier(mut self, notifier: Option<Notifier>) -> Self {
        self.shared.notifier = notifier;
        self
    }

    /// The target.
    pub fn target(&self) -> &T {
        &self.shared.target
    }

    /// The Secrets Manager client.
    pub fn secrets(&self) -> &SecretsManager {
        &self.shared.secrets
    }

    /// The password policy.
    pub fn policy(&self) -> &PasswordPolicy {
        &self.shared.policy
    }

    /// Runs one step of a secret's rotation: the guard, then the step itself, ending
    /// [`DEADLINE_MARGIN`](crate::DEADLINE_MARGIN) before `deadline` (the invocation's) with an error that says so.
    pub async fn handle(&self, event: &RotationEvent, deadline: Option<Instant>) -> Result<Outcome, RotationError> {
        let driver = SecretsManagerDriver::new(&self.shared);
        bounded(event.step.as_str(), deadline, |stop| driver.step(event, stop)).await
    }

    /// Rotates a parameter: createSecret, setSecret, testSecret and finishSecret in order, each recorded as a step,
    /// the whole ending [`DEADLINE_MARGIN`](crate::DEADLINE_MARGIN) before `deadline`.
    pub async fn rotate_parameter(
        &self,
        store: &ParameterStore,
        event: &ParameterEvent,
        deadline: Option<Instant>,
    ) -> Result<Outcome, RotationError> {
        let driver = ParameterStoreDriver::new(&self.shared, store);
        bounded("the parameter's rotation", deadline, |stop| driver.rotate(event, stop)).await
    }
}
