//! Racing tokens, tried as an operator would: while a rotation runs, they cancel it, take `AWSPENDING` off its
//! version and start a new rotation, 0 to 500 ms after the first began. Two instances of the function poll the
//! runtime API, so the abandoned rotation's in-flight step really overlaps the new rotation's steps. However the
//! two interleave, AWSCURRENT must log in afterwards.

use std::time::Duration;

use serde_json::Value;

use crate::harness::{Function, Harness, lambda_arn, unique};

/// Starts rotation A, and after `delay` abandons it for a new rotation B; waits for B and for A's last step.
async fn race(h: &Harness, arn: &str, function: &str, delay: Duration) -> Value {
    // Versions get their CreatedDate from the endpoint's manual clock: a minute passes between rounds.
    h.advance_clock(60).await;
    h.client.rotate_secret().secret_id(arn).send().await.unwrap();
    tokio::time::sleep(delay).await;
    h.client.cancel_rotate_secret().secret_id(arn).send().await.unwrap();
    // A createSecret of A still in flight may put AWSPENDING back on A's version: then the operator removes it
    // again, as a person would when RotateSecret says a previous rotation isn't complete.
    let mut tries = 0;
    loop {
        h.unstick(arn).await;
        match h.client.rotate_secret().secret_id(arn).rotation_lambda_arn(lambda_arn(function)).send().await {
            Ok(_) => break,
            Err(error) if tries < 5 => {
                tries += 1;
                eprintln!("RotateSecret refused ({error:?}); removing AWSPENDING again");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("{error:?}"),
        }
    }
    let record = h.wait_rotation(arn).await;
    // A's step still in flight ends (and repairs what it changed) within its bounds.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    h.unstick(arn).await;
    record
}

const ROUNDS: u64 = 8;

fn delay(round: u64) -> Duration {
    Duration::from_millis(round * 500 / (ROUNDS - 1))
}

#[tokio::test]
async fn postgres_rotations_racing_on_one_secret_always_leave_a_current_that_logs_in() {
    for strategy in ["single-user", "alternating-users"] {
        let mut case = crate::postgres::setup(strategy, &unique("app"), vec![]).await;
        case.h.start_function(Function { name: "rotate-postgres", env: case.env.clone() });
        crate::postgres::configure(&case).await;
        for round in 0..ROUNDS {
            let record = race(&case.h, &case.arn, "rotate-postgres", delay(round)).await;
            let current = case.secret("AWSCURRENT").await;
            assert!(
                case.logs_in(&current).await,
                "{strategy} round {round} ({:?}): AWSCURRENT logs in; B: {record}\n{}",
                delay(round),
                case.h.all_logs()
            );
        }
        case.assert_no_password_leaks().await;
    }
}

#[tokio::test]
async fn mysql_rotations_racing_on_one_secret_always_leave_a_current_that_logs_in() {
    let mut case = crate::mysql::setup("single-user", &unique("app"), "%", vec![]).await;
    case.h.start_function(Function { name: "rotate-mysql", env: case.env.clone() });
    case.configure().await;
    for round in 0..ROUNDS {
        let record = race(&case.h, &case.arn, "rotate-mysql", delay(round)).await;
        let current = case.secret("AWSCURRENT").await;
        assert!(case.logs_in(&current).await, "round {round}: AWSCURRENT logs in; B: {record}");
    }
    case.assert_no_password_leaks().await;
}
