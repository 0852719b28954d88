//! Faults the servers cannot produce on demand: throttling, 5xx, access denied (aws-smithy-mocks), and a real
//! time-out (a listener that never answers). Each must fail the step with a typed, classified error.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueOutput;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::body::SdkBody;
use rotation_core::{
    Env, Password, PasswordPolicy, RotationError, RotationEvent, Rotator, Secret, SecretsManager, SetContext, Step,
    Target, TestContext, Timeouts,
};
use serde_json::json;

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf";
const TOKEN: &str = "11111111-2222-4333-8444-555555555555";
const CURRENT: &str = "00000000-2222-4333-8444-555555555555";

struct Plain;

impl Target for Plain {
    fn name(&self) -> &'static str {
        "plain"
    }
    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        current.with_field("password", password.into_inner())
    }
    async fn set(&self, _ctx: &SetContext<'_>) -> Result<(), RotationError> {
        Ok(())
    }
    async fn test(&self, _ctx: &TestContext<'_>) -> Result<(), RotationError> {
        Ok(())
    }
}

fn event(step: Step) -> RotationEvent {
    RotationEvent {
        step,
        secret_id: ARN.into(),
        client_request_token: TOKEN.into(),
        rotation_token: Some("rotation-token-0123456789-0123456789-abc".into()),
    }
}

fn described() -> DescribeSecretOutput {
    let stages: HashMap<String, Vec<String>> =
        [(CURRENT.to_string(), vec!["AWSCURRENT".to_string()]), (TOKEN.to_string(), vec!["AWSPENDING".to_string()])]
            .into();
    DescribeSecretOutput::builder().arn(ARN).rotation_enabled(true).set_version_ids_to_stages(Some(stages)).build()
}

fn rotator(client: Client) -> Rotator<Plain> {
    Rotator::new(SecretsManager::from_client(client), Plain, PasswordPolicy::default())
}

/// The pending version's value, which finishSecret proves before it promotes.
fn pending_value() -> aws_smithy_mocks::Rule {
    mock!(Client::get_secret_value)
        .match_requests(|r| r.version_id() == Some(TOKEN) && r.version_stage() == Some("AWSPENDING"))
        .then_output(|| GetSecretValueOutput::builder().arn(ARN).secret_string(r#"{"password":"new"}"#).build())
}

fn error_body(code: &str, message: &str) -> SdkBody {
    SdkBody::from(json!({"__type": code, "message": message}).to_string())
}

fn http(status: u16, body: SdkBody) -> aws_smithy_runtime_api::http::Response {
    aws_smithy_runtime_api::http::Response::new(status.try_into().unwrap(), body)
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_then_reported_as_retryable() {
    // createSecret reads AWSCURRENT alongside the guard's DescribeSecret.
    let describe = mock!(Client::describe_secret).then_output(described);
    let current = mock!(Client::get_secret_value)
        .sequence()
        .http_response(|| http(400, error_body("ThrottlingException", "Rate exceeded")))
        .times(3)
        .build();
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&describe, &current], |c| c
        .retry_config(RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(1))));
    let error = rotator(client).handle(&event(Step::CreateSecret), None).await.unwrap_err();
    assert_eq!(current.num_calls(), 3, "the SDK's standard retries tried three times");
    assert!(error.is_retryable());
    assert_eq!(error.error_type(), "SecretsManagerError");
    assert!(error.to_string().contains("GetSecretValue failed"), "{error}");
    assert!(error.to_string().contains("ThrottlingException"), "{error}");
}

/// createSecret's mocks with PutSecretValue answering `ThrottlingException` `throttled` times before it stores.
fn throttled_put(throttled: usize) -> (Client, aws_smithy_mocks::Rule) {
    let describe = mock!(Client::describe_secret).then_output(described);
    let current = mock!(Client::get_secret_value)
        .match_requests(|r| r.version_stage() == Some("AWSCURRENT"))
        .then_output(|| GetSecretValueOutput::builder().arn(ARN).secret_string(r#"{"password":"old"}"#).build());
    let mut put = mock!(Client::put_secret_value)
        .sequence()
        .http_response(|| http(400, error_body("ThrottlingException", "Rate exceeded")))
        .times(throttled);
    put = put.output(|| PutSecretValueOutput::builder().arn(ARN).version_id(TOKEN).build());
    let put = put.build();
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&describe, &current, &put], |c| c
        .retry_config(RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(1))));
    (client, put)
}

#[tokio::test(start_paused = true)]
async fn a_write_throttled_past_the_sdks_attempts_is_sent_again_and_the_step_succeeds() {
    let (client, put) = throttled_put(7);
    let started = tokio::time::Instant::now();
    let outcome = rotator(client).handle(&event(Step::CreateSecret), None).await.unwrap();
    assert_eq!(outcome, rotation_core::Outcome::Done);
    assert_eq!(put.num_calls(), 8, "three SDK attempts, twice, then the stored one");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(3) && waited < Duration::from_secs(7),
        "waits of 1-2 s and 2-4 s: {waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_write_throttled_without_end_fails_the_step_as_retryable_after_three_more_rounds() {
    let (client, put) = throttled_put(100);
    let error = rotator(client).handle(&event(Step::CreateSecret), None).await.unwrap_err();
    assert_eq!(put.num_calls(), 12, "four rounds of the SDK's three attempts");
    assert!(error.is_retryable() && error.to_string().contains("ThrottlingException"), "{error}");
}

#[tokio::test]
async fn a_server_error_on_put_is_retried_and_the_step_then_succeeds() {
    let describe = mock!(Client::describe_secret).then_output(described);
    let current =
        mock!(Client::get_secret_value).match_requests(|r| r.version_stage() == Some("AWSCURRENT")).then_output(|| {
            GetSecretValueOutput::builder().arn(ARN).secret_string(r#"{"password":"old","user":"u"}"#).build()
        });
    let pending = mock!(Client::get_secret_value)
        .match_requests(|r| r.version_stage() == Some("AWSPENDING"))
        .then_http_response(|| {
            http(400, error_body("ResourceNotFoundException", "Secrets Manager can't find the specified secret value"))
        });
    let put = mock!(Client::put_secret_value)
        .match_requests(|r| {
            r.client_request_token() == Some(TOKEN)
                && r.version_stages() == ["AWSPENDING"]
                && r.rotation_token().is_some()
                && r.secret_string().is_some_and(|s| s.contains("\"user\":\"u\"") && !s.contains("\"old\""))
        })
        .sequence()
        .http_response(|| http(500, error_body("InternalServiceError", "boom")))
        .output(|| PutSecretValueOutput::builder().arn(ARN).version_id(TOKEN).build())
        .build();
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&describe, &current, &pending, &put], |c| c
        .retry_config(RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::from_millis(1))));
    rotator(client).handle(&event(Step::CreateSecret), None).await.unwrap();
    assert_eq!(put.num_calls(), 2, "one 500, then the retry stored the pending value");
}

/// A retry of createSecret after its value was stored: the store refuses another value for the token
/// (`ResourceExistsException`), the stored one stays, and the step succeeds without a second try.
#[tokio::test]
async fn create_secret_with_an_existing_pending_value_keeps_it() {
    let describe = mock!(Client::describe_secret).then_output(described);
    let values = mock!(Client::get_secret_value)
        .then_output(|| GetSecretValueOutput::builder().arn(ARN).secret_string(r#"{"password":"x"}"#).build());
    let put = mock!(Client::put_secret_value).then_http_response(|| {
        http(400, error_body("ResourceExistsException", "A resource with the ID you requested already exists."))
    });
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&describe, &values, &put]);
    let outcome = rotator(client).handle(&event(Step::CreateSecret), None).await.unwrap();
    assert_eq!(outcome, rotation_core::Outcome::AlreadyDone);
    assert_eq!(put.num_calls(), 1, "refused once, not retried");
}

#[tokio::test]
async fn access_denied_on_promotion_names_the_missing_permission_and_is_not_retryable() {
    let describe = mock!(Client::describe_secret).then_output(described);
    let promote = mock!(Client::update_secret_version_stage)
        .match_requests(|r| {
            r.version_stage() == Some("AWSCURRENT")
                && r.move_to_version_id() == Some(TOKEN)
                && r.remove_from_version_id() == Some(CURRENT)
        })
        .then_http_response(|| http(400, error_body("AccessDeniedException", "not authorized")));
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&describe, &pending_value(), &promote]);
    let error = rotator(client).handle(&event(Step::FinishSecret), None).await.unwrap_err();
    assert_eq!(promote.num_calls(), 1);
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("grant the function's role"), "{error}");
}

#[tokio::test]
async fn a_secrets_manager_that_never_answers_times_out_with_the_vpc_hint() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let env = Env::from_pairs([
        ("SECRETS_MANAGER_ENDPOINT".into(), url),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID".into(), "x".into()),
        ("AWS_SECRET_ACCESS_KEY".into(), "y".into()),
    ]);
    // SAFETY: this test binary's other tests do not read the environment.
    unsafe {
        std::env::set_var("AWS_REGION", "us-east-1");
        std::env::set_var("AWS_ACCESS_KEY_ID", "x");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "y");
    }
    let timeouts = Timeouts {
        connect: Duration::from_millis(200),
        attempt: Duration::from_millis(200),
        operation: Duration::from_millis(700),
    };
    let secrets = SecretsManager::from_env_with(&env, timeouts).await;
    let started = std::time::Instant::now();
    let error = secrets.describe(ARN).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(error.is_retryable());
    assert!(error.to_string().contains("timed out; inside a VPC"), "{error}");
    drop(listener);
}

/// A target whose finish hook records that it ran (MySQL 8 once discarded the old password there).
struct Finishing(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Target for Finishing {
    fn name(&self) -> &'static str {
        "finishing"
    }
    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        Plain.next_secret(current, password)
    }
    async fn set(&self, _ctx: &SetContext<'_>) -> Result<(), RotationError> {
        Ok(())
    }
    async fn test(&self, _ctx: &TestContext<'_>) -> Result<(), RotationError> {
        Ok(())
    }
    async fn finish(&self, _ctx: &rotation_core::FinishContext<'_>) -> Result<(), RotationError> {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn the_finish_hook_never_runs_unless_the_promotion_succeeded() {
    for (status, ran) in [(400, false), (200, true)] {
        let describe = mock!(Client::describe_secret).then_output(described);
        let promote = mock!(Client::update_secret_version_stage).then_http_response(move || match status {
            200 => http(200, SdkBody::from(json!({"ARN": ARN, "Name": "app"}).to_string())),
            _ => http(400, error_body("InternalServiceError", "the promotion failed")),
        });
        let client =
            mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&describe, &pending_value(), &promote], |c| c
                .retry_config(RetryConfig::disabled()));
        let hook = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let rotator =
            Rotator::new(SecretsManager::from_client(client), Finishing(hook.clone()), PasswordPolicy::default());
        let result = rotator.handle(&event(Step::FinishSecret), None).await;
        assert_eq!(result.is_ok(), ran, "{result:?}");
        assert_eq!(hook.load(std::sync::atomic::Ordering::SeqCst), ran, "promotion status {status}");
    }
}

/// A target whose credential does not log in (a racing rotation changed the password after testSecret).
struct Refused;

impl Target for Refused {
    fn name(&self) -> &'static str {
        "refused"
    }
    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        Plain.next_secret(current, password)
    }
    async fn set(&self, _ctx: &SetContext<'_>) -> Result<(), RotationError> {
        Ok(())
    }
    async fn test(&self, _ctx: &TestContext<'_>) -> Result<(), RotationError> {
        Err(RotationError::target(rotation_core::TargetErrorKind::AuthenticationFailed, "db", "refused"))
    }
}

#[tokio::test]
async fn finish_secret_never_promotes_a_credential_that_does_not_log_in() {
    let describe = mock!(Client::describe_secret).then_output(described);
    let promote = mock!(Client::update_secret_version_stage)
        .then_http_response(|| http(200, SdkBody::from(json!({"ARN": ARN}).to_string())));
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&describe, &pending_value(), &promote]);
    let rotator = Rotator::new(SecretsManager::from_client(client), Refused, PasswordPolicy::default());
    let error = rotator.handle(&event(Step::FinishSecret), None).await.unwrap_err();
    assert_eq!(error.error_type(), "TargetAuthenticationFailed");
    assert_eq!(promote.num_calls(), 0, "AWSCURRENT still names the credential that works");
}

/// A target whose system never answers a change.
struct Hanging;

impl Target for Hanging {
    fn name(&self) -> &'static str {
        "hanging"
    }
    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        Plain.next_secret(current, password)
    }
    async fn set(&self, _ctx: &SetContext<'_>) -> Result<(), RotationError> {
        std::future::pending().await
    }
    async fn test(&self, _ctx: &TestContext<'_>) -> Result<(), RotationError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_step_that_hangs_stops_before_the_invocations_deadline_with_an_error_that_says_so() {
    let describe = mock!(Client::describe_secret).then_output(described);
    let values = mock!(Client::get_secret_value)
        .then_output(|| GetSecretValueOutput::builder().arn(ARN).secret_string(r#"{"password":"x"}"#).build());
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&describe, &values]);
    let rotator = Rotator::new(SecretsManager::from_client(client), Hanging, PasswordPolicy::default());
    let deadline = std::time::Instant::now() + rotation_core::DEADLINE_MARGIN + Duration::from_millis(500);
    let error = rotator.handle(&event(Step::SetSecret), Some(deadline)).await.unwrap_err();
    assert!(std::time::Instant::now() < deadline, "the step returned before the deadline");
    assert_eq!(error.error_type(), "StepTimedOut");
    assert!(error.to_string().contains("setSecret stopped 2s before the function's deadline"), "{error}");
    assert!(error.is_retryable());
}
