//! The events a rotation function receives (a secret's step from Secrets Manager, a parameter's rotation), parsed
//! by serde into one typed enum, [`Incoming`].

use serde::Deserialize;
use serde_json::Value;

use crate::error::RotationError;
use crate::store::parameter_lock::PENDING_SUFFIX;

/// One of the four rotation steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Build the pending secret and store it as `AWSPENDING`.
    CreateSecret,
    /// Make the target accept the pending credential.
    SetSecret,
    /// Prove the pending credential works.
    TestSecret,
    /// Promote the pending version to `AWSCURRENT`.
    FinishSecret,
}

impl Step {
    /// All steps, in the order the service invokes them.
    pub const ALL: [Step; 4] = [Step::CreateSecret, Step::SetSecret, Step::TestSecret, Step::FinishSecret];

    /// The step's name as Secrets Manager sends it (camelCase).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateSecret => "createSecret",
            Self::SetSecret => "setSecret",
            Self::TestSecret => "testSecret",
            Self::FinishSecret => "finishSecret",
        }
    }

    /// Parses the camelCase form the service sends, and the snake_case form AWS's documentation also uses.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "createSecret" | "create_secret" => Some(Self::CreateSecret),
            "setSecret" | "set_secret" => Some(Self::SetSecret),
            "testSecret" | "test_secret" => Some(Self::TestSecret),
            "finishSecret" | "finish_secret" => Some(Self::FinishSecret),
            _ => None,
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The event of one rotation step.
///
/// `Debug` redacts the `RotationToken`, which is a credential.
#[derive(Clone, PartialEq, Eq)]
pub struct RotationEvent {
    /// The step to run.
    pub step: Step,
    /// The secret's ARN (or name).
    pub secret_id: String,
    /// The rotation's token: the `VersionId` of the pending version, the same for all four steps.
    pub client_request_token: String,
    /// The opaque token to pass back on `PutSecretValue`; sensitive, never logged.
    pub rotation_token: Option<String>,
}

impl std::fmt::Debug for RotationEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotationEvent")
            .field("step", &self.step)
            .field("secret_id", &self.secret_id)
            .field("client_request_token", &self.client_request_token)
            .field("rotation_token", &self.rotation_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl RotationEvent {
    /// Parses and validates the event; an error names the field at fault.
    ///
    /// The `ClientRequestToken` must be 32 to 64 printable ASCII characters, and the `RotationToken`, when
    /// present, 36 to 256: anything else was not sent by Secrets Manager.
    pub fn from_value(value: &Value) -> Result<Self, RotationError> {
        Wire::parse(value)?.secret_step()
    }

    /// The event as Secrets Manager sends it (camelCase step).
    pub fn to_value(&self) -> Value {
        let mut event = serde_json::json!({
            "Step": self.step.as_str(),
            "SecretId": self.secret_id,
            "ClientRequestToken": self.client_request_token,
        });
        if let Some(token) = &self.rotation_token {
            event["RotationToken"] = Value::String(token.clone());
        }
        event
    }
}

/// An event a rotation function receives: a secret's step, or a parameter's rotation (it names a `ParameterName`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// One step of a secret's rotation, as Secrets Manager sends it.
    Secret(RotationEvent),
    /// A parameter's rotation: all four steps in one invocation.
    Parameter(ParameterEvent),
}

impl Incoming {
    /// Parses and validates an event of either kind; an error names the field at fault and never echoes a token.
    pub fn from_value(value: &Value) -> Result<Self, RotationError> {
        let wire = Wire::parse(value)?;
        if wire.parameter_name.is_some() {
            wire.parameter().map(Self::Parameter)
        } else {
            wire.secret_step().map(Self::Secret)
        }
    }
}

/// A parameter rotation's event: `{"ParameterName": ..., "RotationId": ...}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParameterEvent {
    /// The parameter's name (`/prod/db/app`).
    pub name: String,
    /// The rotation's id: the same for every run of one rotation, new for the next.
    pub rotation_id: String,
}

impl ParameterEvent {
    /// Parses the event; errors name the field.
    pub fn from_value(value: &Value) -> Result<Self, RotationError> {
        Wire::parse(value)?.parameter()
    }

    /// The label that marks the version this rotation wrote: `rotation-` and the id, `:` made `-` (labels take
    /// letters, digits, `.`, `-`, `_`).
    pub fn label(&self) -> String {
        rotation_label(&self.rotation_id)
    }

    /// The companion's name.
    pub fn companion(&self) -> String {
        format!("{}{PENDING_SUFFIX}", self.name)
    }
}

/// The label of the version rotation `id` wrote.
pub(crate) fn rotation_label(id: &str) -> String {
    format!("rotation-{}", id.replace(':', "-"))
}

/// The fields either kind of event may carry, as serde reads them: every one a string when present (`null` reads as
/// absent); what each kind requires is checked after.
#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "Step")]
    step: Option<String>,
    #[serde(rename = "SecretId")]
    secret_id: Option<String>,
    #[serde(rename = "ClientRequestToken")]
    client_request_token: Option<String>,
    #[serde(rename = "RotationToken")]
    rotation_token: Option<String>,
    #[serde(rename = "ParameterName")]
    parameter_name: Option<String>,
    #[serde(rename = "RotationId")]
    rotation_id: Option<String>,
}

/// The fields [`Wire`] reads, in its order.
const FIELDS: [&str; 6] = ["Step", "SecretId", "ClientRequestToken", "RotationToken", "ParameterName", "RotationId"];

impl Wire {
    fn parse(value: &Value) -> Result<Self, RotationError> {
        let Some(object) = value.as_object() else {
            return Err(RotationError::InvalidEvent {
                field: "(event)",
                reason: format!("must be a JSON object, got {}", json_kind(value)),
            });
        };
        Self::deserialize(value).map_err(|_| {
            // serde's message says what was wrong but not where (and may quote a value): name the field instead.
            let wrong = FIELDS.into_iter().find_map(|field| match object.get(field) {
                None | Some(Value::Null | Value::String(_)) => None,
                Some(other) => Some((field, json_kind(other))),
            });
            let (field, kind) = wrong.unwrap_or(("(event)", "something else"));
            RotationError::InvalidEvent { field, reason: format!("must be a string, got {kind}") }
        })
    }

    fn secret_step(self) -> Result<RotationEvent, RotationError> {
        let step_name = required("Step", self.step)?;
        let step = Step::parse(&step_name).ok_or_else(|| RotationError::InvalidEvent {
            field: "Step",
            reason: format!(
                "is {:?}; expected one of createSecret, setSecret, testSecret, finishSecret",
                truncate(&step_name, 40)
            ),
        })?;
        let secret_id = required("SecretId", self.secret_id)?;
        if secret_id.is_empty() || secret_id.len() > 2048 {
            return Err(RotationError::InvalidEvent {
                field: "SecretId",
                reason: "must be a secret ARN or name of 1 to 2048 characters".into(),
            });
        }
        let token = required("ClientRequestToken", self.client_request_token)?;
        check_token("ClientRequestToken", &token, 32, 64)?;
        if let Some(rotation_token) = &self.rotation_token {
            check_token("RotationToken", rotation_token, 36, 256)?;
        }
        Ok(RotationEvent { step, secret_id, client_request_token: token, rotation_token: self.rotation_token })
    }

    fn parameter(self) -> Result<ParameterEvent, RotationError> {
        let non_empty = |field, value| match required(field, value)? {
            text if text.is_empty() => {
                Err(RotationError::InvalidEvent { field, reason: "must be a non-empty string".into() })
            }
            text => Ok(text),
        };
        let name = non_empty("ParameterName", self.parameter_name)?;
        let rotation_id = non_empty("RotationId", self.rotation_id)?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || "/_.-".contains(c);
        if !name.chars().all(allowed) || name.ends_with(PENDING_SUFFIX) || name.len() > 1011 - PENDING_SUFFIX.len() {
            return Err(RotationError::InvalidEvent {
                field: "ParameterName",
                reason: "must be a parameter name (letters, digits, / _ . -), not a rotation's companion".into(),
            });
        }
        if rotation_id.len() > 80 || !rotation_id.chars().all(|c| c.is_ascii_alphanumeric() || "_.-:".contains(c)) {
            return Err(RotationError::InvalidEvent {
                field: "RotationId",
                reason: "must be at most 80 letters, digits, _ . - or : (the schedule's scheduled-time fits)".into(),
            });
        }
        Ok(ParameterEvent { name, rotation_id })
    }
}

fn required(field: &'static str, value: Option<String>) -> Result<String, RotationError> {
    value.ok_or(RotationError::InvalidEvent { field, reason: "is missing".into() })
}

fn check_token(field: &'static str, token: &str, min: usize, max: usize) -> Result<(), RotationError> {
    let printable = token.bytes().all(|b| b.is_ascii_graphic());
    if !printable || token.len() < min || token.len() > max {
        // The value itself is never echoed: a RotationToken is a credential.
        return Err(RotationError::InvalidEvent {
            field,
            reason: format!(
                "must be {min} to {max} printable ASCII characters (got {} characters{})",
                token.chars().count(),
                if printable { "" } else { ", some not printable ASCII" }
            ),
        });
    }
    Ok(())
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN: &str = "3d8b1c7e-9f2a-4e1b-8c3d-5a6b7c8d9e0f";

    fn event(step: &str) -> Value {
        json!({"Step": step, "SecretId": "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf",
               "ClientRequestToken": TOKEN})
    }

    #[test]
    fn camel_and_snake_case_steps_parse() {
        for (camel, snake, step) in [
            ("createSecret", "create_secret", Step::CreateSecret),
            ("setSecret", "set_secret", Step::SetSecret),
            ("testSecret", "test_secret", Step::TestSecret),
            ("finishSecret", "finish_secret", Step::FinishSecret),
        ] {
            assert_eq!(RotationEvent::from_value(&event(camel)).unwrap().step, step);
            assert_eq!(RotationEvent::from_value(&event(snake)).unwrap().step, step);
        }
    }

    #[test]
    fn every_event_fixture_parses_and_round_trips() {
        let events = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events");
        let (mut count, mut kinds) = (0, 0);
        for function in std::fs::read_dir(&events).unwrap() {
            kinds += 1;
            for file in std::fs::read_dir(function.unwrap().path()).unwrap() {
                let path = file.unwrap().path();
                let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                let parsed = RotationEvent::from_value(&value).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                assert_eq!(parsed.step.as_str(), path.file_stem().unwrap(), "{}", path.display());
                assert_eq!(parsed.to_value(), value);
                count += 1;
            }
        }
        assert!(kinds >= 5, "postgres, mysql, redis, elasticache, custom");
        assert_eq!(count, 4 * kinds, "four steps for each function kind");
    }

    #[test]
    fn unknown_step_names_the_field() {
        let error = RotationEvent::from_value(&event("rotateSecret")).unwrap_err();
        assert!(matches!(error, RotationError::InvalidEvent { field: "Step", .. }), "{error}");
        assert!(error.to_string().contains("expected one of createSecret"));
    }

    #[test]
    fn missing_fields_are_named() {
        for field in ["Step", "SecretId", "ClientRequestToken"] {
            let mut value = event("createSecret");
            value.as_object_mut().unwrap().remove(field);
            let error = RotationEvent::from_value(&value).unwrap_err();
            assert!(error.to_string().contains(&format!("field `{field}` is missing")), "{error}");
        }
        let error = RotationEvent::from_value(&json!([1])).unwrap_err();
        assert!(error.to_string().contains("must be a JSON object"));
    }

    #[test]
    fn bad_tokens_are_rejected_without_echoing_them() {
        for bad in ["short", &"x".repeat(65), "has space in it and is long enough to pass...", "é".repeat(40).as_str()]
        {
            let mut value = event("setSecret");
            value["ClientRequestToken"] = json!(bad);
            let error = RotationEvent::from_value(&value).unwrap_err().to_string();
            assert!(error.contains("`ClientRequestToken` must be 32 to 64 printable ASCII"), "{error}");
        }
        let secret_token = "s3cr3t-rotation-token-value-that-must-not-leak ";
        let mut value = event("setSecret");
        value["RotationToken"] = json!(secret_token);
        let error = RotationEvent::from_value(&value).unwrap_err().to_string();
        assert!(error.contains("RotationToken"));
        assert!(!error.contains("s3cr3t"), "{error}");
        value["ClientRequestToken"] = json!(7);
        assert!(RotationEvent::from_value(&value).unwrap_err().to_string().contains("must be a string, got a number"));
    }

    #[test]
    fn debug_redacts_the_rotation_token() {
        let mut value = event("createSecret");
        value["RotationToken"] = json!("rt-0123456789-0123456789-0123456789-abc");
        let parsed = RotationEvent::from_value(&value).unwrap();
        let debug = format!("{parsed:?}");
        assert!(debug.contains("<redacted>") && !debug.contains("rt-0123456789"), "{debug}");
    }

    #[test]
    fn an_incoming_event_is_a_secrets_step_or_a_parameters_rotation() {
        match Incoming::from_value(&event("setSecret")).unwrap() {
            Incoming::Secret(step) => assert_eq!(step.step, Step::SetSecret),
            other => panic!("{other:?}"),
        }
        let parameter = json!({"ParameterName": "/prod/db/app", "RotationId": "2026-12-06T00:00:00Z"});
        let Incoming::Parameter(rotation) = Incoming::from_value(&parameter).unwrap() else { panic!() };
        assert_eq!(
            (rotation.name.as_str(), rotation.label()),
            ("/prod/db/app", "rotation-2026-12-06T00-00-00Z".into())
        );
        assert_eq!(rotation.companion(), "/prod/db/app.rotor-pending");
    }

    #[test]
    fn a_parameters_event_names_its_bad_field() {
        let cases = [
            (json!({"ParameterName": "/a"}), "`RotationId` is missing"),
            (json!({"ParameterName": "", "RotationId": "r"}), "`ParameterName` must be a non-empty string"),
            (json!({"ParameterName": "/a.rotor-pending", "RotationId": "r"}), "not a rotation's companion"),
            (json!({"ParameterName": "/a b", "RotationId": "r"}), "must be a parameter name"),
            (json!({"ParameterName": "/a", "RotationId": "r/1"}), "`RotationId` must be at most 80"),
            (json!({"ParameterName": ["/a"], "RotationId": "r"}), "`ParameterName` must be a string, got an array"),
        ];
        for (value, expected) in cases {
            let error = Incoming::from_value(&value).unwrap_err().to_string();
            assert!(error.contains(expected), "{value}: {error}");
        }
    }
}
