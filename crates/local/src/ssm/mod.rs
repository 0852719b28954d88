//! Parameter Store: the SSM JSON protocol's operations (`X-Amz-Target: AmazonSSM.<operation>`), dispatched by
//! name. A parameter's rotation schedule is EventBridge Scheduler's part (the `events` service).

mod parameters;

use chrono::{DateTime, Utc};
use serde_json::Value;

use self::parameters::{
    add_tags_to_resource, delete_parameter, describe_parameters, get_parameter, get_parameter_history, get_parameters,
    label_parameter_version, list_tags_for_resource, put_parameter, remove_tags_from_resource,
    unlabel_parameter_version,
};
use crate::error::Error;
use crate::identity::Identity;
use crate::store::Store;

/// Runs one Parameter Store call, named by its whole target (`AmazonSSM.PutParameter`), at `now`.
pub fn dispatch(
    store: &Store,
    identity: &Identity,
    now: DateTime<Utc>,
    operation: &str,
    body: &Value,
) -> Result<Value, Error> {
    match operation {
        "AmazonSSM.PutParameter" => store.write(|s| put_parameter(s, now, body)),
        "AmazonSSM.GetParameter" => store.read(|s| get_parameter(s, identity, body)),
        "AmazonSSM.GetParameters" => store.read(|s| get_parameters(s, identity, body)),
        "AmazonSSM.GetParameterHistory" => store.read(|s| get_parameter_history(s, body)),
        "AmazonSSM.LabelParameterVersion" => store.write(|s| label_parameter_version(s, body)),
        "AmazonSSM.UnlabelParameterVersion" => store.write(|s| unlabel_parameter_version(s, body)),
        "AmazonSSM.DescribeParameters" => store.read(|s| describe_parameters(s, body)),
        "AmazonSSM.DeleteParameter" => store.write(|s| delete_parameter(s, body)),
        "AmazonSSM.AddTagsToResource" => store.write(|s| add_tags_to_resource(s, body)),
        "AmazonSSM.RemoveTagsFromResource" => store.write(|s| remove_tags_from_resource(s, body)),
        "AmazonSSM.ListTagsForResource" => store.read(|s| list_tags_for_resource(s, body)),
        other => Err(Error::unknown_operation(other)),
    }
}
