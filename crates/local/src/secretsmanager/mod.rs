//! Secrets Manager: the JSON 1.1 protocol's operations (`X-Amz-Target: secretsmanager.<operation>`) with AWS's
//! semantics, dispatched by name, over the endpoint's state.
//!
//! Each operation takes the request's JSON and answers JSON or an [`Error`] with AWS's code and message.
//! Rotation (`RotateSecret`, and the rotations schedules start) is the [`Orchestrator`]'s, which invokes the
//! functions through the emulated Lambda; the other operations are synchronous. A call signed for another Region
//! is a replica's; over its quota (`--quotas aws`), a call is throttled.

mod password;
mod quotas;
mod replicas;
mod request;
mod rotation;
mod secrets;
mod tags;
mod versions;

pub use quotas::{AWS_QUOTAS, Quotas};
pub use rotation::{Orchestrator, last_rotation};

use std::sync::Arc;

use serde_json::Value;

use self::password::get_random_password;
use self::replicas::{
    READ_OPERATIONS, remove_regions_from_replication, replicate_secret_to_regions, to_primary, to_replica,
};
use self::secrets::{create_secret, delete_secret, describe_secret, list_secrets, restore_secret, update_secret};
use self::tags::{tag_resource, untag_resource};
use self::versions::{get_secret_value, list_secret_version_ids, put_secret_value, update_secret_version_stage};
use crate::error::Error;
use crate::identity::Identity;

/// Runs one Secrets Manager call, named by its operation (the target without `secretsmanager.`): refused as
/// `ThrottlingException` over its quota, when `quotas` are enforced; answered as the replica in `region` when the
/// call is signed for another Region than the endpoint's.
pub fn dispatch(
    orchestrator: &Arc<Orchestrator>,
    identity: &Identity,
    quotas: Option<&Quotas>,
    region: Option<&str>,
    operation: &str,
    body: &Value,
) -> Result<Value, Error> {
    match (region, quotas) {
        (_, Some(quotas)) if !quotas.admit(operation) => Err(Error::throttled()),
        (Some(region), _) => call_in(orchestrator, identity, region, operation, body),
        (None, _) => call(orchestrator, identity, operation, body),
    }
}

/// A call signed for another Region than the endpoint's: a replica's read, answered from the primary under the
/// replica's ARNs; any change is refused there, and a secret not replicated to that Region does not exist in it.
fn call_in(
    orchestrator: &Arc<Orchestrator>,
    identity: &Identity,
    region: &str,
    operation: &str,
    body: &Value,
) -> Result<Value, Error> {
    if region == identity.region {
        return call(orchestrator, identity, operation, body);
    }
    if !READ_OPERATIONS.contains(&operation) {
        return Err(Error::invalid_request(format!(
            "Operation {operation} is not permitted on a replica secret: call it in the primary Region ({}).",
            identity.region
        )));
    }
    let store = orchestrator.store();
    let primary = store.read(|s| to_primary(s, identity, region, body));
    let primary = primary.ok_or_else(Error::secret_not_found)?;
    let answer = call(orchestrator, identity, operation, &primary)?;
    Ok(store.read(|s| to_replica(s, identity, region, answer)))
}

/// A call in the endpoint's own Region, by its operation.
fn call(orchestrator: &Arc<Orchestrator>, identity: &Identity, operation: &str, body: &Value) -> Result<Value, Error> {
    let now = orchestrator.now();
    let store = orchestrator.store();
    match operation {
        "CreateSecret" => store.write(|s| create_secret(s, identity, now, body)),
        "DescribeSecret" => store.read(|s| describe_secret(s, body)),
        "GetSecretValue" => store.read(|s| get_secret_value(s, body)),
        "PutSecretValue" => store.write(|s| put_secret_value(s, now, body)),
        "UpdateSecretVersionStage" => store.write(|s| update_secret_version_stage(s, now, body)),
        "UpdateSecret" => store.write(|s| update_secret(s, now, body)),
        "ListSecrets" => store.read(|s| list_secrets(s, body)),
        "ListSecretVersionIds" => store.read(|s| list_secret_version_ids(s, body)),
        "DeleteSecret" => store.write(|s| delete_secret(s, now, body)),
        "RestoreSecret" => store.write(|s| restore_secret(s, now, body)),
        "TagResource" => store.write(|s| tag_resource(s, body)),
        "UntagResource" => store.write(|s| untag_resource(s, body)),
        "GetRandomPassword" => get_random_password(body),
        "RotateSecret" => orchestrator.rotate_secret(body),
        "CancelRotateSecret" => orchestrator.cancel_rotate_secret(body),
        "ReplicateSecretToRegions" => store.write(|s| replicate_secret_to_regions(s, identity, body)),
        "RemoveRegionsFromReplication" => store.write(|s| remove_regions_from_replication(s, body)),
        other => Err(Error::unknown_operation(other)),
    }
}
