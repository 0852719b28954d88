//! Multi-Region secrets: `ReplicateSecretToRegions` and `RemoveRegionsFromReplication` at the primary, and the
//! view from a replica Region (the Region a request is signed for). A replica reads the primary's versions and
//! labels under its own ARN, so a rotation at the primary is what replicas read afterwards; every change is refused
//! there, as AWS refuses it.

use serde::Deserialize;
use serde_json::{Value, json};

use super::request::find_mut;
use super::secrets::describe;
use crate::error::Error;
use crate::identity::Identity;
use crate::json::input;
use crate::state::State;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Region {
    region: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReplicateInput {
    secret_id: String,
    add_replica_regions: Vec<Region>,
}

/// `ReplicateSecretToRegions` (KMS keys are not modelled: replicas use the Region's default key).
pub fn replicate_secret_to_regions(state: &mut State, identity: &Identity, body: &Value) -> Result<Value, Error> {
    let request: ReplicateInput = input(body)?;
    let secret = find_mut(state, &request.secret_id, false)?;
    for region in request.add_replica_regions {
        if region.region == identity.region {
            return Err(Error::invalid_parameter("A replica Region can't be the primary Region."));
        }
        if !secret.replicas.contains(&region.region) {
            secret.replicas.push(region.region);
        }
    }
    Ok(json!({"ARN": secret.arn, "ReplicationStatus": describe(secret)["ReplicationStatus"]}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RemoveInput {
    secret_id: String,
    remove_replica_regions: Vec<String>,
}

/// `RemoveRegionsFromReplication`.
pub fn remove_regions_from_replication(state: &mut State, body: &Value) -> Result<Value, Error> {
    let request: RemoveInput = input(body)?;
    let secret = find_mut(state, &request.secret_id, false)?;
    secret.replicas.retain(|r| !request.remove_replica_regions.contains(r));
    Ok(json!({"ARN": secret.arn, "ReplicationStatus": describe(secret)["ReplicationStatus"]}))
}

/// The operations a replica answers; every other one is a change, refused there.
pub const READ_OPERATIONS: &[&str] = &["GetSecretValue", "DescribeSecret", "ListSecretVersionIds", "ListSecrets"];

/// A replica Region's request rewritten for the primary: a replica ARN becomes the primary's (names stay); `None`
/// when the secret it names is not replicated to `region` (the replica does not exist).
pub fn to_primary(state: &State, identity: &Identity, region: &str, body: &Value) -> Option<Value> {
    let mut body = body.clone();
    if let Some(id) = body.get("SecretId").and_then(Value::as_str) {
        let primary_id = id.replacen(&format!(":{region}:"), &format!(":{}:", identity.region), 1);
        let secret = state.find(&primary_id)?;
        if !secret.replicas.iter().any(|r| r == region) {
            return None;
        }
        body["SecretId"] = json!(primary_id);
    }
    Some(body)
}

/// A primary's answer as the replica in `region` gives it: its ARNs in `region`, and `PrimaryRegion`; in
/// `ListSecrets`, only the secrets replicated there.
pub fn to_replica(state: &State, identity: &Identity, region: &str, mut answer: Value) -> Value {
    let replica_arn = |arn: &str| arn.replacen(&format!(":{}:", identity.region), &format!(":{region}:"), 1);
    let rewrite = |entry: &mut Value| {
        if let Some(arn) = entry.get("ARN").and_then(Value::as_str).map(str::to_owned) {
            entry["ARN"] = json!(replica_arn(&arn));
        }
        if let Some(map) = entry.as_object_mut() {
            map.remove("ReplicationStatus");
            map.remove("RotationEnabled");
            map.remove("RotationLambdaARN");
            map.remove("RotationRules");
            map.remove("NextRotationDate");
        }
        entry["PrimaryRegion"] = json!(identity.region);
    };
    if let Some(list) = answer.get_mut("SecretList").and_then(Value::as_array_mut) {
        list.retain(|entry| {
            let arn = entry.get("ARN").and_then(Value::as_str).unwrap_or_default();
            state.secrets.get(arn).is_some_and(|s| s.replicas.iter().any(|r| r == region))
        });
        list.iter_mut().for_each(rewrite);
    } else {
        rewrite(&mut answer);
    }
    answer
}
