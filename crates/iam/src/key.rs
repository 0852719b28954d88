//! The secret: an IAM user's access key, in rotor's field names or in the names other rotators use.

use rotation_core::{Password, RotationError, Secret};
use serde_json::Value;

/// The `type` rotor writes and accepts (a secret without `type` is accepted too).
pub const SECRET_TYPE: &str = "aws-iam-access-key";

/// Which field names a secret uses; a rotation writes the new key under the same names, every other field kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldNames {
    /// The user's name.
    pub user: &'static str,
    /// The access key id.
    pub id: &'static str,
    /// The secret access key.
    pub secret: &'static str,
}

/// The accepted spellings, in the order they are tried: rotor's own; IAM's API names (`CreateAccessKey`'s
/// output, which community rotators store as is); the shared credentials file's names.
const SPELLINGS: &[FieldNames] = &[
    FieldNames { user: "user_name", id: "access_key_id", secret: "secret_access_key" },
    FieldNames { user: "UserName", id: "AccessKeyId", secret: "SecretAccessKey" },
    FieldNames { user: "user_name", id: "aws_access_key_id", secret: "aws_secret_access_key" },
];

/// An access key as a secret holds it. `Debug` leaves the secret access key out.
#[derive(Clone, PartialEq, Eq)]
pub struct KeySecret {
    /// The IAM user's name.
    pub user_name: String,
    /// The access key id (not a secret: CloudTrail records it).
    pub access_key_id: String,
    secret_access_key: Password,
    /// The field names the secret uses.
    pub names: FieldNames,
}

impl std::fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySecret")
            .field("user_name", &self.user_name)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl KeySecret {
    /// Reads a secret in one of the accepted spellings; an error names the fields it expects.
    pub fn parse(secret: &Secret) -> Result<Self, RotationError> {
        let fields = secret.require_json()?;
        if let Some(kind) = fields.get("type").and_then(Value::as_str).filter(|t| *t != SECRET_TYPE) {
            return Err(secret.invalid("type", format!("is {kind:?}; this function rotates {SECRET_TYPE:?} secrets")));
        }
        let names = SPELLINGS.iter().find(|n| fields.contains_key(n.id)).copied().ok_or_else(|| {
            secret.invalid(
                "access_key_id",
                "is missing: an IAM access key secret holds user_name, access_key_id and secret_access_key (or UserName, AccessKeyId, SecretAccessKey; or aws_access_key_id, aws_secret_access_key with user_name)",
            )
        })?;
        let user_name = match secret.optional_str(names.user)? {
            Some(name) => name,
            None => secret.require_str("UserName").or_else(|_| secret.require_str("user_name"))?,
        };
        if user_name.is_empty() || user_name.len() > 64 {
            return Err(secret.invalid(names.user, "must be an IAM user name (1 to 64 characters)"));
        }
        Ok(Self {
            user_name: user_name.to_owned(),
            access_key_id: secret.require_str(names.id)?.to_owned(),
            secret_access_key: Password::new(secret.require_str(names.secret)?.to_owned()),
            names,
        })
    }

    /// The secret access key. Never log it.
    pub fn secret_access_key(&self) -> &str {
        self.secret_access_key.expose()
    }

    /// `current` with a new key under the same field names (and `type` added when rotor's names are used).
    pub fn next(
        &self,
        current: &Secret,
        access_key_id: String,
        secret_access_key: String,
    ) -> Result<Secret, RotationError> {
        let mut next =
            current.with_field(self.names.id, access_key_id)?.with_field(self.names.secret, secret_access_key)?;
        if self.names.id == "access_key_id" && next.get("type").is_none() {
            next = next.with_field("type", SECRET_TYPE)?;
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_is_read_and_written_back_the_same_way() {
        for (json, id_field) in [
            (
                r#"{"type":"aws-iam-access-key","user_name":"ci","access_key_id":"AKIA1","secret_access_key":"s1","team":"x"}"#,
                "access_key_id",
            ),
            (r#"{"UserName":"ci","AccessKeyId":"AKIA1","SecretAccessKey":"s1","team":"x"}"#, "AccessKeyId"),
            (
                r#"{"user_name":"ci","aws_access_key_id":"AKIA1","aws_secret_access_key":"s1","team":"x"}"#,
                "aws_access_key_id",
            ),
        ] {
            let secret = Secret::parse("s", json);
            let key = KeySecret::parse(&secret).unwrap();
            assert_eq!(
                (key.user_name.as_str(), key.access_key_id.as_str(), key.secret_access_key()),
                ("ci", "AKIA1", "s1")
            );
            let next = key.next(&secret, "AKIA2".into(), "s2".into()).unwrap();
            assert_eq!(next.get(id_field).unwrap(), "AKIA2");
            assert_eq!(next.get("team").unwrap(), "x", "other fields kept");
            let again = KeySecret::parse(&next).unwrap();
            assert_eq!((again.access_key_id.as_str(), again.secret_access_key()), ("AKIA2", "s2"));
            assert!(!format!("{again:?}").contains("s2"), "Debug leaves the secret access key out");
        }
    }

    #[test]
    fn wrong_type_and_missing_fields_are_named() {
        let wrong =
            Secret::parse("s", r#"{"type":"postgres","user_name":"u","access_key_id":"A","secret_access_key":"s"}"#);
        assert!(KeySecret::parse(&wrong).unwrap_err().to_string().contains("field `type`"));
        let missing = Secret::parse("s", r#"{"user_name":"u"}"#);
        assert!(KeySecret::parse(&missing).unwrap_err().to_string().contains("access_key_id` is missing"));
        let no_secret = Secret::parse("s", r#"{"user_name":"u","access_key_id":"A"}"#);
        assert!(KeySecret::parse(&no_secret).unwrap_err().to_string().contains("secret_access_key"));
    }
}
