//! The Lambda entry point, the one way to start a function: telemetry, the shared clients, the target, then the
//! rotation events; a configuration error at cold start is reported to Lambda as the init error.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};

use crate::aws::config::{Timeouts, load_sdk_config};
use crate::config::Env;
use crate::error::RotationError;
use crate::event::Incoming;
use crate::notify::Notifier;
use crate::password::{DEFAULT_EXCLUDE_CHARACTERS, PasswordPolicy};
use crate::protocol::rotator::Rotator;
use crate::store::kind::Store;
use crate::store::parameter_store::ParameterStore;
use crate::store::secrets_manager::SecretsManager;
use crate::target::Target;
use crate::telemetry::{self, Calls, StepRecord};

/// What a function's target is built from at cold start: the environment (with the binary's defaults), the one
/// AWS configuration every client shares, the Secrets Manager client the steps use, and the password policy.
#[derive(Debug)]
pub struct Init {
    /// The function's environment, read once, the binary's defaults applied.
    pub env: Env,
    /// The AWS configuration (region, credentials, endpoints, rotor's retries and time-outs): build other AWS
    /// clients from it, so they share its HTTP connector, trusted roots and credentials.
    pub sdk_config: aws_config::SdkConfig,
    /// The Secrets Manager client.
    pub secrets: SecretsManager,
    /// The password policy.
    pub policy: PasswordPolicy,
}

impl Init {
    /// What a function's target is built from: `env` with the binary's defaults (`options`) applied, the password
    /// policy it sets, and the Secrets Manager client of `sdk_config`. An error names the variable at fault. The
    /// Lambda entry point and `rotatectl doctor` both start here.
    pub fn load(options: &RunOptions, env: Env, sdk_config: aws_config::SdkConfig) -> Result<Self, RotationError> {
        let env = options.env_defaults.iter().fold(env, |env, (name, value)| env.with_default(name, value));
        let policy = PasswordPolicy::from_env(&env, options.default_exclude)?;
        let secrets = SecretsManager::from_sdk_config(&sdk_config, &env);
        Ok(Self { env, sdk_config, secrets, policy })
    }
}

/// What a binary changes in how its function starts.
#[derive(Debug, Clone)]
pub struct RunOptions {
    default_exclude: &'static str,
    env_defaults: Vec<(&'static str, &'static str)>,
}

impl Default for RunOptions {
    /// AWS's default excluded characters, no defaults in the environment.
    fn default() -> Self {
        Self { default_exclude: DEFAULT_EXCLUDE_CHARACTERS, env_defaults: Vec::new() }
    }
}

impl RunOptions {
    /// `EXCLUDE_CHARACTERS` when the environment does not set it (PostgreSQL adds `:`).
    pub fn excluding(mut self, characters: &'static str) -> Self {
        self.default_exclude = characters;
        self
    }

    /// A variable's value when the environment does not set it (`rotate-postgres-alternating` defaults
    /// `ROTATION_STRATEGY`).
    pub fn env_default(mut self, name: &'static str, value: &'static str) -> Self {
        self.env_defaults.push((name, value));
        self
    }
}

/// Runs a rotation function: installs telemetry, reads the environment and the password policy, loads the AWS
/// configuration once, builds the target with `build`, then serves rotation events, each bounded by its
/// invocation's deadline. A configuration error (from the policy or from `build`) is logged and reported to the
/// Runtime API's `/runtime/init/error`, so the invocation answers with its type and message; the function then
/// exits. Call it from `main` on a current-thread runtime (`#[tokio::main(flavor = "current_thread")]`): a
/// function serves one event at a time, and worker threads would only add stacks, allocator arenas and cross-thread
/// wake-ups (`make bench`: 0.2 MiB less memory and 1-2 ms less per rotation with one thread). It returns only when
/// the runtime stops.
pub async fn run<T: Target>(
    build: impl FnOnce(&Init) -> Result<T, RotationError>,
    options: RunOptions,
) -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    if let Err(error) = crate::fips::enter(&Env::from_process()) {
        return Err(cold_start_failed(error).await);
    }
    let sdk_config = load_sdk_config(Timeouts::default()).await;
    let init = match Init::load(&options, Env::from_process(), sdk_config) {
        Ok(init) => init,
        Err(error) => return Err(cold_start_failed(error).await),
    };
    let target = match build(&init) {
        Ok(target) => target,
        Err(error) => return Err(cold_start_failed(error).await),
    };
    let notifier = Notifier::from_env(&init.env, &init.sdk_config);
    let rotator = Arc::new(Rotator::new(init.secrets, target, init.policy).with_notifier(notifier));
    let parameters = Arc::new(Parameters::new(init.sdk_config, function_tag(&init.env)));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (rotator, parameters) = (Arc::clone(&rotator), Arc::clone(&parameters));
        async move { handle(&rotator, &parameters, &event.payload, deadline_of(&event.context)).await.map(|()| Value::Null) }
    }))
    .await
}

/// The function's Parameter Store client, built on the first parameter event: a function serving secrets never
/// pays for it.
#[derive(Debug)]
pub struct Parameters {
    sdk_config: aws_config::SdkConfig,
    function: String,
    store: OnceLock<ParameterStore>,
}

impl Parameters {
    /// The client to build from `sdk_config`, for parameters tagged `rotor:function=<function>`.
    pub fn new(sdk_config: aws_config::SdkConfig, function: String) -> Self {
        Self { sdk_config, function, store: OnceLock::new() }
    }

    fn store(&self) -> &ParameterStore {
        self.store.get_or_init(|| ParameterStore::from_sdk_config(&self.sdk_config, &self.function))
    }
}

/// The value of the `rotor:function` tag of the parameters this function rotates, read once at cold start:
/// `ROTOR_FUNCTION` (the template sets it to the value its role's conditions name), or, where it is unset (local
/// runs, `cargo lambda`), the binary's name without `rotate-` (`rotate-postgres` rotates `rotor:function=postgres`).
fn function_tag(env: &Env) -> String {
    env.get("ROTOR_FUNCTION").filter(|value| !value.is_empty()).unwrap_or_else(|| {
        let binary = std::env::current_exe().ok().and_then(|path| path.file_stem()?.to_str().map(str::to_owned));
        let binary = binary.unwrap_or_default();
        binary.strip_prefix("rotate-").unwrap_or(&binary).to_owned()
    })
}

/// Logs a cold-start error, reports it to the Runtime API (when there is one) and returns it for `main` to exit
/// with.
async fn cold_start_failed(error: RotationError) -> lambda_runtime::Error {
    tracing::error!(error_type = error.error_type(), error = %error, "cold start failed");
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        report_init_error(&error).await;
    }
    Box::new(error)
}

/// `POST /2018-06-01/runtime/init/error` with the error's type and message, within a second.
async fn report_init_error(error: &RotationError) {
    use lambda_runtime_api_client::{PooledClient, body::Body, build_request};

    let body = json!({"errorType": error.error_type(), "errorMessage": error.to_string()}).to_string();
    let request = build_request()
        .method("POST")
        .uri("/2018-06-01/runtime/init/error")
        .header("lambda-runtime-function-error-type", error.error_type())
        .body(Body::from(body));
    let sent = match request {
        Ok(request) => tokio::time::timeout(Duration::from_secs(1), PooledClient::builder().build().call(request))
            .await
            .map_err(|_| "no answer within 1 s".to_owned())
            .and_then(|answer| answer.map(drop).map_err(|e| e.to_string())),
        Err(e) => Err(e.to_string()),
    };
    if let Err(problem) = sent {
        tracing::error!(problem, "the init error could not be reported to the Runtime API");
    }
}

/// The invocation's deadline (milliseconds since the epoch in the Runtime API's header) as an `Instant`.
fn deadline_of(context: &lambda_runtime::Context) -> Option<Instant> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?;
    let left = std::time::Duration::from_millis(context.deadline).checked_sub(now)?;
    Some(Instant::now() + left)
}

/// Parses an event (a secret's step or a parameter's rotation) and runs it within the invocation's `deadline`;
/// each step is recorded (one log record, one metric line). An event that does not parse is logged (its type and
/// cause, never the payload) and refused.
pub async fn handle<T: Target>(
    rotator: &Rotator<T>,
    parameters: &Parameters,
    payload: &Value,
    deadline: Option<Instant>,
) -> Result<(), RotationError> {
    let incoming = Incoming::from_value(payload)
        .inspect_err(|error| tracing::error!(error_type = error.error_type(), error = %error, "rejected event"))?;
    match incoming {
        Incoming::Secret(event) => {
            let started = Instant::now();
            let calls = || Calls {
                secrets_manager: rotator.secrets().calls(),
                parameter_store: 0,
                logins: telemetry::logins(),
            };
            let before = calls();
            let result = rotator.handle(&event, deadline).await;
            telemetry::record_step(&StepRecord {
                target: rotator.target().name(),
                store: Store::SecretsManager,
                id: &event.secret_id,
                step: event.step,
                version: &event.client_request_token,
                duration: started.elapsed(),
                calls: calls().since(before),
                result: result.as_ref().copied(),
            });
            result.map(drop)
        }
        // Each of the four steps records itself.
        Incoming::Parameter(event) => rotator.rotate_parameter(parameters.store(), &event, deadline).await.map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invocations_deadline_comes_from_its_context() {
        let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
        let mut context = lambda_runtime::Context::default();
        context.deadline = now_ms + 30_000;
        let left = deadline_of(&context).unwrap().saturating_duration_since(Instant::now());
        assert!(left > Duration::from_secs(29) && left <= Duration::from_secs(30), "{left:?}");
        // A deadline already past (cargo-lambda's emulator sends a fixed 600000 ms) bounds nothing.
        context.deadline = 600_000;
        assert!(deadline_of(&context).is_none());
    }
}
