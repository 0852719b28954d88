//! Replication groups: the one the users reach the cache through (`rotor-local`, with user groups), and the ones
//! clients reach with an AUTH token: `CreateReplicationGroup`, `DescribeReplicationGroups`,
//! `ModifyReplicationGroup` (the AUTH token only), and a modified group made `available` again. Every group's
//! endpoint is the Redis server's TLS address, and an AUTH token is the password of its `default` user: so the
//! server holds one AUTH-token group at most.

use chrono::{DateTime, SecondsFormat, Utc};

use super::auth_tokens::{self, Strategy};
use super::cache::{Apply, CacheConfig, REPLICATION_GROUP, Subject, password_hash};
use super::query::{arn, replication_group_not_found};
use crate::identity::Identity;
use crate::query::{Fault, Request, escape};
use crate::state::{CacheReplicationGroup, CacheState};

/// The parameters `ModifyReplicationGroup` takes here: it changes the AUTH token and nothing else.
const MODIFY_PARAMETERS: [&str; 6] =
    ["Action", "Version", "ReplicationGroupId", "AuthToken", "AuthTokenUpdateStrategy", "ApplyImmediately"];

pub(super) fn describe_replication_groups(
    state: &CacheState,
    identity: &Identity,
    config: &CacheConfig,
    request: &Request,
) -> Result<String, Fault> {
    let rbac = || rbac_group_xml(state, identity, config);
    let members: Vec<String> = match request.get("ReplicationGroupId").map(str::to_ascii_lowercase) {
        Some(id) if id == REPLICATION_GROUP => vec![rbac()],
        Some(id) => match state.replication_groups.get(&id) {
            Some(group) => vec![group_xml(identity, config, &id, group)],
            None => return Err(replication_group_not_found(&id)),
        },
        None => std::iter::once(rbac())
            .chain(state.replication_groups.iter().map(|(id, group)| group_xml(identity, config, id, group)))
            .collect(),
    };
    let members: String = members.into_iter().map(|m| format!("<ReplicationGroup>{m}</ReplicationGroup>")).collect();
    Ok(format!("<ReplicationGroups>{members}</ReplicationGroups>"))
}

/// `CreateReplicationGroup` of a group clients reach with an AUTH token (the endpoint creates no other kind), over
/// the Redis server: its `default` user takes the token now, and the group is `available` at once, as a created
/// user is `active`.
pub(super) fn create_replication_group(
    state: &mut CacheState,
    identity: &Identity,
    config: &CacheConfig,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<(String, Apply), Fault> {
    let id = group_id(request.require("ReplicationGroupId")?)?;
    let description = request.require("ReplicationGroupDescription")?;
    if id == REPLICATION_GROUP || state.replication_groups.contains_key(&id) {
        return Err(Fault::new(
            "ReplicationGroupAlreadyExists",
            400,
            format!("Replication group {id} already exists."),
        ));
    }
    if request.list("UserGroupIds").is_some() {
        return Err(Fault::combination(format!(
            "The local endpoint creates replication groups reached with an AUTH token; user groups belong to \
             {REPLICATION_GROUP}."
        )));
    }
    let Some(token) = request.get("AuthToken") else {
        return Err(Fault::combination(
            "The local endpoint creates replication groups reached with an AUTH token only: give AuthToken.",
        ));
    };
    if request.get("TransitEncryptionEnabled") != Some("true") {
        return Err(Fault::combination(
            "AuthToken can be specified only on replication groups where TransitEncryptionEnabled is true.",
        ));
    }
    let engine = match request.get("Engine").unwrap_or("redis") {
        engine @ ("redis" | "valkey") => engine.to_owned(),
        _ => return Err(Fault::invalid("Engine must be redis or valkey.")),
    };
    if let Some(other) = state.replication_groups.keys().next() {
        return Err(Fault::new(
            "ClusterQuotaForCustomerExceeded",
            400,
            format!(
                "The local endpoint's Redis server holds one replication group reached with an AUTH token (its \
                 default user): {other} exists."
            ),
        ));
    }
    auth_tokens::check(token)?;
    if config.admin_user() == "default" {
        return Err(Fault::combination(
            "The local endpoint administers its Redis server as the default user, whose password an AUTH token \
             would replace: start it with an administrative user of its own (--elasticache-redis \
             redis://<user>@host:port).",
        ));
    }
    let group = CacheReplicationGroup {
        description: description.to_owned(),
        engine,
        status: "available".into(),
        pending_auth_token: None,
        auth_tokens: vec![password_hash(token)],
        auth_token_modified: now,
        created: now,
    };
    let args = auth_tokens::default_user(&group.auth_tokens, true);
    let xml = format!("<ReplicationGroup>{}</ReplicationGroup>", group_xml(identity, config, &id, &group));
    state.replication_groups.insert(id.clone(), group);
    Ok((xml, Apply::Now { created: Subject::ReplicationGroup(id), args }))
}

/// `ModifyReplicationGroup` of the AUTH token: answered at once with the group `modifying`, the tokens applied to
/// the `default` user after the modify delay, then `available` again. A group that is not `available` refuses it.
pub(super) fn modify_replication_group(
    state: &mut CacheState,
    identity: &Identity,
    config: &CacheConfig,
    request: &Request,
) -> Result<(String, Apply), Fault> {
    let id = request.require("ReplicationGroupId")?.to_ascii_lowercase();
    if let Some(other) = request.names().find(|name| !MODIFY_PARAMETERS.contains(name)) {
        return Err(Fault::invalid(format!(
            "The local endpoint changes only the AUTH token with ModifyReplicationGroup, not {other}."
        )));
    }
    let strategy = Strategy::parse(request.get("AuthTokenUpdateStrategy"))?;
    let token = match (request.get("AuthToken"), strategy) {
        (None, _) if request.get("AuthTokenUpdateStrategy").is_none() => {
            return Err(Fault::combination("No modifications were requested."));
        }
        (Some(_), Strategy::Delete) => {
            return Err(Fault::combination("AuthToken must be omitted with AuthTokenUpdateStrategy DELETE."));
        }
        (None, Strategy::Rotate | Strategy::Set) => {
            return Err(Fault::combination("AuthTokenUpdateStrategy must be specified with AuthToken."));
        }
        (token, _) => token.unwrap_or_default(),
    };
    if request.get("ApplyImmediately") != Some("true") {
        return Err(Fault::combination(
            "The local endpoint changes an AUTH token only with ApplyImmediately=true (the service would wait for \
             the maintenance window).",
        ));
    }
    if strategy != Strategy::Delete {
        auth_tokens::check(token)?;
    }
    if id == REPLICATION_GROUP {
        return Err(Fault::combination(format!(
            "Replication group {REPLICATION_GROUP} authenticates users with user groups: moving it to an AUTH token \
             (RemoveUserGroups) is not emulated."
        )));
    }
    let group = state.replication_groups.get_mut(&id).ok_or_else(|| replication_group_not_found(&id))?;
    if group.status != "available" {
        return Err(Fault::new(
            "InvalidReplicationGroupState",
            400,
            format!("Replication group {id} is not in available state: it is {}.", group.status),
        ));
    }
    group.auth_tokens = auth_tokens::update(&group.auth_tokens, strategy, token)?;
    group.status = "modifying".into();
    group.pending_auth_token = Some(strategy.pending_status().into());
    let args = auth_tokens::default_user(&group.auth_tokens, false);
    let xml = format!("<ReplicationGroup>{}</ReplicationGroup>", group_xml(identity, config, &id, group));
    Ok((xml, Apply::Later { subject: Subject::ReplicationGroup(id), args }))
}

/// Makes a group `available` again once its change applied, at `now` (its `AuthTokenLastModifiedDate`).
pub fn make_available(state: &mut CacheState, id: &str, now: DateTime<Utc>) {
    if let Some(group) = state.replication_groups.get_mut(id) {
        group.status = "available".into();
        group.pending_auth_token = None;
        group.auth_token_modified = now;
    }
}

/// The service's rules for an id, stored in lower case: 1 to 40 letters, digits or hyphens, a letter first, no
/// hyphen last or twice in a row.
fn group_id(id: &str) -> Result<String, Fault> {
    let id = id.to_ascii_lowercase();
    let valid = (1..=40).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.ends_with('-')
        && !id.contains("--");
    if valid {
        Ok(id)
    } else {
        Err(Fault::invalid(
            "ReplicationGroupId must be 1 to 40 letters, digits or hyphens, begin with a letter, and neither end \
             with a hyphen nor contain two in a row.",
        ))
    }
}

/// What every group answers alike: its node group, whose primary endpoint is the Redis server's TLS address.
fn node_groups_xml(config: &CacheConfig) -> String {
    let (host, port) = &config.endpoint;
    format!(
        "<NodeGroups><NodeGroup><NodeGroupId>0001</NodeGroupId><Status>available</Status><PrimaryEndpoint><Address>{}</Address><Port>{port}</Port></PrimaryEndpoint></NodeGroup></NodeGroups><ClusterEnabled>false</ClusterEnabled><TransitEncryptionEnabled>true</TransitEncryptionEnabled>",
        escape(host)
    )
}

fn rbac_group_xml(state: &CacheState, identity: &Identity, config: &CacheConfig) -> String {
    let groups: String = state.user_groups.keys().map(|g| format!("<member>{}</member>", escape(g))).collect();
    format!(
        "<ReplicationGroupId>{REPLICATION_GROUP}</ReplicationGroupId><Status>available</Status><Engine>redis</Engine>{}<AuthTokenEnabled>false</AuthTokenEnabled><UserGroupIds>{groups}</UserGroupIds><ARN>{}</ARN>",
        node_groups_xml(config),
        arn(identity, "replicationgroup", REPLICATION_GROUP),
    )
}

fn group_xml(identity: &Identity, config: &CacheConfig, id: &str, group: &CacheReplicationGroup) -> String {
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let pending = group
        .pending_auth_token
        .as_ref()
        .map(|status| format!("<AuthTokenStatus>{status}</AuthTokenStatus>"))
        .unwrap_or_default();
    format!(
        "<ReplicationGroupId>{}</ReplicationGroupId><Description>{}</Description><Status>{}</Status><PendingModifiedValues>{pending}</PendingModifiedValues><MemberClusters><ClusterId>{}-001</ClusterId></MemberClusters><Engine>{}</Engine>{}<TransitEncryptionMode>required</TransitEncryptionMode><AuthTokenEnabled>true</AuthTokenEnabled><AuthTokenLastModifiedDate>{}</AuthTokenLastModifiedDate><ReplicationGroupCreateTime>{}</ReplicationGroupCreateTime><ARN>{}</ARN>",
        escape(id),
        escape(&group.description),
        group.status,
        escape(id),
        group.engine,
        node_groups_xml(config),
        time(group.auth_token_modified),
        time(group.created),
        arn(identity, "replicationgroup", id),
    )
}
