//! "Rotated" notifications end to end: the functions publish one EventBridge event per successful promotion
//! (`ROTATION_EVENT_BUS`) through the SDK's endpoint override to the local endpoint's `PutEvents`, and nothing when
//! the rotation fails or no bus is configured.

use serde_json::{Value, json};

use crate::harness::{Function, Harness, unique};

async fn events(h: &Harness) -> Vec<Value> {
    let answer: Value = reqwest::get(format!("{}/_rotor/events", h.endpoint_url)).await.unwrap().json().await.unwrap();
    answer["Events"].as_array().unwrap().clone()
}

fn with_bus(name: &'static str) -> Function {
    Function { name, env: vec![("ROTATION_EVENT_BUS".into(), "rotor-rotations".into())] }
}

#[tokio::test]
async fn a_successful_rotation_publishes_one_event_without_a_value_and_a_failed_one_none() {
    let h = Harness::start(vec![with_bus("rotate-custom"), with_bus("rotate-failing")]).await;
    let arn = h.create_secret(&unique("notify"), r#"{"password":"first-password-value"}"#).await;
    h.rotate(&arn, "rotate-custom").await;
    assert_eq!(h.wait_rotation(&arn).await["state"], "succeeded");
    let current = h.holding(&arn, "AWSCURRENT").await.unwrap();
    let published = events(&h).await;
    assert_eq!(published.len(), 1, "{published:?}");
    let event = &published[0];
    assert_eq!(
        (&event["bus"], &event["source"], &event["detail_type"]),
        (&json!("rotor-rotations"), &json!("rotor"), &json!("Secret Rotated"))
    );
    assert_eq!(event["resources"], json!([arn]));
    let detail = &event["detail"];
    assert_eq!(
        (&detail["store"], &detail["id"], &detail["version"]),
        (&json!("secretsmanager"), &json!(arn), &json!(current))
    );
    assert_eq!(detail["target"], "generated");
    assert!(detail["time"].as_str().unwrap().ends_with('Z'));
    let text = event.to_string();
    for value in h.all_values(&arn).await.iter().filter(|v| v.len() >= 8) {
        assert!(!text.contains(value.as_str()), "the event carries no value");
    }

    let failing = h.create_secret(&unique("notify-fail"), r#"{"password":"x"}"#).await;
    h.rotate(&failing, "rotate-failing").await;
    assert_eq!(h.wait_rotation(&failing).await["state"], "failed");
    assert_eq!(events(&h).await.len(), 1, "a failed rotation publishes nothing");
}

#[tokio::test]
async fn a_parameter_rotation_publishes_and_no_bus_means_no_event() {
    let h = Harness::start(vec![with_bus("rotate-custom")]).await;
    let name = format!("/rotor/{}/token", unique("p"));
    h.put_parameter(&name, "first-token-0123456789", "custom").await;
    h.invoke("rotate-custom", &json!({"ParameterName": name, "RotationId": "r1"})).await.unwrap();
    let published = events(&h).await;
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(published[0]["detail"]["store"], "ssm");
    assert_eq!((&published[0]["detail"]["id"], &published[0]["detail"]["version"]), (&json!(name), &json!("2")));

    let quiet = Harness::start(vec![Function::new("rotate-custom")]).await;
    let arn = quiet.create_secret(&unique("quiet"), r#"{"password":"x"}"#).await;
    quiet.rotate(&arn, "rotate-custom").await;
    assert_eq!(quiet.wait_rotation(&arn).await["state"], "succeeded");
    assert!(events(&quiet).await.is_empty(), "no bus, no event");
}
