//! What the Secrets Manager operations do with a request: check its token, find the secret it names, and answer
//! pages as the JSON protocol does.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::Error;
use crate::state::{SecretRecord, State};

/// A `ClientRequestToken`: 32 to 64 characters, as the service requires.
pub(super) fn check_token(token: &str) -> Result<(), Error> {
    if (32..=64).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(Error::invalid_parameter("ClientRequestToken must be 32 to 64 printable ASCII characters."))
    }
}

pub(super) fn new_version_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The secret a request names, refusing secrets scheduled for deletion unless `allow_deleted`.
pub(super) fn find<'a>(state: &'a State, secret_id: &str, allow_deleted: bool) -> Result<&'a SecretRecord, Error> {
    let secret = state.find(secret_id).ok_or_else(Error::secret_not_found)?;
    if secret.deleted_date.is_some() && !allow_deleted {
        return Err(Error::marked_for_deletion());
    }
    Ok(secret)
}

pub(super) fn find_mut<'a>(
    state: &'a mut State,
    secret_id: &str,
    allow_deleted: bool,
) -> Result<&'a mut SecretRecord, Error> {
    find(state, secret_id, allow_deleted)?;
    Ok(state.find_mut(secret_id).expect("found above"))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Tag {
    pub(super) key: String,
    pub(super) value: String,
}

/// The value of a new version: exactly one of `SecretString` and `SecretBinary`.
pub(super) fn value_of(
    secret_string: Option<String>,
    secret_binary: Option<String>,
) -> Result<(Option<String>, Option<String>), Error> {
    if secret_string.is_some() && secret_binary.is_some() {
        return Err(Error::invalid_parameter(
            "You can't specify both a binary secret value and a string secret value in the same secret.",
        ));
    }
    Ok((secret_string, secret_binary))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct SecretIdInput {
    pub(super) secret_id: String,
}

/// A page of `items` under `key`, with `NextToken` when more follow.
pub(super) fn paginate(items: Vec<Value>, max: Option<usize>, next: Option<&str>, key: &str) -> Result<Value, Error> {
    let max = max.unwrap_or(100);
    if !(1..=100).contains(&max) {
        return Err(Error::invalid_parameter("MaxResults must be from 1 to 100."));
    }
    let start = match next {
        Some(token) => token.parse::<usize>().map_err(|_| Error::invalid_parameter("Invalid NextToken."))?,
        None => 0,
    };
    let page: Vec<Value> = items.iter().skip(start).take(max).cloned().collect();
    let mut out = json!({ key: page });
    if start + max < items.len() {
        out["NextToken"] = json!((start + max).to_string());
    }
    Ok(out)
}
