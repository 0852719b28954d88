//! The functions' one entry point through cargo-lambda's Runtime API emulator: a configuration error at cold start
//! is reported to `/runtime/init/error`, so the invocation waiting for the function answers with its type and
//! message instead of hanging until it times out.

use std::time::Duration;

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
    let cases: [Case; 3] = [
        ("rotate-custom", &[("PASSWORD_LENGTH", "abc")], "PASSWORD_LENGTH"),
        ("rotate-custom", &[("CUSTOM_TARGET", "ldap")], "CUSTOM_TARGET must be generated or webhook"),
        ("rotate-postgres", &[("ROTATION_STRATEGY", "admin")], "ADMIN_SECRET_ARNS is required"),
    ];
    for (function, env, message) in cases {
        let (h, answer) = first_answer(function, env).await;
        assert_eq!(answer["errorType"], "InvalidConfiguration", "{function} {env:?}: {answer}");
        assert!(answer["errorMessage"].as_str().unwrap().contains(message), "{function} {env:?}: {answer}");
        assert!(h.all_logs().contains("cold start failed"), "the error is logged too");
    }
}
