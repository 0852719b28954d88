//! Structured logs (one JSON record per step) and CloudWatch Embedded Metric Format lines.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing_subscriber::EnvFilter;

use crate::error::RotationError;
use crate::event::Step;
use crate::outcome::Outcome;
use crate::store::kind::Store;

/// The CloudWatch namespace of rotor's metrics.
pub const METRIC_NAMESPACE: &str = "rotor";

/// Crates whose debug and trace output can carry what rotor never logs: SQL text with a verifier or hash
/// (`tokio_postgres`, `mysql_async`), the raw event with its `RotationToken` (`lambda_runtime`), request and
/// response bodies or URLs (the AWS SDK, `hyper`, `reqwest`, `h2`, `rustls`). Their events below `info` are
/// dropped whatever the level says.
pub const PINNED_TARGETS: &[&str] = &[
    "tokio_postgres",
    "postgres_protocol",
    "mysql_async",
    "mysql_common",
    "lambda_runtime",
    "aws_smithy",
    "aws_sdk",
    "aws_config",
    "aws_credential_types",
    "aws_runtime",
    "hyper",
    "h2",
    "reqwest",
    "rustls",
    "tower",
];

/// Crates that log what a server answered at any level (ldap3 logs a whole LDAP response, a directory's
/// diagnostic text and entries included, when no one waits for it any more): never logged.
pub const SILENCED_TARGETS: &[&str] = &["ldap3", "lber"];

/// Whether an event of `target` at `level` may be logged: every level for rotor's own code, `info` and above for
/// [`PINNED_TARGETS`], nothing of [`SILENCED_TARGETS`].
pub fn allowed(target: &str, level: &tracing::Level) -> bool {
    if SILENCED_TARGETS.iter().any(|silenced| target.starts_with(silenced)) {
        return false;
    }
    *level <= tracing::Level::INFO || !PINNED_TARGETS.iter().any(|pinned| target.starts_with(pinned))
}

/// Installs the JSON log subscriber (Lambda's JSON log format) on stdout.
///
/// The level comes from `AWS_LAMBDA_LOG_LEVEL` (Lambda's own setting, which wins) or `RUST_LOG` (default
/// `info`); the crates of [`PINNED_TARGETS`] never log below `info`, so `RUST_LOG=trace` shows rotor's detail and
/// nothing of a driver's SQL text or the runtime's raw event. The FIPS build's cold-start statement (`running in
/// FIPS mode`) is logged whatever the level. Nothing rotor logs carries a secret value or a
/// `RotationToken`.
pub fn init() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().filter(|l| !l.is_empty()).map(|l| l.to_ascii_lowercase());
    let filter = level.or_else(|| std::env::var("RUST_LOG").ok()).unwrap_or_else(|| "info".into());
    // The FIPS build's statement that it runs in FIPS mode is logged at any level an assessor's evidence needs.
    let filter = EnvFilter::try_new(format!(
        "aws_smithy_runtime=warn,aws_config=warn,hyper=warn,{filter},rotation_core::fips=info"
    ))
    .unwrap_or_else(|_| EnvFilter::new("info"));
    let pinned = tracing_subscriber::filter::filter_fn(|meta| allowed(meta.target(), meta.level()));
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_writer(std::io::stdout);
    let _ = tracing_subscriber::registry().with(filter).with(pinned).with(json).try_init();
}

/// How many calls a step made to each store, and how many logins it made to its target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Calls {
    /// Secrets Manager calls (a secret's stages, admin secrets, `GetRandomPassword`).
    pub secrets_manager: u64,
    /// Parameter Store calls (a parameter's versions, labels and lock).
    pub parameter_store: u64,
    /// Logins to the target's servers (databases, caches), each attempt counted ([`count_login`]).
    pub logins: u64,
}

impl Calls {
    /// The calls made since `before` (every counter only grows).
    pub fn since(self, before: Calls) -> Calls {
        Calls {
            secrets_manager: self.secrets_manager - before.secrets_manager,
            parameter_store: self.parameter_store - before.parameter_store,
            logins: self.logins - before.logins,
        }
    }
}

/// Logins attempted by this process (a Lambda process runs one invocation at a time).
static LOGINS: AtomicU64 = AtomicU64::new(0);

/// Counts one login attempt to a target's server: a connection that authenticates (or tries to), whatever its
/// outcome. Each target's connect function calls it once per attempt; the step record reports the count.
pub fn count_login() {
    LOGINS.fetch_add(1, Ordering::Relaxed);
}

/// The login attempts this process made so far ([`count_login`]).
pub fn logins() -> u64 {
    LOGINS.load(Ordering::Relaxed)
}

/// Everything recorded about one step.
#[derive(Debug)]
pub struct StepRecord<'a> {
    /// The target's name.
    pub target: &'static str,
    /// The store the rotated credential lives in.
    pub store: Store,
    /// The secret's ARN or the parameter's name.
    pub id: &'a str,
    /// The step.
    pub step: Step,
    /// The rotation's token (a secret's `ClientRequestToken`, a parameter's `RotationId`); never a `RotationToken`.
    pub version: &'a str,
    /// How long the step took.
    pub duration: Duration,
    /// The calls the step made, by store.
    pub calls: Calls,
    /// The step's result.
    pub result: Result<Outcome, &'a RotationError>,
}

impl StepRecord<'_> {
    /// The secret's ARN, for a secret's step.
    fn secret(&self) -> Option<&str> {
        (self.store == Store::SecretsManager).then_some(self.id)
    }

    /// The parameter's name, for a parameter's step.
    fn parameter(&self) -> Option<&str> {
        (self.store == Store::ParameterStore).then_some(self.id)
    }
}

/// Logs the step's record and prints its EMF metric line.
pub fn record_step(record: &StepRecord<'_>) {
    let duration_ms = record.duration.as_secs_f64() * 1000.0;
    let (secret, parameter) = (record.secret(), record.parameter());
    let parameter_store_calls = (record.store == Store::ParameterStore).then_some(record.calls.parameter_store);
    match record.result {
        Ok(outcome) => tracing::info!(
            store = record.store.as_str(),
            secret,
            parameter,
            step = record.step.as_str(),
            version = record.version,
            target = record.target,
            outcome = outcome.as_str(),
            duration_ms,
            secrets_manager_calls = record.calls.secrets_manager,
            parameter_store_calls,
            logins = record.calls.logins,
            "step succeeded"
        ),
        Err(error) => tracing::error!(
            store = record.store.as_str(),
            secret,
            parameter,
            step = record.step.as_str(),
            version = record.version,
            target = record.target,
            outcome = "failed",
            error_type = error.error_type(),
            retryable = error.is_retryable(),
            error = %error,
            duration_ms,
            secrets_manager_calls = record.calls.secrets_manager,
            parameter_store_calls,
            logins = record.calls.logins,
            "step failed"
        ),
    }
    let line = emf_line(record, SystemTime::now());
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
}

/// The function's name as Lambda gives it (`AWS_LAMBDA_FUNCTION_NAME`), read once; `local` outside Lambda.
pub fn function_name() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok().filter(|n| !n.is_empty()).unwrap_or_else(|| "local".into())
    })
}

/// The EMF JSON line of a step: `StepDuration` (ms), `StepFailure` (0/1), `SecretsManagerCalls`,
/// `ParameterStoreCalls` and `TargetLogins`, by target and step, by function (the dimension the template's
/// alarms watch), and by function and step (the dashboard's rotations); the store is a property of the line.
pub fn emf_line(record: &StepRecord<'_>, now: SystemTime) -> String {
    let timestamp = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": METRIC_NAMESPACE,
                "Dimensions": [["Target", "Step"], ["Function"], ["Function", "Step"]],
                "Metrics": [
                    {"Name": "StepDuration", "Unit": "Milliseconds"},
                    {"Name": "StepFailure", "Unit": "Count"},
                    {"Name": "SecretsManagerCalls", "Unit": "Count"},
                    {"Name": "ParameterStoreCalls", "Unit": "Count"},
                    {"Name": "TargetLogins", "Unit": "Count"}
                ]
            }]
        },
        "Target": record.target,
        "Step": record.step.as_str(),
        "Store": record.store.as_str(),
        "Function": function_name(),
        "StepDuration": record.duration.as_secs_f64() * 1000.0,
        "StepFailure": u8::from(record.result.is_err()),
        "SecretsManagerCalls": record.calls.secrets_manager,
        "ParameterStoreCalls": record.calls.parameter_store,
        "TargetLogins": record.calls.logins,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_and_the_runtime_never_log_below_info() {
        use tracing::Level;
        for target in ["tokio_postgres::query", "mysql_async::conn", "lambda_runtime::runtime", "aws_smithy_runtime"] {
            assert!(!allowed(target, &Level::DEBUG) && !allowed(target, &Level::TRACE), "{target}");
            assert!(allowed(target, &Level::INFO) && allowed(target, &Level::WARN), "{target}");
        }
        assert!(allowed("rotation_core::rotation", &Level::TRACE));
    }

    #[test]
    fn emf_line_has_each_stores_calls() {
        let error = RotationError::RotationDisabled { secret: "arn:s".into() };
        let token = "c".repeat(32);
        let record = StepRecord {
            target: "generated",
            store: Store::SecretsManager,
            id: "arn:s",
            step: Step::SetSecret,
            version: &token,
            duration: Duration::from_millis(12),
            calls: Calls { secrets_manager: 3, parameter_store: 0, logins: 2 },
            result: Err(&error),
        };
        let line = emf_line(&record, UNIX_EPOCH + Duration::from_secs(10));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["_aws"]["Timestamp"], 10_000);
        assert_eq!(value["StepFailure"], 1);
        assert_eq!(value["Step"], "setSecret");
        assert_eq!((&value["SecretsManagerCalls"], &value["ParameterStoreCalls"]), (&3.into(), &0.into()));
        assert_eq!(value["Store"], "secretsmanager");
        assert_eq!(value["TargetLogins"], 2);
        let parameter = StepRecord {
            store: Store::ParameterStore,
            calls: Calls { secrets_manager: 1, parameter_store: 4, logins: 0 },
            result: Ok(Outcome::Done),
            ..record
        };
        let value: serde_json::Value = serde_json::from_str(&emf_line(&parameter, UNIX_EPOCH)).unwrap();
        assert_eq!(
            (&value["Store"], &value["ParameterStoreCalls"], &value["StepFailure"]),
            (&"ssm".into(), &4.into(), &0.into())
        );
    }
}
