//! `rotatectl status` and `rotatectl rotate --wait` against the local endpoint.

use std::process::{Command, Output};

use crate::harness::{Function, Harness, binary, unique};

/// Runs rotatectl against the harness's endpoint; returns success and stdout+stderr.
pub fn rotatectl(h: &Harness, args: &[&str]) -> (bool, String) {
    rotatectl_with(h, args, &[])
}

/// [`rotatectl`] with `env` added to its environment.
pub fn rotatectl_with(h: &Harness, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let Output { status, stdout, stderr } = Command::new(binary("rotatectl"))
        .args(args)
        .args(["--endpoint-url", &h.endpoint_url])
        .env_clear()
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDROTORTEST")
        .env("AWS_SECRET_ACCESS_KEY", "rotor-test-not-a-secret")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (status.success(), format!("{}{}", String::from_utf8_lossy(&stdout), String::from_utf8_lossy(&stderr)))
}

#[tokio::test]
async fn rotate_wait_follows_success_and_status_shows_the_labels() {
    let h = Harness::start(vec![Function::new("rotate-custom")]).await;
    let name = unique("ctl");
    let arn = h.create_secret(&name, r#"{"password":"x"}"#).await;
    let first = h.holding(&arn, "AWSCURRENT").await.unwrap();
    h.configure_rotation(&arn, "rotate-custom").await;

    let (ok, out) = rotatectl(&h, &["rotate", &name, "--wait", "--timeout", "30"]);
    assert!(ok, "{out}");
    let token = h.holding(&arn, "AWSCURRENT").await.unwrap();
    assert!(out.contains(&format!("rotation succeeded: version {token} is AWSCURRENT")), "{out}");

    let (ok, out) = rotatectl(&h, &["status", &name]);
    assert!(ok, "{out}");
    assert!(out.contains("Rotation   enabled"), "{out}");
    assert!(out.contains("Function   arn:aws:lambda:us-east-1:123456789012:function:rotate-custom"), "{out}");
    assert!(out.lines().any(|l| l.starts_with(&token) && l.contains("AWSCURRENT")), "{out}");
    assert!(out.lines().any(|l| l.starts_with(&first) && l.contains("AWSPREVIOUS")), "{out}");
    assert!(!out.contains("stuck"), "{out}");
    h.assert_no_leaks(&h.all_values(&arn).await);
}

#[tokio::test]
async fn rotatectl_refuses_a_fips_setting_the_sdk_would_ignore_and_a_required_fips_it_lacks() {
    let h = Harness::start(vec![]).await;
    let name = unique("ctl-fips");
    h.create_secret(&name, r#"{"password":"x"}"#).await;
    let (ok, out) = rotatectl_with(&h, &["status", &name], &[]);
    assert!(ok && out.contains("AWSCURRENT"), "{out}");
    // `1` is not `true`: the SDK would warn and quietly use the standard endpoints.
    let (ok, out) = rotatectl_with(&h, &["status", &name], &[("AWS_USE_FIPS_ENDPOINT", "1")]);
    assert!(!ok && out.contains("AWS_USE_FIPS_ENDPOINT must be true or false"), "{out}");
    assert!(!out.contains("AWSCURRENT"), "refused before any call: {out}");
    let (ok, out) = rotatectl_with(&h, &["status", &name], &[("ROTOR_REQUIRE_FIPS", "true")]);
    assert!(!ok && out.contains("ROTOR_REQUIRE_FIPS is true, and this is not the FIPS build"), "{out}");
}

#[tokio::test]
async fn rotate_wait_reports_a_failure_and_status_points_out_the_stuck_pending() {
    let h = Harness::start(vec![Function::new("rotate-failing")]).await;
    let name = unique("ctl-fail");
    let arn = h.create_secret(&name, r#"{"password":"x"}"#).await;
    h.configure_rotation(&arn, "rotate-failing").await;

    let (ok, out) = rotatectl(&h, &["rotate", &name, "--wait", "--timeout", "30"]);
    assert!(!ok, "a failed rotation exits non-zero: {out}");
    assert!(out.contains("rotation failed at setSecret: TargetRejected"), "{out}");
    assert!(out.contains("AWSCURRENT is unchanged"), "{out}");

    let pending = h.holding(&arn, "AWSPENDING").await.unwrap();
    let (ok, out) = rotatectl(&h, &["status", &name]);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("! AWSPENDING is stuck on version {pending}")), "{out}");
    assert!(out.contains("last rotation: failed at setSecret (TargetRejected"), "{out}");
    assert!(out.contains(&format!("--remove-from-version-id {pending}")), "{out}");

    let (ok, out) = rotatectl(&h, &["rotate", &name]);
    assert!(!ok);
    assert!(out.contains("InvalidRequestException: A previous rotation isn't complete"), "{out}");
    // unstick: refused without confirmation, then clears AWSPENDING and keeps AWSCURRENT.
    let current = h.holding(&arn, "AWSCURRENT").await.unwrap();
    let (ok, out) = rotatectl(&h, &["unstick", &name]);
    assert!(!ok && out.contains("Type yes to go on") && out.contains("left as it was"), "{out}");
    assert_eq!(h.holding(&arn, "AWSPENDING").await.as_deref(), Some(pending.as_str()));
    let (ok, out) = rotatectl(&h, &["unstick", &name, "--yes"]);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("AWSPENDING is stuck on version {pending}")) && out.contains("AWSCURRENT is still on"),
        "{out}"
    );
    assert_eq!(h.holding(&arn, "AWSPENDING").await, None);
    assert_eq!(h.holding(&arn, "AWSCURRENT").await, Some(current));
    let (ok, out) = rotatectl(&h, &["unstick", &name]);
    assert!(ok && out.contains("nothing to do"), "{out}");

    let (ok, out) = rotatectl(&h, &["status", "no-such-secret"]);
    assert!(!ok);
    assert!(out.contains("ResourceNotFoundException"), "{out}");
}

#[tokio::test]
async fn report_lists_every_secret_against_the_policy_and_fails_on_a_violation() {
    let h = Harness::start(vec![Function::new("rotate-custom"), Function::new("rotate-failing")]).await;
    let fresh = h.create_scheduled_secret(&unique("rp-fresh"), "rotate-custom", 30).await;
    let overdue = h.create_scheduled_secret(&unique("rp-overdue"), "rotate-custom", 365).await;
    let stuck = h.create_scheduled_secret(&unique("rp-stuck"), "rotate-failing", 30).await;
    let off = h.create_secret(&unique("rp-off"), r#"{"password":"x"}"#).await;
    // 100 days on the endpoint's clock: the 30-day schedule rotated three times since, the 365-day one not.
    h.advance_clock(100 * 86_400).await;

    let (ok, out) = rotatectl(&h, &["report", "--json"]);
    assert!(!ok, "violations fail the report: {out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let entry = |arn: &str| report["entries"].as_array().unwrap().iter().find(|e| e["arn"] == arn).unwrap().clone();
    assert_eq!(entry(&fresh)["violations"], serde_json::json!([]), "{out}");
    assert!(entry(&fresh)["age_days"].as_i64().unwrap() <= 30);
    assert_eq!(entry(&overdue)["violations"], serde_json::json!(["not rotated for 100 days (over 90)"]), "{out}");
    let off = entry(&off);
    assert_eq!(off["violations"][0], "rotation is not enabled", "{out}");
    let stuck = entry(&stuck);
    let violations = stuck["violations"].as_array().unwrap();
    assert!(violations.iter().any(|v| v.as_str().unwrap().starts_with("a rotation is stuck")), "{out}");
    assert!(stuck["last_failure"].as_str().unwrap().starts_with("TargetRejected at setSecret"), "{out}");
    assert_eq!(report["violations"], 3);

    let (ok, out) = rotatectl(&h, &["report", "--max-age", "120"]);
    assert!(!ok && out.contains("4 checked, 2 violating"), "{out}");
    assert!(out.contains("last failure: TargetRejected at setSecret"), "{out}");
}
