//! Serverless workgroups: `CreateWorkgroup`, `GetWorkgroup`, `ListWorkgroups`. A workgroup is how clients reach its
//! namespace: its endpoint is the stand-in's address. As in the service, a namespace has one workgroup at most.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::namespaces::namespace_name;
use super::rules;
use super::serverless::{Fault, Input};
use super::stand_in::RedshiftConfig;
use crate::identity::Identity;
use crate::state::{RedshiftState, RedshiftWorkgroup};

/// `CreateWorkgroup` over an existing namespace: `AVAILABLE` at once; nothing changes on the stand-in.
pub(super) fn create_workgroup(
    state: &mut RedshiftState,
    identity: &Identity,
    config: &RedshiftConfig,
    input: &Input,
    now: DateTime<Utc>,
) -> Result<Value, Fault> {
    let name = input.require("workgroupName")?;
    if rules::identifier(name, 3, 64, false).ok().as_deref() != Some(name) {
        return Err(Fault::validation("workgroupName must be 3 to 64 lowercase letters, digits or hyphens."));
    }
    let namespace = namespace_name(input.require("namespaceName")?)?;
    if state.workgroups.contains_key(name) {
        return Err(Fault::conflict(format!("Workgroup {name} already exists.")));
    }
    if !state.namespaces.contains_key(&namespace) {
        return Err(Fault::not_found("namespace", &namespace));
    }
    if let Some((other, _)) = state.workgroups.iter().find(|(_, w)| w.namespace == namespace) {
        return Err(Fault::conflict(format!("Namespace {namespace} already has a workgroup: {other}.")));
    }
    let workgroup =
        RedshiftWorkgroup { id: uuid::Uuid::new_v4().to_string(), namespace, status: "AVAILABLE".into(), created: now };
    let answer = json!({"workgroup": workgroup_json(identity, config, name, &workgroup)});
    state.workgroups.insert(name.to_owned(), workgroup);
    Ok(answer)
}

/// `GetWorkgroup`.
pub(super) fn get_workgroup(
    state: &RedshiftState,
    identity: &Identity,
    config: &RedshiftConfig,
    input: &Input,
) -> Result<Value, Fault> {
    let name = input.require("workgroupName")?;
    let workgroup = state.workgroups.get(name).ok_or_else(|| Fault::not_found("workgroup", name))?;
    Ok(json!({"workgroup": workgroup_json(identity, config, name, workgroup)}))
}

/// `ListWorkgroups`: every workgroup, on one page.
pub(super) fn list_workgroups(state: &RedshiftState, identity: &Identity, config: &RedshiftConfig) -> Value {
    let workgroups: Vec<Value> =
        state.workgroups.iter().map(|(name, workgroup)| workgroup_json(identity, config, name, workgroup)).collect();
    json!({"workgroups": workgroups})
}

fn workgroup_json(identity: &Identity, config: &RedshiftConfig, name: &str, workgroup: &RedshiftWorkgroup) -> Value {
    let (address, port) = config.endpoint();
    let arn =
        format!("arn:aws:redshift-serverless:{}:{}:workgroup/{}", identity.region, identity.account, workgroup.id);
    json!({
        "workgroupName": name,
        "workgroupId": workgroup.id,
        "workgroupArn": arn,
        "namespaceName": workgroup.namespace,
        "status": workgroup.status,
        "baseCapacity": 128,
        "enhancedVpcRouting": false,
        "publiclyAccessible": false,
        "port": port,
        "endpoint": {"address": address, "port": port, "vpcEndpoints": []},
        "creationDate": workgroup.created.to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}
