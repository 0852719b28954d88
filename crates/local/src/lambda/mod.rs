//! The emulated Lambda: the client of the Invoke API that runs the functions (`cargo lambda watch`, or any Invoke
//! endpoint), which Secrets Manager's rotations and EventBridge Scheduler's schedules call, and Lambda's own
//! `Invoke` passed through to it.

mod invoke;

pub use invoke::{InvokeFailure, Invoker};

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::store::Store;

/// Lambda's `Invoke`, passed to the Invoke API the endpoint runs functions with, so one endpoint URL serves a
/// client's Secrets Manager, Parameter Store and Lambda calls (`rotatectl rotate ssm:<name>` invokes a parameter's
/// function this way). A function error answers as AWS does: 200 with
/// `X-Amz-Function-Error` and the error's type and message.
pub async fn dispatch(invoker: &Invoker, store: &Store, clock: &Clock, function: &str, body: &[u8]) -> Response {
    let event: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let result = invoker.invoke(function, &event).await;
    store.audit(clock.now(), "Invoke", Some(function), if result.is_ok() { "ok" } else { "function error" });
    match result {
        Ok(()) => (StatusCode::OK, "null").into_response(),
        Err(failure) => {
            let body = json!({"errorType": failure.error_type, "errorMessage": failure.message}).to_string();
            let mut response = (StatusCode::OK, body).into_response();
            response.headers_mut().insert("x-amz-function-error", HeaderValue::from_static("Unhandled"));
            response
        }
    }
}
