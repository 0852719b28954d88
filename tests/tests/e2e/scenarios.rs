//! Scenarios every engine runs the same way, written once over [`EngineCase`]: each engine's test module gives its
//! case (a secret of its own, on its own real server) and calls the scenario.

use std::future::Future;

use serde_json::{Value, json};

use crate::harness::Harness;

/// What a scenario needs of an engine's test case.
pub(crate) trait EngineCase {
    /// The test's harness (the local endpoint, the functions).
    fn harness(&self) -> &Harness;
    /// The secret under rotation.
    fn arn(&self) -> &str;
    /// The function that rotates it (`rotate-postgres`).
    fn function(&self) -> &'static str;
    /// Whether `secret`'s credential logs in to the engine's real server.
    fn logs_in(&self, secret: &Value) -> impl Future<Output = bool>;
    /// That no log of the test or of the server holds a password of any version.
    fn assert_no_password_leaks(&self) -> impl Future<Output = ()>;
}

/// The `RotationToken` the scenario's events carry, which must never be logged.
const ROTATION_TOKEN: &str = "rt-crash-0000-1111-2222-333344445555";

/// A function that crashed after setSecret (its invocation lost) is completed by the service's retry, which runs
/// every step in order; each step run a second time changes nothing: not the labels, not the values, not which of
/// them log in. The new credential is then current, the one before it previous, and no password or token leaks.
pub(crate) async fn a_crash_after_set_secret_resumes_and_every_step_repeated_changes_nothing(case: &impl EngineCase) {
    let (h, arn, function) = (case.harness(), case.arn(), case.function());
    let first = h.holding(arn, "AWSCURRENT").await.unwrap();
    // A rotation whose function cannot be invoked leaves the service's value-less AWSPENDING placeholder; the test
    // then plays the service.
    let token = h.rotate(arn, "rotate-not-deployed").await;
    assert_eq!(h.wait_rotation(arn).await["state"], "failed");
    let event = |step: &str| json!({"Step": step, "SecretId": arn, "ClientRequestToken": token, "RotationToken": ROTATION_TOKEN});
    for step in ["createSecret", "setSecret"] {
        h.invoke(function, &event(step)).await.unwrap_or_else(|e| panic!("{function} {step}: {e:?}"));
    }
    let state = || async {
        let values = h.all_values(arn).await;
        let mut logging_in = Vec::new();
        for secret in values.iter().filter_map(|v| serde_json::from_str::<Value>(v).ok().filter(Value::is_object)) {
            logging_in.push(case.logs_in(&secret).await);
        }
        (h.labels(arn).await, values, logging_in)
    };
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        h.invoke(function, &event(step)).await.unwrap_or_else(|e| panic!("{function} {step}: {e:?}"));
        let once = state().await;
        h.invoke(function, &event(step)).await.unwrap_or_else(|e| panic!("{function} {step} again: {e:?}"));
        assert_eq!(state().await, once, "{function}: {step} a second time changed something");
    }
    assert_eq!(h.holding(arn, "AWSCURRENT").await, Some(token));
    assert_eq!(h.holding(arn, "AWSPREVIOUS").await, Some(first));
    let current: Value = serde_json::from_str(&h.value(arn, "AWSCURRENT").await).unwrap();
    assert!(case.logs_in(&current).await, "{function}: the new credential logs in");
    case.assert_no_password_leaks().await;
    h.assert_no_leaks(&[ROTATION_TOKEN.to_owned()]);
}
