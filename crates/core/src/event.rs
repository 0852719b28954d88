//! The rotation event Secrets Manager sends, and its step.

use serde_json::Value;

use crate::error::RotationError;

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
        let object = value.as_object().ok_or_else(|| RotationError::InvalidEvent {
            field: "(event)",
            reason: format!("must be a JSON object, got {}", json_kind(value)),
        })?;
        let text = |field: &'static str| -> Result<Option<&str>, RotationError> {
            match object.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(other) => Err(RotationError::InvalidEvent {
                    field,
                    reason: format!("must be a string, got {}", json_kind(other)),
                }),
            }
        };
        let required = |field: &'static str| -> Result<&str, RotationError> {
            text(field)?.ok_or(RotationError::InvalidEvent { field, reason: "is missing".into() })
        };

        let step_name = required("Step")?;
        let step = Step::parse(step_name).ok_or_else(|| RotationError::InvalidEvent {
            field: "Step",
            reason: format!(
                "is {:?}; expected one of createSecret, setSecret, testSecret, finishSecret",
                truncate(step_name, 40)
            ),
        })?;
        let secret_id = required("SecretId")?;
        if secret_id.is_empty() || secret_id.len() > 2048 {
            return Err(RotationError::InvalidEvent {
                field: "SecretId",
                reason: "must be a secret ARN or name of 1 to 2048 characters".into(),
            });
        }
        let token = required("ClientRequestToken")?;
        check_token("ClientRequestToken", token, 32, 64)?;
        let rotation_token = text("RotationToken")?;
        if let Some(rotation_token) = rotation_token {
            check_token("RotationToken", rotation_token, 36, 256)?;
        }
        Ok(Self {
            step,
            secret_id: secret_id.to_owned(),
            client_request_token: token.to_owned(),
            rotation_token: rotation_token.map(str::to_owned),
        })
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
}
