//! What every JSON-protocol service (Secrets Manager, Parameter Store, EventBridge) does with a request and an
//! answer: parse the body into the operation's input, and write timestamps as the JSON protocol does.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::clock::epoch_seconds;
use crate::error::Error;

/// Parses an operation's request body.
pub fn input<T: DeserializeOwned>(body: &Value) -> Result<T, Error> {
    serde_json::from_value(body.clone()).map_err(|e| Error::serialization(format!("Invalid request body: {e}")))
}

/// A timestamp as the JSON protocol writes it: seconds since the epoch.
pub fn epoch(time: DateTime<Utc>) -> Value {
    json!(epoch_seconds(time))
}
