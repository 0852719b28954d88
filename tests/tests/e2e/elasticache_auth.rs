//! ElastiCache AUTH tokens end to end: `rotate-elasticache-auth-token` through the Lambda runtime API, with the
//! ElastiCache API served by the local endpoint over HTTP: `CreateReplicationGroup` declares a group over a Redis
//! server of the test's own (the token is the password of its `default` user, so no two tests may share one), and
//! `ModifyReplicationGroup` leaves the group `modifying` for a while, then applies the tokens (`ROTATE` keeps the
//! newest two, `SET` only the given one) and makes it `available` again. What the endpoint cannot prove is the real
//! service's timing, and its propagation to every node of a cluster.

use aws_sdk_elasticache::Client as ElastiCache;
use aws_sdk_elasticache::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_elasticache::types::AuthTokenUpdateStrategyType;
use serde_json::{Value, json};

use crate::elasticache::endpoint_args;
use crate::harness::{Function, Harness, unique};
use crate::redis_trust::OwnServer;

/// The function under test.
const FUNCTION: &str = "rotate-elasticache-auth-token";

/// The ARN prefix of the endpoint's replication groups.
const GROUP_ARN: &str = "arn:aws:elasticache:us-east-1:123456789012:replicationgroup:";

/// The function's allow-list: groups whose id starts with this.
const ALLOWED: &str = "rotor-auth-";

struct Group {
    h: Harness,
    own: OwnServer,
    api: ElastiCache,
    /// The group's id and ARN, as the API answered them.
    id: String,
    arn: String,
    /// Holds the Redis administrative password the endpoint reads at each start.
    _password: tempfile::TempDir,
}

/// A token ElastiCache takes (letters, digits and `-`).
fn token() -> String {
    format!("tok-{}", uuid::Uuid::new_v4().simple())
}

/// A Redis server of this test's own that keeps every command in its slow log, the endpoint serving ElastiCache
/// over it (a modified group `modifying` for `modify_ms`), `rotate-elasticache-auth-token` allowed the groups whose
/// id starts with [`ALLOWED`] (with `env` last), and a group `id` created with `first` as its token.
async fn start(modify_ms: u64, id: &str, first: &str, env: &[(&str, &str)]) -> Group {
    let own = OwnServer::start(&["--slowlog-log-slower-than", "0", "--slowlog-max-len", "100000"]);
    let mut function_env = vec![
        ("TLS_CA_BUNDLE".to_string(), own.server.ca().display().to_string()),
        ("ELASTICACHE_REPLICATION_GROUP_ARNS".to_string(), format!("{GROUP_ARN}{ALLOWED}*")),
        ("WAITING_RETRY_INTERVAL_IN_SECONDS".to_string(), "1".to_string()),
        ("TEST_ATTEMPTS".to_string(), "2".to_string()),
        ("CONNECT_TIMEOUT_SECONDS".to_string(), "2".to_string()),
    ];
    function_env.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let (endpoint_args, password) = endpoint_args(&own.server, modify_ms);
    let h = Harness::start_with(vec![Function { name: FUNCTION, env: function_env }], endpoint_args).await;
    let config = aws_sdk_elasticache::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDROTORTEST", "rotor-test-not-a-secret", None, None, "rotor-tests"))
        .endpoint_url(&h.endpoint_url)
        .build();
    let api = ElastiCache::from_conf(config);
    let created = api
        .create_replication_group()
        .replication_group_id(id)
        .replication_group_description("an AUTH-token cache")
        .auth_token(first)
        .transit_encryption_enabled(true)
        .send()
        .await
        .unwrap();
    let group = created.replication_group().unwrap();
    let (id, arn) = (group.replication_group_id().unwrap().to_owned(), group.arn().unwrap().to_owned());
    assert_eq!(arn, format!("{GROUP_ARN}{id}"));
    Group { h, own, api, id, arn, _password: password }
}

impl Group {
    /// A secret in the function's shape naming the group, with `token` and a field of the application's own.
    async fn secret_with(&self, token: &str) -> String {
        let secret = json!({"replication_group_arn": self.arn, "password": token, "cluster": "kept"});
        self.h.create_secret(&unique("ec-auth"), &secret.to_string()).await
    }

    async fn value(&self, arn: &str, stage: &str) -> Value {
        serde_json::from_str(&self.h.value(arn, stage).await).unwrap()
    }

    /// Whether `AUTH <token>` logs in (as the `default` user, over the plaintext port).
    async fn logs_in(&self, token: &str) -> bool {
        self.own.server.login("default", token).await.is_ok()
    }

    async fn rotate(&self, arn: &str) -> Value {
        self.h.unstick(arn).await;
        self.h.rotate(arn, FUNCTION).await;
        self.h.wait_rotation(arn).await
    }

    /// The group's status and whether it takes an AUTH token, as the API describes it.
    async fn status(&self) -> (String, bool) {
        let out = self.api.describe_replication_groups().replication_group_id(&self.id).send().await.unwrap();
        let group = &out.replication_groups()[0];
        (group.status().unwrap().to_owned(), group.auth_token_enabled().unwrap())
    }

    /// `ModifyReplicationGroup` as an operator would make it, now.
    async fn modify(&self, token: &str, strategy: AuthTokenUpdateStrategyType) {
        self.api
            .modify_replication_group()
            .replication_group_id(&self.id)
            .auth_token(token)
            .auth_token_update_strategy(strategy)
            .apply_immediately(true)
            .send()
            .await
            .unwrap();
    }

    /// The outcomes of every `ModifyReplicationGroup` the endpoint answered, in order.
    fn modifications(&self) -> Vec<String> {
        let audit = std::fs::read_to_string(self.h.dir.path().join("state/audit.jsonl")).unwrap_or_default();
        audit
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["operation"] == "ModifyReplicationGroup")
            .map(|line| line["outcome"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Every file of the endpoint's state directory (the state and the audit log) as text, but the secrets'
    /// values, which Secrets Manager's state holds by design.
    fn state(&self) -> String {
        let dir = self.h.dir.path().join("state");
        let files = std::fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().path()).filter(|path| path.is_file());
        let text = |path: std::path::PathBuf| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(mut state)) => {
                    assert!(state.remove("secrets").is_some(), "the state holds the secrets");
                    Value::Object(state).to_string()
                }
                _ => text,
            }
        };
        files.map(text).collect()
    }
}

#[tokio::test]
async fn auth_tokens_keep_the_current_token_beside_the_new_one_for_five_rotations() {
    let first = token();
    let group = start(1500, &unique(ALLOWED.trim_end_matches('-')), &first, &[]).await;
    let arn = group.secret_with(&first).await;
    let mut tokens = vec![first];
    for round in 1..=5 {
        let record = group.rotate(&arn).await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}\n{}", group.h.all_logs());
        let current = group.value(&arn, "AWSCURRENT").await;
        let token = current["password"].as_str().unwrap().to_owned();
        assert_ne!(&token, tokens.last().unwrap());
        assert_eq!((&current["cluster"], &current["replication_group_arn"]), (&json!("kept"), &json!(group.arn)));
        assert!(token.len() == 32 && token.chars().all(|c| c.is_ascii_alphanumeric() || "!&#$^<>-".contains(c)));
        assert!(group.logs_in(&token).await, "round {round}: AWSCURRENT logs in");
        assert!(group.logs_in(tokens.last().unwrap()).await, "round {round}: the previous AWSCURRENT still does");
        if tokens.len() >= 2 {
            assert!(!group.logs_in(&tokens[tokens.len() - 2]).await, "round {round}: the one before is refused");
        }
        assert_eq!(group.status().await, ("available".to_owned(), true));
        tokens.push(token);
    }
    assert_eq!(group.modifications(), ["ok"; 5], "one ROTATE a rotation, never a SET: AWSCURRENT logged in");
    let logs = group.h.all_logs();
    assert!(
        logs.contains("waiting for the ElastiCache replication group to be available"),
        "testSecret waited for the change to reach the cache"
    );
    let hashes: Vec<String> = tokens.iter().map(|t| rotation_redis::password_hash(t)[1..].to_owned()).collect();
    let slow_log = group.own.server.slow_log().await;
    let state = group.state();
    for token in &tokens {
        assert!(!slow_log.contains(token.as_str()), "a token is in the server's slow log");
        assert!(!state.contains(token.as_str()), "a token is in the endpoint's state or audit log");
    }
    for hash in &hashes {
        assert!(!slow_log.contains(hash.as_str()), "a token's hash is in the server's slow log");
    }
    let mut values = group.h.all_values(&arn).await;
    values.extend(hashes);
    group.h.assert_no_leaks(&values);
}

#[tokio::test]
async fn a_group_the_configuration_does_not_name_is_refused_before_any_change() {
    let first = token();
    let group = start(200, &unique("other-cache"), &first, &[]).await;
    let arn = group.secret_with(&first).await;
    let record = group.rotate(&arn).await;
    assert_eq!((&record["state"], &record["step"]), (&json!("failed"), &json!("createSecret")), "{record}");
    assert_eq!(record["error_type"], "ConfusedDeputy", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("ELASTICACHE_REPLICATION_GROUP_ARNS"), "{record}");
    assert_eq!(group.value(&arn, "AWSCURRENT").await["password"], first.as_str(), "AWSCURRENT is unchanged");
    assert!(group.modifications().is_empty(), "the group was never modified");
    assert!(group.logs_in(&first).await, "the token still logs in");

    // A secret naming a group of the allow-list that does not exist fails as soon as the function asks for it.
    let missing = json!({"replication_group_arn": format!("{GROUP_ARN}{ALLOWED}nowhere"), "password": first});
    let arn = group.h.create_secret(&unique("ec-auth-missing"), &missing.to_string()).await;
    let record = group.rotate(&arn).await;
    assert_eq!((&record["step"], &record["error_type"]), (&json!("setSecret"), &json!("TargetRejected")), "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("no such replication group"), "{record}");
    assert!(group.modifications().is_empty());
}

#[tokio::test]
async fn a_secrets_writer_chooses_neither_where_a_token_is_proven_nor_a_token_that_stays_valid() {
    let first = token();
    let group = start(200, &unique(ALLOWED.trim_end_matches('-')), &first, &[]).await;
    // The writer points host and port at a "cache" of its own that would accept any token: every proof and
    // testSecret log in where ElastiCache says the group is.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let aimed = json!({"replication_group_arn": group.arn, "password": first, "host": "127.0.0.1", "port": port});
    let arn = group.h.create_secret(&unique("ec-auth-aimed"), &aimed.to_string()).await;
    let record = group.rotate(&arn).await;
    assert_eq!(record["state"], "succeeded", "{record}\n{}", group.h.all_logs());
    let accepted = tokio::time::timeout(std::time::Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "a login went to the host the secret's writer chose");
    let current = group.value(&arn, "AWSCURRENT").await;
    assert_eq!((&current["host"], &current["port"]), (&json!("127.0.0.1"), &json!(port)), "the fields are kept");
    let second = current["password"].as_str().unwrap().to_owned();
    assert!(group.logs_in(&second).await && group.logs_in(&first).await, "both tokens log in");

    // A second secret naming the group with a token of its writer's choosing, which no login proves, binds nothing.
    let planted = json!({"replication_group_arn": group.arn, "password": token()});
    let arn = group.h.create_secret(&unique("ec-auth-planted"), &planted.to_string()).await;
    let record = group.rotate(&arn).await;
    assert_eq!(record["error_type"], "IdentityNotBound", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains(&format!("rotor:user={}", group.arn)), "{record}");
    assert_eq!(group.modifications().len(), 1, "the group was not modified again");

    // Bound by an administrator's tag, the group is rotated; AWSCURRENT's token did not log in, so the group is
    // left with the new token alone (ROTATE, then SET): neither the planted token nor the ones before stay valid.
    crate::identity::bind(&group.h, &arn, &group.arn).await;
    let record = group.rotate(&arn).await;
    assert_eq!(record["state"], "succeeded", "{record}\n{}", group.h.all_logs());
    assert_eq!(group.modifications(), ["ok"; 3], "ROTATE then SET");
    let newest = group.value(&arn, "AWSCURRENT").await["password"].as_str().unwrap().to_owned();
    assert!(group.logs_in(&newest).await, "AWSCURRENT logs in");
    for old in [&first, &second, planted["password"].as_str().unwrap()] {
        assert!(!group.logs_in(old).await, "a token from before the SET still logs in");
    }
}

#[tokio::test]
async fn a_rotation_that_meets_the_group_modifying_waits_for_it_then_rotates() {
    let first = token();
    let group = start(3000, &unique(ALLOWED.trim_end_matches('-')), &first, &[]).await;
    let arn = group.secret_with(&first).await;
    // An operator's change (the same token again: the tokens stay as they are) leaves the group `modifying`.
    group.modify(&first, AuthTokenUpdateStrategyType::Rotate).await;
    assert_eq!(group.status().await.0, "modifying");
    let record = group.rotate(&arn).await;
    assert_eq!(record["state"], "succeeded", "{record}\n{}", group.h.all_logs());
    assert_eq!(
        group.modifications(),
        ["ok", "ok"],
        "setSecret waited: its change was not refused as the group was busy"
    );
    let current = group.value(&arn, "AWSCURRENT").await;
    assert!(group.logs_in(current["password"].as_str().unwrap()).await && group.logs_in(&first).await);
}

#[tokio::test]
async fn a_group_still_modifying_at_the_bound_fails_setsecret_clearly_and_nothing_changes() {
    // The group stays `modifying` for 20 s; the function waits at most 2 s.
    let first = token();
    let env = [("MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS", "2")];
    let group = start(20_000, &unique(ALLOWED.trim_end_matches('-')), &first, &env).await;
    let arn = group.secret_with(&first).await;
    group.modify(&first, AuthTokenUpdateStrategyType::Rotate).await;
    let record = group.rotate(&arn).await;
    assert_eq!((&record["state"], &record["step"]), (&json!("failed"), &json!("setSecret")), "{record}");
    assert_eq!(record["error_type"], "TargetUnreachable", "the service retries the step: {record}");
    let message = record["error_message"].as_str().unwrap();
    assert!(message.contains("still \"modifying\"") && message.contains("MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS"));
    assert_eq!(group.modifications(), ["ok"], "only the operator's change");
    assert!(group.logs_in(&first).await, "AWSCURRENT still logs in");
}
