//! Secrets Manager's error responses: AWS's codes and messages, so any SDK maps them to its typed errors.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// An error answer of the Secrets Manager JSON protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The error code (`ResourceNotFoundException`, ...), sent as `__type`.
    pub code: &'static str,
    /// AWS's message.
    pub message: String,
}

impl ApiError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// `ResourceNotFoundException` for a secret that does not exist.
    pub fn secret_not_found() -> Self {
        Self::new("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
    }

    /// `ResourceNotFoundException` with a specific message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("ResourceNotFoundException", message)
    }

    /// `InvalidRequestException`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new("InvalidRequestException", message)
    }

    /// `InvalidParameterException`.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterException", message)
    }

    /// `ResourceExistsException`.
    pub fn exists(message: impl Into<String>) -> Self {
        Self::new("ResourceExistsException", message)
    }

    /// `InvalidRequestException` for a secret scheduled for deletion.
    pub fn marked_for_deletion() -> Self {
        Self::invalid_request("You can't perform this operation on the secret because it was marked for deletion.")
    }

    /// `InternalServiceError`, for a failure of the endpoint itself (its state file).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalServiceError", message)
    }

    /// An unknown `X-Amz-Target`.
    pub fn unknown_operation(target: &str) -> Self {
        Self::new("UnknownOperationException", format!("The operation {target} is not supported."))
    }

    /// `AccessDeniedException` (HTTP 403): a request whose `Host` is not the loopback address the endpoint serves.
    pub fn foreign_host(host: &str) -> Self {
        Self::new(
            "AccessDeniedException",
            format!("the endpoint serves 127.0.0.1, localhost and [::1] on its own port only, not Host {host:?}"),
        )
    }

    /// A body that is not the operation's JSON.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new("SerializationException", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match self.code {
            "InternalServiceError" => StatusCode::INTERNAL_SERVER_ERROR,
            "AccessDeniedException" => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = serde_json::json!({"__type": self.code, "Message": self.message}).to_string();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
        headers.insert("x-amzn-errortype", HeaderValue::from_static(self.code));
        response
    }
}
