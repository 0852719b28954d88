//! The Lambda entry point: build clients once, then serve rotation events.

use std::sync::Arc;
use std::time::Instant;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

use crate::config::Env;
use crate::error::RotationError;
use crate::event::RotationEvent;
use crate::password::PasswordPolicy;
use crate::rotation::Rotator;
use crate::secrets_manager::SecretsManager;
use crate::target::Target;
use crate::telemetry::{self, StepRecord};

/// Runs a rotation Lambda for `target` with the password policy from the environment (default exclusions of
/// AWS's functions).
///
/// Call it from `main`; it returns only when the runtime stops.
pub async fn run<T: Target>(target: T) -> Result<(), lambda_runtime::Error> {
    run_with_exclusions(target, crate::password::DEFAULT_EXCLUDE_CHARACTERS).await
}

/// As [`run`], with the target's default `EXCLUDE_CHARACTERS` (PostgreSQL adds `:`).
pub async fn run_with_exclusions<T: Target>(target: T, default_exclude: &str) -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let policy = PasswordPolicy::from_env(&Env::from_process(), default_exclude).map_err(init_failed)?;
    run_with_policy(target, policy).await
}

/// As [`run`], with a password policy the binary already read (when the target needs it too).
pub async fn run_with_policy<T: Target>(target: T, policy: PasswordPolicy) -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let secrets = SecretsManager::from_env(&Env::from_process()).await;
    let rotator = Arc::new(Rotator::new(secrets, target, policy));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let rotator = Arc::clone(&rotator);
        async move { handle(&rotator, &event.payload, deadline_of(&event.context)).await.map(|()| Value::Null) }
    }))
    .await
}

/// Logs a configuration error found at cold start and returns it for `main` to exit with.
pub fn init_failed(error: RotationError) -> lambda_runtime::Error {
    tracing::error!(error_type = error.error_type(), error = %error, "cold start failed");
    Box::new(error)
}

/// The invocation's deadline (milliseconds since the epoch in the Runtime API's header) as an `Instant`.
fn deadline_of(context: &lambda_runtime::Context) -> Option<Instant> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?;
    let left = std::time::Duration::from_millis(context.deadline).checked_sub(now)?;
    Some(Instant::now() + left)
}

/// Parses the event, runs the step within the invocation's `deadline`, and records it (one log record, one
/// metric line).
pub async fn handle<T: Target>(
    rotator: &Rotator<T>,
    payload: &Value,
    deadline: Option<Instant>,
) -> Result<(), RotationError> {
    let event = match RotationEvent::from_value(payload) {
        Ok(event) => event,
        Err(error) => {
            tracing::error!(error_type = error.error_type(), error = %error, "rejected event");
            return Err(error);
        }
    };
    let started = Instant::now();
    let calls_before = rotator.secrets().calls();
    let result = rotator.handle(&event, deadline).await;
    telemetry::record_step(&StepRecord {
        target: rotator.target().name(),
        event: &event,
        duration: started.elapsed(),
        secrets_manager_calls: rotator.secrets().calls() - calls_before,
        result: result.as_ref().copied(),
    });
    result.map(|_| ())
}
