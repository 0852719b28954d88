//! Users: `CreateUser`, `DescribeUsers`, `ModifyUser`, and a modified user made `active` again. Passwords reach the
//! cache only in the ACL's SHA-256 form and are never kept.

use super::cache::{Apply, CacheConfig, Subject, password_hash};
use super::query::{arn, user_not_found};
use crate::identity::Identity;
use crate::query::{Fault, Request, escape};
use crate::state::{CacheState, CacheUser};

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

pub(super) fn create_user(
    state: &mut CacheState,
    identity: &Identity,
    config: &CacheConfig,
    request: &Request,
) -> Result<(String, Apply), Fault> {
    let id = request.require("UserId")?;
    let name = request.require("UserName")?;
    if name == config.admin_user() {
        // Creating it would reset the user the endpoint administers the server as.
        return Err(Fault::invalid(format!("User name {name} is the local endpoint's own administrative user.")));
    }
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
    Ok((xml, Apply::Now { created: Subject::User(id.to_owned()), args }))
}

fn groups_of(state: &CacheState, id: &str) -> Vec<String> {
    state.user_groups.iter().filter(|(_, users)| users.iter().any(|u| u == id)).map(|(g, _)| g.clone()).collect()
}

pub(super) fn describe_users(state: &CacheState, identity: &Identity, request: &Request) -> Result<String, Fault> {
    let ids: Vec<&String> = match request.get("UserId") {
        Some(id) if !state.users.contains_key(id) => return Err(user_not_found(id)),
        Some(id) => state.users.keys().filter(|k| *k == id).collect(),
        None => state.users.keys().collect(),
    };
    let members: String = ids
        .into_iter()
        .map(|id| format!("<member>{}</member>", user_xml(identity, id, &state.users[id], &groups_of(state, id))))
        .collect();
    Ok(format!("<Users>{members}</Users>"))
}

pub(super) fn modify_user(
    state: &mut CacheState,
    identity: &Identity,
    request: &Request,
) -> Result<(String, Apply), Fault> {
    let id = request.require("UserId")?;
    if request.get("AccessString").is_some() || request.get("AppendAccessString").is_some() {
        return Err(Fault::invalid("The local endpoint changes only passwords with ModifyUser."));
    }
    let hashes = passwords(request)?;
    let groups = groups_of(state, id);
    let user = state.users.get_mut(id).ok_or_else(|| user_not_found(id))?;
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
    Ok((user_xml(identity, id, user, &groups), Apply::Later { subject: Subject::User(id.to_owned()), args }))
}

/// Makes a user `active` again once its change applied.
pub fn activate(state: &mut CacheState, user_id: &str) {
    if let Some(user) = state.users.get_mut(user_id) {
        user.status = "active".into();
    }
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
