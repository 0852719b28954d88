//! Redshift Serverless's JSON 1.1 protocol: a JSON object in (`X-Amz-Target: RedshiftServerless.<Operation>`), a
//! JSON object out, and faults as `{"__type", "message"}` with the service's codes and HTTP statuses.

use serde_json::{Map, Value, json};

/// The `X-Amz-Target` prefix of every Serverless call.
pub const TARGET_PREFIX: &str = "RedshiftServerless.";

/// An error answer: the service's code, its HTTP status, its message and, when it is about one, the resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The error's `__type` (`ResourceNotFoundException`).
    pub code: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The message.
    pub message: String,
    /// `resourceName`, for `ResourceNotFoundException`.
    pub resource: Option<String>,
}

impl Fault {
    fn new(code: &'static str, status: u16, message: impl Into<String>) -> Self {
        Self { code, status, message: message.into(), resource: None }
    }

    pub(super) fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", 400, message)
    }

    pub(super) fn conflict(message: impl Into<String>) -> Self {
        Self::new("ConflictException", 409, message)
    }

    /// `kind` (`namespace`, `workgroup`) `name` does not exist.
    pub(super) fn not_found(kind: &str, name: &str) -> Self {
        Self {
            resource: Some(name.to_owned()),
            ..Self::new("ResourceNotFoundException", 404, format!("{kind} {name} not found"))
        }
    }

    /// An operation the endpoint does not serve.
    pub fn unknown_operation(operation: &str) -> Self {
        Self::new("UnknownOperationException", 400, format!("The operation {operation} is not supported."))
    }

    /// A body that is not a JSON object.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new("SerializationException", 400, message)
    }

    /// The endpoint's own failure, or the stand-in's.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalServerException", 500, message)
    }

    /// The answer for a call the endpoint was not started for.
    pub fn not_configured() -> Self {
        Self::validation(super::NOT_CONFIGURED)
    }

    /// The JSON error document.
    pub fn to_json(&self) -> Value {
        let mut body = json!({"__type": self.code, "message": self.message});
        if let Some(resource) = &self.resource {
            body["resourceName"] = json!(resource);
        }
        body
    }
}

/// A call's input object. Its `Debug` shows the members' names only: a value may be a password.
#[derive(Clone, Default)]
pub struct Input(Map<String, Value>);

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Input").field(&self.0.keys().collect::<Vec<_>>()).finish()
    }
}

impl Input {
    /// Parses a body: a JSON object, or nothing (`{}`). The parser's message never quotes the body.
    pub fn parse(body: &[u8]) -> Result<Self, Fault> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::default());
        }
        match serde_json::from_slice(body) {
            Ok(Value::Object(members)) => Ok(Self(members)),
            Ok(_) => Err(Fault::serialization("The request body must be a JSON object.")),
            Err(e) => Err(Fault::serialization(format!(
                "The request body is not JSON (line {}, column {}).",
                e.line(),
                e.column()
            ))),
        }
    }

    /// A string member, if given.
    pub(super) fn string(&self, name: &str) -> Result<Option<&str>, Fault> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(value)) => Ok(Some(value)),
            Some(_) => Err(Fault::serialization(format!("{name} must be a string."))),
        }
    }

    /// A string member that must be given.
    pub(super) fn require(&self, name: &str) -> Result<&str, Fault> {
        self.string(name)?.filter(|v| !v.is_empty()).ok_or_else(|| Fault::validation(format!("{name} is required.")))
    }

    /// Whether a boolean member is `true`.
    pub(super) fn is_true(&self, name: &str) -> bool {
        self.0.get(name) == Some(&Value::Bool(true))
    }

    /// The members' names.
    pub(super) fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_never_shows_its_values_nor_does_a_malformed_body() {
        let input = Input::parse(br#"{"namespaceName": "ns", "adminUserPassword": "Secret-Passw0rd"}"#).unwrap();
        assert_eq!(input.require("namespaceName").unwrap(), "ns");
        assert!(!format!("{input:?}").contains("Secret"), "{input:?}");
        assert!(Input::parse(b"").unwrap().names().next().is_none());
        let broken = Input::parse(br#"{"adminUserPassword": "Secret-Passw0rd""#).unwrap_err();
        assert_eq!(broken.code, "SerializationException");
        assert!(!broken.message.contains("Secret"), "{}", broken.message);
        assert_eq!(Input::parse(b"[]").unwrap_err().code, "SerializationException");
        assert_eq!(input.require("dbName").unwrap_err().code, "ValidationException");
        let not_found = Fault::not_found("namespace", "ns").to_json();
        assert_eq!(
            not_found,
            json!({"__type": "ResourceNotFoundException", "message": "namespace ns not found", "resourceName": "ns"})
        );
    }
}
