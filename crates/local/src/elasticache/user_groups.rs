//! User groups: `CreateUserGroup`, `DescribeUserGroups`. Every group is a member of the one replication group.

use super::cache::{Apply, REPLICATION_GROUP};
use super::query::{arn, user_not_found};
use crate::identity::Identity;
use crate::query::{Fault, Request, escape};
use crate::state::CacheState;

pub(super) fn create_user_group(
    state: &mut CacheState,
    identity: &Identity,
    request: &Request,
) -> Result<(String, Apply), Fault> {
    let id = request.require("UserGroupId")?;
    let users: Vec<String> = request.list("UserIds").unwrap_or_default().into_iter().map(str::to_owned).collect();
    if state.user_groups.contains_key(id) {
        return Err(Fault::new("UserGroupAlreadyExists", 400, format!("User group {id} already exists.")));
    }
    if let Some(missing) = users.iter().find(|u| !state.users.contains_key(*u)) {
        return Err(user_not_found(missing));
    }
    let xml = user_group_xml(identity, id, &users);
    state.user_groups.insert(id.to_owned(), users);
    Ok((xml, Apply::Nothing))
}

pub(super) fn describe_user_groups(
    state: &CacheState,
    identity: &Identity,
    request: &Request,
) -> Result<String, Fault> {
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

fn user_group_xml(identity: &Identity, id: &str, users: &[String]) -> String {
    let users: String = users.iter().map(|u| format!("<member>{}</member>", escape(u))).collect();
    format!(
        "<UserGroupId>{}</UserGroupId><Status>active</Status><Engine>redis</Engine><UserIds>{users}</UserIds><ReplicationGroups><member>{REPLICATION_GROUP}</member></ReplicationGroups><ARN>{}</ARN>",
        escape(id),
        arn(identity, "usergroup", id),
    )
}
