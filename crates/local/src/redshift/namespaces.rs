//! Serverless namespaces: `CreateNamespace`, `GetNamespace`, `ListNamespaces`, `UpdateNamespace` (the admin's
//! credentials only), and a modified namespace made `AVAILABLE` again. A namespace's admin is a user of the stand-in.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::rules;
use super::serverless::{Fault, Input};
use super::stand_in::{Change, Master, RedshiftConfig, Subject};
use crate::identity::Identity;
use crate::state::{RedshiftNamespace, RedshiftState};

/// The members `UpdateNamespace` takes here: it changes the admin's credentials and nothing else.
const UPDATE_MEMBERS: [&str; 3] = ["namespaceName", "adminUsername", "adminUserPassword"];

/// `CreateNamespace`: `AVAILABLE` at once, its database created on the stand-in if missing and its admin given the
/// password now (created if missing); without `adminUserPassword` the admin is left as it is.
pub(super) fn create_namespace(
    state: &mut RedshiftState,
    identity: &Identity,
    config: &RedshiftConfig,
    input: &Input,
    now: DateTime<Utc>,
) -> Result<(Value, Change), Fault> {
    let name = namespace_name(input.require("namespaceName")?)?;
    if state.namespaces.contains_key(&name) {
        return Err(Fault::conflict(format!("Namespace {name} already exists.")));
    }
    if input.is_true("manageAdminPassword") {
        return Err(Fault::validation(
            "The local endpoint does not emulate an admin password Secrets Manager manages: give adminUserPassword.",
        ));
    }
    let admin = input.string("adminUsername")?;
    let master = match (admin, input.string("adminUserPassword")?) {
        (None, Some(_)) => return Err(Fault::validation("adminUserPassword needs adminUsername.")),
        (Some(user), password) => {
            username(user, config)?;
            password.map(|password| master(user, password)).transpose()?
        }
        (None, None) => None,
    };
    let db_name = input.string("dbName")?.unwrap_or("dev");
    if let Some(problem) = rules::database_problem(db_name) {
        return Err(Fault::validation(format!("dbName {problem}.")));
    }
    let namespace = RedshiftNamespace {
        id: uuid::Uuid::new_v4().to_string(),
        admin_username: admin.map(str::to_owned),
        db_name: db_name.to_owned(),
        status: "AVAILABLE".into(),
        created: now,
    };
    let answer = json!({"namespace": namespace_json(identity, &name, &namespace)});
    state.namespaces.insert(name.clone(), namespace);
    Ok((answer, Change::Now { created: Subject::Namespace(name), database: db_name.to_owned(), master }))
}

/// `GetNamespace`.
pub(super) fn get_namespace(state: &RedshiftState, identity: &Identity, input: &Input) -> Result<Value, Fault> {
    let name = input.require("namespaceName")?;
    let namespace = state.namespaces.get(name).ok_or_else(|| Fault::not_found("namespace", name))?;
    Ok(json!({"namespace": namespace_json(identity, name, namespace)}))
}

/// `ListNamespaces`: every namespace, on one page (`nextToken` and `maxResults` are taken and ignored), in the
/// order created; namespaces created at the same instant in their names' order.
pub(super) fn list_namespaces(state: &RedshiftState, identity: &Identity) -> Value {
    // The state keys namespaces by name: their creation order is only in `created`, and a stable sort keeps the
    // names' order among equal instants.
    let mut namespaces: Vec<_> = state.namespaces.iter().collect();
    namespaces.sort_by_key(|(_, namespace)| namespace.created);
    let namespaces: Vec<Value> =
        namespaces.into_iter().map(|(name, namespace)| namespace_json(identity, name, namespace)).collect();
    json!({"namespaces": namespaces})
}

/// `UpdateNamespace` of the admin's credentials (`adminUsername` and `adminUserPassword`, together, as the service
/// wants them): answered at once with the namespace `MODIFYING`, the password applied to the stand-in after the
/// modify delay, then `AVAILABLE` again. A namespace that is not `AVAILABLE` refuses it (`ConflictException`).
pub(super) fn update_namespace(
    state: &mut RedshiftState,
    identity: &Identity,
    config: &RedshiftConfig,
    input: &Input,
) -> Result<(Value, Change), Fault> {
    let name = input.require("namespaceName")?;
    if let Some(other) = input.names().find(|member| !UPDATE_MEMBERS.contains(member)) {
        return Err(Fault::validation(format!(
            "The local endpoint changes only the admin's credentials with UpdateNamespace, not {other}."
        )));
    }
    let namespace = state.namespaces.get_mut(name).ok_or_else(|| Fault::not_found("namespace", name))?;
    let (Some(user), Some(password)) = (input.string("adminUsername")?, input.string("adminUserPassword")?) else {
        return Err(Fault::validation("adminUsername and adminUserPassword must be updated together."));
    };
    if namespace.status != "AVAILABLE" {
        return Err(Fault::conflict(format!(
            "Namespace {name} is not AVAILABLE: it is {}; retry once it is.",
            namespace.status
        )));
    }
    username(user, config)?;
    let master = master(user, password)?;
    namespace.admin_username = Some(user.to_owned());
    namespace.status = "MODIFYING".into();
    let answer = json!({"namespace": namespace_json(identity, name, namespace)});
    Ok((answer, Change::Later { subject: Subject::Namespace(name.to_owned()), master }))
}

/// Makes a namespace `AVAILABLE` again once its admin's new password applied.
pub fn make_available(state: &mut RedshiftState, name: &str) {
    if let Some(namespace) = state.namespaces.get_mut(name) {
        namespace.status = "AVAILABLE".into();
    }
}

/// The service's rules for a namespace's name: 3 to 64 lowercase letters, digits or hyphens.
pub(super) fn namespace_name(name: &str) -> Result<String, Fault> {
    match rules::identifier(name, 3, 64, false) {
        Ok(lower) if lower == name => Ok(lower),
        _ => Err(Fault::validation("namespaceName must be 3 to 64 lowercase letters, digits or hyphens.")),
    }
}

fn username(user: &str, config: &RedshiftConfig) -> Result<(), Fault> {
    match rules::username_problem(user, config.superuser()) {
        Some(problem) => Err(Fault::validation(format!("adminUsername {problem}."))),
        None => Ok(()),
    }
}

/// The admin with its new password, which must keep Redshift's rules.
fn master(user: &str, password: &str) -> Result<Master, Fault> {
    match rules::password_problem(password) {
        Some(problem) => Err(Fault::validation(format!("adminUserPassword {problem}."))),
        None => Ok(Master::new(user, password)),
    }
}

fn namespace_json(identity: &Identity, name: &str, namespace: &RedshiftNamespace) -> Value {
    let arn =
        format!("arn:aws:redshift-serverless:{}:{}:namespace/{}", identity.region, identity.account, namespace.id);
    let mut answer = json!({
        "namespaceName": name,
        "namespaceId": namespace.id,
        "namespaceArn": arn,
        "dbName": namespace.db_name,
        "status": namespace.status,
        "creationDate": namespace.created.to_rfc3339_opts(SecondsFormat::Millis, true),
        "iamRoles": [],
        "logExports": [],
    });
    if let Some(admin) = &namespace.admin_username {
        answer["adminUsername"] = json!(admin);
    }
    answer
}
