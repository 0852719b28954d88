//! Rotating a generated secret through `rotate-custom`, driven by RotateSecret as Secrets Manager drives it.

use serde_json::{Value, json};

use crate::harness::{Function, Harness, lambda_arn, unique};

const INITIAL: &str = r#"{"password":"initial-password-value-0001","owner":"team-payments","port":5432}"#;

fn event(step: &str, arn: &str, token: &str, rotation_token: &str) -> Value {
    json!({"Step": step, "SecretId": arn, "ClientRequestToken": token, "RotationToken": rotation_token})
}

#[tokio::test]
async fn rotate_secret_runs_the_four_steps_and_promotes_the_new_version() {
    let h = Harness::start(vec![Function::new("rotate-custom")]).await;
    let arn = h.create_secret(&unique("team/api-key"), INITIAL).await;
    let first = h.holding(&arn, "AWSCURRENT").await.unwrap();

    let token = h.rotate(&arn, "rotate-custom").await;
    let record = h.wait_rotation(&arn).await;
    assert_eq!(record["state"], "succeeded", "{record}");
    assert_eq!(record["rotation_token_returned"], true, "createSecret passes the RotationToken back");

    let mut expected =
        vec![(first.clone(), vec!["AWSPREVIOUS".to_string()]), (token.clone(), vec!["AWSCURRENT".to_string()])];
    expected.sort();
    assert_eq!(h.labels(&arn).await, expected, "AWSPENDING removed, AWSPREVIOUS on the old version");
    let current: Value = serde_json::from_str(&h.value(&arn, "AWSCURRENT").await).unwrap();
    let initial: Value = serde_json::from_str(INITIAL).unwrap();
    assert_ne!(current["password"], initial["password"]);
    assert_eq!(current["password"].as_str().unwrap().chars().count(), 32);
    assert_eq!(current["owner"], "team-payments", "other fields are kept");
    assert_eq!(current["port"], 5432);
    let described = h.client.describe_secret().secret_id(&arn).send().await.unwrap();
    assert!(described.last_rotated_date().is_some());
    assert_eq!(described.rotation_enabled(), Some(true));

    // Invoking every step again with the same token (the service's retries) changes nothing.
    let labels = h.labels(&arn).await;
    let value = h.value(&arn, "AWSCURRENT").await;
    let rotation_token = "rt-e2e-2f6c1d1e-0a4b-4c4e-9d55-7b1a3c9e8f00";
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        h.invoke("rotate-custom", &event(step, &arn, &token, rotation_token)).await.unwrap();
    }
    assert_eq!(h.labels(&arn).await, labels);
    assert_eq!(h.value(&arn, "AWSCURRENT").await, value);

    let mut secrets = h.all_values(&arn).await;
    secrets.push(rotation_token.to_owned());
    h.assert_no_leaks(&secrets);
}

#[tokio::test]
async fn each_step_invoked_twice_in_a_row_changes_nothing_the_second_time() {
    let h = Harness::start(vec![Function::new("rotate-custom")]).await;
    let arn = h.create_secret(&unique("twice"), INITIAL).await;
    let first = h.holding(&arn, "AWSCURRENT").await.unwrap();
    // A rotation whose function cannot be invoked leaves the service's value-less AWSPENDING placeholder, as a
    // failed invocation does in AWS; the test then plays the service, invoking each step twice.
    let token = h.rotate(&arn, "rotate-not-deployed").await;
    assert_eq!(h.wait_rotation(&arn).await["state"], "failed");
    let placeholder =
        h.client.get_secret_value().secret_id(&arn).version_id(&token).version_stage("AWSPENDING").send().await;
    assert!(placeholder.unwrap_err().into_service_error().is_resource_not_found_exception());

    let rotation_token = "rt-twice-5b0f6a8e-3c2d-4e1f-8a9b-0c1d2e3f4a5b";
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        h.invoke("rotate-custom", &event(step, &arn, &token, rotation_token)).await.unwrap();
        let once = (h.labels(&arn).await, h.all_values(&arn).await);
        h.invoke("rotate-custom", &event(step, &arn, &token, rotation_token)).await.unwrap();
        assert_eq!((h.labels(&arn).await, h.all_values(&arn).await), once, "{step} a second time changed something");
    }
    assert_eq!(h.holding(&arn, "AWSCURRENT").await.as_deref(), Some(token.as_str()));
    assert_eq!(h.holding(&arn, "AWSPREVIOUS").await.as_deref(), Some(first.as_str()));
    // finishSecret only promotes: removing AWSPENDING is the service's job (a separate removal signals failure).
    assert_eq!(h.holding(&arn, "AWSPENDING").await.as_deref(), Some(token.as_str()));

    // One JSON record and one EMF metric line per step invocation, none with a value.
    let log = std::fs::read_to_string(h.dir.path().join("rotate-custom.log")).unwrap();
    let lines: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).expect("every log line is JSON")).collect();
    let records: Vec<&Value> = lines.iter().filter(|l| l["message"] == "step succeeded").collect();
    assert_eq!(records.len(), 8);
    for record in &records {
        assert_eq!(record["secret"], arn.as_str());
        assert_eq!(record["version"], token.as_str());
        assert_eq!(record["target"], "generated");
        assert!(record["duration_ms"].is_number() && record["secrets_manager_calls"].is_number());
    }
    let outcomes: Vec<&str> = records.iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["done", "already_done", "done", "done", "done", "done", "done", "already_current"]);
    let metrics = lines.iter().filter(|l| l["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "rotor").count();
    assert_eq!(metrics, 8);

    let mut secrets = h.all_values(&arn).await;
    secrets.push(rotation_token.into());
    h.assert_no_leaks(&secrets);
}

#[tokio::test]
async fn a_failure_in_set_secret_keeps_current_and_blocks_rotation_until_cleared() {
    let h = Harness::start(vec![Function::new("rotate-failing"), Function::new("rotate-custom")]).await;
    let arn = h.create_secret(&unique("blocked"), INITIAL).await;
    let current = h.holding(&arn, "AWSCURRENT").await.unwrap();

    let token = h.rotate(&arn, "rotate-failing").await;
    let record = h.wait_rotation(&arn).await;
    assert_eq!(record["state"], "failed");
    assert_eq!(record["step"], "setSecret");
    assert_eq!(record["error_type"], "TargetRejected");
    assert_eq!(h.holding(&arn, "AWSCURRENT").await.as_deref(), Some(current.as_str()), "AWSCURRENT untouched");
    assert_eq!(h.value(&arn, "AWSCURRENT").await, INITIAL);
    assert_eq!(h.holding(&arn, "AWSPENDING").await.as_deref(), Some(token.as_str()), "AWSPENDING kept");

    // As in AWS: a new rotation is refused while AWSPENDING sits on another version.
    let error = h.client.rotate_secret().secret_id(&arn).send().await.unwrap_err();
    let service = error.into_service_error();
    assert!(service.is_invalid_request_exception(), "{service:?}");
    assert!(service.to_string().contains("A previous rotation isn't complete"));

    // CancelRotateSecret turns rotation off; the stuck label stays until removed, as in AWS.
    let cancelled = h.client.cancel_rotate_secret().secret_id(&arn).send().await.unwrap();
    assert_eq!(cancelled.version_id(), Some(token.as_str()));
    let described = h.client.describe_secret().secret_id(&arn).send().await.unwrap();
    assert_eq!(described.rotation_enabled(), Some(false));
    assert!(h.client.rotate_secret().secret_id(&arn).send().await.is_err());
    h.client
        .update_secret_version_stage()
        .secret_id(&arn)
        .version_stage("AWSPENDING")
        .remove_from_version_id(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(h.value(&arn, "AWSCURRENT").await, INITIAL, "clearing the rotation never touches AWSCURRENT");

    // Unblocked: a working function rotates it.
    h.rotate(&arn, "rotate-custom").await;
    assert_eq!(h.wait_rotation(&arn).await["state"], "succeeded");
    assert_eq!(h.holding(&arn, "AWSPREVIOUS").await.as_deref(), Some(current.as_str()));
    h.assert_no_leaks(&h.all_values(&arn).await);
}

#[tokio::test]
async fn rotate_immediately_false_tests_the_configuration_only() {
    let h = Harness::start(vec![Function::new("rotate-custom")]).await;
    let good = h.create_secret(&unique("config-ok"), INITIAL).await;
    let labels = h.labels(&good).await;
    let record = h.configure_rotation(&good, "rotate-custom").await;
    // testSecret ran against the current value, which does not meet the 32-character policy: a real test.
    assert_eq!(record["test_only"], true);
    assert_eq!(record["step"], "testSecret");
    assert_eq!(record["state"], "failed", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("has 27 characters"), "{record}");
    assert_eq!(h.labels(&good).await, labels, "the test's AWSPENDING is removed; nothing else changes");

    // After a real rotation the value meets the policy and the configuration test passes.
    h.client.rotate_secret().secret_id(&good).send().await.unwrap();
    assert_eq!(h.wait_rotation(&good).await["state"], "succeeded");
    let labels = h.labels(&good).await;
    h.client.rotate_secret().secret_id(&good).rotate_immediately(false).send().await.unwrap();
    let record = h.wait_rotation(&good).await;
    assert_eq!((record["state"].as_str(), record["test_only"].as_bool()), (Some("succeeded"), Some(true)));
    assert_eq!(h.labels(&good).await, labels);
}

#[tokio::test]
async fn malformed_events_and_wrong_states_fail_with_the_cause_named() {
    let h = Harness::start(vec![Function::new("rotate-custom")]).await;
    let name = unique("bad-input");
    let arn = h.create_secret(&name, INITIAL).await;
    let current = h.holding(&arn, "AWSCURRENT").await.unwrap();
    let token = uuid::Uuid::new_v4().to_string();
    let cases = [
        (json!({"Step": "rotate", "SecretId": arn, "ClientRequestToken": token}), "InvalidEvent", "field `Step`"),
        (json!({"Step": "createSecret", "ClientRequestToken": token}), "InvalidEvent", "field `SecretId` is missing"),
        (
            json!({"Step": "createSecret", "SecretId": arn, "ClientRequestToken": "short"}),
            "InvalidEvent",
            "`ClientRequestToken` must be 32 to 64",
        ),
        (
            json!({"Step": "setSecret", "SecretId": arn, "ClientRequestToken": token}),
            "VersionState",
            "is not a version of this secret",
        ),
        (
            json!({"Step": "set_secret", "SecretId": "no-such-secret", "ClientRequestToken": token}),
            "SecretsManagerError",
            "ResourceNotFoundException",
        ),
        // The secret's name works as well as its ARN.
        (json!({"Step": "finishSecret", "SecretId": name, "ClientRequestToken": current}), "", ""),
    ];
    for (event, error_type, message) in cases {
        let result = h.invoke("rotate-custom", &event).await;
        if error_type.is_empty() {
            assert!(result.is_ok(), "a token that is already AWSCURRENT is a no-op: {result:?}");
            continue;
        }
        let (kind, text) = result.unwrap_err();
        assert_eq!(kind, error_type, "{event}: {text}");
        assert!(text.contains(message), "{event}: {text}");
    }

    // A plain secret that is not JSON, with a JSON key configured: the error names the field.
    let plain = h.create_secret(&unique("plain"), "not-json-but-a-plain-string").await;
    h.rotate(&plain, "rotate-custom").await;
    assert_eq!(h.wait_rotation(&plain).await["state"], "succeeded", "plain strings rotate as plain strings");
    assert!(serde_json::from_str::<Value>(&h.value(&plain, "AWSCURRENT").await).is_err());

    // Rotation turned off: every step refuses.
    h.client.rotate_secret().secret_id(&arn).rotation_lambda_arn(lambda_arn("rotate-custom")).send().await.unwrap();
    h.wait_rotation(&arn).await;
    h.client.cancel_rotate_secret().secret_id(&arn).send().await.unwrap();
    let (kind, text) = h
        .invoke("rotate-custom", &event("testSecret", &arn, &token, "rt-disabled-0000-1111-2222-333344445555"))
        .await
        .unwrap_err();
    assert_eq!(kind, "RotationDisabled");
    assert!(text.contains("enable it with RotateSecret"), "{text}");
    assert_eq!(h.labels(&arn).await.len(), 2);
}

#[tokio::test]
async fn an_unreachable_secrets_manager_fails_the_step_with_the_fix() {
    let mut h = Harness::start(vec![]).await;
    let dead = format!("http://127.0.0.1:{}", crate::harness::free_port());
    h.start_function(Function { name: "rotate-custom", env: vec![("AWS_ENDPOINT_URL".into(), dead)] });
    let token = uuid::Uuid::new_v4().to_string();
    let (kind, text) = h
        .invoke(
            "rotate-custom",
            &event(
                "createSecret",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf",
                &token,
                "rt-unreach-0000-1111-2222-333344445555",
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(kind, "SecretsManagerError");
    assert!(text.contains("could not connect; check the endpoint"), "{text}");
}

#[tokio::test]
async fn a_function_without_credentials_fails_the_step_saying_so_not_blaming_the_network() {
    let mut h = Harness::start(vec![]).await;
    let arn = h.create_secret(&unique("no-credentials"), INITIAL).await;
    let token = h.holding(&arn, "AWSCURRENT").await.unwrap();
    // Empty keys count as none; no instance metadata to fall back on.
    let env = [("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", ""), ("AWS_EC2_METADATA_DISABLED", "true")];
    let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    h.start_function(Function { name: "rotate-custom", env });
    let (kind, text) = h
        .invoke("rotate-custom", &event("testSecret", &arn, &token, "rt-nocred-0000-1111-2222-333344445555"))
        .await
        .unwrap_err();
    assert_eq!(kind, "SecretsManagerError", "{text}");
    assert!(text.contains("the function's credentials could not be loaded"), "{text}");
    assert!(!text.contains("could not connect"), "not the network's fault: {text}");
}

#[tokio::test]
async fn a_bad_password_policy_stops_the_function_at_cold_start() {
    let mut h = Harness::start(vec![]).await;
    h.start_function(Function { name: "rotate-custom", env: vec![("PASSWORD_LENGTH".into(), "zero".into())] });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let log = std::fs::read_to_string(h.dir.path().join("rotate-custom.log")).unwrap();
    assert!(log.contains("environment variable PASSWORD_LENGTH must be a whole number from 1 to 4096"), "{log}");
}

#[tokio::test]
async fn passwords_can_come_from_get_random_password() {
    let h = Harness::start(vec![Function {
        name: "rotate-custom",
        env: vec![
            ("PASSWORD_GENERATOR".into(), "secretsmanager".into()),
            ("EXCLUDE_PUNCTUATION".into(), "true".into()),
        ],
    }])
    .await;
    let arn = h.create_secret(&unique("grp"), INITIAL).await;
    h.rotate(&arn, "rotate-custom").await;
    assert_eq!(h.wait_rotation(&arn).await["state"], "succeeded");
    let current: Value = serde_json::from_str(&h.value(&arn, "AWSCURRENT").await).unwrap();
    let password = current["password"].as_str().unwrap();
    assert_eq!(password.len(), 32);
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()), "EXCLUDE_PUNCTUATION reached GetRandomPassword");
    let audit = std::fs::read_to_string(h.dir.path().join("state/audit.jsonl")).unwrap();
    assert!(audit.contains(r#""operation":"GetRandomPassword""#), "the password came from the API");
    h.assert_no_leaks(&h.all_values(&arn).await);
}

#[tokio::test]
async fn byte_formats_and_plain_secrets_rotate() {
    let h = Harness::start(vec![Function {
        name: "rotate-custom",
        env: vec![
            ("GENERATED_FORMAT".into(), "base64url".into()),
            ("GENERATED_BYTES".into(), "48".into()),
            ("GENERATED_KEY".into(), "signing_key".into()),
        ],
    }])
    .await;
    let arn = h.create_secret(&unique("signing"), r#"{"signing_key":"old","kid":"k1"}"#).await;
    h.rotate(&arn, "rotate-custom").await;
    assert_eq!(h.wait_rotation(&arn).await["state"], "succeeded");
    let current: Value = serde_json::from_str(&h.value(&arn, "AWSCURRENT").await).unwrap();
    let key = current["signing_key"].as_str().unwrap();
    assert_eq!(key.len(), 64, "48 bytes in unpadded base64url");
    assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    assert_eq!(current["kid"], "k1");
    // The configuration test now checks the format: the rotated value passes.
    h.client.rotate_secret().secret_id(&arn).rotate_immediately(false).send().await.unwrap();
    assert_eq!(h.wait_rotation(&arn).await["state"], "succeeded");
    h.assert_no_leaks(&h.all_values(&arn).await);
}
