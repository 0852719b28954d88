//! What every JSON-protocol service (Secrets Manager, Parameter Store, EventBridge) does with a request and an
//! answer: parse the body into the operation's input, write timestamps as the JSON protocol does, and send the
//! answer with the protocol's headers. Redshift Serverless shares the headers only: its faults have their own shape.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
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

/// The HTTP answer: `body` as JSON 1.1 with `status`, and with `X-Amzn-ErrorType` when it is an error (`error_type`,
/// the error's code), which the SDKs read before the body.
pub fn respond(status: StatusCode, body: &Value, error_type: Option<&'static str>) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
    if let Some(code) = error_type {
        headers.insert("x-amzn-errortype", HeaderValue::from_static(code));
    }
    response
}
