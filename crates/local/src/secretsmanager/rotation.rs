//! AWS's rotation orchestration: `RotateSecret`, `CancelRotateSecret`, and the scheduled rotations. The
//! [`Orchestrator`] shares the state and holds an Invoke client and the clock; the HTTP layer calls it, never the
//! reverse.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rotation_core::{RotationEvent, Step};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::error::Error;
use crate::json::input;
use crate::lambda::{InvokeFailure, Invoker};
use crate::schedule::{RotationRules, Schedule};
use crate::state::{RotationRecord, RotationState, SecretRecord, State, VersionRecord};
use crate::store::Store;

/// Runs rotations as Secrets Manager does: the value-less `AWSPENDING` placeholder, the four steps through the
/// Lambda Invoke API in the background, the outcome recorded, and the secrets' schedules.
#[derive(Debug)]
pub struct Orchestrator {
    store: Arc<Store>,
    invoker: Invoker,
    clock: Clock,
}

/// A rotation to run in the background.
#[derive(Debug, Clone)]
pub struct Plan {
    arn: String,
    function: String,
    token: String,
    rotation_token: String,
    test_only: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RotateSecretInput {
    secret_id: String,
    client_request_token: Option<String>,
    #[serde(rename = "RotationLambdaARN")]
    rotation_lambda_arn: Option<String>,
    rotation_rules: Option<RotationRules>,
    rotate_immediately: Option<bool>,
}

/// A fresh `RotationToken`: opaque, 64 characters.
fn new_rotation_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// The next window after `since` under the secret's rules.
fn next_rotation(secret: &SecretRecord, since: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let rules = secret.rotation_rules.as_ref()?;
    Schedule::from_rules(rules).ok()?.next_after(since)
}

/// Records a new rotation on `secret` and returns its plan: the value-less `AWSPENDING` placeholder for a
/// rotation, or `AWSPENDING` on the current version for a configuration test.
fn begin(secret: &mut SecretRecord, token: Option<String>, test_only: bool, now: DateTime<Utc>) -> Result<Plan, Error> {
    if secret.rotating() || secret.stuck_pending().is_some() {
        return Err(Error::invalid_request("A previous rotation isn't complete. That rotation will be reattempted."));
    }
    let function = secret
        .rotation_lambda_arn
        .clone()
        .ok_or_else(|| Error::invalid_request("No Lambda rotation function ARN is associated with this secret."))?;
    let token = if test_only {
        secret
            .holding("AWSCURRENT")
            .map(str::to_owned)
            .ok_or_else(|| Error::invalid_request("The secret has no AWSCURRENT version to test."))?
    } else {
        let token = token.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        if !(32..=64).contains(&token.len()) {
            return Err(Error::invalid_parameter("ClientRequestToken must be 32 to 64 characters."));
        }
        if secret.versions.contains_key(&token) {
            return Err(Error::exists("A version with this ClientRequestToken already exists."));
        }
        secret.versions.insert(
            token.clone(),
            VersionRecord { secret_string: None, secret_binary: None, stages: vec![], created: now },
        );
        token
    };
    secret.attach("AWSPENDING", &token);
    Ok(start_record(
        secret,
        Plan { arn: secret.arn.clone(), function, token, rotation_token: new_rotation_token(), test_only },
        now,
    ))
}

fn start_record(secret: &mut SecretRecord, plan: Plan, now: DateTime<Utc>) -> Plan {
    secret.last_rotation = Some(RotationRecord {
        token: plan.token.clone(),
        test_only: plan.test_only,
        state: RotationState::Running,
        step: None,
        error_type: None,
        error_message: None,
        started: now,
        finished: None,
        rotation_token_returned: false,
        rotation_token: Some(plan.rotation_token.clone()),
    });
    plan
}

impl Orchestrator {
    /// An orchestrator over the state, invoking functions through `invoker`, on `clock`.
    pub fn new(store: Arc<Store>, invoker: Invoker, clock: Clock) -> Arc<Self> {
        Arc::new(Self { store, invoker, clock })
    }

    /// The state.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The clock's time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// `RotateSecret`: configures rotation (function, rules) and starts a rotation in the background, or, with
    /// `RotateImmediately=false`, a test of the configuration that runs testSecret only. Refused while an earlier
    /// rotation is unfinished.
    pub fn rotate_secret(self: &Arc<Self>, body: &Value) -> Result<Value, Error> {
        let input: RotateSecretInput = input(body)?;
        let now = self.now();
        let schedule = input.rotation_rules.as_ref().map(Schedule::from_rules).transpose()?;
        let test_only = input.rotate_immediately == Some(false);
        let (plan, response) = self.store.write(|state| {
            let secret = state.find_mut(&input.secret_id).ok_or_else(Error::secret_not_found)?;
            if secret.deleted_date.is_some() {
                return Err(Error::marked_for_deletion());
            }
            if let Some(arn) = &input.rotation_lambda_arn {
                secret.rotation_lambda_arn = Some(arn.clone());
            }
            if let (Some(rules), Some(schedule)) = (&input.rotation_rules, &schedule) {
                secret.rotation_rules = Some(rules.clone());
                secret.next_rotation = schedule.next_after(secret.last_rotated.unwrap_or(now));
            }
            let plan = begin(secret, input.client_request_token.clone(), test_only, now)?;
            secret.rotation_enabled = Some(true);
            let mut response = json!({"ARN": secret.arn, "Name": secret.name});
            if !test_only {
                response["VersionId"] = json!(plan.token);
            }
            Ok((plan, response))
        })?;
        tokio::spawn(Arc::clone(self).run(plan));
        Ok(response)
    }

    /// `CancelRotateSecret`: turns automatic rotation off and stops a running rotation after its current step. As
    /// in AWS, it leaves the labels alone: an `AWSPENDING` left by a failed rotation stays until it is removed with
    /// `UpdateSecretVersionStage`.
    pub fn cancel_rotate_secret(&self, body: &Value) -> Result<Value, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct CancelInput {
            secret_id: String,
        }
        let input: CancelInput = input(body)?;
        let now = self.now();
        self.store.write(|state| {
            let secret = state.find_mut(&input.secret_id).ok_or_else(Error::secret_not_found)?;
            if secret.deleted_date.is_some() {
                return Err(Error::marked_for_deletion());
            }
            secret.rotation_enabled = Some(false);
            secret.next_rotation = None;
            if let Some(rotation) = secret.last_rotation.as_mut().filter(|r| r.state == RotationState::Running) {
                rotation.state = RotationState::Cancelled;
                rotation.finished = Some(now);
            }
            let mut out = json!({"ARN": secret.arn, "Name": secret.name});
            if let Some(pending) = secret.stuck_pending() {
                out["VersionId"] = json!(pending);
            }
            Ok(out)
        })
    }

    /// Starts the rotations that are due at the clock's time: scheduled ones, and failed ones whose next window has
    /// come (retried with the same token, as AWS reattempts them). Also ends deletions whose recovery window is over.
    pub fn start_due_secrets(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let now = self.now();
        let expired = |s: &SecretRecord| s.deleted_date.is_some_and(|d| d <= now);
        // Most ticks find nothing to do: look before taking the write path, which saves the state.
        if !self.store.read(|state| state.secrets.values().any(|s| expired(s) || due(s, now))) {
            return Vec::new();
        }
        let plans = self
            .store
            .write(|state| {
                state.secrets.retain(|_, s| !expired(s));
                let mut plans = Vec::new();
                for secret in state.secrets.values_mut().filter(|s| due(s, now)).map(Arc::make_mut) {
                    let plan = match (secret.stuck_pending().map(str::to_owned), secret.rotation_lambda_arn.clone()) {
                        (Some(token), Some(function)) => {
                            let plan = Plan {
                                arn: secret.arn.clone(),
                                function,
                                token,
                                rotation_token: new_rotation_token(),
                                test_only: false,
                            };
                            Ok(start_record(secret, plan, now))
                        }
                        _ => begin(secret, None, false, now),
                    };
                    match plan {
                        Ok(plan) => plans.push(plan),
                        Err(e) => tracing::warn!(secret = %secret.arn, error = %e, "scheduled rotation not started"),
                    }
                }
                Ok(plans)
            })
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "scheduler could not save the state");
                Vec::new()
            });
        plans
            .into_iter()
            .map(|plan| {
                self.store.audit(now, "ScheduledRotation", Some(&plan.arn), "started");
                tokio::spawn(Arc::clone(self).run(plan))
            })
            .collect()
    }
}

/// rotor's own view of a secret's rotation (`GET /_rotor/rotations/{secret}`): its ARN, the `AWSPENDING` an
/// unfinished rotation left, and the last rotation's record, never a value or token.
pub fn last_rotation(state: &State, secret_id: &str) -> Result<Value, Error> {
    match state.find(secret_id) {
        None => Err(Error::secret_not_found()),
        Some(record) => Ok(json!({
            "ARN": record.arn,
            "StuckPending": record.stuck_pending(),
            "LastRotation": record.last_rotation,
        })),
    }
}

/// Whether a secret's scheduled rotation (or the retry of its failed one) is due at `now`.
fn due(secret: &SecretRecord, now: DateTime<Utc>) -> bool {
    secret.rotation_enabled == Some(true)
        && secret.deleted_date.is_none()
        && !secret.rotating()
        && secret.next_rotation.is_some_and(|next| next <= now)
}

impl Orchestrator {
    /// Runs the steps of a plan through the Invoke API, then records the outcome: on success `AWSPENDING` removed
    /// and the dates set; on failure `AWSPENDING` kept and the failure recorded.
    async fn run(self: Arc<Self>, plan: Plan) {
        let steps: &[Step] = if plan.test_only { &[Step::TestSecret] } else { &Step::ALL };
        for &step in steps {
            let still_running = self.store.write(|state| {
                let rotation =
                    state.secrets.get_mut(&plan.arn).map(Arc::make_mut).and_then(|s| s.last_rotation.as_mut());
                Ok(match rotation.filter(|r| r.token == plan.token && r.state == RotationState::Running) {
                    Some(rotation) => {
                        rotation.step = Some(step.as_str().to_owned());
                        true
                    }
                    None => false,
                })
            });
            if !matches!(still_running, Ok(true)) {
                return;
            }
            let event = RotationEvent {
                step,
                secret_id: plan.arn.clone(),
                client_request_token: plan.token.clone(),
                rotation_token: Some(plan.rotation_token.clone()),
            };
            let result = self.invoker.invoke(&plan.function, &event.to_value()).await;
            let now = self.now();
            let operation = format!("Rotation.{step}");
            match result {
                Ok(()) => self.store.audit(now, &operation, Some(&plan.arn), "ok"),
                Err(failure) => {
                    self.store.audit(now, &operation, Some(&plan.arn), &format!("failed: {}", failure.error_type));
                    tracing::warn!(secret = %plan.arn, %step, error_type = %failure.error_type, "rotation step failed");
                    self.finish(&plan, now, Some(failure));
                    return;
                }
            }
        }
        self.finish(&plan, self.now(), None);
    }

    fn finish(&self, plan: &Plan, now: DateTime<Utc>, failure: Option<InvokeFailure>) {
        let saved = self.store.write(|state| {
            let Some(secret) = state.secrets.get_mut(&plan.arn).map(Arc::make_mut) else {
                return Ok("secret deleted".to_owned());
            };
            let Some(rotation) = secret.last_rotation.as_mut().filter(|r| r.token == plan.token) else {
                return Ok("superseded".to_owned());
            };
            if rotation.state != RotationState::Running {
                return Ok("cancelled".to_owned());
            }
            rotation.finished = Some(now);
            rotation.rotation_token = None;
            let outcome = match failure {
                Some(failure) => {
                    let outcome =
                        format!("failed at {}: {}", rotation.step.as_deref().unwrap_or("?"), failure.error_type);
                    rotation.state = RotationState::Failed;
                    rotation.error_type = Some(failure.error_type);
                    rotation.error_message = Some(failure.message);
                    // The configuration test removes its AWSPENDING either way; a failed rotation keeps it.
                    if plan.test_only {
                        secret.detach("AWSPENDING", &plan.token);
                    }
                    secret.next_rotation = next_rotation(secret, now);
                    outcome
                }
                None => {
                    rotation.state = RotationState::Succeeded;
                    secret.detach("AWSPENDING", &plan.token);
                    if !plan.test_only {
                        secret.last_rotated = Some(now);
                        secret.next_rotation = next_rotation(secret, now);
                    }
                    "succeeded".to_owned()
                }
            };
            Ok(outcome)
        });
        let outcome = saved.unwrap_or_else(|e| format!("error: {e}"));
        let operation = if plan.test_only { "RotationTest" } else { "Rotation" };
        self.store.audit(now, operation, Some(&plan.arn), &outcome);
    }
}
