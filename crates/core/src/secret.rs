//! The secret value: a JSON object kept whole (unknown fields preserved), or a plain string.

use serde_json::{Map, Value};

use crate::error::RotationError;

/// A secret value, as stored in `SecretString`.
///
/// A JSON object keeps every field, known or not, in order, so a new version carries them unchanged. A value
/// that is not a JSON object is a plain string (AWS's custom-rotation template stores a bare string) and stays
/// plain. `Debug` shows field names only, never a value.
#[derive(Clone, PartialEq)]
pub struct Secret {
    origin: String,
    version: Option<String>,
    shape: Shape,
}

#[derive(Clone, PartialEq)]
enum Shape {
    Json(Map<String, Value>),
    Plain(String),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.shape {
            Shape::Json(map) => f
                .debug_struct("Secret")
                .field("origin", &self.origin)
                .field("fields", &map.keys().collect::<Vec<_>>())
                .finish_non_exhaustive(),
            Shape::Plain(_) => {
                f.debug_struct("Secret").field("origin", &self.origin).field("plain", &"<redacted>").finish()
            }
        }
    }
}

impl Secret {
    /// Reads a `SecretString`; `origin` (the secret's ARN or name) is used in error messages.
    pub fn parse(origin: impl Into<String>, secret_string: &str) -> Self {
        let shape = match serde_json::from_str::<Value>(secret_string) {
            Ok(Value::Object(map)) => Shape::Json(map),
            _ => Shape::Plain(secret_string.to_owned()),
        };
        Self { origin: origin.into(), version: None, shape }
    }

    /// The same secret, known to be the version `version` (the rotation's token for a pending secret).
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// The version this value was read from, when known.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// A JSON secret built from an object (tests, examples).
    pub fn from_json(origin: impl Into<String>, map: Map<String, Value>) -> Self {
        Self { origin: origin.into(), version: None, shape: Shape::Json(map) }
    }

    /// The secret's ARN or name, as named in errors.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether the value is a JSON object.
    pub fn is_json(&self) -> bool {
        matches!(self.shape, Shape::Json(_))
    }

    /// The plain string, when the secret is not a JSON object.
    pub fn as_plain(&self) -> Option<&str> {
        match &self.shape {
            Shape::Plain(s) => Some(s),
            Shape::Json(_) => None,
        }
    }

    /// The JSON fields, when the secret is a JSON object.
    pub fn fields(&self) -> Option<&Map<String, Value>> {
        match &self.shape {
            Shape::Json(map) => Some(map),
            Shape::Plain(_) => None,
        }
    }

    /// A field of a JSON secret.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields().and_then(|map| map.get(field))
    }

    /// A required, non-empty string field; the error names the field.
    pub fn require_str(&self, field: &str) -> Result<&str, RotationError> {
        match self.require_json()?.get(field) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s),
            Some(Value::String(_)) => Err(self.invalid(field, "is empty")),
            Some(_) => Err(self.invalid(field, "must be a string")),
            None => Err(self.invalid(field, "is missing")),
        }
    }

    /// An optional string field: `None` when absent or null, an error when of another type.
    pub fn optional_str(&self, field: &str) -> Result<Option<&str>, RotationError> {
        match self.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.invalid(field, "must be a string")),
        }
    }

    /// A port: a number or a numeric string, 1 to 65535 (AWS's functions accept both).
    pub fn port(&self, field: &str, default: u16) -> Result<u16, RotationError> {
        let invalid = || self.invalid(field, "must be a port number from 1 to 65535 (a number or a numeric string)");
        match self.get(field) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Number(n)) => {
                n.as_u64().and_then(|n| u16::try_from(n).ok()).filter(|n| *n > 0).ok_or_else(invalid)
            }
            Some(Value::String(s)) => s.trim().parse::<u16>().ok().filter(|n| *n > 0).ok_or_else(invalid),
            Some(_) => Err(invalid()),
        }
    }

    /// The JSON fields, or an error saying the secret must be a JSON object.
    pub fn require_json(&self) -> Result<&Map<String, Value>, RotationError> {
        self.fields().ok_or_else(|| self.invalid("SecretString", "must be a JSON object"))
    }

    /// A copy with `field` set to `value` (a JSON secret), every other field unchanged.
    pub fn with_field(&self, field: &str, value: impl Into<Value>) -> Result<Secret, RotationError> {
        let mut map = self.require_json()?.clone();
        map.insert(field.to_owned(), value.into());
        Ok(Self { origin: self.origin.clone(), version: None, shape: Shape::Json(map) })
    }

    /// A plain secret with a new value.
    pub fn with_plain(&self, value: impl Into<String>) -> Secret {
        Self { origin: self.origin.clone(), version: None, shape: Shape::Plain(value.into()) }
    }

    /// The `SecretString` to store.
    pub fn to_secret_string(&self) -> String {
        match &self.shape {
            Shape::Json(map) => Value::Object(map.clone()).to_string(),
            Shape::Plain(s) => s.clone(),
        }
    }

    /// An [`RotationError::InvalidSecret`] for a field of this secret.
    pub fn invalid(&self, field: &str, reason: impl Into<String>) -> RotationError {
        RotationError::invalid_secret(self.origin.clone(), field, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_survive_a_change_in_order() {
        let secret = Secret::parse("s", r#"{"zeta":1,"username":"app","password":"old","nested":{"a":[1,2]}}"#);
        let next = secret.with_field("password", "new").unwrap();
        assert_eq!(next.to_secret_string(), r#"{"zeta":1,"username":"app","password":"new","nested":{"a":[1,2]}}"#);
    }

    #[test]
    fn field_errors_name_the_field() {
        let secret = Secret::parse("arn:s", r#"{"username":"","port":"x5432","host":7}"#);
        assert!(secret.require_str("username").unwrap_err().to_string().contains("`username` is empty"));
        assert!(secret.require_str("password").unwrap_err().to_string().contains("`password` is missing"));
        assert!(secret.require_str("host").unwrap_err().to_string().contains("`host` must be a string"));
        assert!(secret.port("port", 5432).unwrap_err().to_string().contains("`port` must be a port number"));
        let plain = Secret::parse("arn:s", "just-a-key");
        assert!(plain.require_str("password").unwrap_err().to_string().contains("must be a JSON object"));
        assert_eq!(plain.as_plain(), Some("just-a-key"));
    }

    #[test]
    fn ports_are_numbers_or_numeric_strings() {
        assert_eq!(Secret::parse("s", r#"{"port":"3306"}"#).port("port", 1).unwrap(), 3306);
        assert_eq!(Secret::parse("s", r#"{"port":5433}"#).port("port", 1).unwrap(), 5433);
        assert_eq!(Secret::parse("s", r#"{}"#).port("port", 5432).unwrap(), 5432);
        assert!(Secret::parse("s", r#"{"port":70000}"#).port("port", 1).is_err());
        assert!(Secret::parse("s", r#"{"port":0}"#).port("port", 1).is_err());
    }

    #[test]
    fn debug_never_shows_values() {
        let secret = Secret::parse("s", r#"{"password":"hunter2-value"}"#);
        assert!(!format!("{secret:?}").contains("hunter2"));
        let plain = Secret::parse("s", "plain-hunter2");
        assert!(!format!("{plain:?}").contains("hunter2"));
    }
}
