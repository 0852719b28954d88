//! Which MongoDB users may take over other users: the built-in roles that manage users or the server, and any
//! custom role whose privileges (its own or those of the roles it inherits) hold a user-managing action. The
//! admin refuses to rotate such users, as it refuses superusers on the other engines.

use std::collections::{BTreeSet, VecDeque};

use mongodb::bson::{Bson, Document, doc};
use rotation_core::RotationError;

use crate::connect::MongoSession;
use crate::users::RoleRef;

/// Built-in roles that manage users, roles or the whole server, wherever they are granted: `dbOwner` holds its
/// database's `userAdmin`; `restore` writes `admin.system.users`; `backup` and `__queryableBackup` read every
/// user's SCRAM keys there; `clusterManager` reconfigures the replica set, `hostManager` sets server parameters and
/// shuts the server down; `__system` and `root` are everything.
const PRIVILEGED_BUILTIN: &[&str] = &[
    "root",
    "__system",
    "userAdmin",
    "userAdminAnyDatabase",
    "dbOwner",
    "clusterAdmin",
    "clusterManager",
    "hostManager",
    "restore",
    "backup",
    "__queryableBackup",
];

/// Built-in roles that manage no user and no server, on any database: granted without asking the server about
/// them (a server may not describe its built-in roles, and every other role it cannot describe is refused).
const ORDINARY_BUILTIN: &[&str] = &[
    "read",
    "readWrite",
    "dbAdmin",
    "readAnyDatabase",
    "readWriteAnyDatabase",
    "dbAdminAnyDatabase",
    "clusterMonitor",
    "enableSharding",
];

/// Actions that create, drop or change users or roles, change another user's password, change the server itself,
/// or do anything at all.
const USER_MANAGING_ACTIONS: &[&str] = &[
    "anyAction",
    "internal",
    "createUser",
    "dropUser",
    "changePassword",
    "changeAnyPassword",
    "grantRole",
    "revokeRole",
    "createRole",
    "dropRole",
    "setAuthenticationRestriction",
    "impersonate",
    "applyOps",
    "replSetConfigure",
    "setParameter",
    "shutdown",
    "setFeatureCompatibilityVersion",
];

/// The collections that hold users and roles: writing them is managing users, reading them reads every user's
/// SCRAM keys.
const USER_COLLECTIONS: &[&str] = &["system.users", "system.roles", "system.version"];
/// The actions that write or read a collection.
const COLLECTION_ACTIONS: &[&str] = &["insert", "update", "remove", "find"];

/// The most roles one user's roles may expand to before rotor stops reading (a bound on a hostile role graph).
const MAX_ROLES: usize = 200;

/// What `privileges` (a role's `privileges` or `inheritedPrivileges`) grant that manages users, described.
pub(crate) fn user_managing_privileges(role: &RoleRef, privileges: &[Bson]) -> Vec<String> {
    let mut found = Vec::new();
    for privilege in privileges.iter().filter_map(Bson::as_document) {
        let actions: Vec<&str> = privilege
            .get_array("actions")
            .map(|actions| actions.iter().filter_map(Bson::as_str).collect())
            .unwrap_or_default();
        let resource = privilege.get_document("resource").ok();
        let collection = resource.and_then(|r| r.get_str("collection").ok());
        for action in &actions {
            if USER_MANAGING_ACTIONS.contains(action) {
                found.push(format!("the {action} action (role {})", role.describe()));
            } else if COLLECTION_ACTIONS.contains(action) && collection.is_some_and(|c| USER_COLLECTIONS.contains(&c)) {
                found.push(format!("{action} on {} (role {})", collection.unwrap_or_default(), role.describe()));
            }
        }
        if resource.is_some_and(|r| r.get_bool("anyResource").unwrap_or(false)) && !actions.is_empty() {
            found.push(format!("privileges on anyResource (role {})", role.describe()));
        }
    }
    found
}

/// Whether a built-in role manages users or the server.
pub(crate) fn is_privileged_builtin(role: &str) -> bool {
    PRIVILEGED_BUILTIN.contains(&role)
}

/// Whether a built-in role is known to manage no user and no server.
fn is_ordinary_builtin(role: &str) -> bool {
    ORDINARY_BUILTIN.contains(&role)
}

/// The roles a `rolesInfo` entry inherits (`roles` and, from servers that report them, `inheritedRoles`).
fn inherited(entry: &Document) -> Vec<RoleRef> {
    ["roles", "inheritedRoles"]
        .iter()
        .filter_map(|key| entry.get_array(key).ok())
        .flatten()
        .filter_map(Bson::as_document)
        .filter_map(RoleRef::from_document)
        .collect()
}

/// The user-managing rights that `roles` give, each with the role it comes through: built-in privileged roles by
/// name, custom roles by their privileges, through every role they inherit (asked of the server with `rolesInfo`,
/// one role at a time, at most [`MAX_ROLES`]).
pub(crate) async fn user_managing_rights(
    session: &MongoSession,
    roles: &[RoleRef],
) -> Result<Vec<String>, RotationError> {
    let mut rights = Vec::new();
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<RoleRef> = roles.iter().cloned().collect();
    while let Some(role) = queue.pop_front() {
        if !seen.insert(role.clone()) {
            continue;
        }
        if seen.len() > MAX_ROLES {
            rights.push(format!("more than {MAX_ROLES} roles, which rotor does not read through"));
            break;
        }
        if is_privileged_builtin(&role.role) {
            rights.push(format!("the built-in role {}", role.describe()));
            continue;
        }
        if is_ordinary_builtin(&role.role) {
            continue;
        }
        let answer = session
            .run(
                "rolesInfo",
                &role.db,
                doc! { "rolesInfo": role.to_document(), "showPrivileges": true, "showBuiltinRoles": true },
            )
            .await?;
        // What the server does not describe is refused rather than trusted: a role it cannot show may hold
        // anything.
        let Some(entry) = answer.get_array("roles").ok().and_then(|r| r.iter().find_map(Bson::as_document)) else {
            rights.push(format!("the role {}, which the server does not describe (rolesInfo)", role.describe()));
            continue;
        };
        if entry.get_bool("isBuiltin").unwrap_or(false) {
            rights.push(format!("the built-in role {}, which rotor does not know to be harmless", role.describe()));
            continue;
        }
        let Ok(privileges) = entry.get_array("privileges") else {
            rights.push(format!("the role {}, whose privileges the server does not show", role.describe()));
            continue;
        };
        rights.extend(user_managing_privileges(&role, privileges));
        if let Ok(inherited) = entry.get_array("inheritedPrivileges") {
            rights.extend(user_managing_privileges(&role, inherited));
        }
        queue.extend(inherited(entry));
    }
    rights.sort();
    rights.dedup();
    Ok(rights)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role() -> RoleRef {
        RoleRef { role: "custom".into(), db: "admin".into() }
    }

    #[test]
    fn user_managing_actions_and_writes_to_the_users_collection_are_found() {
        let privileges = vec![
            Bson::Document(
                doc! { "resource": { "db": "", "collection": "" }, "actions": ["changeOwnPassword", "find"] },
            ),
            Bson::Document(doc! { "resource": { "db": "app", "collection": "" }, "actions": ["grantRole"] }),
            Bson::Document(doc! { "resource": { "db": "admin", "collection": "system.users" }, "actions": ["update"] }),
            Bson::Document(doc! { "resource": { "anyResource": true }, "actions": ["anyAction"] }),
        ];
        let found = user_managing_privileges(&role(), &privileges);
        assert!(found.iter().any(|f| f.contains("grantRole")), "{found:?}");
        assert!(found.iter().any(|f| f.contains("update on system.users")), "{found:?}");
        assert!(found.iter().any(|f| f.contains("anyAction")), "{found:?}");
        let read_keys =
            [Bson::Document(doc! { "resource": { "db": "admin", "collection": "system.users" }, "actions": ["find"] })];
        assert!(!user_managing_privileges(&role(), &read_keys).is_empty(), "reading the SCRAM keys is privileged");
        assert!(
            !found.iter().any(|f| f.contains("changeOwnPassword")),
            "changing its own password is not managing users"
        );
    }

    #[test]
    fn ordinary_privileges_are_not_user_managing() {
        let privileges = vec![Bson::Document(
            doc! { "resource": { "db": "app", "collection": "orders" }, "actions": ["find", "insert", "update", "remove"] },
        )];
        assert!(user_managing_privileges(&role(), &privileges).is_empty());
        assert!(is_privileged_builtin("userAdminAnyDatabase") && is_privileged_builtin("dbOwner"));
        assert!(is_privileged_builtin("backup") && is_privileged_builtin("hostManager"));
        assert!(!is_privileged_builtin("readWrite") && !is_privileged_builtin("readAnyDatabase"));
        assert!(PRIVILEGED_BUILTIN.iter().all(|role| !is_ordinary_builtin(role)), "no role is on both lists");
    }
}
