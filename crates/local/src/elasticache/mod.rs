//! The few ElastiCache calls a user rotation makes (`CreateUser`, `DescribeUsers`, `ModifyUser`,
//! `CreateUserGroup`, `DescribeUserGroups`, `DescribeReplicationGroups`), in the service's Query protocol (a form
//! body, XML answers), over one real Redis server that plays the cache.
//!
//! As the service does, `ModifyUser` answers at once with the user `modifying`, applies the new passwords to the
//! cache a moment later (`--elasticache-modify-ms`), and only then makes the user `active` again; a user that is
//! not `active` refuses another `ModifyUser` (`InvalidUserState`). Passwords reach the Redis server only in the
//! ACL's SHA-256 form, and are never kept in the state. Every user group is a member of the one replication
//! group, whose endpoint is the Redis server's TLS address.

mod cache;
mod query;
mod replication_groups;
mod user_groups;
mod users;

pub use cache::CacheConfig;

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use self::cache::Apply;
use self::query::{Fault, NAMESPACE, Request};
use self::replication_groups::describe_replication_groups;
use self::user_groups::{create_user_group, describe_user_groups};
use self::users::{activate, create_user, describe_users, modify_user};
use crate::clock::Clock;
use crate::identity::Identity;
use crate::state::CacheState;
use crate::store::Store;

/// An ElastiCache call (the Query protocol): answered from the state, its change applied to the cache now (a
/// created user, undone if the cache refuses it) or after the modify delay (a modified user, then `active`).
/// `config` is `None` when the endpoint was started without a cache: every call is refused.
pub async fn dispatch(
    store: &Arc<Store>,
    clock: &Clock,
    identity: &Identity,
    config: Option<&CacheConfig>,
    body: &[u8],
) -> Response {
    let request = Request::parse(body);
    let result = match config {
        None => Err(Fault::not_configured()),
        Some(config) => store
            .write(|state| Ok(call(&mut state.cache, identity, config, &request)))
            .unwrap_or_else(|error| Err(Fault::internal(error.message))),
    };
    let result = match (result, config) {
        (Ok((xml, Apply::Now(args))), Some(config)) => match cache::apply(config, &args).await {
            Ok(()) => Ok(xml),
            Err(error) => {
                let id = request.subject().unwrap_or_default().to_owned();
                let _ = store.write(|state| Ok(state.cache.users.remove(&id)));
                Err(Fault::internal(format!("the cache refused the user: {error}")))
            }
        },
        (Ok((xml, Apply::Later { user_id, args })), Some(config)) => {
            let (store, config) = (Arc::clone(store), config.clone());
            tokio::spawn(async move {
                tokio::time::sleep(config.modify_delay).await;
                if let Err(error) = cache::apply(&config, &args).await {
                    tracing::error!(user = %user_id, %error, "the cache refused a modified user");
                }
                let _ = store.write(|state| {
                    activate(&mut state.cache, &user_id);
                    Ok(())
                });
            });
            Ok(xml)
        }
        (Ok((xml, _)), _) => Ok(xml),
        (Err(fault), _) => Err(fault),
    };
    let outcome = result.as_ref().map_or_else(|fault| fault.code, |_| "ok");
    store.audit(clock.now(), request.action(), request.subject(), outcome);
    let (status, xml) = match result {
        Ok(xml) => (StatusCode::OK, xml),
        Err(fault) => (StatusCode::from_u16(fault.status).unwrap_or(StatusCode::BAD_REQUEST), fault.to_xml()),
    };
    let mut response = (status, xml).into_response();
    response.headers_mut().insert("content-type", HeaderValue::from_static("text/xml"));
    response
}

/// Runs one call on the state, by its `Action`: the XML answer, and what to apply to the cache.
fn call(
    state: &mut CacheState,
    identity: &Identity,
    config: &CacheConfig,
    request: &Request,
) -> Result<(String, Apply), Fault> {
    let action = request.action();
    let (result, apply) = match action {
        "CreateUser" => create_user(state, identity, request)?,
        "DescribeUsers" => (describe_users(state, identity, request)?, Apply::Nothing),
        "ModifyUser" => modify_user(state, identity, request)?,
        "CreateUserGroup" => create_user_group(state, identity, request)?,
        "DescribeUserGroups" => (describe_user_groups(state, identity, request)?, Apply::Nothing),
        "DescribeReplicationGroups" => (describe_replication_groups(state, identity, config, request)?, Apply::Nothing),
        other => {
            return Err(Fault::new(
                "InvalidAction",
                400,
                format!("The action {other} is not valid for this endpoint."),
            ));
        }
    };
    let xml = format!(
        "<{action}Response xmlns=\"{NAMESPACE}\"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        uuid::Uuid::new_v4()
    );
    Ok((xml, apply))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::users::password_hash;
    use super::*;

    fn identity() -> Identity {
        Identity { region: "us-east-1".into(), account: "123456789012".into() }
    }

    fn config() -> CacheConfig {
        CacheConfig {
            admin_url: "redis://127.0.0.1:1".into(),
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
        let (_, apply) = call(&mut state, &identity, &config, &create).unwrap();
        let Apply::Now(args) = apply else { panic!("a created user applies now") };
        assert_eq!(args[..5], ["app user", "reset", "on", "~app:*", "+@read"]);
        assert_eq!(args[5], password_hash("first-password-0123"));

        let modify = request(&[
            ("Action", "ModifyUser"),
            ("UserId", "app-id"),
            ("Passwords.member.1", "second-password-0123"),
            ("Passwords.member.2", "first-password-0123"),
        ]);
        let (xml, apply) = call(&mut state, &identity, &config, &modify).unwrap();
        assert!(
            xml.contains("<Status>modifying</Status>") && xml.contains("<PasswordCount>2</PasswordCount>"),
            "{xml}"
        );
        assert!(matches!(apply, Apply::Later { ref user_id, .. } if user_id == "app-id"));
        let busy = call(&mut state, &identity, &config, &modify).unwrap_err();
        assert_eq!(busy.code, "InvalidUserState");
        activate(&mut state, "app-id");
        assert!(call(&mut state, &identity, &config, &modify).is_ok());
        let kept = serde_json::to_string(&state).unwrap();
        assert!(!kept.contains("password-0123") && !kept.contains(&password_hash("second-password-0123")[1..]));
    }

    #[test]
    fn the_services_rules_and_faults_are_kept() {
        let mut state = CacheState::default();
        let (identity, config) = (identity(), config());
        let missing = request(&[("Action", "DescribeUsers"), ("UserId", "nobody")]);
        let fault = call(&mut state, &identity, &config, &missing).unwrap_err();
        assert_eq!((fault.code, fault.status), ("UserNotFound", 404));
        assert!(fault.to_xml().contains("<Code>UserNotFound</Code>"));
        for bad in ["short", "has/a/slash-0123456", "has@an-at-0123456789", "has a space 0123456"] {
            let create = request(&[
                ("Action", "CreateUser"),
                ("UserId", "u"),
                ("UserName", "u"),
                ("AccessString", "on"),
                ("Passwords.member.1", bad),
            ]);
            assert_eq!(call(&mut state, &identity, &config, &create).unwrap_err().code, "InvalidParameterValue");
        }
        let groups = request(&[("Action", "DescribeReplicationGroups")]);
        let (xml, _) = call(&mut state, &identity, &config, &groups).unwrap();
        assert!(xml.contains("<PrimaryEndpoint><Address>127.0.0.1</Address><Port>6380</Port>"), "{xml}");
        assert!(xml.starts_with("<DescribeReplicationGroupsResponse"), "{xml}");
        // The service's own member names, which the SDKs parse by.
        assert!(xml.contains("<ReplicationGroups><ReplicationGroup>") && xml.contains("<NodeGroups><NodeGroup>"));
    }
}
