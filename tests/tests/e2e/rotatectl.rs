//! `rotatectl status` and `rotatectl rotate --wait` against the local endpoint.

use std::process::{Command, Output};

use crate::harness::{Function, Harness, binary, unique};

/// Runs rotatectl against the harness's endpoint; returns success and stdout+stderr.
pub fn rotatectl(h: &Harness, args: &[&str]) -> (bool, String) {
    let Output { status, stdout, stderr } = Command::new(binary("rotatectl"))
        .args(args)
        .args(["--endpoint-url", &h.endpoint_url])
        .env_clear()
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDROTORTEST")
        .env("AWS_SECRET_ACCESS_KEY", "rotor-test-not-a-secret")
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
