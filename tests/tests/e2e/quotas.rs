//! A fleet's rotations falling due together on an endpoint that enforces Secrets Manager's per-second quotas and
//! runs a bounded number of invocations at once: every rotation completes through the throttling.

use serde_json::{Value, json};

use crate::harness::{Function, Harness, due_secret};

#[tokio::test]
async fn rotations_due_together_all_complete_through_throttling() {
    // A fifth of AWS's rates (10 writes a second), so a small fleet meets the quota as a large one would.
    let args = ["--quotas", "aws", "--quota-scale", "0.2", "--max-concurrent-invocations", "4"];
    let mut h = Harness::start_with(vec![], args.iter().map(|a| a.to_string()).collect()).await;
    let mut secrets = serde_json::Map::new();
    for i in 0..30 {
        let value = json!({"password": format!("initial-password-{i:04}-abcdefghijkl"), "app": i}).to_string();
        let (arn, record) = due_secret(&format!("fleet/app-{i:02}"), &value, "rotate-custom");
        secrets.insert(arn, record);
    }
    std::fs::write(h.dir.path().join("state/state.json"), json!({"secrets": secrets}).to_string()).unwrap();
    h.start_endpoint();
    for _ in 0..4 {
        h.start_function(Function::new("rotate-custom"));
    }
    let audit_before = std::fs::read_to_string(h.dir.path().join("state/audit.jsonl")).unwrap().lines().count();

    assert_eq!(h.advance_clock(86_400).await, 30, "the window starts every rotation at once");
    for (arn, record) in &secrets {
        let rotation = h.last_rotation(arn).await;
        assert_eq!(rotation["state"], "succeeded", "{rotation}");
        assert_eq!(h.holding(arn, "AWSPENDING").await, None, "nothing left stuck");
        let before: Value = serde_json::from_str(
            record["versions"].as_object().unwrap().values().next().unwrap()["secret_string"].as_str().unwrap(),
        )
        .unwrap();
        let after: Value = serde_json::from_str(&h.value(arn, "AWSCURRENT").await).unwrap();
        assert_ne!(after["password"], before["password"]);
        assert_eq!(after["app"], before["app"]);
    }
    let audit = std::fs::read_to_string(h.dir.path().join("state/audit.jsonl")).unwrap();
    let throttled = audit
        .lines()
        .skip(audit_before)
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["outcome"] == "ThrottlingException")
        .inspect(|l| {
            let operation = l["operation"].as_str().unwrap();
            assert!(["PutSecretValue", "UpdateSecretVersionStage"].contains(&operation), "{l}");
        })
        .count();
    assert!(throttled > 0, "the quota was met: the run proves nothing otherwise");
    let mut values: Vec<String> = Vec::new();
    for arn in secrets.keys() {
        values.extend(h.all_values(arn).await);
    }
    h.assert_no_leaks(&values);
}
