//! Tags: `TagResource`, `UntagResource`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::request::{Tag, find_mut};
use crate::error::Error;
use crate::json::input;
use crate::state::State;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagResourceInput {
    secret_id: String,
    tags: Vec<Tag>,
}

/// `TagResource`: adds tags, replacing the value of a key already there.
pub fn tag_resource(state: &mut State, body: &Value) -> Result<Value, Error> {
    let input: TagResourceInput = input(body)?;
    let secret = find_mut(state, &input.secret_id, false)?;
    for tag in input.tags {
        match secret.tags.iter_mut().find(|(k, _)| *k == tag.key) {
            Some(existing) => existing.1 = tag.value,
            None => secret.tags.push((tag.key, tag.value)),
        }
    }
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UntagResourceInput {
    secret_id: String,
    tag_keys: Vec<String>,
}

/// `UntagResource`.
pub fn untag_resource(state: &mut State, body: &Value) -> Result<Value, Error> {
    let input: UntagResourceInput = input(body)?;
    let secret = find_mut(state, &input.secret_id, false)?;
    secret.tags.retain(|(k, _)| !input.tag_keys.contains(k));
    Ok(json!({}))
}
