//! Parameter Store rotation end to end: the function binaries invoked with `{"ParameterName", "RotationId"}`
//! through the Lambda runtime API, Parameter Store served by moto's server over HTTP (`AWS_ENDPOINT_URL_SSM`).
//! moto keeps versions, labels, selectors and `Overwrite=false` as AWS does for what rotor uses; it accepts labels
//! AWS refuses (`AWSCURRENT`), which rotor never writes.

use aws_sdk_ssm::Client as Ssm;
use aws_sdk_ssm::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ssm::error::ProvideErrorMetadata;
use aws_sdk_ssm::types::{ParameterTier, ParameterType, Tag};
use serde_json::{Value, json};

use crate::harness::{Function, Harness, free_port, unique};
use crate::moto::Moto;
use crate::postgres::quote;
use crate::postgres_server::PgServer;

struct Store {
    h: Harness,
    ssm: Ssm,
    /// The `rotor:function` value of the function started, which the parameters it rotates carry.
    function: &'static str,
    _moto: Option<Moto>,
}

/// moto as Parameter Store, and `function` with `env`, reaching it through `AWS_ENDPOINT_URL_SSM`.
async fn start(function: &'static str, env: &[(&str, &str)]) -> Store {
    let moto = Moto::start();
    let mut function_env = vec![("AWS_ENDPOINT_URL_SSM".to_string(), moto.url.clone())];
    function_env.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let h = Harness::start(vec![Function { name: function, env: function_env }]).await;
    let ssm = ssm_client(&moto.url);
    Store { h, ssm, function: function.trim_start_matches("rotate-"), _moto: Some(moto) }
}

/// The local endpoint as Parameter Store (and Secrets Manager), and `function` with `env`.
async fn start_local(function: &'static str, env: &[(&str, &str)]) -> Store {
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let h = Harness::start(vec![Function { name: function, env }]).await;
    let ssm = ssm_client(&h.endpoint_url);
    Store { h, ssm, function: function.trim_start_matches("rotate-"), _moto: None }
}

/// An SDK client of the Parameter Store at `url`, with test credentials.
pub fn ssm_client(url: &str) -> Ssm {
    let config = aws_sdk_ssm::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDROTORTEST", "rotor-test-not-a-secret", None, None, "rotor-tests"))
        .endpoint_url(url)
        .build();
    Ssm::from_conf(config)
}

/// The tag that binds a parameter to the function `value`.
pub fn function_tag(value: &str) -> Tag {
    Tag::builder().key("rotor:function").value(value).build().unwrap()
}

impl Store {
    /// Writes `name`: created tagged for the started function (Parameter Store takes tags only then), or a new
    /// version.
    async fn put(&self, name: &str, value: &str, kind: ParameterType) -> i64 {
        self.put_as(name, value, kind, ParameterTier::Standard, Some(self.function)).await
    }

    /// Writes `name` in `tier`, created tagged `rotor:function=<function>` (or untagged), or a new version.
    async fn put_as(
        &self,
        name: &str,
        value: &str,
        kind: ParameterType,
        tier: ParameterTier,
        function: Option<&str>,
    ) -> i64 {
        let put = || self.ssm.put_parameter().name(name).value(value).r#type(kind.clone()).tier(tier.clone());
        match put().set_tags(function.map(|f| vec![function_tag(f)])).send().await {
            Ok(out) => out.version(),
            Err(e) if e.code() == Some("ParameterAlreadyExists") => {
                put().overwrite(true).send().await.unwrap().version()
            }
            Err(e) => panic!("PutParameter {name}: {e:?}"),
        }
    }

    /// The value (and version) of `name` or `name:label`, decrypted; `None` when there is none.
    async fn get(&self, selector: &str) -> Option<(String, i64)> {
        let out = self.ssm.get_parameter().name(selector).with_decryption(true).send().await.ok()?;
        let parameter = out.parameter()?;
        Some((parameter.value()?.to_owned(), parameter.version()))
    }

    async fn json(&self, selector: &str) -> Value {
        serde_json::from_str(&self.get(selector).await.unwrap().0).unwrap()
    }

    async fn rotate(&self, function: &str, name: &str, rotation: &str) -> Result<(), (String, String)> {
        self.h.invoke(function, &json!({"ParameterName": name, "RotationId": rotation})).await
    }

    /// Every value the parameter and its companion ever held, and the credentials in them.
    async fn all_values(&self, name: &str) -> Vec<String> {
        let mut values = Vec::new();
        for name in [name.to_owned(), format!("{name}.rotor-pending")] {
            let Ok(out) = self.ssm.get_parameter_history().name(&name).with_decryption(true).send().await else {
                continue;
            };
            for version in out.parameters() {
                let value = version.value().unwrap_or_default().to_owned();
                if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&value) {
                    let credentials = ["password", "api_key", "value"].iter().filter_map(|k| map.get(*k));
                    values.extend(credentials.filter_map(|v| v.as_str().map(str::to_owned)));
                }
                values.push(value);
            }
        }
        values
    }
}

const GENERATED: &[(&str, &str)] = &[("GENERATED_KEY", "api_key")];

#[tokio::test]
async fn a_securestring_rotates_five_times_with_current_and_previous_labels_and_reruns_change_nothing() {
    five_rotations(start("rotate-custom", GENERATED).await).await;
}

#[tokio::test]
async fn the_same_five_rotations_against_the_local_endpoints_parameter_store() {
    five_rotations(start_local("rotate-custom", GENERATED).await).await;
}

async fn five_rotations(store: Store) {
    let name = format!("/rotor/{}/api", unique("p"));
    store.put(&name, r#"{"api_key":"first-key","vendor":"acme"}"#, ParameterType::SecureString).await;
    let mut seen = vec![store.json(&name).await];
    for round in 1..=5 {
        let id = format!("2026-01-0{round}T00:00:00Z");
        store.rotate("rotate-custom", &name, &id).await.unwrap_or_else(|e| panic!("round {round}: {e:?}"));
        let (value, version) = store.get(&name).await.unwrap();
        let current: Value = serde_json::from_str(&value).unwrap();
        assert_ne!(current["api_key"], seen.last().unwrap()["api_key"], "round {round}: a new key");
        assert_eq!(current["vendor"], "acme", "other fields are kept");
        assert_eq!(version, round + 1, "one new version per rotation");
        assert_eq!(store.get(&format!("{name}:current")).await.unwrap(), (value.clone(), version));
        assert_eq!(store.json(&format!("{name}:previous")).await, *seen.last().unwrap(), "previous is readable");
        assert!(store.get(&format!("{name}.rotor-pending")).await.is_none(), "the lock is gone");
        // The same rotation again: nothing changes.
        store.rotate("rotate-custom", &name, &id).await.unwrap();
        assert_eq!(store.get(&name).await.unwrap().1, version, "round {round}: a re-run writes nothing");
        seen.push(current);
    }
    store.h.assert_no_leaks(&store.all_values(&name).await);
}

#[tokio::test]
async fn a_rotation_that_crashed_resumes_with_its_value_and_another_waits_for_it() {
    let store = start("rotate-custom", GENERATED).await;
    let name = format!("/rotor/{}/api", unique("p"));
    let base = store.put(&name, r#"{"api_key":"first-key","vendor":"acme"}"#, ParameterType::SecureString).await;
    let companion = format!("{name}.rotor-pending");

    // A crash after createSecret: the companion holds rotation A's pending value.
    let pending = r#"{"api_key":"pendingKeyOfRotationA0123456789!","vendor":"acme"}"#;
    let lock = json!({"rotation": "rotation-a", "base": base, "value": pending}).to_string();
    store.put(&companion, &lock, ParameterType::SecureString).await;
    let (kind, message) = store.rotate("rotate-custom", &name, "rotation-b").await.unwrap_err();
    assert_eq!(kind, "VersionState", "{message}");
    assert!(message.contains("rotation \"rotation-a\" holds") && message.contains("RotationId"), "{message}");
    assert_eq!(store.get(&name).await.unwrap().1, base, "nothing was written");
    store.rotate("rotate-custom", &name, "rotation-a").await.unwrap();
    assert_eq!(store.get(&name).await.unwrap().0, pending, "the value the crashed run made is the one promoted");
    assert!(store.get(&companion).await.is_none());

    // A crash after the parameter was written: only the labels and the lock were left.
    let base = store.get(&name).await.unwrap().1;
    let written = r#"{"api_key":"writtenKeyOfRotationC0123456789%","vendor":"acme"}"#;
    let lock = json!({"rotation": "rotation-c", "base": base, "value": written}).to_string();
    store.put(&companion, &lock, ParameterType::SecureString).await;
    let version = store.put(&name, written, ParameterType::SecureString).await;
    store.rotate("rotate-custom", &name, "rotation-c").await.unwrap();
    assert_eq!(store.get(&name).await.unwrap(), (written.to_owned(), version), "no second write");
    assert_eq!(store.get(&format!("{name}:current")).await.unwrap().1, version);
    assert_eq!(store.get(&format!("{name}:previous")).await.unwrap().1, base);
    assert!(store.get(&companion).await.is_none());

    // Two rotations at once: one holds the lock; the other fails naming it, or runs after it.
    let (a, b) =
        tokio::join!(store.rotate("rotate-custom", &name, "race-1"), store.rotate("rotate-custom", &name, "race-2"));
    assert!(a.is_ok() || b.is_ok(), "{a:?} {b:?}");
    for result in [&a, &b] {
        if let Err((_, message)) = result {
            assert!(message.contains("cannot start") || message.contains("changed"), "{message}");
        }
    }
    let (value, latest) = store.get(&name).await.unwrap();
    assert_eq!(store.get(&format!("{name}:current")).await.unwrap(), (value, latest), "current is the newest");
    assert!(store.get(&companion).await.is_none(), "no lock is left behind");
}

#[tokio::test]
async fn parameters_rotor_cannot_rotate_fail_with_the_cause_and_nothing_changes() {
    let store = start("rotate-custom", GENERATED).await;
    let plain = format!("/rotor/{}/plain", unique("p"));
    store.put(&plain, r#"{"api_key":"k","vendor":"acme"}"#, ParameterType::String).await;
    let (kind, message) = store.rotate("rotate-custom", &plain, "r1").await.unwrap_err();
    assert_eq!(kind, "InvalidSecret");
    assert!(message.contains("is String; rotor rotates SecureString parameters only"), "{message}");

    let (_, message) = store.rotate("rotate-custom", &format!("/rotor/{}/none", unique("p")), "r1").await.unwrap_err();
    assert!(message.contains("names no parameter"), "{message}");

    // The new value would not fit the standard tier's 4 KB.
    let big = format!("/rotor/{}/big", unique("p"));
    let value = json!({"api_key": "k", "padding": "x".repeat(4050)}).to_string();
    store.put(&big, &value, ParameterType::SecureString).await;
    let (_, message) = store.rotate("rotate-custom", &big, "r1").await.unwrap_err();
    assert!(message.contains("over the Standard tier's 4096") && message.contains("Advanced tier"), "{message}");
    assert_eq!(store.get(&big).await.unwrap(), (value, 1), "nothing was written");
    assert!(store.get(&format!("{big}.rotor-pending")).await.is_none(), "no lock was taken");
    // And an advanced parameter's 8 KB.
    let advanced = format!("/rotor/{}/advanced", unique("p"));
    let value = json!({"api_key": "k", "padding": "x".repeat(8130)}).to_string();
    store.put_as(&advanced, &value, ParameterType::SecureString, ParameterTier::Advanced, Some("custom")).await;
    let (_, message) = store.rotate("rotate-custom", &advanced, "r1").await.unwrap_err();
    assert!(message.contains("over the Advanced tier's 8192") && !message.contains("move"), "{message}");
    assert_eq!(store.get(&advanced).await.unwrap(), (value, 1), "nothing was written");

    for (event, field) in [
        (json!({"ParameterName": "/a", "RotationId": ""}), "RotationId"),
        (json!({"ParameterName": "/a b", "RotationId": "r"}), "ParameterName"),
        (json!({"ParameterName": "/a.rotor-pending", "RotationId": "r"}), "ParameterName"),
    ] {
        let (kind, message) = store.h.invoke("rotate-custom", &event).await.unwrap_err();
        assert_eq!(kind, "InvalidEvent");
        assert!(message.contains(field), "{message}");
    }
}

#[tokio::test]
async fn a_postgresql_credential_in_a_securestring_rotates_and_a_crash_after_setsecret_resumes() {
    let pg = PgServer::get();
    let ca = pg.ca().display().to_string();
    let store = start("rotate-postgres", &[("TLS_CA_BUNDLE", &ca), ("TEST_ATTEMPTS", "2")]).await;
    let name = format!("/rotor/{}/db", unique("p"));
    let secret = postgres_parameter(&store, &pg, &name).await;
    let (user, password) =
        (secret["username"].as_str().unwrap().to_owned(), secret["password"].as_str().unwrap().to_owned());
    let superuser = pg.superuser("postgres").await;
    let logs_in = |value: Value| pg_logs_in(&pg, value);
    let mut seen = vec![secret];
    for round in 1..=5 {
        store.rotate("rotate-postgres", &name, &format!("round-{round}")).await.unwrap();
        let current = store.json(&name).await;
        assert!(logs_in(current.clone()).await, "round {round}: the parameter's credential logs in");
        assert!(!logs_in(seen.last().unwrap().clone()).await, "round {round}: the single user's old one does not");
        assert_eq!(store.json(&format!("{name}:previous")).await, *seen.last().unwrap());
        seen.push(current);
    }

    // A crash after setSecret: the database already has the pending password, the parameter the old one.
    let (_, base) = store.get(&name).await.unwrap();
    let mut pending = seen.last().unwrap().clone();
    pending["password"] = json!(uuid::Uuid::new_v4().to_string());
    let lock = json!({"rotation": "crashed", "base": base, "value": pending.to_string()}).to_string();
    store.put(&format!("{name}.rotor-pending"), &lock, ParameterType::SecureString).await;
    superuser
        .batch_execute(&rotation_postgres::password_statement(&user, pending["password"].as_str().unwrap(), "LOGIN"))
        .await
        .unwrap();
    assert!(!logs_in(store.json(&name).await).await, "consumers' credential is refused until the rotation ends");
    store.rotate("rotate-postgres", &name, "crashed").await.unwrap();
    assert_eq!(store.json(&name).await, pending, "the value the database took is promoted, not a new one");
    assert!(logs_in(store.json(&name).await).await);
    let mut values = store.all_values(&name).await;
    values.push(password);
    store.h.assert_no_leaks(&values);
    // A value that is not the JSON of a database credential.
    let text = format!("/rotor/{}/text", unique("p"));
    store.put(&text, "just-a-password-0123", ParameterType::SecureString).await;
    let (kind, message) = store.rotate("rotate-postgres", &text, "r1").await.unwrap_err();
    assert_eq!(kind, "InvalidSecret", "{message}");
    assert!(message.contains("must be a JSON object"), "says what is wrong: {message}");
    assert_eq!(store.get(&text).await.unwrap().1, 1, "nothing was written");
    assert!(store.get(&format!("{text}.rotor-pending")).await.is_none(), "no lock was taken");

    let log = pg.log();
    for value in seen.iter().map(|s| s["password"].as_str().unwrap().to_owned()) {
        assert!(!log.contains(&value), "a password reached the server's log");
    }
}

#[tokio::test]
async fn the_local_scheduler_rotates_a_parameter_each_day_and_records_a_failed_run() {
    let store = start_local("rotate-custom", GENERATED).await;
    let name = format!("/rotor/{}/api", unique("p"));
    store.put(&name, r#"{"api_key":"first-key","vendor":"acme"}"#, ParameterType::SecureString).await;
    let schedule = |parameter: String| {
        let url = format!("{}/_rotor/schedules", store.h.endpoint_url);
        async move {
            let body = json!({"ParameterName": parameter, "FunctionName": "rotate-custom", "ScheduleExpression": "rate(1 day)"});
            reqwest::Client::new().post(url).json(&body).send().await.unwrap()
        }
    };
    assert!(schedule(name.clone()).await.status().is_success());
    assert_eq!(schedule("/rotor/none".into()).await.status(), 400, "a schedule needs its parameter");
    let last_run = |parameter: &str| {
        let url = format!("{}/_rotor/schedules{parameter}", store.h.endpoint_url);
        async move { reqwest::get(url).await.unwrap().json::<Value>().await.unwrap()["last"].clone() }
    };
    for day in 1..=3 {
        assert_eq!(store.h.advance_clock(86_400).await, 1, "day {day}: one run");
        let run = last_run(&name).await;
        assert_eq!((&run["state"], &run["attempts"]), (&json!("succeeded"), &json!(1)), "day {day}: {run}");
        assert_eq!(run["rotation_id"], format!("2026-01-0{}T00:00:00Z", day + 1), "the scheduled time is the id");
        let (_, version) = store.get(&name).await.unwrap();
        assert_eq!(version, day + 1);
        let label = format!("{name}:rotation-2026-01-0{}T00-00-00Z", day + 1);
        assert_eq!(store.get(&label).await.unwrap().1, version, "the run's label marks its version");
    }
    // A run that fails is retried with the same id, twice, and recorded.
    let broken = format!("/rotor/{}/broken", unique("p"));
    store.put(&broken, r#"{"vendor":"no api_key"}"#, ParameterType::SecureString).await;
    assert!(schedule(broken.clone()).await.status().is_success());
    store.h.advance_clock(86_400).await;
    let run = last_run(&broken).await;
    assert_eq!((&run["state"], &run["attempts"]), (&json!("failed"), &json!(3)), "{run}");
    assert!(run["error_message"].as_str().unwrap().contains("api_key"), "{run}");
    assert_eq!(store.get(&broken).await.unwrap().1, 1, "nothing was written");
}

#[tokio::test]
async fn rotatectl_rotates_shows_and_checks_a_parameter_without_printing_a_value() {
    let store = start_local("rotate-custom", GENERATED).await;
    let name = format!("/rotor/{}/api", unique("p"));
    let id = format!("ssm:{name}");
    store.put(&name, r#"{"api_key":"first-key-0123456789","vendor":"acme"}"#, ParameterType::SecureString).await;
    let rotatectl = |args: &[&str]| crate::rotatectl::rotatectl(&store.h, args);

    let (ok, out) = rotatectl(&["rotate", &id, "--function", "rotate-custom", "--rotation-id", "by-hand"]);
    assert!(ok && out.contains(&format!("rotation succeeded: {id} version 2 is current")), "{out}");
    let (ok, out) = rotatectl(&["status", &id]);
    assert!(ok && out.contains("current,rotation-by-hand") && out.contains(&format!("{name}:previous")), "{out}");
    let doctor = ["doctor", &id, "--function", "custom", "--env", "GENERATED_KEY=api_key"];
    let (ok, out) = rotatectl(&doctor);
    assert!(ok && out.contains("PASS  the parameter is a SecureString") && out.contains("all checks passed"), "{out}");

    // A rotation that crashed holds the lock: status and doctor name it and how to resume; another is refused.
    let lock = json!({"rotation": "crashed-run", "base": 2, "value": "{}"}).to_string();
    store.put(&format!("{name}.rotor-pending"), &lock, ParameterType::SecureString).await;
    let (_, out) = rotatectl(&["status", &id]);
    assert!(out.contains("rotation \"crashed-run\" holds") && out.contains("--rotation-id crashed-run"), "{out}");
    let (ok, out) = rotatectl(&doctor);
    assert!(!ok && out.contains("FAIL  no rotation holds the parameter's lock"), "{out}");
    let (ok, out) = rotatectl(&["rotate", &id, "--function", "rotate-custom"]);
    assert!(!ok && out.contains("cannot start") && out.contains("the parameter is unchanged"), "{out}");
    let (ok, out) = rotatectl(&["rotate", &id]);
    assert!(!ok && out.contains("needs --function"), "{out}");

    for value in store.all_values(&name).await.iter().filter(|v| v.len() >= 8) {
        for args in [&["status", id.as_str()][..], &doctor[..]] {
            assert!(!rotatectl(args).1.contains(value.as_str()), "rotatectl printed a value");
        }
    }
}

#[tokio::test]
async fn a_plain_string_parameter_gets_a_generated_value() {
    let store = start_local("rotate-custom", &[]).await;
    let name = format!("/rotor/{}/token", unique("p"));
    store.put(&name, "first-token-0123456789", ParameterType::SecureString).await;
    store.rotate("rotate-custom", &name, "r1").await.unwrap();
    let (value, version) = store.get(&name).await.unwrap();
    assert_eq!(version, 2);
    assert_ne!(value, "first-token-0123456789");
    assert_eq!(value.len(), 32, "a bare value, of the policy's length: {}", value.len());
    assert!(serde_json::from_str::<Value>(&value).is_err(), "not wrapped in JSON");
}

/// A new PostgreSQL login user with a random password, and a SecureString parameter holding its credential.
async fn postgres_parameter(store: &Store, pg: &PgServer, name: &str) -> Value {
    let secret = postgres_user(pg).await;
    store.put(name, &secret.to_string(), ParameterType::SecureString).await;
    secret
}

/// A new PostgreSQL login user, as a parameter's value.
async fn postgres_user(pg: &PgServer) -> Value {
    let user = unique("ssm-app");
    let password = uuid::Uuid::new_v4().to_string();
    let superuser = pg.superuser("postgres").await;
    superuser.batch_execute(&format!("CREATE ROLE {}", quote(&user))).await.unwrap();
    superuser.batch_execute(&rotation_postgres::password_statement(&user, &password, "LOGIN")).await.unwrap();
    json!({"engine": "postgres", "host": "127.0.0.1", "port": pg.port, "username": user, "password": password, "dbname": "postgres"})
}

/// Whether a parameter's PostgreSQL credential logs in.
async fn pg_logs_in(pg: &PgServer, value: Value) -> bool {
    pg.login(value["username"].as_str().unwrap(), value["password"].as_str().unwrap(), "postgres").await.is_ok()
}

impl Store {
    /// Each version's labels, oldest first.
    async fn labels(&self, name: &str) -> Vec<(i64, Vec<String>)> {
        let mut versions = Vec::new();
        let mut next = None;
        loop {
            let out =
                self.ssm.get_parameter_history().name(name).max_results(50).set_next_token(next).send().await.unwrap();
            versions.extend(out.parameters().iter().map(|p| (p.version(), p.labels().to_vec())));
            next = out.next_token().map(str::to_owned);
            if next.is_none() {
                return versions;
            }
        }
    }
}

#[tokio::test]
async fn a_parameter_rotates_150_times_past_parameter_stores_100_versions_and_no_label_accumulates() {
    // The local endpoint keeps 100 versions and refuses a write while the oldest carries a label, as AWS does.
    let store = start_local("rotate-custom", GENERATED).await;
    let name = format!("/rotor/{}/api", unique("p"));
    store.put(&name, r#"{"api_key":"first-key","vendor":"acme"}"#, ParameterType::SecureString).await;
    for round in 1..=150 {
        let id = format!("round-{round}");
        store.rotate("rotate-custom", &name, &id).await.unwrap_or_else(|e| panic!("round {round}: {e:?}"));
        let (value, version) = store.get(&name).await.unwrap();
        assert_eq!(version, round + 1, "round {round}: one new version");
        assert_eq!(store.get(&format!("{name}:current")).await.unwrap(), (value, version), "current is the newest");
    }
    let labels = store.labels(&name).await;
    assert_eq!(labels.len(), 100, "Parameter Store keeps 100 versions");
    let labelled: Vec<_> = labels
        .into_iter()
        .filter(|(_, l)| !l.is_empty())
        .map(|(v, mut l)| {
            l.sort();
            (v, l)
        })
        .collect();
    assert_eq!(
        labelled,
        [
            (150, vec!["previous".to_owned(), "rotation-round-149".to_owned()]),
            (151, vec!["current".to_owned(), "rotation-round-150".to_owned()])
        ],
        "only current and previous keep labels"
    );
    store.rotate("rotate-custom", &name, "round-150").await.unwrap();
    assert_eq!(store.get(&name).await.unwrap().1, 151, "a re-run of the last rotation still writes nothing");
}

#[tokio::test]
async fn a_database_parameter_whose_history_is_full_of_old_labels_keeps_rotating_and_logging_in() {
    let pg = PgServer::get();
    let ca = pg.ca().display().to_string();
    let store = start_local("rotate-postgres", &[("TLS_CA_BUNDLE", &ca), ("TEST_ATTEMPTS", "2")]).await;
    let name = format!("/rotor/{}/db", unique("p"));
    let secret = postgres_parameter(&store, &pg, &name).await;
    // The history an earlier rotor left: 100 versions, each with a label of the rotation that wrote it.
    for n in 2..=100 {
        store.put(&name, &secret.to_string(), ParameterType::SecureString).await;
        let label = format!("rotation-2025-{n}");
        store.ssm.label_parameter_version().name(&name).parameter_version(n).labels(label).send().await.unwrap();
    }
    store.ssm.label_parameter_version().name(&name).parameter_version(1).labels("rotation-first").send().await.unwrap();
    for round in 1..=3 {
        store.rotate("rotate-postgres", &name, &format!("round-{round}")).await.unwrap_or_else(|e| panic!("{e:?}"));
        let (_, version) = store.get(&name).await.unwrap();
        assert_eq!(version, 100 + round, "round {round}");
        assert!(pg_logs_in(&pg, store.json(&name).await).await, "round {round}: the newest version logs in");
    }

    // A label rotor did not set on the oldest version: refused before the database changes.
    let oldest = store.labels(&name).await[0].0;
    store.ssm.label_parameter_version().name(&name).parameter_version(oldest).labels("audit").send().await.unwrap();
    let before = store.get(&name).await.unwrap();
    let (kind, message) = store.rotate("rotate-postgres", &name, "blocked").await.unwrap_err();
    assert_eq!(kind, "VersionState", "{message}");
    assert!(message.contains("\"audit\"") && message.contains("nothing was changed"), "{message}");
    assert_eq!(store.get(&name).await.unwrap(), before, "nothing was written");
    assert!(pg_logs_in(&pg, store.json(&name).await).await, "the parameter's credential still logs in");
}

/// What [`denying_proxy`] does to the overwrites of its parameter.
const PASS: u8 = 0;
/// Refuses them (`AccessDeniedException`): the write never happens.
const DENY: u8 = 1;
/// Makes them, then answers a server error: the write happened and its answer was lost.
const LOSE_THE_ANSWER: u8 = 2;

/// A Parameter Store in front of `upstream` that treats every overwrite of `denied` as `deny` says ([`PASS`],
/// [`DENY`], [`LOSE_THE_ANSWER`]): the write a rotation makes after setSecret.
async fn denying_proxy(
    upstream: std::sync::Arc<std::sync::OnceLock<String>>,
    denied: String,
    deny: std::sync::Arc<std::sync::atomic::AtomicU8>,
) -> String {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;

    let port = free_port();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let handler = move |headers: HeaderMap, body: Bytes| {
        let (upstream, denied, deny) = (upstream.clone(), denied.clone(), deny.clone());
        async move {
            let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let mode = deny.load(std::sync::atomic::Ordering::SeqCst);
            let ours = target == "AmazonSSM.PutParameter" && request["Name"] == denied.as_str();
            if ours && mode == DENY {
                let error = json!({"__type": "AccessDeniedException", "message": "denied by the test"});
                return (StatusCode::BAD_REQUEST, error.to_string()).into_response();
            }
            let response = reqwest::Client::new()
                .post(upstream.get().unwrap())
                .header("x-amz-target", target)
                .header("content-type", "application/x-amz-json-1.1")
                .body(body)
                .send()
                .await
                .unwrap();
            if ours && mode == LOSE_THE_ANSWER && response.status().is_success() {
                let error = json!({"__type": "InternalServerError", "message": "answer lost by the test"});
                return (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response();
            }
            let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
            (status, response.bytes().await.unwrap()).into_response()
        }
    };
    let app = axum::Router::new().fallback(axum::routing::post(handler));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn a_write_denied_after_setsecret_sets_the_database_back_and_the_parameter_still_logs_in() {
    let pg = PgServer::get();
    let ca = pg.ca().display().to_string();
    let name = format!("/rotor/{}/db", unique("p"));
    let upstream = std::sync::Arc::new(std::sync::OnceLock::new());
    let deny = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(PASS));
    let proxy = denying_proxy(upstream.clone(), name.clone(), deny.clone()).await;
    let store = start_local(
        "rotate-postgres",
        &[("TLS_CA_BUNDLE", &ca), ("TEST_ATTEMPTS", "2"), ("AWS_ENDPOINT_URL_SSM", &proxy)],
    )
    .await;
    upstream.set(store.h.endpoint_url.clone()).unwrap();
    let secret = postgres_parameter(&store, &pg, &name).await;

    deny.store(DENY, std::sync::atomic::Ordering::SeqCst);
    let (kind, message) = store.rotate("rotate-postgres", &name, "denied").await.unwrap_err();
    assert_eq!(kind, "ParameterStoreError", "{message}");
    assert!(message.contains("set back to the parameter's current credential"), "{message}");
    assert_eq!(store.get(&name).await.unwrap().1, 1, "nothing was written");
    assert!(pg_logs_in(&pg, store.json(&name).await).await, "the parameter consumers read still logs in");
    assert!(store.get(&format!("{name}.rotor-pending")).await.is_none(), "the lock is released");

    deny.store(PASS, std::sync::atomic::Ordering::SeqCst);
    store.rotate("rotate-postgres", &name, "allowed").await.unwrap();
    assert_eq!(store.get(&name).await.unwrap().1, 2);
    assert!(pg_logs_in(&pg, store.json(&name).await).await, "the next rotation works");
    assert!(!pg_logs_in(&pg, secret).await, "and replaced the old password");

    // A write that took effect but whose answer was lost (a server error after the commit, every SDK attempt):
    // the parameter already holds the tested credential, so it is promoted, never set back under consumers' feet.
    let before = store.json(&name).await;
    deny.store(LOSE_THE_ANSWER, std::sync::atomic::Ordering::SeqCst);
    store.rotate("rotate-postgres", &name, "answer-lost").await.unwrap();
    deny.store(PASS, std::sync::atomic::Ordering::SeqCst);
    let now = store.json(&name).await;
    assert_ne!(now, before, "the rotation's value is the newest");
    assert!(pg_logs_in(&pg, now).await, "the credential consumers read logs in");
    assert!(!pg_logs_in(&pg, before).await, "the one before was replaced");
    assert!(store.get(&format!("{name}.rotor-pending")).await.is_none(), "the lock is released");
}

/// A database parameter sent to the wrong function, a parameter without the binding tag and a companion someone
/// else planted are each refused before anything is written: the parameter, its companion and the database keep
/// what they held, and the credential consumers read still logs in.
#[tokio::test]
async fn a_parameter_is_rotated_only_by_the_function_its_tag_names_and_a_planted_companion_is_refused() {
    let pg = PgServer::get();
    let ca = pg.ca().display().to_string();
    let env = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let h = Harness::start(vec![
        Function { name: "rotate-postgres", env: env(&[("TLS_CA_BUNDLE", &ca), ("TEST_ATTEMPTS", "2")]) },
        // The attack the binding stops: rotate-custom would write a generated `password` the database never got.
        Function { name: "rotate-custom", env: env(&[("GENERATED_KEY", "password")]) },
    ])
    .await;
    let ssm = ssm_client(&h.endpoint_url);
    let store = Store { h, ssm, function: "postgres", _moto: None };
    let unchanged = |name: String, secret: Value| {
        let store = &store;
        let pg = &pg;
        async move {
            assert_eq!(store.get(&name).await.unwrap().1, 1, "nothing was written to {name}");
            assert_eq!(store.json(&name).await, secret);
            assert!(pg_logs_in(pg, secret).await, "the credential consumers read still logs in");
        }
    };

    let name = format!("/rotor/{}/db", unique("p"));
    let secret = postgres_parameter(&store, &pg, &name).await;
    let (kind, message) = store.rotate("rotate-custom", &name, "wrong-function").await.unwrap_err();
    assert_eq!(kind, "InvalidSecretTag", "{message}");
    assert!(message.contains("rotor:function=postgres") && message.contains("not custom"), "{message}");
    assert!(store.get(&format!("{name}.rotor-pending")).await.is_none(), "no lock was taken");
    unchanged(name.clone(), secret.clone()).await;

    // Without the tag no function rotates it, not even the right one.
    let untagged = format!("/rotor/{}/db", unique("p"));
    let user_secret = postgres_user(&pg).await;
    store.put_as(&untagged, &user_secret.to_string(), ParameterType::SecureString, ParameterTier::Standard, None).await;
    let (kind, message) = store.rotate("rotate-postgres", &untagged, "untagged").await.unwrap_err();
    assert_eq!(kind, "InvalidSecretTag", "{message}");
    assert!(message.contains("has no rotor:function tag"), "{message}");
    assert!(store.get(&format!("{untagged}.rotor-pending")).await.is_none(), "no lock was taken");
    unchanged(untagged, user_secret).await;

    // A companion rotor did not create (no tag): its value is never set on the database.
    let companion = format!("{name}.rotor-pending");
    let mut planted = secret.clone();
    planted["password"] = json!("planted-by-someone-else-0123456789");
    let lock = json!({"rotation": "planted", "base": 1, "value": planted.to_string()}).to_string();
    store.put_as(&companion, &lock, ParameterType::SecureString, ParameterTier::Standard, None).await;
    let (kind, message) = store.rotate("rotate-postgres", &name, "planted").await.unwrap_err();
    assert_eq!(kind, "InvalidSecretTag", "{message}");
    assert!(message.contains("is not rotor's own") && !message.contains("planted-by"), "{message}");
    assert!(!pg_logs_in(&pg, planted.clone()).await, "the planted password was never set");
    unchanged(name.clone(), secret.clone()).await;

    // A companion with rotor's tag that someone who may put parameters under the path overwrote (the tag stays):
    // rotor writes a companion once, so a second version is refused and its value never set.
    store.ssm.delete_parameter().name(&companion).send().await.unwrap();
    let tagged = json!({"rotation": "overwritten", "base": 1, "value": secret.to_string()}).to_string();
    store.put_as(&companion, &tagged, ParameterType::SecureString, ParameterTier::Standard, Some("postgres")).await;
    let lock = json!({"rotation": "overwritten", "base": 1, "value": planted.to_string()}).to_string();
    let version = store.put_as(&companion, &lock, ParameterType::SecureString, ParameterTier::Standard, None).await;
    assert_eq!(version, 2, "the companion was overwritten");
    let (kind, message) = store.rotate("rotate-postgres", &name, "overwritten").await.unwrap_err();
    assert_eq!(kind, "InvalidSecretTag", "{message}");
    assert!(message.contains("someone overwrote it") && !message.contains("planted-by"), "{message}");
    assert!(!pg_logs_in(&pg, planted.clone()).await, "the overwritten companion's password was never set");
    unchanged(name.clone(), secret.clone()).await;

    // Once it is gone, the function the tag names rotates the parameter.
    store.ssm.delete_parameter().name(&companion).send().await.unwrap();
    store.rotate("rotate-postgres", &name, "right-function").await.unwrap();
    assert_eq!(store.get(&name).await.unwrap().1, 2);
    assert!(pg_logs_in(&pg, store.json(&name).await).await, "the rotated credential logs in");
}
