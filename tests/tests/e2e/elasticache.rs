//! ElastiCache users end to end: `rotate-elasticache` through the Lambda runtime API, with the ElastiCache API
//! served by the local endpoint over HTTP (the SDK's endpoint override): its `ModifyUser` leaves the user
//! `modifying` for a while, then applies the passwords to a real Redis server (the one the Redis tests use, over
//! TLS), where testSecret and the test log in. moto's server answers `ModifyUser` with "not implemented", so the
//! endpoint serves the six calls the rotation makes; what it cannot prove is the real service's timing and its
//! propagation to every node of a cluster.

use aws_sdk_elasticache::Client as ElastiCache;
use aws_sdk_elasticache::config::{BehaviorVersion, Credentials, Region};
use serde_json::{Value, json};

use crate::harness::{Function, Harness, unique};
use crate::redis_server::{ROOT, RedisServer};

/// The ARN prefix of the endpoint's ElastiCache users.
const USER_ARN: &str = "arn:aws:elasticache:us-east-1:123456789012:user:";

/// The function's allow-list: users whose id starts with this.
const ALLOWED: &str = "rotor-ec-";

struct Cache {
    h: Harness,
    redis: RedisServer,
    api: ElastiCache,
    /// Holds the Redis administrative password the endpoint reads at each start.
    _password: tempfile::TempDir,
}

/// The endpoint's arguments that serve ElastiCache over `redis` as the cache (a modified user `modifying` for
/// `modify_ms`), with the administrative password in a file of the returned directory that only its owner reads:
/// never on the endpoint's command line.
pub fn endpoint_args(redis: &RedisServer, modify_ms: u64) -> (Vec<String>, tempfile::TempDir) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("redis-admin-password");
    let mut written = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&file).unwrap();
    written.write_all(redis.root_password.as_bytes()).unwrap();
    let args = vec![
        "--elasticache-redis".to_string(),
        format!("redis://{ROOT}@127.0.0.1:{}", redis.port),
        "--elasticache-redis-password-file".to_string(),
        file.display().to_string(),
        "--elasticache-endpoint".to_string(),
        format!("127.0.0.1:{}", redis.tls_port),
        "--elasticache-modify-ms".to_string(),
        modify_ms.to_string(),
    ];
    (args, dir)
}

/// The endpoint serving ElastiCache over the test Redis (a modified user stays `modifying` for `modify_ms`), and
/// `rotate-elasticache` allowed the users whose id starts with [`ALLOWED`], with `env` last.
async fn start(modify_ms: u64, env: &[(&str, &str)]) -> Cache {
    let redis = RedisServer::get().await;
    let mut function_env = vec![
        ("TLS_CA_BUNDLE".to_string(), redis.ca().display().to_string()),
        ("ELASTICACHE_USER_ARNS".to_string(), format!("{USER_ARN}{ALLOWED}*")),
        ("WAITING_RETRY_INTERVAL_IN_SECONDS".to_string(), "1".to_string()),
        ("TEST_ATTEMPTS".to_string(), "2".to_string()),
        ("CONNECT_TIMEOUT_SECONDS".to_string(), "2".to_string()),
    ];
    function_env.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let (endpoint_args, password) = endpoint_args(&redis, modify_ms);
    let h = Harness::start_with(vec![Function { name: "rotate-elasticache", env: function_env }], endpoint_args).await;
    let config = aws_sdk_elasticache::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDROTORTEST", "rotor-test-not-a-secret", None, None, "rotor-tests"))
        .endpoint_url(&h.endpoint_url)
        .build();
    Cache { h, redis, api: ElastiCache::from_conf(config), _password: password }
}

impl Cache {
    /// A user made through the API (id, name), in a user group of the replication group, and its secret in AWS's
    /// shape (no host: testSecret finds the cache through the API).
    async fn user(&self, id: &str, access: &str) -> (String, String) {
        let name = format!("{id}-name");
        let password = uuid::Uuid::new_v4().to_string();
        self.api
            .create_user()
            .user_id(id)
            .user_name(&name)
            .engine("redis")
            .access_string(access)
            .passwords(&password)
            .send()
            .await
            .unwrap();
        self.api
            .create_user_group()
            .user_group_id(format!("{id}-group"))
            .engine("redis")
            .user_ids(id)
            .send()
            .await
            .unwrap();
        let secret =
            json!({"user_arn": format!("{USER_ARN}{id}"), "username": name, "password": password, "cluster": "kept"});
        (self.h.create_secret(&unique("ec-app"), &secret.to_string()).await, name)
    }

    async fn secret(&self, arn: &str, stage: &str) -> Value {
        serde_json::from_str(&self.h.value(arn, stage).await).unwrap()
    }

    async fn logs_in(&self, secret: &Value) -> bool {
        self.redis.login(secret["username"].as_str().unwrap(), secret["password"].as_str().unwrap()).await.is_ok()
    }

    async fn rotate(&self, arn: &str) -> Value {
        self.h.rotate(arn, "rotate-elasticache").await;
        self.h.wait_rotation(arn).await
    }

    async fn status(&self, id: &str) -> (String, i32) {
        let out = self.api.describe_users().user_id(id).send().await.unwrap();
        let user = &out.users()[0];
        (user.status().unwrap().to_owned(), user.authentication().unwrap().password_count().unwrap())
    }
}

#[tokio::test]
async fn elasticache_users_keep_the_current_password_beside_the_new_one_for_five_rotations() {
    let cache = start(1500, &[]).await;
    let id = unique(ALLOWED.trim_end_matches('-'));
    let (arn, _) = cache.user(&id, "on ~app:* +@read +set +ping").await;
    let mut seen = vec![cache.secret(&arn, "AWSCURRENT").await];
    for round in 1..=5 {
        let record = cache.rotate(&arn).await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}\n{}", cache.h.all_logs());
        let current = cache.secret(&arn, "AWSCURRENT").await;
        assert_ne!(current["password"], seen.last().unwrap()["password"]);
        assert_eq!((&current["cluster"], &current["user_arn"]), (&json!("kept"), &seen[0]["user_arn"]));
        assert!(cache.logs_in(&current).await, "round {round}: AWSCURRENT logs in");
        assert!(cache.logs_in(seen.last().unwrap()).await, "round {round}: the previous AWSCURRENT still logs in");
        if seen.len() >= 2 {
            assert!(!cache.logs_in(&seen[seen.len() - 2]).await, "round {round}: the one before it is refused");
        }
        assert_eq!(cache.status(&id).await, ("active".to_owned(), 2));
        seen.push(current);
    }
    let logs = cache.h.all_logs();
    assert!(
        logs.contains("waiting for the ElastiCache user to be active"),
        "testSecret waited for the change to reach the cache"
    );
    let passwords: Vec<String> = seen.iter().map(|s| s["password"].as_str().unwrap().to_owned()).collect();
    let hashes: Vec<String> = passwords.iter().map(|p| rotation_redis::password_hash(p)[1..].to_owned()).collect();
    let slow_log = cache.redis.slow_log().await;
    for value in passwords.iter().chain(&hashes) {
        assert!(!slow_log.contains(value.as_str()), "a password or its hash is in the server's slow log");
    }
    let mut values = cache.h.all_values(&arn).await;
    values.extend(hashes);
    cache.h.assert_no_leaks(&values);
}

#[tokio::test]
async fn users_the_configuration_does_not_name_and_missing_or_privileged_users_are_refused_before_any_change() {
    let cache = start(200, &[]).await;
    // The secret's writer points user_arn at a user outside ELASTICACHE_USER_ARNS.
    let outside = unique("other-user");
    let (arn, _) = cache.user(&outside, "on ~* +@read").await;
    let record = cache.rotate(&arn).await;
    assert_eq!((&record["state"], &record["step"]), (&json!("failed"), &json!("createSecret")), "{record}");
    assert_eq!(record["error_type"], "ConfusedDeputy", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("ELASTICACHE_USER_ARNS"), "{record}");

    // An allowed user_arn with another user's name.
    let id = unique(ALLOWED.trim_end_matches('-'));
    let (arn, _) = cache.user(&id, "on ~app:* +@read").await;
    let mut secret = cache.secret(&arn, "AWSCURRENT").await;
    secret["username"] = json!("someone-else");
    cache.h.client.put_secret_value().secret_id(&arn).secret_string(secret.to_string()).send().await.unwrap();
    let record = cache.rotate(&arn).await;
    assert_eq!(record["error_type"], "ConfusedDeputy", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("not the secret's username"), "{record}");

    // A user that does not exist.
    let mut missing = secret.clone();
    missing["user_arn"] = json!(format!("{USER_ARN}{ALLOWED}nobody"));
    let arn = cache.h.create_secret(&unique("ec-missing"), &missing.to_string()).await;
    let record = cache.rotate(&arn).await;
    assert_eq!(record["error_type"], "TargetRejected", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("no such user"), "{record}");

    // An administrator of the cache.
    let admin = unique(ALLOWED.trim_end_matches('-'));
    let (arn, _) = cache.user(&admin, "on ~* &* +@all").await;
    let current = cache.secret(&arn, "AWSCURRENT").await;
    let record = cache.rotate(&arn).await;
    assert_eq!(record["error_type"], "ConfusedDeputy", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("ALLOW_PRIVILEGED_USERS"), "{record}");
    assert!(cache.logs_in(&current).await, "AWSCURRENT still logs in");
    assert_eq!(cache.status(&admin).await, ("active".to_owned(), 1), "the user was never modified");
}

#[tokio::test]
async fn a_change_that_does_not_reach_the_cache_in_time_fails_testsecret_and_current_still_logs_in() {
    // The user stays `modifying` for 20 s; the function waits at most 2 s.
    let cache = start(20_000, &[("MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS", "2")]).await;
    let id = unique(ALLOWED.trim_end_matches('-'));
    let (arn, _) = cache.user(&id, "on ~app:* +@read +ping").await;
    let current = cache.secret(&arn, "AWSCURRENT").await;
    let record = cache.rotate(&arn).await;
    assert_eq!((&record["state"], &record["step"]), (&json!("failed"), &json!("testSecret")), "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("still \"modifying\""), "{record}");
    assert!(cache.logs_in(&current).await, "AWSCURRENT still logs in");
    assert_eq!(cache.h.labels(&arn).await.iter().filter(|(_, l)| l.contains(&"AWSPENDING".to_owned())).count(), 1);
}

#[tokio::test]
async fn doctor_checks_an_elasticache_secret_its_user_and_its_cache_with_fixes() {
    let cache = start(200, &[]).await;
    let id = unique(ALLOWED.trim_end_matches('-'));
    let (arn, _) = cache.user(&id, "on ~app:* +@read +ping").await;
    let ca = format!("TLS_CA_BUNDLE={}", cache.redis.ca().display());
    let users = format!("ELASTICACHE_USER_ARNS={USER_ARN}{ALLOWED}*");
    let doctor = |extra: &[&str]| {
        let mut args = vec!["doctor", &arn, "--function", "elasticache", "--env", &ca, "--env", &users];
        args.extend_from_slice(extra);
        crate::rotatectl::rotatectl(&cache.h, &args)
    };
    let (ok, out) = doctor(&[]);
    assert!(ok, "{out}");
    assert!(out.contains("the current credential logs in") && out.contains("all checks passed"), "{out}");

    let (ok, out) = doctor(&["--env", "ELASTICACHE_USER_ARNS=arn:aws:elasticache:us-east-1:123456789012:user:other-*"]);
    assert!(!ok && out.contains("not in ELASTICACHE_USER_ARNS"), "{out}");
    let (ok, out) = doctor(&["--env", "PASSWORD_LENGTH=200"]);
    assert!(!ok && out.contains("PASSWORD_LENGTH must be from 16 to 128"), "{out}");

    let mut wrong = cache.secret(&arn, "AWSCURRENT").await;
    wrong["password"] = json!("not-the-password-at-all");
    cache.h.client.put_secret_value().secret_id(&arn).secret_string(wrong.to_string()).send().await.unwrap();
    let (ok, out) = doctor(&["--env", "TEST_ATTEMPTS=1"]);
    assert!(!ok && out.contains("the current credential logs in") && out.contains("FAIL"), "{out}");
    assert!(out.contains("PASS  the function's role finds the user under the secret's name"), "{out}");
    assert!(!out.contains("not-the-password-at-all"), "doctor never prints a password");
}

#[tokio::test]
async fn a_writer_of_one_elasticache_secret_cannot_take_over_another_allowed_user_nor_plant_a_password() {
    let cache = start(200, &[]).await;
    let (mine, victim) = (unique(ALLOWED.trim_end_matches('-')), unique(ALLOWED.trim_end_matches('-')));
    let (arn, _) = cache.user(&mine, "on ~app:* +@read +ping").await;
    let (victim_arn, _) = cache.user(&victim, "on ~app:* +@read +ping").await;
    let victim_secret = cache.secret(&victim_arn, "AWSCURRENT").await;
    // The writer names the victim (inside ELASTICACHE_USER_ARNS), a password of its choosing, and a "cache" of its
    // own that would accept any password: the proof must log in where ElastiCache says the user lives.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut aimed = cache.secret(&arn, "AWSCURRENT").await;
    aimed["user_arn"] = victim_secret["user_arn"].clone();
    aimed["username"] = victim_secret["username"].clone();
    aimed["password"] = json!(format!("attacker-chosen-{}", uuid::Uuid::new_v4()));
    aimed["host"] = json!("127.0.0.1");
    aimed["port"] = json!(listener.local_addr().unwrap().port());
    cache.h.client.put_secret_value().secret_id(&arn).secret_string(aimed.to_string()).send().await.unwrap();
    let record = cache.rotate(&arn).await;
    assert_eq!(record["error_type"], "IdentityNotBound", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains(&format!("rotor:user={USER_ARN}{victim}")), "{record}");
    let accepted = tokio::time::timeout(std::time::Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "the proof logged in at the host the secret's writer chose");
    assert_eq!(cache.status(&victim).await, ("active".to_owned(), 1), "the victim was never modified");
    assert!(cache.logs_in(&victim_secret).await, "the victim's password is unchanged");

    // Bound by an administrator's tag, the user is rotated, and the made-up "current" password, which no login
    // proves, is not kept beside the new one.
    // Its host still names the writer's listener: testSecret (and so finishSecret) log in where ElastiCache says the
    // user's cache is, so the new password never reaches the writer's "cache".
    let mut planted = victim_secret.clone();
    planted["password"] = aimed["password"].clone();
    planted["host"] = aimed["host"].clone();
    planted["port"] = aimed["port"].clone();
    let arn = cache.h.create_secret(&unique("ec-planted"), &planted.to_string()).await;
    crate::identity::bind(&cache.h, &arn, &format!("{USER_ARN}{victim}")).await;
    let record = cache.rotate(&arn).await;
    assert_eq!(record["state"], "succeeded", "{record}");
    let accepted = tokio::time::timeout(std::time::Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "testSecret sent the new password to the host the secret's writer chose");
    assert_eq!(cache.status(&victim).await, ("active".to_owned(), 1), "only the new password is set");
    assert!(!cache.logs_in(&planted).await, "the planted password does not log in");
    assert!(cache.logs_in(&cache.secret(&arn, "AWSCURRENT").await).await, "AWSCURRENT logs in");
}
