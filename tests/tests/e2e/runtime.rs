//! The functions' one entry point through cargo-lambda's Runtime API emulator: a configuration error at cold start
//! is reported to `/runtime/init/error`, so the invocation waiting for the function answers with its type and
//! message instead of hanging until it times out; and the deadline each invocation carries bounds its step.

use std::time::{Duration, Instant};

use rotation_core::DEADLINE_MARGIN;
use serde_json::{Value, json};

use crate::harness::{Function, Harness, unique};

/// A function, its environment, and what its error message must say.
type Case = (&'static str, &'static [(&'static str, &'static str)], &'static str);

/// Starts `function` with `env` while an invocation waits for it; the invocation's answer.
async fn first_answer(function: &'static str, env: &[(&str, &str)]) -> (Harness, Value) {
    let mut h = Harness::start(vec![]).await;
    let arn = h.create_secret(&unique("init"), r#"{"password":"x"}"#).await;
    let token = h.holding(&arn, "AWSCURRENT").await.unwrap();
    let event = json!({"Step": "testSecret", "SecretId": arn, "ClientRequestToken": token});
    let url = format!("{}/2015-03-31/functions/{function}/invocations", h.invoke_url);
    let waiting = tokio::spawn(async move {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
        client.post(url).json(&event).send().await.unwrap().json::<Value>().await.unwrap()
    });
    // The emulator answers only an invocation already waiting when the init error arrives.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    h.start_function(Function { name: function, env });
    let answer = waiting.await.unwrap();
    (h, answer)
}

#[tokio::test]
async fn a_configuration_error_at_cold_start_answers_the_invocation_with_its_type_and_message() {
    // From the runtime itself (the password policy) and from a binary's own configuration.
    // A password policy Redshift or DocumentDB would refuse stops its function before any password is made.
    let cases: [Case; 9] = [
        ("rotate-custom", &[("PASSWORD_LENGTH", "abc")], "PASSWORD_LENGTH"),
        ("rotate-custom", &[("CUSTOM_TARGET", "ldap")], "CUSTOM_TARGET must be generated or webhook"),
        ("rotate-postgres", &[("ROTATION_STRATEGY", "admin")], "ADMIN_SECRET_ARNS is required"),
        (
            "rotate-redshift",
            &[("PASSWORD_LENGTH", "65")],
            "PASSWORD_LENGTH is 65, but Redshift takes passwords of 8 to 64",
        ),
        ("rotate-redshift", &[("EXCLUDE_CHARACTERS", ":")], "EXCLUDE_CHARACTERS does not exclude"),
        // The MongoDB driver checks a certificate's chain and name together: no silent verify-full instead.
        ("rotate-mongodb", &[("TLS_MODE", "verify-ca")], "verify-ca is not available for MongoDB"),
        // testSecret's command is read at cold start, before any setSecret could change a password it cannot prove.
        ("rotate-mongodb", &[("TEST_QUERY", "SELECT 1")], "TEST_QUERY must be a MongoDB command as a JSON object"),
        ("rotate-documentdb-admin", &[], "DOCDB_CLUSTER_ARNS is not set"),
        (
            "rotate-documentdb-admin",
            &[("DOCDB_CLUSTER_ARNS", "arn:aws:rds:us-east-1:1:cluster:orders"), ("EXCLUDE_CHARACTERS", ":")],
            "which DocumentDB refuses in a master password",
        ),
    ];
    for (function, env, message) in cases {
        let (h, answer) = first_answer(function, env).await;
        assert_eq!(answer["errorType"], "InvalidConfiguration", "{function} {env:?}: {answer}");
        assert!(answer["errorMessage"].as_str().unwrap().contains(message), "{function} {env:?}: {answer}");
        assert!(h.all_logs().contains("cold start failed"), "the error is logged too");
    }
}

/// A function's timeout in the deadline tests: shorter than one login to a server that never answers
/// (`CONNECT_TIMEOUT_SECONDS`, 5 s by default), so only the deadline can end the step.
const TIMEOUT: Duration = Duration::from_secs(4);

/// `rotate-postgres` behind a Runtime API that gives each invocation [`TIMEOUT`], and a PostgreSQL credential
/// whose server accepts connections and never answers.
async fn never_answering_postgres() -> (Harness, Value) {
    let mut h = Harness::start(vec![]).await;
    h.start_function_with_timeout(Function::new("rotate-postgres"), TIMEOUT).await;
    let port = crate::bounds::silent_listener().await;
    let password = uuid::Uuid::new_v4().to_string();
    let credential =
        json!({"engine": "postgres", "host": "127.0.0.1", "port": port, "username": "app", "password": password});
    (h, credential)
}

#[tokio::test]
async fn a_step_stops_before_the_deadline_its_invocation_carries() {
    let (h, credential) = never_answering_postgres().await;
    let arn = h.create_secret(&unique("deadline"), &credential.to_string()).await;
    let started = Instant::now();
    let record = h.configure_rotation(&arn, "rotate-postgres").await;
    let took = started.elapsed();
    assert_eq!(record["error_type"], "StepTimedOut", "{record}");
    let message = record["error_message"].as_str().unwrap();
    assert!(message.contains("testSecret stopped 2s before the function's deadline"), "{message}");
    assert!(message.contains("raise the function's timeout"), "names the fix: {message}");
    // The step used the time it had, then answered while the invocation was still alive.
    assert!(took >= TIMEOUT - DEADLINE_MARGIN && took < TIMEOUT, "answered after {took:?}");
    assert_eq!(h.value(&arn, "AWSCURRENT").await, credential.to_string(), "the working credential is kept");
}

#[tokio::test]
async fn a_parameters_rotation_stops_before_the_deadline_its_invocation_carries() {
    let (h, credential) = never_answering_postgres().await;
    let name = format!("/rotor/{}/db", unique("deadline"));
    h.put_parameter(&name, &credential.to_string(), "postgres").await;
    let ssm = crate::parameters::ssm_client(&h.endpoint_url);
    let before = ssm.get_parameter().name(&name).with_decryption(true).send().await.unwrap();
    let event = json!({"ParameterName": name, "RotationId": "r1"});
    let started = Instant::now();
    let (kind, message) = h.invoke("rotate-postgres", &event).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(kind, "StepTimedOut", "{message}");
    assert!(message.contains("the parameter's rotation stopped 2s before the function's deadline"), "{message}");
    assert!(took >= TIMEOUT - DEADLINE_MARGIN && took < TIMEOUT, "answered after {took:?}");
    let after = ssm.get_parameter().name(&name).with_decryption(true).send().await.unwrap();
    let (before, after) = (before.parameter().unwrap(), after.parameter().unwrap());
    assert_eq!(
        (after.value(), after.version()),
        (before.value(), before.version()),
        "consumers keep the working value"
    );
}
