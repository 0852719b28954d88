//! EventBridge Scheduler's part in a parameter's rotation (`POST /_rotor/schedules`): a schedule per parameter
//! that invokes its function with `{"ParameterName", "RotationId": the scheduled time}`, retried as Lambda retries
//! an asynchronous event, its last run kept for `GET /_rotor/schedules/{parameter}`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::error::Error;
use crate::json::input;
use crate::lambda::Invoker;
use crate::schedule::{RotationRules, Schedule};
use crate::state::{ScheduleRecord, ScheduleRun};
use crate::store::Store;

/// Runs the parameters' schedules: each due run invokes its function through the Lambda Invoke API in the
/// background and records the outcome.
#[derive(Debug)]
pub struct Scheduler {
    store: Arc<Store>,
    invoker: Invoker,
    clock: Clock,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ScheduleInput {
    parameter_name: String,
    function_name: String,
    schedule_expression: String,
}

impl Scheduler {
    /// A scheduler over the state, invoking functions through `invoker`, on `clock`.
    pub fn new(store: Arc<Store>, invoker: Invoker, clock: Clock) -> Arc<Self> {
        Arc::new(Self { store, invoker, clock })
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Creates (or replaces) the schedule of a parameter; its first run is one interval (or the next cron time)
    /// from now.
    pub fn put_schedule(&self, body: &Value) -> Result<Value, Error> {
        let request: ScheduleInput = input(body)?;
        let rules =
            RotationRules { schedule_expression: Some(request.schedule_expression.clone()), ..Default::default() };
        let now = self.now();
        let next = Schedule::from_rules(&rules)?
            .next_after(now)
            .ok_or_else(|| Error::invalid_parameter("The schedule expression never fires."))?;
        self.store.write(|state| {
            if !state.parameters.contains_key(&request.parameter_name) {
                return Err(Error::parameter(
                    "ParameterNotFound",
                    format!("Parameter {} not found.", request.parameter_name),
                ));
            }
            let record = ScheduleRecord {
                parameter: request.parameter_name.clone(),
                function: request.function_name.clone(),
                expression: request.schedule_expression.clone(),
                next,
                last: None,
            };
            state.schedules.insert(request.parameter_name.clone(), record);
            Ok(json!({"ParameterName": request.parameter_name, "Next": next.to_rfc3339()}))
        })
    }

    /// The schedules due now: each run starts with the scheduled time as its `RotationId`, and the schedule moves on.
    pub fn start_due_parameters(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let now = self.now();
        if !self.store.read(|state| state.schedules.values().any(|s| s.next <= now)) {
            return Vec::new();
        }
        let runs = self
            .store
            .write(|state| {
                let mut runs = Vec::new();
                for schedule in state.schedules.values_mut().filter(|s| s.next <= now) {
                    let rotation_id = schedule.next.format("%Y-%m-%dT%H:%M:%SZ").to_string();
                    let rules =
                        RotationRules { schedule_expression: Some(schedule.expression.clone()), ..Default::default() };
                    let following = Schedule::from_rules(&rules).ok().and_then(|s| s.next_after(schedule.next));
                    schedule.next = following.unwrap_or(DateTime::<Utc>::MAX_UTC);
                    schedule.last = Some(ScheduleRun {
                        rotation_id: rotation_id.clone(),
                        state: "running".into(),
                        attempts: 0,
                        error_type: None,
                        error_message: None,
                    });
                    runs.push((schedule.parameter.clone(), schedule.function.clone(), rotation_id));
                }
                Ok(runs)
            })
            .unwrap_or_default();
        runs.into_iter()
            .map(|(parameter, function, rotation_id)| {
                self.store.audit(now, "ScheduledParameterRotation", Some(&parameter), "started");
                tokio::spawn(Arc::clone(self).run_schedule(parameter, function, rotation_id))
            })
            .collect()
    }

    /// Invokes the function with the run's event, up to three times (a failed asynchronous invocation is retried
    /// twice by Lambda, with the same event), and records the outcome.
    async fn run_schedule(self: Arc<Self>, parameter: String, function: String, rotation_id: String) {
        let event = json!({"ParameterName": parameter, "RotationId": rotation_id});
        let mut outcome = Ok(());
        let mut attempts = 0;
        for _ in 0..3 {
            attempts += 1;
            outcome = self.invoker.invoke(&function, &event).await;
            if outcome.is_ok() {
                break;
            }
        }
        let now = self.now();
        let result = match &outcome {
            Ok(()) => "succeeded".to_owned(),
            Err(failure) => format!("failed: {}", failure.error_type),
        };
        let _ = self.store.write(|state| {
            if let Some(run) = state
                .schedules
                .get_mut(&parameter)
                .and_then(|s| s.last.as_mut())
                .filter(|r| r.rotation_id == rotation_id)
            {
                run.attempts = attempts;
                run.state = if outcome.is_ok() { "succeeded".into() } else { "failed".into() };
                if let Err(failure) = &outcome {
                    run.error_type = Some(failure.error_type.clone());
                    run.error_message = Some(failure.message.clone());
                }
            }
            Ok(())
        });
        self.store.audit(now, "ScheduledParameterRotation", Some(&parameter), &result);
    }

    /// A parameter's schedule and its last run.
    pub fn schedule(&self, parameter: &str) -> Option<ScheduleRecord> {
        self.store.read(|state| state.schedules.get(parameter).cloned())
    }
}
