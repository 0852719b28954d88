//! Redis rotation end to end: `rotate-redis` through the Lambda runtime API and the local endpoint, against every
//! installed real server (Redis 7, Redis 6.2, Valkey) over TLS with ACL users, its slow log keeping every command.

use serde_json::{Value, json};

use crate::harness::{Function, Harness, unique};
use crate::redis_server::{RedisServer, Variant};

/// The ARN prefix of the local endpoint's secrets.
const ARN_PREFIX: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:";

/// The rules the application user is made with: the alternating user must end up with exactly these.
/// `resetchannels` first: its channels are these even where new users get every channel (`acl-pubsub-default`).
const APP_RULES: &[&str] = &["resetchannels", "~app:*", "%R~cache:*", "&events:*", "+@read", "+set", "+ping", "-debug"];

/// [`APP_RULES`] as `redis` accepts them: Redis 6.2 has no read-only key patterns (`%R~`, Redis 7), so there the
/// user may write `cache:*` too.
fn app_rules(redis: &RedisServer) -> Vec<&'static str> {
    let rules = APP_RULES.iter().copied();
    if redis.variant == Variant::Redis62 {
        rules.map(|rule| rule.trim_start_matches("%R")).collect()
    } else {
        rules.collect()
    }
}

/// A function rotating one user secret, with its admin's, on one server (also used by `redis_trust`).
pub(crate) struct Case {
    pub(crate) h: Harness,
    pub(crate) redis: RedisServer,
    pub(crate) arn: String,
    admin: String,
    admin_password: String,
}

/// On `redis`: an ACL user `user` with [`APP_RULES`] (and `extra` rules), an admin with `admin_rules`, their
/// secrets, and `rotate-redis` with `strategy`.
pub(crate) async fn setup(
    redis: &RedisServer,
    strategy: &str,
    user: &str,
    extra: &[&str],
    admin_rules: &[&str],
) -> Case {
    setup_with(redis, strategy, user, extra, admin_rules, Vec::new()).await
}

/// [`setup`], with `overrides` set in the function's environment last.
async fn setup_with(
    redis: &RedisServer,
    strategy: &str,
    user: &str,
    extra: &[&str],
    admin_rules: &[&str],
    overrides: Vec<(String, String)>,
) -> Case {
    let redis = redis.clone();
    let admin_name = unique("rd-admin");
    let mut env = vec![
        ("ROTATION_STRATEGY".to_string(), strategy.to_string()),
        ("TLS_CA_BUNDLE".to_string(), redis.ca().display().to_string()),
        ("TEST_ATTEMPTS".to_string(), "2".to_string()),
        ("CONNECT_TIMEOUT_SECONDS".to_string(), "2".to_string()),
        ("ADMIN_SECRET_ARNS".to_string(), format!("{ARN_PREFIX}{admin_name}-*")),
    ];
    env.extend(overrides);
    let h = Harness::start(vec![Function { name: "rotate-redis", env }]).await;
    let admin = unique("rd-admin-user");
    let admin_password = uuid::Uuid::new_v4().to_string();
    let password = uuid::Uuid::new_v4().to_string();
    let admin_hash = rotation_redis::password_hash(&admin_password);
    let user_hash = rotation_redis::password_hash(&password);
    let mut create_admin = vec!["ACL", "SETUSER", admin.as_str(), "on", admin_hash.as_str()];
    create_admin.extend(admin_rules);
    redis.run(&create_admin).await;
    let mut create_user = vec!["ACL", "SETUSER", user, "on", user_hash.as_str()];
    create_user.extend(app_rules(&redis));
    create_user.extend(extra);
    redis.run(&create_user).await;
    let admin_arn = h
        .create_secret(&admin_name, &json!({"engine": "redis", "host": "127.0.0.1", "port": redis.tls_port, "username": admin, "password": admin_password}).to_string())
        .await;
    let secret = json!({"engine": "redis", "host": "127.0.0.1", "port": redis.tls_port, "username": user, "password": password, "masterarn": admin_arn, "cluster": "kept"});
    let arn = h.create_secret(&unique("rd-app"), &secret.to_string()).await;
    Case { h, redis, arn, admin, admin_password }
}

impl crate::scenarios::EngineCase for Case {
    fn harness(&self) -> &Harness {
        &self.h
    }
    fn arn(&self) -> &str {
        &self.arn
    }
    fn function(&self) -> &'static str {
        "rotate-redis"
    }
    async fn logs_in(&self, secret: &Value) -> bool {
        Case::logs_in(self, secret).await
    }
    /// No password of any version, nor its ACL hash, in a log line of the test or the server's slow log.
    async fn assert_no_password_leaks(&self) {
        let mut values: Vec<String> = Vec::new();
        for value in self.h.all_values(&self.arn).await {
            if let Ok(Value::Object(secret)) = serde_json::from_str::<Value>(&value) {
                values.extend(secret["password"].as_str().map(str::to_owned));
            }
        }
        values.push(self.admin_password.clone());
        let hashes: Vec<String> = values.iter().map(|v| rotation_redis::password_hash(v)[1..].to_owned()).collect();
        let slow_log = self.redis.slow_log().await;
        for value in values.iter().chain(&hashes) {
            assert!(!slow_log.contains(value.as_str()), "a password or its hash is in the server's slow log");
        }
        values.extend(hashes);
        self.h.assert_no_leaks(&values);
    }
}

impl Case {
    pub(crate) async fn secret(&self, stage: &str) -> Value {
        serde_json::from_str(&self.h.value(&self.arn, stage).await).unwrap()
    }

    pub(crate) async fn logs_in(&self, secret: &Value) -> bool {
        self.redis.login(secret["username"].as_str().unwrap(), secret["password"].as_str().unwrap()).await.is_ok()
    }

    pub(crate) async fn rotate(&self) -> Value {
        self.h.rotate(&self.arn, "rotate-redis").await;
        self.h.wait_rotation(&self.arn).await
    }

    /// The rules `ACL GETUSER` reports for `user`, passwords left out.
    pub(crate) async fn rules(&self, user: &str) -> rotation_redis::Rules {
        let value = self.redis.run(&["ACL", "GETUSER", user]).await;
        let mut rules = rotation_redis::Rules::from_getuser(&value).unwrap_or_else(|| panic!("no user {user}"));
        rules.passwords.clear();
        rules
    }

    /// Five rotations: after each, AWSCURRENT logs in, the previous AWSCURRENT still does (its clients keep
    /// working through the rotation), and the one before it is refused. No password or its hash in any log line,
    /// and no password in the server's slow log.
    async fn five_rotations_keep_the_previous_credential_until_the_next(&self) -> Vec<Value> {
        let mut seen = vec![self.secret("AWSCURRENT").await];
        for round in 1..=5 {
            let record = self.rotate().await;
            assert_eq!(record["state"], "succeeded", "round {round}: {record}\n{}", self.h.all_logs());
            let current = self.secret("AWSCURRENT").await;
            assert_ne!(current["password"], seen.last().unwrap()["password"]);
            assert_eq!(current["cluster"], "kept", "other fields are kept");
            assert!(self.logs_in(&current).await, "round {round}: AWSCURRENT logs in");
            assert!(self.logs_in(seen.last().unwrap()).await, "round {round}: the previous AWSCURRENT still logs in");
            if seen.len() >= 2 {
                assert!(!self.logs_in(&seen[seen.len() - 2]).await, "round {round}: the one before it is refused");
            }
            seen.push(current);
        }
        let mut values: Vec<String> = seen.iter().map(|s| s["password"].as_str().unwrap().to_owned()).collect();
        values.push(self.admin_password.clone());
        let hashes: Vec<String> = values.iter().map(|v| rotation_redis::password_hash(v)[1..].to_owned()).collect();
        let slow_log = self.redis.slow_log().await;
        assert!(slow_log.contains("SETUSER"), "the slow log holds rotor's commands");
        for value in values.iter().chain(&hashes) {
            assert!(!slow_log.contains(value.as_str()), "a password or its hash is in the server's slow log");
        }
        let mut secrets = values.clone();
        secrets.extend(hashes);
        self.h.assert_no_leaks(&secrets);
        seen
    }
}

#[tokio::test]
async fn the_admin_keeps_the_current_password_beside_the_new_one_for_five_rotations() {
    RedisServer::on_every_variant(|redis| async move {
        let user = unique("rd-app-user");
        let case = setup(&redis, "admin", &user, &[], &["~*", "&*", "+@all"]).await;
        case.five_rotations_keep_the_previous_credential_until_the_next().await;
        assert_eq!(case.secret("AWSCURRENT").await["username"], user.as_str());
    })
    .await;
}

#[tokio::test]
async fn a_single_user_that_may_run_acl_setuser_rotates_its_own_password() {
    RedisServer::on_every_variant(|redis| async move {
        let user = unique("rd-self");
        let case = setup(&redis, "single-user", &user, &["+acl|setuser"], &["~*", "&*", "+@all"]).await;
        case.five_rotations_keep_the_previous_credential_until_the_next().await;
    })
    .await;
}

#[tokio::test]
async fn alternating_users_with_quotes_and_unicode_stay_alike_both_ways() {
    RedisServer::on_every_variant(|redis| async move {
        let user = format!("app'\"ü-{}", unique("rd"));
        let case = setup(&redis, "alternating-users", &user, &[], &["~*", "&*", "+@all"]).await;
        let seen = case.five_rotations_keep_the_previous_credential_until_the_next().await;
        let clone = format!("{user}_clone");
        let names: Vec<&str> = seen.iter().map(|s| s["username"].as_str().unwrap()).collect();
        assert_eq!(names, [user.as_str(), &clone, &user, &clone, &user, &clone], "the users alternate");
        assert_eq!(case.rules(&clone).await, case.rules(&user).await, "the same rules");
        // What the user gains or loses between rotations reaches the other at the next one: both ways.
        case.redis.run(&["ACL", "SETUSER", &clone, "+get", "~extra:*", "-set"]).await;
        assert_eq!(case.rotate().await["state"], "succeeded");
        assert_eq!(case.secret("AWSCURRENT").await["username"], user.as_str());
        assert_eq!(case.rules(&user).await, case.rules(&clone).await, "the active user's change reached the other");
        let rules = case.rules(&user).await;
        assert!(
            rules.commands.contains(&"-set".to_owned()) || !rules.commands.contains(&"+set".to_owned()),
            "{rules:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_user_name_redis_refuses_fails_create_secret_and_nothing_changes() {
    RedisServer::on_every_variant(|redis| async move {
        let user = unique("rd-app-user");
        let case = setup(&redis, "admin", &user, &[], &["~*", "&*", "+@all"]).await;
        let mut secret = case.secret("AWSCURRENT").await;
        secret["username"] = json!("has a space");
        case.h.client.put_secret_value().secret_id(&case.arn).secret_string(secret.to_string()).send().await.unwrap();
        let record = case.rotate().await;
        assert_eq!(record["state"], "failed", "{record}");
        assert_eq!(record["step"], "createSecret");
        assert!(record["error_message"].as_str().unwrap().contains("holds a space"), "{record}");
    })
    .await;
}

#[tokio::test]
async fn bad_credentials_rights_and_servers_fail_with_the_cause_and_current_still_logs_in() {
    RedisServer::on_every_variant(|redis| async move {
        let user = unique("rd-app-user");
        // An admin that may not manage users.
        let case = setup(&redis, "admin", &user, &[], &["~*", "&*", "+@read", "+ping"]).await;
        let current = case.secret("AWSCURRENT").await;
        let record = case.rotate().await;
        assert_eq!(record["state"], "failed", "{record}");
        assert_eq!(record["error_type"], "TargetPermissionDenied", "{record}");
        assert!(record["error_message"].as_str().unwrap().contains("+acl"), "names the fix: {record}");
        assert!(case.logs_in(&current).await, "AWSCURRENT still logs in");

        // The user's server on its plaintext port: rotor never falls back to plaintext.
        let case = setup(&redis, "single-user", &unique("rd-self"), &["+acl|setuser"], &["~*", "&*", "+@all"]).await;
        let mut secret = case.secret("AWSCURRENT").await;
        secret["port"] = json!(case.redis.port);
        case.h.client.put_secret_value().secret_id(&case.arn).secret_string(secret.to_string()).send().await.unwrap();
        let record = case.rotate().await;
        assert_eq!(record["state"], "failed", "{record}");
        assert!(record["error_message"].as_str().unwrap().contains("never falls back to plaintext"), "{record}");
        assert!(case.logs_in(&secret).await, "AWSCURRENT still logs in");

        // A user the server does not have: unproven, refused by the identity rule; and even bound by an
        // administrator's tag, never created.
        let case = setup(&redis, "admin", &unique("rd-app-user"), &[], &["~*", "&*", "+@all"]).await;
        let mut secret = case.secret("AWSCURRENT").await;
        let nobody = unique("rd-nobody");
        secret["username"] = json!(nobody);
        case.h.client.put_secret_value().secret_id(&case.arn).secret_string(secret.to_string()).send().await.unwrap();
        let record = case.rotate().await;
        assert_eq!(record["error_type"], "IdentityNotBound", "{record}");
        crate::identity::bind(&case.h, &case.arn, &crate::identity::on_server(&nobody, case.redis.tls_port)).await;
        case.h.client.put_secret_value().secret_id(&case.arn).secret_string(secret.to_string()).send().await.unwrap();
        let record = case.rotate().await;
        assert_eq!(record["state"], "failed", "{record}");
        assert!(record["error_message"].as_str().unwrap().contains("there is no ACL user"), "{record}");
        let users = format!("{:?}", case.redis.run(&["ACL", "USERS"]).await);
        assert!(!users.contains(secret["username"].as_str().unwrap()), "no user was created");

        // A wrong password from the start, single user (no AWSPREVIOUS to fall back on).
        let user = unique("rd-self");
        let case = setup(&redis, "single-user", &user, &["+acl|setuser"], &["~*", "&*", "+@all"]).await;
        let right = case.secret("AWSCURRENT").await;
        let mut wrong = right.clone();
        wrong["password"] = json!("not-the-password");
        let arn = case.h.create_secret(&unique("rd-wrong"), &wrong.to_string()).await;
        case.h.rotate(&arn, "rotate-redis").await;
        let record = case.h.wait_rotation(&arn).await;
        assert_eq!(record["state"], "failed", "{record}");
        assert_eq!(record["error_type"], "TargetAuthenticationFailed", "{record}");
        assert!(
            record["error_message"].as_str().unwrap().contains("set the password by hand"),
            "names the fix: {record}"
        );
        assert!(case.logs_in(&right).await, "the user's real password still logs in");

        // A CA that did not sign the server's certificate.
        let other_ca = ("TLS_CA_BUNDLE".to_owned(), redis.dir.join("other-ca.pem").display().to_string());
        let case =
            setup_with(&redis, "admin", &unique("rd-app-user"), &[], &["~*", "&*", "+@all"], vec![other_ca]).await;
        let record = case.rotate().await;
        assert_eq!(record["state"], "failed", "{record}");
        assert_eq!(record["error_type"], "TargetTlsFailed", "{record}");
        assert!(record["error_message"].as_str().unwrap().contains("TLS_CA_BUNDLE"), "names the fix: {record}");
        assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "AWSCURRENT still logs in");
    })
    .await;
}

#[tokio::test]
async fn a_crash_after_set_secret_resumes_and_every_step_repeated_changes_nothing() {
    RedisServer::on_every_variant(|redis| async move {
        let user = unique("rd-app-user");
        let case = setup(&redis, "admin", &user, &[], &["~*", "&*", "+@all"]).await;
        let before = case.secret("AWSCURRENT").await;
        crate::scenarios::a_crash_after_set_secret_resumes_and_every_step_repeated_changes_nothing(&case).await;
        assert!(case.logs_in(&before).await, "the previous password is kept");
        let passwords = case.redis.run(&["ACL", "GETUSER", &user]).await;
        let rules = rotation_redis::Rules::from_getuser(&passwords).unwrap();
        assert_eq!(rules.passwords.len(), 2, "exactly the current and the previous password");
    })
    .await;
}

#[tokio::test]
async fn the_admin_refuses_a_user_that_may_manage_users_unless_allowed() {
    RedisServer::on_every_variant(|redis| async move {
        let case = setup(&redis, "admin", &unique("rd-app-user"), &["+@all"], &["~*", "&*", "+@all"]).await;
        let current = case.secret("AWSCURRENT").await;
        let record = case.rotate().await;
        assert_eq!(record["state"], "failed", "{record}");
        let message = record["error_message"].as_str().unwrap();
        assert!(message.contains("ACL SETUSER") && message.contains("ALLOW_PRIVILEGED_USERS"), "{record}");
        assert!(case.logs_in(&current).await);
        assert_eq!(case.secret("AWSCURRENT").await, current);

        let allowed = vec![("ALLOW_PRIVILEGED_USERS".to_owned(), "true".to_owned())];
        let case =
            setup_with(&redis, "admin", &unique("rd-app-user"), &["+@all"], &["~*", "&*", "+@all"], allowed).await;
        assert_eq!(case.rotate().await["state"], "succeeded");
    })
    .await;
}

#[tokio::test]
async fn doctor_checks_a_redis_secret_its_server_and_its_admin_with_fixes() {
    RedisServer::on_every_variant(|redis| async move {
        let case = setup(&redis, "admin", &unique("rd-app-user"), &[], &["~*", "&*", "+@all"]).await;
        let ca = format!("TLS_CA_BUNDLE={}", case.redis.ca().display());
        let admins = format!("ADMIN_SECRET_ARNS={}", case.secret("AWSCURRENT").await["masterarn"].as_str().unwrap());
        let doctor = |extra: &[&str]| {
            let mut args = vec!["doctor", &case.arn, "--function", "redis", "--env", "ROTATION_STRATEGY=admin"];
            args.extend_from_slice(&["--env", &ca, "--env", &admins]);
            args.extend_from_slice(extra);
            crate::rotatectl::rotatectl(&case.h, &args)
        };
        let (ok, out) = doctor(&[]);
        assert!(ok, "{out}");
        assert!(out.contains("the current credential logs in") && out.contains("all checks passed"), "{out}");

        // An admin that may no longer manage users.
        case.redis.run(&["ACL", "SETUSER", &case.admin, "-acl"]).await;
        let (ok, out) = doctor(&[]);
        assert!(
            !ok && out.contains("FAIL  the admin may change other users' passwords") && out.contains("+acl"),
            "{out}"
        );

        let mut wrong = case.secret("AWSCURRENT").await;
        wrong["password"] = json!("not-the-password");
        case.h.client.put_secret_value().secret_id(&case.arn).secret_string(wrong.to_string()).send().await.unwrap();
        let (ok, out) = doctor(&[]);
        assert!(!ok && out.contains("was refused"), "{out}");
        assert!(!out.contains("not-the-password"), "doctor never prints a password");
    })
    .await;
}
