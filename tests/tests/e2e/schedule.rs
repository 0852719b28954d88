//! Scheduled rotation on the endpoint's manual clock.

use aws_sdk_secretsmanager::types::RotationRulesType;

use crate::harness::{Function, Harness, lambda_arn, unique};

#[tokio::test]
async fn rate_schedules_rotate_when_due_and_not_before() {
    let h = Harness::start(vec![Function::new("rotate-custom")]).await;
    let arn = h.create_secret(&unique("scheduled"), r#"{"password":"x"}"#).await;
    let rules = RotationRulesType::builder().schedule_expression("rate(4 hours)").duration("2h").build();
    h.client
        .rotate_secret()
        .secret_id(&arn)
        .rotation_lambda_arn(lambda_arn("rotate-custom"))
        .rotation_rules(rules)
        .send()
        .await
        .unwrap();
    assert_eq!(h.wait_rotation(&arn).await["state"], "succeeded");
    let after_first = h.holding(&arn, "AWSCURRENT").await.unwrap();
    let described = h.client.describe_secret().secret_id(&arn).send().await.unwrap();
    let last = described.last_rotated_date().unwrap().secs();
    assert_eq!(described.next_rotation_date().unwrap().secs(), last + 4 * 3600);
    assert_eq!(described.rotation_rules().unwrap().duration(), Some("2h"));

    assert_eq!(h.advance_clock(3 * 3600).await, 0, "not due yet");
    assert_eq!(h.holding(&arn, "AWSCURRENT").await.as_deref(), Some(after_first.as_str()));

    assert_eq!(h.advance_clock(3600).await, 1, "due after four hours");
    assert_eq!(h.wait_rotation(&arn).await["state"], "succeeded");
    let after_second = h.holding(&arn, "AWSCURRENT").await.unwrap();
    assert_ne!(after_second, after_first);
    assert_eq!(h.holding(&arn, "AWSPREVIOUS").await.as_deref(), Some(after_first.as_str()));
    let described = h.client.describe_secret().secret_id(&arn).send().await.unwrap();
    assert_eq!(
        described.next_rotation_date().unwrap().secs(),
        described.last_rotated_date().unwrap().secs() + 4 * 3600
    );

    // Cancelled rotation: the clock passing the window rotates nothing.
    h.client.cancel_rotate_secret().secret_id(&arn).send().await.unwrap();
    assert_eq!(h.advance_clock(10 * 3600).await, 0);
}

#[tokio::test]
async fn cron_and_days_schedules_and_invalid_rules() {
    let h = Harness::start(vec![Function::new("rotate-custom")]).await;
    let arn = h.create_secret(&unique("cron"), r#"{"password":"x"}"#).await;
    // Daily at 06:00 UTC; the manual clock starts at 2026-01-01T00:00:00Z.
    let rules = RotationRulesType::builder().schedule_expression("cron(0 6 * * ? *)").build();
    h.client
        .rotate_secret()
        .secret_id(&arn)
        .rotation_lambda_arn(lambda_arn("rotate-custom"))
        .rotation_rules(rules)
        .rotate_immediately(false)
        .send()
        .await
        .unwrap();
    h.wait_rotation(&arn).await;
    let next = h.client.describe_secret().secret_id(&arn).send().await.unwrap().next_rotation_date().unwrap().secs();
    assert_eq!(next, 1_767_247_200, "2026-01-01T06:00:00Z");
    assert_eq!(h.advance_clock(5 * 3600).await, 0);
    assert_eq!(h.advance_clock(3600).await, 1);
    assert_eq!(h.wait_rotation(&arn).await["state"], "succeeded");

    for (rules, message) in [
        (RotationRulesType::builder().schedule_expression("rate(1 hours)").build(), "at least 4 hours"),
        (RotationRulesType::builder().automatically_after_days(1).schedule_expression("rate(1 day)").build(), "both"),
        (RotationRulesType::builder().automatically_after_days(1001).build(), "from 1 to 1000"),
    ] {
        let error = h.client.rotate_secret().secret_id(&arn).rotation_rules(rules).send().await.unwrap_err();
        let service = error.into_service_error();
        assert!(service.is_invalid_parameter_exception(), "{service:?}");
        assert!(service.to_string().contains(message), "{service}");
    }

    h.client.cancel_rotate_secret().secret_id(&arn).send().await.unwrap();
    let days = h.create_secret(&unique("days"), r#"{"password":"x"}"#).await;
    let rules = RotationRulesType::builder().automatically_after_days(2).build();
    h.client
        .rotate_secret()
        .secret_id(&days)
        .rotation_lambda_arn(lambda_arn("rotate-custom"))
        .rotation_rules(rules)
        .send()
        .await
        .unwrap();
    h.wait_rotation(&days).await;
    assert_eq!(h.advance_clock(47 * 3600).await, 0);
    assert_eq!(h.advance_clock(3600).await, 1);
    assert_eq!(h.wait_rotation(&days).await["state"], "succeeded");
}
