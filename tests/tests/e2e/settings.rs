//! Per-secret settings: `rotor:` tags choose a secret's password rules over the function's, within its floor.

use aws_sdk_secretsmanager::types::Tag;
use serde_json::{Value, json};

use crate::harness::{Function, Harness, unique};
use crate::postgres::{configure, setup};
use crate::rotatectl::rotatectl;

const INITIAL: &str = r#"{"password":"initial-password-value-0001","owner":"team-links"}"#;

async fn tag(h: &Harness, arn: &str, pairs: &[(&str, &str)]) {
    let tags = pairs.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build());
    h.client.tag_resource().secret_id(arn).set_tags(Some(tags.collect())).send().await.unwrap();
}

async fn rotate(h: &Harness, arn: &str) -> Value {
    h.client.rotate_secret().secret_id(arn).send().await.unwrap();
    h.wait_rotation(arn).await
}

async fn password(h: &Harness, arn: &str) -> String {
    let current: Value = serde_json::from_str(&h.value(arn, "AWSCURRENT").await).unwrap();
    current["password"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_secrets_tags_set_its_password_rules_over_the_functions() {
    let h = Harness::start(vec![Function::new("rotate-custom")]).await;
    let arn = h.create_secret(&unique("oracle-link"), INITIAL).await;
    h.configure_rotation(&arn, "rotate-custom").await;

    // The Oracle preset with a shorter length over it: 28 characters, letters and digits only. testSecret's check
    // reads the tags, since the function's own policy (32 characters) would refuse the value.
    tag(&h, &arn, &[("rotor:password-preset", "oracle"), ("rotor:password-length", "28"), ("team", "links")]).await;
    for round in 0..2 {
        let record = rotate(&h, &arn).await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}");
        let value = password(&h, &arn).await;
        assert_eq!(value.chars().count(), 28, "round {round}");
        assert!(value.chars().all(|c| c.is_ascii_alphanumeric()), "round {round}: no punctuation");
    }
    let current: Value = serde_json::from_str(&h.value(&arn, "AWSCURRENT").await).unwrap();
    assert_eq!(current["owner"], "team-links", "other fields are kept");
    let (ok, out) = rotatectl(&h, &["doctor", &arn, "--function", "custom"]);
    assert!(ok && out.contains("PASS  the secret's rotor: settings tags"), "{out}");

    // Tags removed: the function's defaults again.
    h.client
        .untag_resource()
        .secret_id(&arn)
        .tag_keys("rotor:password-preset")
        .tag_keys("rotor:password-length")
        .send()
        .await
        .unwrap();
    assert_eq!(rotate(&h, &arn).await["state"], "succeeded");
    assert_eq!(password(&h, &arn).await.chars().count(), 32);

    // Individual tags without a preset.
    tag(&h, &arn, &[("rotor:password-length", "48"), ("rotor:exclude-characters", "abcXYZ/@\"'\\")]).await;
    assert_eq!(rotate(&h, &arn).await["state"], "succeeded");
    let value = password(&h, &arn).await;
    assert_eq!(value.chars().count(), 48);
    assert!(!value.contains(['a', 'b', 'c', 'X', 'Y', 'Z']));
    h.assert_no_leaks(&h.all_values(&arn).await);
}

#[tokio::test]
async fn a_bad_or_weakening_tag_fails_create_secret_naming_the_tag_and_nothing_changes() {
    let h = Harness::start(vec![Function::new("rotate-custom")]).await;
    for (pairs, tag_key, expect) in [
        (vec![("rotor:password-length", "thirty")], "rotor:password-length", "whole number from 1 to 4096"),
        (vec![("rotor:password-preset", "db2")], "rotor:password-preset", "known: oracle, alphanumeric, url-safe"),
        (vec![("rotor:pasword-length", "20")], "rotor:pasword-length", "not a rotor setting"),
        // A tag narrows the rules; it cannot go under the function's strength floor.
        (vec![("rotor:password-length", "12")], "rotor:password-*", "under the function's 100-bit floor"),
        (vec![("rotor:strategy", "alternating-users")], "rotor:strategy", "has no strategy to choose"),
    ] {
        let arn = h.create_secret(&unique("tagged"), INITIAL).await;
        h.configure_rotation(&arn, "rotate-custom").await;
        let before = h.labels(&arn).await;
        let value = h.value(&arn, "AWSCURRENT").await;
        tag(&h, &arn, &pairs).await;
        if tag_key != "rotor:strategy" {
            // rotatectl doctor finds the same problem before any rotation.
            let (ok, out) = rotatectl(&h, &["doctor", &arn, "--function", "custom"]);
            assert!(!ok && out.contains("FAIL  the secret's rotor: settings tags") && out.contains(expect), "{out}");
        }
        let record = rotate(&h, &arn).await;
        assert_eq!((&record["state"], &record["step"]), (&json!("failed"), &json!("createSecret")), "{record}");
        assert_eq!(record["error_type"], "InvalidSecretTag", "{record}");
        let message = record["error_message"].as_str().unwrap();
        assert!(message.contains(&format!("`{tag_key}`")) && message.contains(expect), "{message}");
        // Nothing was stored: AWSCURRENT is where it was, and only the service's placeholder (a version without a
        // value) holds AWSPENDING.
        let labels = h.labels(&arn).await;
        let token = h.holding(&arn, "AWSPENDING").await.expect("the service's placeholder");
        let kept: Vec<_> = labels.into_iter().filter(|(version, _)| *version != token).collect();
        assert_eq!(kept, before, "{tag_key}");
        assert_eq!(h.value(&arn, "AWSCURRENT").await, value);

        // With the tag removed, the service's retry of the same rotation succeeds.
        let keys: Vec<_> = pairs.iter().map(|(k, _)| k.to_string()).collect();
        h.client.untag_resource().secret_id(&arn).set_tag_keys(Some(keys)).send().await.unwrap();
        for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
            let event = json!({"Step": step, "SecretId": arn, "ClientRequestToken": token});
            h.invoke("rotate-custom", &event).await.unwrap_or_else(|e| panic!("{tag_key}: {step}: {e:?}"));
        }
        assert_eq!(h.holding(&arn, "AWSCURRENT").await, Some(token));
    }
}

#[tokio::test]
async fn a_strategy_tag_cannot_switch_a_database_functions_strategy() {
    let case = setup("single-user", &unique("app"), vec![]).await;
    configure(&case).await;
    tag(&case.h, &case.arn, &[("rotor:strategy", "alternating-users")]).await;
    let record = case.rotate().await;
    assert_eq!(record["error_type"], "InvalidSecretTag", "{record}");
    let message = record["error_message"].as_str().unwrap();
    assert!(message.contains("asks for alternating-users, but this function rotates with single-user"), "{message}");
    assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "AWSCURRENT still logs in");

    // Naming the function's own strategy (in AWS's spelling) is accepted, and password tags apply to the database.
    // The service retries the same rotation.
    tag(&case.h, &case.arn, &[("rotor:strategy", "SingleUser"), ("rotor:password-preset", "url-safe")]).await;
    let token = case.h.holding(&case.arn, "AWSPENDING").await.unwrap();
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        let event = json!({"Step": step, "SecretId": case.arn, "ClientRequestToken": token});
        case.h.invoke("rotate-postgres", &event).await.unwrap_or_else(|e| panic!("{step}: {e:?}"));
    }
    assert_eq!(case.h.holding(&case.arn, "AWSCURRENT").await, Some(token));
    let current = case.secret("AWSCURRENT").await;
    let value = current["password"].as_str().unwrap();
    assert_eq!(value.chars().count(), 40);
    assert!(value.chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)), "URL-safe");
    assert!(case.logs_in(&current).await);
    case.assert_no_password_leaks().await;
}
