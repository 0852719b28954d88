//! Redis's part of the trust model end to end (issue 24), through `rotate-redis`, the local endpoint and every real
//! Redis-protocol server the tests start (Redis 7, and Redis 6.2 and Valkey where installed): a user that may take over other users or the server is refused by every rule that grants
//! it; a password a secret's writer made up is never installed beside the new one; alternating users never turn on
//! a user an operator turned off; and the clone's channels are the active user's on a server whose new users get
//! every channel.

use std::fs;
use std::path::PathBuf;
use std::process::Child;

use serde_json::{Value, json};

use crate::harness::{bin_dir, unique};
use crate::redis_acl::{Case, setup};
use crate::redis_server::{RedisServer, Variant, spawn_in};

/// The admin's rules: everything.
const ADMIN: &[&str] = &["~*", "&*", "+@all"];

/// Rules that each let a user take over other users or the server, a command the refusal must name, and whether
/// only Redis 7 and Valkey have it (selectors, `MODULE LOADEX`). Before the fix, Redis 7's `ACL DRYRUN` was asked
/// about `ACL SETUSER`, `CONFIG SET` and `MODULE LOAD` only, so the last five passed as unprivileged; on Redis 6.x
/// every rotation by the admin failed (the `ERR Unknown subcommand` answer to `ACL DRYRUN` was not recognised).
const TAKEOVER_RULES: &[(&[&str], &str, bool)] = &[
    (&["+@slow"], "ACL SETUSER", false),
    (&["-@all", "+@slow"], "ACL SETUSER", false),
    (&["+acl|setuser"], "ACL SETUSER", false),
    (&["+config|set"], "CONFIG SET", false),
    (&["+module|load"], "MODULE LOAD", false),
    (&["(+acl ~*)"], "ACL SETUSER", true),
    (&["+acl|deluser"], "ACL DELUSER", false),
    (&["+config|get"], "CONFIG GET", false),
    (&["+module|loadex"], "MODULE LOADEX", true),
    (&["+debug"], "DEBUG", false),
    (&["+replicaof"], "REPLICAOF", false),
];

/// The hashes of the passwords `user` holds.
async fn hashes(redis: &RedisServer, user: &str) -> Vec<String> {
    let value = redis.run(&["ACL", "GETUSER", user]).await;
    rotation_redis::Rules::from_getuser(&value).unwrap_or_else(|| panic!("no user {user}")).passwords
}

/// Whether `user` is `off`.
async fn is_off(redis: &RedisServer, user: &str) -> bool {
    let value = redis.run(&["ACL", "GETUSER", user]).await;
    !rotation_redis::Rules::from_getuser(&value).unwrap_or_else(|| panic!("no user {user}")).enabled()
}

/// Asserts `record` is a setSecret failure whose message holds each of `words`.
fn assert_refused(record: &Value, words: &[&str]) {
    assert_eq!((&record["state"], &record["step"]), (&json!("failed"), &json!("setSecret")), "{record}");
    let message = record["error_message"].as_str().unwrap();
    for word in words {
        assert!(message.contains(word), "the error names {word:?}: {record}");
    }
}

#[tokio::test]
async fn a_user_that_may_take_over_users_or_the_server_is_refused_by_every_rule_that_grants_it() {
    RedisServer::on_every_variant(|redis| async move { takeover_rules_are_refused(redis).await }).await;
}

async fn takeover_rules_are_refused(redis: RedisServer) {
    let case = setup(&redis, "admin", &unique("rd-plain"), &[], ADMIN).await;
    let masterarn = case.secret("AWSCURRENT").await["masterarn"].clone();
    let since_7 = redis.variant != Variant::Redis62;
    for (rules, right, _) in TAKEOVER_RULES.iter().filter(|(_, _, only_7)| since_7 || !only_7) {
        let user = unique("rd-taker");
        let password = uuid::Uuid::new_v4().to_string();
        let hash = rotation_redis::password_hash(&password);
        let mut create = vec!["ACL", "SETUSER", user.as_str(), "on", hash.as_str(), "resetchannels", "~app:*", "+ping"];
        create.extend(rules.iter().copied());
        redis.run(&create).await;
        let secret = json!({"engine": "redis", "host": "127.0.0.1", "port": redis.tls_port, "username": user, "password": password, "masterarn": masterarn});
        let arn = case.h.create_secret(&unique("rd-taker"), &secret.to_string()).await;
        let before = hashes(&redis, &user).await;
        case.h.rotate(&arn, "rotate-redis").await;
        let record = case.h.wait_rotation(&arn).await;
        let granting = rules.last().unwrap().trim_end_matches(" ~*)").trim_start_matches('(');
        assert_refused(&record, &[user.as_str(), right, granting, "single-user secret", "ALLOW_PRIVILEGED_USERS"]);
        assert_eq!(record["error_type"], "ConfusedDeputy", "{rules:?}: {record}");
        assert_eq!(hashes(&redis, &user).await, before, "{rules:?}: the user's passwords are unchanged");
        assert!(redis.login(&user, &password).await.is_ok(), "{rules:?}: AWSCURRENT still logs in");
        let current: Value = serde_json::from_str(&case.h.value(&arn, "AWSCURRENT").await).unwrap();
        assert_eq!(current, secret, "{rules:?}: AWSCURRENT is unchanged");
    }

    // The rights are real: a `+@slow` user changes users.
    let user = unique("rd-slow");
    redis.run(&["ACL", "SETUSER", &user, "on", ">not-a-secret-0123456789", "resetchannels", "+@slow"]).await;
    let mut session = redis.login(&user, "not-a-secret-0123456789").await.unwrap();
    let set: redis::RedisResult<()> =
        redis::cmd("ACL").arg("SETUSER").arg(&user).arg("+@all").query_async(&mut session).await;
    assert!(set.is_ok(), "a +@slow user runs ACL SETUSER: {set:?}");

    // Alternating users: the active user, or the other one, holding such a right is refused too.
    let user = unique("rd-alt-slow");
    let case = setup(&redis, "alternating-users", &user, &["+@slow"], ADMIN).await;
    let current = case.secret("AWSCURRENT").await;
    assert_refused(&case.rotate().await, &[user.as_str(), "ACL SETUSER", "+@slow", "ALLOW_PRIVILEGED_USERS"]);
    assert!(case.logs_in(&current).await, "AWSCURRENT still logs in");
    let users = format!("{:?}", redis.run(&["ACL", "USERS"]).await);
    assert!(!users.contains(&format!("{user}_clone")), "no clone was made");

    let user = unique("rd-alt-other");
    let case = setup(&redis, "alternating-users", &user, &[], ADMIN).await;
    let current = case.secret("AWSCURRENT").await;
    let clone = format!("{user}_clone");
    redis.run(&["ACL", "SETUSER", &clone, "on", ">not-a-secret-0123456789", "resetchannels", "+config|set"]).await;
    assert_refused(&case.rotate().await, &[clone.as_str(), "CONFIG SET", "ALLOW_PRIVILEGED_USERS"]);
    assert!(redis.login(&clone, "not-a-secret-0123456789").await.is_ok(), "the other user's password is unchanged");
    assert!(case.logs_in(&current).await, "AWSCURRENT still logs in");
}

#[tokio::test]
async fn the_admin_never_installs_a_current_password_the_user_does_not_hold() {
    RedisServer::on_every_variant(|redis| async move { a_made_up_current_password_is_not_installed(redis).await })
        .await;
}

async fn a_made_up_current_password_is_not_installed(redis: RedisServer) {
    let user = unique("rd-victim");
    let case = setup(&redis, "admin", &user, &[], ADMIN).await;
    let real = case.secret("AWSCURRENT").await;
    // A writer of the secret puts a password of its choosing in AWSCURRENT. The real one becomes AWSPREVIOUS, which
    // still proves the secret holds the user's credential, so the rotation itself goes ahead.
    let chosen = format!("chosen-by-the-writer-{}", uuid::Uuid::new_v4().simple());
    let mut planted = real.clone();
    planted["password"] = json!(chosen);
    case.h.client.put_secret_value().secret_id(&case.arn).secret_string(planted.to_string()).send().await.unwrap();
    assert!(!case.logs_in(&planted).await, "the writer's password is not the user's");

    let record = case.rotate().await;
    assert_eq!(record["state"], "succeeded", "{record}\n{}", case.h.all_logs());
    let current = case.secret("AWSCURRENT").await;
    assert!(case.logs_in(&current).await, "AWSCURRENT logs in");
    assert!(!case.logs_in(&planted).await, "AUTH with the writer's chosen password is refused");
    let new_hash = rotation_redis::password_hash(current["password"].as_str().unwrap());
    assert_eq!(hashes(&redis, &user).await, [&new_hash[1..]], "the user holds the new password alone");
    let logs = case.h.all_logs();
    assert!(logs.contains("AWSCURRENT's password is not one of the user's passwords"), "it is said, without a value");
    let mut values: Vec<String> =
        [&real, &planted, &current].iter().map(|s| s["password"].as_str().unwrap().to_owned()).collect();
    values.extend(values.clone().iter().map(|v| rotation_redis::password_hash(v)[1..].to_owned()));
    case.h.assert_no_leaks(&values);

    // The next rotation keeps AWSCURRENT beside the new one again: it is the user's.
    assert_eq!(case.rotate().await["state"], "succeeded");
    assert!(case.logs_in(&current).await, "the previous AWSCURRENT still logs in");
    assert!(case.logs_in(&case.secret("AWSCURRENT").await).await);
}

#[tokio::test]
async fn alternating_users_never_turn_on_a_user_an_operator_turned_off() {
    RedisServer::on_every_variant(|redis| async move { a_user_turned_off_stays_off(redis).await }).await;
}

async fn a_user_turned_off_stays_off(redis: RedisServer) {
    for turned_off in ["the active user", "the other user"] {
        let user = unique("rd-off");
        let clone = format!("{user}_clone");
        let case = setup(&redis, "alternating-users", &user, &[], ADMIN).await;
        // After one rotation the clone is active (AWSCURRENT) and the user the other one (AWSPREVIOUS). Only the
        // base user proves the pair, and it cannot log in while off: an administrator's tag binds the pair, so the
        // refusal tested is the one of users turned off.
        assert_eq!(case.rotate().await["state"], "succeeded");
        crate::identity::bind(&case.h, &case.arn, &crate::identity::on_server(&user, redis.tls_port)).await;
        let current = case.secret("AWSCURRENT").await;
        let previous = case.secret("AWSPREVIOUS").await;
        assert_eq!(current["username"], clone.as_str());
        let (off, on, on_secret) =
            if turned_off == "the active user" { (&clone, &user, &previous) } else { (&user, &clone, &current) };
        redis.run(&["ACL", "SETUSER", off, "off"]).await;
        let before = (hashes(&redis, &user).await, hashes(&redis, &clone).await);

        let record = case.rotate().await;
        assert_refused(&record, &[off.as_str(), "is off", "does not re-enable", "turn it on", "rotation off"]);
        assert!(is_off(&redis, off).await, "{turned_off}: still off");
        assert!(!is_off(&redis, on).await, "{turned_off}: the other still on");
        assert_eq!((hashes(&redis, &user).await, hashes(&redis, &clone).await), before, "no password changed");
        assert_eq!(case.secret("AWSCURRENT").await, current, "AWSCURRENT is unchanged");
        assert!(case.logs_in(on_secret).await, "{turned_off}: the user that is on still logs in");
    }
}

/// A Redis server of one test's own (the machine's `redis-server`, as the shared one, with extra flags): its own
/// directory under `target/`, stopped and removed when dropped.
pub struct OwnServer {
    /// The server.
    pub server: RedisServer,
    process: Child,
}

impl OwnServer {
    /// Starts one with `flags` besides the shared server's bind, persistence and TLS flags.
    pub fn start(flags: &[&str]) -> Self {
        let dir: PathBuf = bin_dir().parent().unwrap().join(unique("rotor-redis-own"));
        let mut all = vec!["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--tls-auth-clients", "no"];
        all.extend(flags);
        let (process, port, tls_port, root_password) =
            spawn_in(std::path::Path::new("redis-server"), &dir, &all, "the test's own redis-server");
        let server =
            RedisServer { variant: Variant::Redis7, version: String::new(), dir, tls_port, port, root_password };
        Self { server, process }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        self.process.kill().ok();
        self.process.wait().ok();
        fs::remove_dir_all(&self.server.dir).ok();
    }
}

#[tokio::test]
async fn the_clone_gets_the_active_users_channels_where_new_users_get_every_channel() {
    let own = OwnServer::start(&["--acl-pubsub-default", "allchannels"]);
    let redis = &own.server;
    // On this server `ACL SETUSER <new user> reset` gives every channel, after which a channel pattern is refused.
    let probe = unique("rd-probe");
    redis.run(&["ACL", "SETUSER", &probe, "reset"]).await;
    let value = redis.run(&["ACL", "GETUSER", &probe]).await;
    assert_eq!(rotation_redis::Rules::from_getuser(&value).unwrap().channels, ["&*"], "the server's default");

    let user = unique("rd-chan");
    let clone = format!("{user}_clone");
    let case: Case = setup(redis, "alternating-users", &user, &[], ADMIN).await;
    for (round, active) in [(1, &clone), (2, &user)] {
        let record = case.rotate().await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}\n{}", case.h.all_logs());
        let current = case.secret("AWSCURRENT").await;
        assert_eq!(current["username"], active.as_str());
        assert!(case.logs_in(&current).await, "round {round}: AWSCURRENT logs in");
        let (rules, clone_rules) = (case.rules(&user).await, case.rules(&clone).await);
        assert_eq!(clone_rules.channels, ["&events:*"], "round {round}: the active user's channels only");
        assert_eq!(
            (&clone_rules.channels, &clone_rules.keys, &clone_rules.commands),
            (&rules.channels, &rules.keys, &rules.commands),
            "round {round}: the same rules"
        );
    }
    // `reset` adds `sanitize-payload`, which the user made without it lacked until its first sync: now all is alike.
    assert_eq!(case.rules(&clone).await, case.rules(&user).await, "the same rules");
}
