//! The few ElastiCache calls a user rotation makes (`CreateUser`, `DescribeUsers`, `ModifyUser`,
//! `CreateUserGroup`, `DescribeUserGroups`, `DescribeReplicationGroups`) and an AUTH token rotation makes
//! (`CreateReplicationGroup` to declare the group, `DescribeReplicationGroups`, `ModifyReplicationGroup` with
//! `AuthTokenUpdateStrategy` `ROTATE` then `SET`), in the service's Query protocol (a form body, XML answers), over
//! one real Redis server that plays the cache.
//!
//! As the service does, `ModifyUser` answers at once with the user `modifying`, applies the new passwords to the
//! cache a moment later (`--elasticache-modify-ms`), and only then makes the user `active` again; a user that is
//! not `active` refuses another `ModifyUser` (`InvalidUserState`). `ModifyReplicationGroup` does the same with a
//! group's AUTH tokens (the passwords of the server's `default` user): `modifying`, then `available`, refusing
//! another change meanwhile (`InvalidReplicationGroupState`). Passwords and tokens reach the Redis server only in
//! the ACL's SHA-256 form; a user's passwords are never kept in the state, a group's tokens only in that form.
//! Every user group is a member of `rotor-local`; every group's endpoint is the Redis server's TLS address.

mod auth_tokens;
mod cache;
mod query;
mod replication_groups;
mod user_groups;
mod users;

pub use cache::CacheConfig;

use std::sync::Arc;

use axum::response::Response;
use chrono::{DateTime, Utc};

use self::cache::{Apply, Subject};
use self::query::ELASTICACHE;
use self::replication_groups::{
    create_replication_group, describe_replication_groups, make_available, modify_replication_group,
};
use self::user_groups::{create_user_group, describe_user_groups};
use self::users::{activate, create_user, describe_users, modify_user};
use crate::clock::Clock;
use crate::identity::Identity;
use crate::query::{Fault, Request};
use crate::state::CacheState;
use crate::store::Store;

/// An ElastiCache call (the Query protocol): answered from the state, its change applied to the cache now (a
/// created user or group, undone if the cache refuses it) or after the modify delay (a modified user or group, then
/// ready again). `config` is `None` when the endpoint was started without a cache: every call is refused.
pub async fn dispatch(
    store: &Arc<Store>,
    clock: &Clock,
    identity: &Identity,
    config: Option<&CacheConfig>,
    body: &[u8],
) -> Response {
    let request = Request::parse(body);
    let result = match config {
        None => Err(ELASTICACHE.not_configured()),
        Some(config) => store
            .write(|state| Ok(call(&mut state.cache, identity, config, &request, clock.now())))
            .unwrap_or_else(|error| Err(Fault::internal(error.message))),
    };
    let result = match (result, config) {
        (Ok((xml, Apply::Now { created, args })), Some(config)) => match cache::apply(config, &args).await {
            Ok(()) => Ok(xml),
            Err(error) => {
                let _ = store.write(|state| {
                    undo(&mut state.cache, &created);
                    Ok(())
                });
                Err(Fault::internal(format!("the cache refused the {created}: {error}")))
            }
        },
        (Ok((xml, Apply::Later { subject, args })), Some(config)) => {
            let (store, config, clock) = (Arc::clone(store), config.clone(), clock.clone());
            tokio::spawn(async move {
                tokio::time::sleep(config.modify_delay).await;
                if let Err(error) = cache::apply(&config, &args).await {
                    tracing::error!(%subject, %error, "the cache refused a modification");
                }
                let _ = store.write(|state| {
                    ready(&mut state.cache, &subject, clock.now());
                    Ok(())
                });
            });
            Ok(xml)
        }
        (Ok((xml, _)), _) => Ok(xml),
        (Err(fault), _) => Err(fault),
    };
    ELASTICACHE.respond(store, clock.now(), &request, result)
}

/// Removes what a call created, when the cache refused it.
fn undo(state: &mut CacheState, created: &Subject) {
    match created {
        Subject::User(id) => {
            state.users.remove(id);
        }
        Subject::ReplicationGroup(id) => {
            state.replication_groups.remove(id);
        }
    }
}

/// Makes what a call modified ready again once its change applied, at `now`.
fn ready(state: &mut CacheState, subject: &Subject, now: DateTime<Utc>) {
    match subject {
        Subject::User(id) => activate(state, id),
        Subject::ReplicationGroup(id) => make_available(state, id, now),
    }
}

/// Runs one call on the state at `now`, by its `Action`: the XML answer, and what to apply to the cache.
fn call(
    state: &mut CacheState,
    identity: &Identity,
    config: &CacheConfig,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<(String, Apply), Fault> {
    let action = request.action();
    let (result, apply) = match action {
        "CreateUser" => create_user(state, identity, config, request)?,
        "DescribeUsers" => (describe_users(state, identity, request)?, Apply::Nothing),
        "ModifyUser" => modify_user(state, identity, request)?,
        "CreateUserGroup" => create_user_group(state, identity, request)?,
        "DescribeUserGroups" => (describe_user_groups(state, identity, request)?, Apply::Nothing),
        "CreateReplicationGroup" => create_replication_group(state, identity, config, request, now)?,
        "DescribeReplicationGroups" => (describe_replication_groups(state, identity, config, request)?, Apply::Nothing),
        "ModifyReplicationGroup" => modify_replication_group(state, identity, config, request)?,
        other => return Err(Fault::invalid_action(other)),
    };
    Ok((ELASTICACHE.answer(action, &result), apply))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::cache::password_hash;
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn identity() -> Identity {
        Identity { region: "us-east-1".into(), account: "123456789012".into() }
    }

    fn config() -> CacheConfig {
        CacheConfig {
            admin_url: "redis://rotor_admin@127.0.0.1:1".into(),
            endpoint: ("127.0.0.1".into(), 6380),
            modify_delay: Duration::ZERO,
        }
    }

    fn request(pairs: &[(&str, &str)]) -> Request {
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs.iter().copied()).finish();
        Request::parse(body.as_bytes())
    }

    #[test]
    fn a_modified_user_is_busy_until_its_passwords_apply_and_never_keeps_them() {
        let mut state = CacheState::default();
        let (identity, config) = (identity(), config());
        let create = request(&[
            ("Action", "CreateUser"),
            ("UserId", "app-id"),
            ("UserName", "app user"),
            ("Engine", "redis"),
            ("AccessString", "on ~app:* +@read"),
            ("Passwords.member.1", "first-password-0123"),
        ]);
        let (_, apply) = call(&mut state, &identity, &config, &create, now()).unwrap();
        let Apply::Now { args, .. } = apply else { panic!("a created user applies now") };
        assert_eq!(args[..5], ["app user", "reset", "on", "~app:*", "+@read"]);
        assert_eq!(args[5], password_hash("first-password-0123"));

        let modify = request(&[
            ("Action", "ModifyUser"),
            ("UserId", "app-id"),
            ("Passwords.member.1", "second-password-0123"),
            ("Passwords.member.2", "first-password-0123"),
        ]);
        let (xml, apply) = call(&mut state, &identity, &config, &modify, now()).unwrap();
        assert!(
            xml.contains("<Status>modifying</Status>") && xml.contains("<PasswordCount>2</PasswordCount>"),
            "{xml}"
        );
        assert!(matches!(apply, Apply::Later { subject: Subject::User(ref id), .. } if id == "app-id"));
        let busy = call(&mut state, &identity, &config, &modify, now()).unwrap_err();
        assert_eq!(busy.code, "InvalidUserState");
        activate(&mut state, "app-id");
        assert!(call(&mut state, &identity, &config, &modify, now()).is_ok());
        let kept = serde_json::to_string(&state).unwrap();
        assert!(!kept.contains("password-0123") && !kept.contains(&password_hash("second-password-0123")[1..]));
    }

    #[test]
    fn the_services_rules_and_faults_are_kept() {
        let mut state = CacheState::default();
        let (identity, config) = (identity(), config());
        let missing = request(&[("Action", "DescribeUsers"), ("UserId", "nobody")]);
        let fault = call(&mut state, &identity, &config, &missing, now()).unwrap_err();
        assert_eq!((fault.code, fault.status), ("UserNotFound", 404));
        assert!(fault.to_xml(ELASTICACHE.namespace).contains("<Code>UserNotFound</Code>"));
        for bad in ["short", "has/a/slash-0123456", "has@an-at-0123456789", "has a space 0123456"] {
            let create = request(&[
                ("Action", "CreateUser"),
                ("UserId", "u"),
                ("UserName", "u"),
                ("AccessString", "on"),
                ("Passwords.member.1", bad),
            ]);
            assert_eq!(call(&mut state, &identity, &config, &create, now()).unwrap_err().code, "InvalidParameterValue");
        }
        let groups = request(&[("Action", "DescribeReplicationGroups")]);
        let (xml, _) = call(&mut state, &identity, &config, &groups, now()).unwrap();
        assert!(xml.contains("<PrimaryEndpoint><Address>127.0.0.1</Address><Port>6380</Port>"), "{xml}");
        assert!(xml.starts_with("<DescribeReplicationGroupsResponse"), "{xml}");
        // The service's own member names, which the SDKs parse by.
        assert!(xml.contains("<ReplicationGroups><ReplicationGroup>") && xml.contains("<NodeGroups><NodeGroup>"));
    }

    const FIRST: &str = "first-token-0123456789";
    const SECOND: &str = "second-token-0123456789";

    fn create_pairs<'a>(id: &'a str, token: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("Action", "CreateReplicationGroup"),
            ("ReplicationGroupId", id),
            ("ReplicationGroupDescription", "an AUTH token group"),
            ("TransitEncryptionEnabled", "true"),
            ("AuthToken", token),
        ]
    }

    fn modify_pairs<'a>(id: &'a str, token: &'a str, strategy: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("Action", "ModifyReplicationGroup"),
            ("ReplicationGroupId", id),
            ("AuthToken", token),
            ("AuthTokenUpdateStrategy", strategy),
            ("ApplyImmediately", "true"),
        ]
    }

    fn create_group(id: &str, token: &str) -> Request {
        request(&create_pairs(id, token))
    }

    fn modify_group(id: &str, token: &str, strategy: &str) -> Request {
        request(&modify_pairs(id, token, strategy))
    }

    /// `pairs` without the parameters `names`.
    fn without(mut pairs: Vec<(&str, &str)>, names: &[&str]) -> Request {
        pairs.retain(|(name, _)| !names.contains(name));
        request(&pairs)
    }

    #[test]
    fn an_auth_token_group_rotates_then_sets_and_is_busy_meanwhile() {
        let mut state = CacheState::default();
        let (identity, config) = (identity(), config());
        let (xml, apply) = call(&mut state, &identity, &config, &create_group("App-Cache", FIRST), now()).unwrap();
        assert!(xml.contains("<ReplicationGroupId>app-cache</ReplicationGroupId>"), "stored in lower case: {xml}");
        assert!(
            xml.contains("<Status>available</Status>") && xml.contains("<AuthTokenEnabled>true</AuthTokenEnabled>")
        );
        let Apply::Now { created, args } = apply else { panic!("a created group applies now") };
        assert_eq!(created, Subject::ReplicationGroup("app-cache".into()));
        assert_eq!(args[..4], ["default", "reset", "on", &password_hash(FIRST)]);

        let describe = request(&[("Action", "DescribeReplicationGroups"), ("ReplicationGroupId", "app-cache")]);
        let (xml, _) = call(&mut state, &identity, &config, &describe, now()).unwrap();
        assert!(xml.contains("<AuthTokenLastModifiedDate>2026-01-01T00:00:00.000Z</AuthTokenLastModifiedDate>"));
        assert!(xml.contains("<PrimaryEndpoint><Address>127.0.0.1</Address><Port>6380</Port>"), "{xml}");
        assert!(xml.contains("<TransitEncryptionEnabled>true</TransitEncryptionEnabled>"), "{xml}");

        // ROTATE: both tokens work once applied, and the group refuses another change until then.
        let (xml, apply) =
            call(&mut state, &identity, &config, &modify_group("app-cache", SECOND, "ROTATE"), now()).unwrap();
        assert!(xml.contains("<Status>modifying</Status>"), "{xml}");
        assert!(xml.contains("<PendingModifiedValues><AuthTokenStatus>ROTATING</AuthTokenStatus>"), "{xml}");
        let Apply::Later { subject, args } = apply else { panic!("a modified group applies later") };
        assert_eq!(args, ["default", "on", "resetpass", &password_hash(FIRST), &password_hash(SECOND)]);
        let busy = call(&mut state, &identity, &config, &modify_group("app-cache", SECOND, "SET"), now()).unwrap_err();
        assert_eq!((busy.code, busy.status), ("InvalidReplicationGroupState", 400));

        let later = now() + chrono::Duration::minutes(1);
        ready(&mut state, &subject, later);
        let (xml, _) = call(&mut state, &identity, &config, &describe, now()).unwrap();
        assert!(xml.contains("<Status>available</Status><PendingModifiedValues></PendingModifiedValues>"), "{xml}");
        assert!(xml.contains("<AuthTokenLastModifiedDate>2026-01-01T00:01:00.000Z</AuthTokenLastModifiedDate>"));

        // SET keeps only the token the ROTATE added.
        let wrong = call(&mut state, &identity, &config, &modify_group("app-cache", FIRST, "SET"), now()).unwrap_err();
        assert_eq!(wrong.code, "InvalidParameterValue");
        let (xml, apply) =
            call(&mut state, &identity, &config, &modify_group("app-cache", SECOND, "SET"), now()).unwrap();
        assert!(xml.contains("<AuthTokenStatus>SETTING</AuthTokenStatus>"), "{xml}");
        let Apply::Later { subject, args } = apply else { panic!("a modified group applies later") };
        assert_eq!(args, ["default", "on", "resetpass", &password_hash(SECOND)]);
        ready(&mut state, &subject, later);
        let again = call(&mut state, &identity, &config, &modify_group("app-cache", SECOND, "SET"), now()).unwrap_err();
        assert_eq!(again.code, "InvalidParameterValue", "SET only follows ROTATE");

        let kept = serde_json::to_string(&state).unwrap();
        assert!(!kept.contains("token-0123456789"), "{kept}");
        assert!(!format!("{:?}", modify_group("app-cache", SECOND, "SET")).contains(SECOND));
    }

    #[test]
    fn auth_token_calls_keep_the_services_rules() {
        let mut state = CacheState::default();
        let (identity, config) = (identity(), config());
        let mut run = |request: &Request| call(&mut state, &identity, &config, request, now()).map(|(xml, _)| xml);
        let code = |result: Result<String, Fault>| result.unwrap_err().code;

        let plain = without(create_pairs("plain", FIRST), &["TransitEncryptionEnabled"]);
        assert_eq!(code(run(&plain)), "InvalidParameterCombination");
        let tokenless = without(create_pairs("tokenless", FIRST), &["AuthToken"]);
        assert_eq!(code(run(&tokenless)), "InvalidParameterCombination");
        for id in ["1starts-with-a-digit", "ends-with-", "two--hyphens", "has_underscore", &"a".repeat(41)] {
            assert_eq!(code(run(&create_group(id, FIRST))), "InvalidParameterValue", "{id}");
        }
        let bad_token = run(&create_group("g", "has/a/slash-0123456")).unwrap_err();
        assert_eq!(bad_token.code, "InvalidParameterValue");
        assert!(!bad_token.message.contains("slash"), "{}", bad_token.message);
        assert_eq!(code(run(&create_group("rotor-local", FIRST))), "ReplicationGroupAlreadyExists");
        run(&create_group("g", FIRST)).unwrap();
        assert_eq!(code(run(&create_group("g", FIRST))), "ReplicationGroupAlreadyExists");
        assert_eq!(code(run(&create_group("other", FIRST))), "ClusterQuotaForCustomerExceeded", "one default user");

        let missing = run(&modify_group("nobody", SECOND, "ROTATE")).unwrap_err();
        assert_eq!((missing.code, missing.status), ("ReplicationGroupNotFoundFault", 404));
        assert_eq!(code(run(&modify_group("rotor-local", SECOND, "ROTATE"))), "InvalidParameterCombination");
        assert_eq!(code(run(&modify_group("g", SECOND, "rotate"))), "InvalidParameterValue");
        assert_eq!(code(run(&modify_group("g", SECOND, "DELETE"))), "InvalidParameterCombination");
        assert_eq!(code(run(&modify_group("g", "short-token", "ROTATE"))), "InvalidParameterValue");
        let later = without(modify_pairs("g", SECOND, "ROTATE"), &["ApplyImmediately"]);
        assert_eq!(code(run(&later)), "InvalidParameterCombination");
        let mut more = modify_pairs("g", SECOND, "ROTATE");
        more.push(("CacheNodeType", "cache.t4g.micro"));
        assert_eq!(code(run(&request(&more))), "InvalidParameterValue");
        let delete = without(modify_pairs("g", SECOND, "DELETE"), &["AuthToken"]);
        assert_eq!(code(run(&delete)), "InvalidParameterCombination");
        let strategy_only = without(modify_pairs("g", SECOND, "ROTATE"), &["AuthToken"]);
        assert_eq!(code(run(&strategy_only)), "InvalidParameterCombination");
        let nothing = without(modify_pairs("g", SECOND, "ROTATE"), &["AuthToken", "AuthTokenUpdateStrategy"]);
        assert_eq!(code(run(&nothing)), "InvalidParameterCombination");
        // Without a strategy, the service rotates.
        let default = without(modify_pairs("g", SECOND, "ROTATE"), &["AuthTokenUpdateStrategy"]);
        assert!(run(&default).unwrap().contains("<AuthTokenStatus>ROTATING</AuthTokenStatus>"));

        let all = run(&request(&[("Action", "DescribeReplicationGroups")])).unwrap();
        assert!(all.contains("<ReplicationGroupId>rotor-local</ReplicationGroupId>"), "{all}");
        assert!(all.contains("<ReplicationGroupId>g</ReplicationGroupId>"), "{all}");
        let unknown = run(&request(&[("Action", "DescribeReplicationGroups"), ("ReplicationGroupId", "nobody")]));
        assert_eq!(code(unknown), "ReplicationGroupNotFoundFault");

        undo(&mut state, &Subject::ReplicationGroup("g".into()));
        assert!(state.replication_groups.is_empty(), "a group the cache refused is gone");
    }

    #[test]
    fn nothing_the_endpoint_creates_replaces_its_own_administrative_user() {
        let (identity, config) = (identity(), config());
        assert_eq!(config.admin_user(), "rotor_admin");
        let mut state = CacheState::default();
        let admin = request(&[
            ("Action", "CreateUser"),
            ("UserId", "admin-id"),
            ("UserName", "rotor_admin"),
            ("Engine", "redis"),
            ("AccessString", "on ~* +@all"),
            ("Passwords.member.1", "attacker-password-0123"),
        ]);
        let fault = call(&mut state, &identity, &config, &admin, now()).unwrap_err();
        assert!(fault.message.contains("administrative user"), "{}", fault.message);
        assert!(state.users.is_empty(), "nothing was created");

        let as_default = CacheConfig { admin_url: "redis://:pw@127.0.0.1:1".into(), ..config.clone() };
        assert_eq!(as_default.admin_user(), "default");
        let group = request(&[
            ("Action", "CreateReplicationGroup"),
            ("ReplicationGroupId", "tokens"),
            ("ReplicationGroupDescription", "t"),
            ("TransitEncryptionEnabled", "true"),
            ("AuthToken", "a-valid-token-0123456789"),
        ]);
        let fault = call(&mut state, &identity, &as_default, &group, now()).unwrap_err();
        assert!(fault.message.contains("administers its Redis server as the default user"), "{}", fault.message);
        assert!(state.replication_groups.is_empty(), "nothing was created");
        assert!(call(&mut state, &identity, &config, &group, now()).is_ok(), "with an admin user of its own it is");
    }
}
