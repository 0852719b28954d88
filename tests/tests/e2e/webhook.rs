//! The webhook target end to end: `rotate-custom` with `CUSTOM_TARGET=webhook` against a real HTTPS receiver
//! (`tests/python/webhook_receiver.py`, certificate from a test CA) that verifies every signature.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::harness::{Function, Harness, binary, free_port, repo_root, unique};

pub(crate) const INITIAL: &str = r#"{"api_key":"initial-key-1234567890abcdef","vendor":"acme"}"#;

/// The HTTPS receiver (`tests/python/webhook_receiver.py`), killed on drop.
pub(crate) struct Receiver {
    child: Child,
    pub(crate) port: u16,
    log: std::path::PathBuf,
}

impl Receiver {
    pub(crate) fn start(dir: &Path, mode: &str, signing_key: &str) -> Self {
        Self::start_with(dir, mode, signing_key, &[])
    }

    pub(crate) fn start_with(dir: &Path, mode: &str, signing_key: &str, extra: &[&str]) -> Self {
        fs::write(dir.join("signing-key"), signing_key).unwrap();
        let venv = repo_root().join(".venv/bin/python");
        let python = if venv.exists() { venv } else { "python3".into() };
        let log = dir.join(format!("receiver-{mode}.jsonl"));
        let mut child = Command::new(python)
            .arg(repo_root().join("tests/python/webhook_receiver.py"))
            .arg("--cert")
            .arg(dir.join("server.pem"))
            .arg("--key")
            .arg(dir.join("server.key"))
            .arg("--signing-key-file")
            .arg(dir.join("signing-key"))
            .args(["--mode", mode])
            .args(extra)
            .arg("--log")
            .arg(&log)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        let port =
            line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("receiver: {line}")).parse().unwrap();
        Self { child, port, log }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}/{path}", self.port)
    }

    pub(crate) fn requests(&self) -> Vec<Value> {
        fs::read_to_string(&self.log).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// A harness with the signing secret, a webhook function whose URLs point at `base` (a receiver, or a closed
/// port), and an API-key secret; returns the harness and the secret's ARN.
async fn setup(base: &str, signing_key: &str, ca: &Path, extra: Vec<(&str, String)>) -> (Harness, String) {
    let (h, arn, _) = setup_with_pid(base, signing_key, ca, extra).await;
    (h, arn)
}

/// As [`setup`], with the function's process id.
async fn setup_with_pid(
    base: &str,
    signing_key: &str,
    ca: &Path,
    extra: Vec<(&str, String)>,
) -> (Harness, String, u32) {
    setup_at(base, signing_key, ca, extra, &binary("rotate-custom")).await
}

/// As [`setup_with_pid`], the function run from `rotate_custom` (another build of it: the FIPS build).
pub(crate) async fn setup_at(
    base: &str,
    signing_key: &str,
    ca: &Path,
    extra: Vec<(&str, String)>,
    rotate_custom: &Path,
) -> (Harness, String, u32) {
    let mut h = Harness::start(vec![]).await;
    let signing = unique("webhook-signing");
    h.create_secret(&signing, signing_key).await;
    let mut env: Vec<(String, String)> = vec![
        ("CUSTOM_TARGET".into(), "webhook".into()),
        ("GENERATED_KEY".into(), "api_key".into()),
        ("WEBHOOK_SET_URL".into(), format!("{base}/set")),
        ("WEBHOOK_TEST_URL".into(), format!("{base}/test")),
        ("WEBHOOK_SIGNING_SECRET_ARN".into(), signing),
        ("WEBHOOK_TIMEOUT_SECONDS".into(), "1".into()),
        ("WEBHOOK_ATTEMPTS".into(), "2".into()),
        ("TLS_CA_BUNDLE".into(), ca.display().to_string()),
    ];
    for (key, value) in extra {
        env.retain(|(k, _)| k != key);
        env.push((key.to_string(), value));
    }
    let pid = h.start_function_at(Function { name: "rotate-custom", env }, rotate_custom);
    let arn = h.create_secret(&unique("vendor-key"), INITIAL).await;
    (h, arn, pid)
}

async fn stored(receiver: &Receiver, arn: &str) -> Value {
    let url = format!("{}?secret={arn}", receiver.url("credential"));
    let ca = reqwest::Certificate::from_pem(&fs::read(receiver.log.parent().unwrap().join("ca.pem")).unwrap()).unwrap();
    let client = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
    client.get(url).send().await.unwrap().json::<Value>().await.unwrap()["credential"].clone()
}

#[tokio::test]
async fn signed_set_and_test_requests_rotate_the_key_and_repeats_change_nothing() {
    let signing_key = "webhook-signing-key-5b2c9e1f7a3d";
    let dir = tempfile::tempdir().unwrap();
    crate::certificates::write(dir.path());
    let receiver = Receiver::start(dir.path(), "normal", signing_key);
    let (h, arn) =
        setup(&format!("https://localhost:{}", receiver.port), signing_key, &dir.path().join("ca.pem"), vec![]).await;
    let token = h.rotate(&arn, "rotate-custom").await;
    let record = h.wait_rotation(&arn).await;
    assert_eq!(record["state"], "succeeded", "{record}");
    let current: Value = serde_json::from_str(&h.value(&arn, "AWSCURRENT").await).unwrap();
    assert_eq!(stored(&receiver, &arn).await, current["api_key"], "the receiver holds the new key");
    assert_eq!(current["vendor"], "acme");

    let labels = h.labels(&arn).await;
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        let event = json!({"Step": step, "SecretId": arn, "ClientRequestToken": token, "RotationToken": "rt-webhook-0000-1111-2222-333344445555"});
        h.invoke("rotate-custom", &event).await.unwrap();
    }
    assert_eq!(h.labels(&arn).await, labels);
    assert_eq!(stored(&receiver, &arn).await, current["api_key"]);

    // Only the set request carries the value; every request is signed.
    let key = current["api_key"].as_str().unwrap();
    for request in receiver.requests() {
        assert!(request["headers"]["x-rotor-signature"].as_str().unwrap().starts_with("v2="));
        assert!(request["headers"]["x-rotor-key-id"].as_str().unwrap().starts_with("webhook-signing-"));
        let carries = request["body"].as_str().unwrap().contains(key);
        assert_eq!(carries, request["path"] == "/set", "{}", request["path"]);
    }
    // The signature covers the path: a captured set request replayed to the test endpoint is refused.
    let captured = receiver.requests().into_iter().find(|r| r["path"] == "/set").unwrap();
    let ca = reqwest::Certificate::from_pem(&fs::read(dir.path().join("ca.pem")).unwrap()).unwrap();
    let client = reqwest::Client::builder().tls_certs_only([ca]).build().unwrap();
    let mut replay = client.post(receiver.url("test")).body(captured["body"].as_str().unwrap().to_owned());
    for name in ["content-type", "x-rotor-timestamp", "x-rotor-key-id", "x-rotor-signature"] {
        replay = replay.header(name, captured["headers"][name].as_str().unwrap());
    }
    assert_eq!(replay.send().await.unwrap().status(), 401, "a replay to another path is refused");
    let mut values = h.all_values(&arn).await;
    values.push(signing_key.into());
    h.assert_no_leaks(&values);

    // rotatectl doctor reaches the receiver over verified TLS, and says so when it cannot.
    let ca = format!("TLS_CA_BUNDLE={}", dir.path().join("ca.pem").display());
    let set = format!("WEBHOOK_SET_URL=https://localhost:{}/set", receiver.port);
    let test = format!("WEBHOOK_TEST_URL=https://localhost:{}/test", receiver.port);
    let mut args = vec![
        "doctor",
        &arn,
        "--function",
        "custom",
        "--env",
        "CUSTOM_TARGET=webhook",
        "--env",
        "GENERATED_KEY=api_key",
    ];
    args.extend(["--env", &ca, "--env", &set, "--env", &test, "--env", "WEBHOOK_SIGNING_SECRET_ARN=x"]);
    let (ok, out) = crate::rotatectl::rotatectl(&h, &args);
    assert!(
        ok && out.contains(&format!("PASS  https://localhost:{}/set answers over verified TLS", receiver.port)),
        "{out}"
    );
    let wrong_ca = format!("TLS_CA_BUNDLE={}", dir.path().join("other-ca.pem").display());
    args[9] = &wrong_ca;
    let (ok, out) = crate::rotatectl::rotatectl(&h, &args);
    assert!(!ok && out.contains("FAIL  https://localhost:") && out.contains("TLS_CA_BUNDLE"), "{out}");
}

#[tokio::test]
async fn a_mint_endpoint_supplies_the_new_credential() {
    let signing_key = "webhook-signing-key-minting-0001";
    let dir = tempfile::tempdir().unwrap();
    crate::certificates::write(dir.path());
    let receiver = Receiver::start(dir.path(), "normal", signing_key);
    let base = format!("https://localhost:{}", receiver.port);
    let (h, arn) =
        setup(&base, signing_key, &dir.path().join("ca.pem"), vec![("WEBHOOK_MINT_URL", format!("{base}/mint"))]).await;
    h.rotate(&arn, "rotate-custom").await;
    assert_eq!(h.wait_rotation(&arn).await["state"], "succeeded");
    let current: Value = serde_json::from_str(&h.value(&arn, "AWSCURRENT").await).unwrap();
    assert_eq!(
        current["api_key"].as_str().unwrap().len(),
        43,
        "the receiver's token_urlsafe(32), not a generated password"
    );
    assert_eq!(stored(&receiver, &arn).await, current["api_key"]);
}

#[tokio::test]
async fn receiver_failures_fail_the_step_and_leave_the_current_key() {
    let signing_key = "webhook-signing-key-failures-002";
    let dir = tempfile::tempdir().unwrap();
    crate::certificates::write(dir.path());
    let down = format!("https://localhost:{}", free_port());
    let failing = Receiver::start(dir.path(), "fail", signing_key);
    let slow = Receiver::start(dir.path(), "slow", signing_key);
    let badbody = Receiver::start(dir.path(), "badbody", signing_key);
    let wrong_key = Receiver::start(dir.path(), "normal", "a-different-signing-key-000000");
    // (base URL, extra environment, expected error type, expected message)
    type Case<'a> = (String, Vec<(&'a str, String)>, &'a str, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (down, vec![], "TargetUnreachable", "the request failed"),
        (format!("https://localhost:{}", slow.port), vec![], "TargetUnreachable", "no answer within 1s"),
        (
            format!("https://localhost:{}", failing.port),
            vec![],
            "TargetUnreachable",
            "answered 500 Internal Server Error: {\"error\": \"the receiver is failing on purpose\"}",
        ),
        (format!("https://localhost:{}", wrong_key.port), vec![], "TargetRejected", "answered 401 Unauthorized"),
        (
            format!("https://localhost:{}", badbody.port),
            vec![("WEBHOOK_MINT_URL", format!("https://localhost:{}/mint", badbody.port))],
            "TargetRejected",
            "has no \"value\" string",
        ),
    ];
    for (base, extra, error_type, message) in cases {
        let (h, arn) = setup(&base, signing_key, &dir.path().join("ca.pem"), extra).await;
        h.rotate(&arn, "rotate-custom").await;
        let record = h.wait_rotation(&arn).await;
        assert_eq!(
            (record["state"].as_str(), record["error_type"].as_str()),
            (Some("failed"), Some(error_type)),
            "{base}: {record}"
        );
        assert!(record["error_message"].as_str().unwrap().contains(message), "{base}: {record}");
        assert_eq!(h.value(&arn, "AWSCURRENT").await, INITIAL, "AWSCURRENT unchanged");
        let mut values = h.all_values(&arn).await;
        values.push(signing_key.into());
        h.assert_no_leaks(&values);
    }
}

/// The peak resident memory of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn redirects_are_refused_urls_stay_out_of_errors_and_answers_are_read_capped() {
    let signing_key = "webhook-signing-key-perimeter-03";
    let dir = tempfile::tempdir().unwrap();
    crate::certificates::write(dir.path());
    let ca = dir.path().join("ca.pem");
    let elsewhere = Receiver::start(dir.path(), "normal", signing_key);
    let port = elsewhere.port.to_string();
    let redirecting = Receiver::start_with(dir.path(), "redirect", signing_key, &["--redirect-to", &port]);
    let huge = Receiver::start(dir.path(), "huge", signing_key);

    // A 307 would re-POST the pending credential to wherever it points: refused, and nothing arrives there.
    let (h, arn) = setup(&format!("https://localhost:{}", redirecting.port), signing_key, &ca, vec![]).await;
    h.rotate(&arn, "rotate-custom").await;
    let record = h.wait_rotation(&arn).await;
    assert_eq!(record["error_type"], "TargetRejected", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("a redirect; rotor never follows one"), "{record}");
    assert!(elsewhere.requests().is_empty(), "the redirect's target got nothing");
    assert_eq!(h.value(&arn, "AWSCURRENT").await, INITIAL);

    // A URL's query never reaches an error or a log line.
    let down = format!("https://localhost:{}", free_port());
    let set = format!("{down}/set?token=url-query-token-9c2e");
    let (h, arn) = setup(&down, signing_key, &ca, vec![("WEBHOOK_SET_URL", set)]).await;
    h.rotate(&arn, "rotate-custom").await;
    let record = h.wait_rotation(&arn).await;
    assert_eq!(record["error_type"], "TargetUnreachable", "{record}");
    let message = record["error_message"].as_str().unwrap();
    assert!(message.contains("localhost:"), "{message}");
    h.assert_no_leaks(&["url-query-token-9c2e".into()]);

    // User information is refused at cold start, the error naming the variable and not the password.
    let with_userinfo = format!("https://hook-user:url-password-7f3a@localhost:{}/set", free_port());
    let (h, _) = setup(&down, signing_key, &ca, vec![("WEBHOOK_SET_URL", with_userinfo)]).await;
    let log = h.dir.path().join("rotate-custom.log");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !fs::read_to_string(&log).unwrap_or_default().contains("WEBHOOK_SET_URL carries user information") {
        assert!(std::time::Instant::now() < deadline, "{}", fs::read_to_string(&log).unwrap_or_default());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    h.assert_no_leaks(&["url-password-7f3a".into()]);

    // A 256 MiB answer: rotor reads at most 64 KiB of it.
    let (h, arn, pid) = setup_with_pid(&format!("https://localhost:{}", huge.port), signing_key, &ca, vec![]).await;
    h.rotate(&arn, "rotate-custom").await;
    let record = h.wait_rotation(&arn).await;
    assert!(record["error_message"].as_str().unwrap().contains("answered 500"), "{record}");
    let peak = peak_rss_kib(pid);
    assert!(peak < 64 * 1024, "the function's peak RSS stayed small: {peak} KiB");
}

#[tokio::test]
async fn urls_from_the_secret_stay_on_allowed_hosts_and_are_never_rotated() {
    let signing_key = "webhook-signing-key-secret-urls-5";
    let dir = tempfile::tempdir().unwrap();
    crate::certificates::write(dir.path());
    let receiver = Receiver::start(dir.path(), "normal", signing_key);
    let extra = vec![("WEBHOOK_URLS", "secret".to_owned()), ("WEBHOOK_ALLOWED_HOSTS", "localhost".to_owned())];
    let (h, arn) = setup("https://unused.invalid", signing_key, &dir.path().join("ca.pem"), extra).await;
    let good = json!({"api_key": "initial-key-0000", "webhook_set_url": receiver.url("set"), "webhook_test_url": receiver.url("test")});
    let put = |value: Value| {
        let (h, arn) = (&h, &arn);
        async move { h.client.put_secret_value().secret_id(arn).secret_string(value.to_string()).send().await.unwrap() }
    };
    put(good.clone()).await;
    h.rotate(&arn, "rotate-custom").await;
    assert_eq!(h.wait_rotation(&arn).await["state"], "succeeded");
    let current: Value = serde_json::from_str(&h.value(&arn, "AWSCURRENT").await).unwrap();
    assert_eq!(stored(&receiver, &arn).await, current["api_key"], "the receiver holds the new key");

    // A host the function's WEBHOOK_ALLOWED_HOSTS does not list: refused before any request.
    let sent = receiver.requests().len();
    let mut elsewhere = current.clone();
    elsewhere["webhook_set_url"] = json!(format!("https://127.0.0.1:{}/set", receiver.port));
    put(elsewhere).await;
    h.client.rotate_secret().secret_id(&arn).send().await.unwrap();
    let record = h.wait_rotation(&arn).await;
    assert_eq!(record["error_type"], "InvalidSecret", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("WEBHOOK_ALLOWED_HOSTS does not list"), "{record}");
    assert_eq!(receiver.requests().len(), sent, "nothing was sent");
    let stuck = h.holding(&arn, "AWSPENDING").await.unwrap();
    h.client
        .update_secret_version_stage()
        .secret_id(&arn)
        .version_stage("AWSPENDING")
        .remove_from_version_id(stuck)
        .send()
        .await
        .unwrap();
    put(current.clone()).await;

    // Whoever writes a pending version cannot aim the set request elsewhere, even on an allowed host.
    h.client
        .rotate_secret()
        .secret_id(&arn)
        .rotation_lambda_arn(crate::harness::lambda_arn("rotate-not-deployed"))
        .send()
        .await
        .unwrap();
    h.wait_rotation(&arn).await;
    let token = h.holding(&arn, "AWSPENDING").await.unwrap();
    let mut aimed = current.clone();
    aimed["api_key"] = json!("attacker-chosen-key-1");
    aimed["webhook_set_url"] = json!(receiver.url("set?copy=attacker"));
    h.client
        .put_secret_value()
        .secret_id(&arn)
        .client_request_token(&token)
        .secret_string(aimed.to_string())
        .version_stages("AWSPENDING")
        .send()
        .await
        .unwrap();
    let event = json!({"Step": "setSecret", "SecretId": arn, "ClientRequestToken": token});
    let (error_type, message) = h.invoke("rotate-custom", &event).await.unwrap_err();
    assert_eq!(error_type, "ConfusedDeputy", "{message}");
    assert!(message.contains("webhook_set_url differs from the current one's"), "{message}");
    assert_eq!(receiver.requests().len(), sent, "nothing was sent");
    assert_eq!(stored(&receiver, &arn).await, current["api_key"], "the receiver still holds AWSCURRENT's key");
}

#[tokio::test]
async fn urls_that_read_as_an_allowed_host_but_reach_another_are_refused_before_any_request() {
    let signing_key = "webhook-signing-key-one-parser-06";
    let dir = tempfile::tempdir().unwrap();
    crate::certificates::write(dir.path());
    let allowed = Receiver::start(dir.path(), "normal", signing_key);
    // Stands in for evil.example: the same certificate, so a request sent there would complete and be logged.
    let evil = Receiver::start(dir.path(), "normal", signing_key);
    let extra = vec![("WEBHOOK_URLS", "secret".to_owned()), ("WEBHOOK_ALLOWED_HOSTS", "localhost".to_owned())];
    let (h, arn) = setup("https://unused.invalid", signing_key, &dir.path().join("ca.pem"), extra).await;
    // Each reads as `localhost` to a parser that takes the text after the last `@` of the authority; the HTTP
    // client sends it to 127.0.0.1 on evil's port, with the pending credential.
    for bypass in ["?@localhost/set", "#@localhost/set", "\\@localhost/set"] {
        let set_url = format!("https://127.0.0.1:{}{bypass}", evil.port);
        let value =
            json!({"api_key": "initial-key-0000", "webhook_set_url": set_url, "webhook_test_url": allowed.url("test")});
        h.client.put_secret_value().secret_id(&arn).secret_string(value.to_string()).send().await.unwrap();
        h.rotate(&arn, "rotate-custom").await;
        let record = h.wait_rotation(&arn).await;
        assert_eq!(
            (record["state"].as_str(), record["error_type"].as_str()),
            (Some("failed"), Some("InvalidSecret")),
            "{bypass}: {record}"
        );
        let message = record["error_message"].as_str().unwrap();
        assert!(
            message.contains("`webhook_set_url` reaches host \"127.0.0.1\", which WEBHOOK_ALLOWED_HOSTS does not list")
                && message.contains("an `@` after"),
            "{bypass}: {message}"
        );
        assert!(evil.requests().is_empty(), "{bypass}: nothing reached the other host: {:?}", evil.requests());
        assert!(allowed.requests().is_empty(), "{bypass}: refused before any request");
        assert_eq!(h.value(&arn, "AWSCURRENT").await, value.to_string(), "{bypass}: AWSCURRENT unchanged");
        h.unstick(&arn).await;
    }
}
