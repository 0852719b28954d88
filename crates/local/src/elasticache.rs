//! The few ElastiCache calls a user rotation makes (`CreateUser`, `DescribeUsers`, `ModifyUser`,
//! `CreateUserGroup`, `DescribeUserGroups`, `DescribeReplicationGroups`), in the service's Query protocol (a form
//! body, XML answers), over one real Redis server that plays the cache.
//!
//! As the service does, `ModifyUser` answers at once with the user `modifying`, applies the new passwords to the
//! cache a moment later (`--elasticache-modify-ms`), and only then makes the user `active` again; a user that is
//! not `active` refuses another `ModifyUser` (`InvalidUserState`). Passwords reach the Redis server only in the
//! ACL's SHA-256 form, and are never kept in the state. Every user group is a member of the one replication
//! group, whose endpoint is the Redis server's TLS address.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::operations::Identity;

/// The cache the ElastiCache calls manage.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// The Redis server's administrative URL (`redis://user:password@127.0.0.1:port`, plaintext, loopback): where
    /// users are applied.
    pub admin_url: String,
    /// The address clients reach the cache at (the server's TLS port), as `DescribeReplicationGroups` answers it.
    pub endpoint: (String, u16),
    /// How long a modified user stays `modifying` before its passwords apply.
    pub modify_delay: Duration,
}

/// The replication group's id.
pub const REPLICATION_GROUP: &str = "rotor-local";

/// The ElastiCache part of the endpoint's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CacheState {
    /// Users by id.
    pub users: BTreeMap<String, CacheUser>,
    /// User groups by id: the ids of their users.
    pub user_groups: BTreeMap<String, Vec<String>>,
}

/// One user, without its passwords.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheUser {
    /// `UserName`: the ACL user's name on the cache.
    pub name: String,
    /// `AccessString`.
    pub access_string: String,
    /// `active` or `modifying`.
    pub status: String,
    /// How many passwords it holds (0: `no-password`).
    pub password_count: usize,
}

/// An error answer: the service's code, its HTTP status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The Query protocol's error code (`UserNotFound`).
    pub code: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The message.
    pub message: String,
}

impl Fault {
    fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        Self { code, status, message: message.into() }
    }

    fn invalid(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterValue", 400, message)
    }

    fn user_not_found(id: &str) -> Self {
        Self::new("UserNotFound", 404, format!("User {id} not found."))
    }

    /// The endpoint's own failure.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalFailure", 500, message)
    }

    /// The answer for a call the endpoint was not started for.
    pub fn not_configured() -> Self {
        Self::new(
            "InvalidParameterCombination",
            400,
            "the local endpoint serves ElastiCache calls only when started with --elasticache-redis",
        )
    }

    /// The XML error document.
    pub fn to_xml(&self) -> String {
        format!(
            "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            self.code,
            escape(&self.message),
            uuid::Uuid::new_v4()
        )
    }
}

const NAMESPACE: &str = "http://elasticache.amazonaws.com/doc/2015-02-02/";

/// A Query request: its `Action` and parameters, with `Name.member.N` lists read in order.
#[derive(Debug, Clone, Default)]
pub struct Request {
    params: BTreeMap<String, String>,
}

impl Request {
    /// Parses a form body.
    pub fn parse(body: &[u8]) -> Self {
        Self { params: form_urlencoded::parse(body).into_owned().collect() }
    }

    /// `Action`.
    pub fn action(&self) -> &str {
        self.get("Action").unwrap_or_default()
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    fn require(&self, name: &str) -> Result<&str, Fault> {
        self.get(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            Fault::new("MissingParameter", 400, format!("The request must contain the parameter {name}."))
        })
    }

    fn list(&self, name: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = (1..).map_while(|n| self.get(&format!("{name}.member.{n}"))).collect();
        (!values.is_empty()).then_some(values)
    }

    /// The user id a call names, for the audit log.
    pub fn subject(&self) -> Option<&str> {
        self.get("UserId").or_else(|| self.get("UserGroupId")).or_else(|| self.get("ReplicationGroupId"))
    }
}

/// What a call changes on the cache once answered.
#[derive(Debug)]
pub enum Apply {
    /// Nothing.
    Nothing,
    /// `ACL SETUSER` with these arguments now (a created user).
    Now(Vec<String>),
    /// `ACL SETUSER` with these arguments after the modify delay, then the user is `active` again.
    Later {
        /// The user's id.
        user_id: String,
        /// The `ACL SETUSER` arguments.
        args: Vec<String>,
    },
}

/// Runs one call on the state: the XML answer, and what to apply to the cache.
pub fn call(
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

/// The ACL's form of a password: `#` and its SHA-256 in hex.
fn password_hash(password: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, password.as_bytes());
    digest.as_ref().iter().fold(String::from("#"), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// The service's rules for passwords: 1 or 2, 16 to 128 printable ASCII characters, none of `/`, `"`, `@`.
fn passwords(request: &Request) -> Result<Option<Vec<String>>, Fault> {
    let Some(passwords) = request.list("Passwords") else { return Ok(None) };
    if passwords.len() > 2 {
        return Err(Fault::invalid("A user can have at most two passwords."));
    }
    for password in &passwords {
        let printable = password.bytes().all(|b| b.is_ascii_graphic());
        if !(16..=128).contains(&password.len()) || !printable || password.contains(['/', '"', '@']) {
            return Err(Fault::invalid(
                "Passwords must be 16 to 128 printable ASCII characters and must not contain /, \" or @.",
            ));
        }
    }
    Ok(Some(passwords.iter().map(|p| password_hash(p)).collect()))
}

fn create_user(state: &mut CacheState, identity: &Identity, request: &Request) -> Result<(String, Apply), Fault> {
    let id = request.require("UserId")?;
    let name = request.require("UserName")?;
    let access_string = request.require("AccessString")?;
    if state.users.contains_key(id) {
        return Err(Fault::new("UserAlreadyExists", 400, format!("User {id} already exists.")));
    }
    if state.users.values().any(|u| u.name == name) {
        return Err(Fault::new("DuplicateUserName", 400, format!("User name {name} already exists.")));
    }
    let hashes = passwords(request)?;
    let no_password = request.get("NoPasswordRequired") == Some("true");
    if hashes.is_none() && !no_password {
        return Err(Fault::invalid("Passwords are required unless NoPasswordRequired is true."));
    }
    let hashes = hashes.unwrap_or_default();
    let user = CacheUser {
        name: name.to_owned(),
        access_string: access_string.to_owned(),
        status: "active".into(),
        password_count: hashes.len(),
    };
    let mut args = vec![name.to_owned(), "reset".to_owned()];
    args.extend(access_string.split_whitespace().map(str::to_owned));
    args.extend(if no_password { vec!["nopass".to_owned()] } else { hashes });
    let xml = user_xml(identity, id, &user, &[]);
    state.users.insert(id.to_owned(), user);
    Ok((xml, Apply::Now(args)))
}

fn groups_of(state: &CacheState, id: &str) -> Vec<String> {
    state.user_groups.iter().filter(|(_, users)| users.iter().any(|u| u == id)).map(|(g, _)| g.clone()).collect()
}

fn describe_users(state: &CacheState, identity: &Identity, request: &Request) -> Result<String, Fault> {
    let ids: Vec<&String> = match request.get("UserId") {
        Some(id) if !state.users.contains_key(id) => return Err(Fault::user_not_found(id)),
        Some(id) => state.users.keys().filter(|k| *k == id).collect(),
        None => state.users.keys().collect(),
    };
    let members: String = ids
        .into_iter()
        .map(|id| format!("<member>{}</member>", user_xml(identity, id, &state.users[id], &groups_of(state, id))))
        .collect();
    Ok(format!("<Users>{members}</Users>"))
}

fn modify_user(state: &mut CacheState, identity: &Identity, request: &Request) -> Result<(String, Apply), Fault> {
    let id = request.require("UserId")?;
    if request.get("AccessString").is_some() || request.get("AppendAccessString").is_some() {
        return Err(Fault::invalid("The local endpoint changes only passwords with ModifyUser."));
    }
    let hashes = passwords(request)?;
    let groups = groups_of(state, id);
    let user = state.users.get_mut(id).ok_or_else(|| Fault::user_not_found(id))?;
    if user.status != "active" {
        return Err(Fault::new("InvalidUserState", 400, format!("User {id} is not in active state.")));
    }
    let Some(hashes) = hashes else {
        return Err(Fault::invalid("Nothing to modify: give Passwords."));
    };
    user.status = "modifying".into();
    user.password_count = hashes.len();
    let mut args = vec![user.name.clone(), "resetpass".to_owned()];
    args.extend(hashes);
    Ok((user_xml(identity, id, user, &groups), Apply::Later { user_id: id.to_owned(), args }))
}

/// Makes a user `active` again once its change applied.
pub fn activate(state: &mut CacheState, user_id: &str) {
    if let Some(user) = state.users.get_mut(user_id) {
        user.status = "active".into();
    }
}

fn create_user_group(state: &mut CacheState, identity: &Identity, request: &Request) -> Result<(String, Apply), Fault> {
    let id = request.require("UserGroupId")?;
    let users: Vec<String> = request.list("UserIds").unwrap_or_default().into_iter().map(str::to_owned).collect();
    if state.user_groups.contains_key(id) {
        return Err(Fault::new("UserGroupAlreadyExists", 400, format!("User group {id} already exists.")));
    }
    if let Some(missing) = users.iter().find(|u| !state.users.contains_key(*u)) {
        return Err(Fault::user_not_found(missing));
    }
    let xml = user_group_xml(identity, id, &users);
    state.user_groups.insert(id.to_owned(), users);
    Ok((xml, Apply::Nothing))
}

fn describe_user_groups(state: &CacheState, identity: &Identity, request: &Request) -> Result<String, Fault> {
    let groups: Vec<(&String, &Vec<String>)> = match request.get("UserGroupId") {
        Some(id) => match state.user_groups.get_key_value(id) {
            Some(group) => vec![group],
            None => return Err(Fault::new("UserGroupNotFound", 404, format!("User group {id} not found."))),
        },
        None => state.user_groups.iter().collect(),
    };
    let members: String = groups
        .into_iter()
        .map(|(id, users)| format!("<member>{}</member>", user_group_xml(identity, id, users)))
        .collect();
    Ok(format!("<UserGroups>{members}</UserGroups>"))
}

fn describe_replication_groups(
    state: &CacheState,
    identity: &Identity,
    config: &CacheConfig,
    request: &Request,
) -> Result<String, Fault> {
    if let Some(id) = request.get("ReplicationGroupId").filter(|id| *id != REPLICATION_GROUP) {
        return Err(Fault::new("ReplicationGroupNotFoundFault", 404, format!("ReplicationGroup {id} not found.")));
    }
    let (host, port) = &config.endpoint;
    let groups: String = state.user_groups.keys().map(|g| format!("<member>{}</member>", escape(g))).collect();
    Ok(format!(
        "<ReplicationGroups><ReplicationGroup><ReplicationGroupId>{REPLICATION_GROUP}</ReplicationGroupId><Status>available</Status><Engine>redis</Engine><ClusterEnabled>false</ClusterEnabled><TransitEncryptionEnabled>true</TransitEncryptionEnabled><NodeGroups><NodeGroup><NodeGroupId>0001</NodeGroupId><Status>available</Status><PrimaryEndpoint><Address>{}</Address><Port>{port}</Port></PrimaryEndpoint></NodeGroup></NodeGroups><UserGroupIds>{groups}</UserGroupIds><ARN>{}</ARN></ReplicationGroup></ReplicationGroups>",
        escape(host),
        arn(identity, "replicationgroup", REPLICATION_GROUP),
    ))
}

fn arn(identity: &Identity, kind: &str, id: &str) -> String {
    escape(&format!("arn:aws:elasticache:{}:{}:{kind}:{id}", identity.region, identity.account))
}

fn user_xml(identity: &Identity, id: &str, user: &CacheUser, groups: &[String]) -> String {
    let kind = if user.password_count == 0 { "no-password" } else { "password" };
    let groups: String = groups.iter().map(|g| format!("<member>{}</member>", escape(g))).collect();
    format!(
        "<UserId>{}</UserId><UserName>{}</UserName><Status>{}</Status><Engine>redis</Engine><MinimumEngineVersion>6.0</MinimumEngineVersion><AccessString>{}</AccessString><UserGroupIds>{groups}</UserGroupIds><Authentication><Type>{kind}</Type><PasswordCount>{}</PasswordCount></Authentication><ARN>{}</ARN>",
        escape(id),
        escape(&user.name),
        user.status,
        escape(&user.access_string),
        user.password_count,
        arn(identity, "user", id),
    )
}

fn user_group_xml(identity: &Identity, id: &str, users: &[String]) -> String {
    let users: String = users.iter().map(|u| format!("<member>{}</member>", escape(u))).collect();
    format!(
        "<UserGroupId>{}</UserGroupId><Status>active</Status><Engine>redis</Engine><UserIds>{users}</UserIds><ReplicationGroups><member>{REPLICATION_GROUP}</member></ReplicationGroups><ARN>{}</ARN>",
        escape(id),
        arn(identity, "usergroup", id),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Applies `ACL SETUSER args...` to the cache.
pub async fn apply(config: &CacheConfig, args: &[String]) -> Result<(), String> {
    let client = redis::Client::open(config.admin_url.as_str()).map_err(|e| e.to_string())?;
    let connect = client.get_multiplexed_async_connection();
    let mut connection = tokio::time::timeout(Duration::from_secs(5), connect)
        .await
        .map_err(|_| "the cache did not answer within 5s".to_owned())?
        .map_err(|e| e.to_string())?;
    redis::cmd("ACL").arg("SETUSER").arg(args).query_async::<()>(&mut connection).await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
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
