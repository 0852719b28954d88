//! The example target against a toy service running in the test, driven through rotor's Rotator as Secrets
//! Manager would drive it (the Secrets Manager side is mocked at the SDK level).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, put};
use rotation_core::{PasswordPolicy, RotationEvent, Rotator, Secret, SecretsManager, Step, Target, TestContext};
use toy_api_key_rotation::ToyApiKey;

/// A service with one valid key.
async fn toy_service(initial: &str) -> String {
    let key = Arc::new(Mutex::new(initial.to_owned()));
    let authorized = |key: &Arc<Mutex<String>>, headers: &HeaderMap| {
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {}", key.lock().unwrap()))
    };
    let (k1, k2) = (Arc::clone(&key), Arc::clone(&key));
    let app = Router::new()
        .route(
            "/whoami",
            get(move |headers: HeaderMap| async move {
                if authorized(&k1, &headers) { StatusCode::OK } else { StatusCode::UNAUTHORIZED }
            }),
        )
        .route(
            "/keys",
            put(move |headers: HeaderMap, body: String| async move {
                if !authorized(&k2, &headers) {
                    return StatusCode::UNAUTHORIZED;
                }
                *k2.lock().unwrap() = body;
                StatusCode::NO_CONTENT
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:toy-AbCdEf";
const TOKEN: &str = "11111111-2222-4333-8444-555555555555";

fn rotator(current: String, pending: String) -> Rotator<ToyApiKey> {
    let describe = mock!(Client::describe_secret).then_output(|| {
        let stages: HashMap<String, Vec<String>> =
            [("old".to_string(), vec!["AWSCURRENT".to_string()]), (TOKEN.to_string(), vec!["AWSPENDING".to_string()])]
                .into();
        DescribeSecretOutput::builder().arn(ARN).set_version_ids_to_stages(Some(stages)).build()
    });
    let current_rule = mock!(Client::get_secret_value)
        .match_requests(|r| r.version_stage() == Some("AWSCURRENT"))
        .then_output(move || GetSecretValueOutput::builder().secret_string(current.clone()).build());
    let pending_rule = mock!(Client::get_secret_value)
        .match_requests(|r| r.version_stage() == Some("AWSPENDING"))
        .then_output(move || GetSecretValueOutput::builder().secret_string(pending.clone()).build());
    let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&describe, &current_rule, &pending_rule]);
    Rotator::new(SecretsManager::from_client(client), ToyApiKey::default(), PasswordPolicy::default())
}

fn event(step: Step) -> RotationEvent {
    RotationEvent { step, secret_id: ARN.into(), client_request_token: TOKEN.into(), rotation_token: None }
}

#[tokio::test]
async fn set_and_test_rotate_the_toy_services_key() {
    let url = toy_service("old-key").await;
    let current = serde_json::json!({"url": url, "api_key": "old-key"}).to_string();
    let next = ToyApiKey::default()
        .next_secret(&Secret::parse(ARN, &current), PasswordPolicy::default().generate().unwrap())
        .unwrap();
    let rotator = rotator(current, next.to_secret_string());
    for _ in 0..2 {
        rotator.handle(&event(Step::SetSecret), None).await.unwrap();
        rotator.handle(&event(Step::TestSecret), None).await.unwrap();
    }
    assert!(ToyApiKey::default().test(&TestContext::new(&next)).await.is_ok(), "the service accepts the new key");
    let old = Secret::parse(ARN, &serde_json::json!({"url": url, "api_key": "old-key"}).to_string());
    let error = ToyApiKey::default().test(&TestContext::new(&old)).await.unwrap_err();
    assert_eq!(error.error_type(), "TargetAuthenticationFailed", "the old key stopped working");
}
