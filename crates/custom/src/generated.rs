//! The plain generated-secret target.

use rotation_core::{
    Check, Env, Password, PasswordPolicy, RotationError, Secret, SetContext, Target, TargetErrorKind, TestContext,
};
use serde_json::Value;

use crate::format::Format;

/// A secret whose value is simply regenerated.
///
/// In a JSON secret, the field named by `GENERATED_KEY` (default `password`) gets the new value and every other
/// field is kept; a plain-string secret is replaced whole and stays plain. The value is a password by the policy,
/// or random bytes in hex or base64, or a UUID ([`Format`]).
#[derive(Debug, Clone)]
pub struct GeneratedSecret {
    key: String,
    policy: PasswordPolicy,
    format: Format,
}

impl GeneratedSecret {
    /// The environment variable naming the JSON field to replace.
    pub const KEY_VARIABLE: &'static str = "GENERATED_KEY";

    /// A target replacing `key` with passwords from `policy`.
    pub fn new(key: impl Into<String>, policy: PasswordPolicy) -> Self {
        Self { key: key.into(), policy, format: Format::Password }
    }

    /// The same target generating values in `format`.
    pub fn with_format(self, format: Format) -> Self {
        Self { format, ..self }
    }

    /// Reads `GENERATED_KEY`, `GENERATED_FORMAT`/`GENERATED_BYTES` and the password policy from the environment.
    pub fn from_env(env: &Env) -> Result<Self, RotationError> {
        let policy = PasswordPolicy::from_env(env, rotation_core::DEFAULT_EXCLUDE_CHARACTERS)?;
        Self::from_env_with_policy(env, policy)
    }

    /// As [`GeneratedSecret::from_env`], with a policy already read.
    pub fn from_env_with_policy(env: &Env, policy: PasswordPolicy) -> Result<Self, RotationError> {
        let key = env.get(Self::KEY_VARIABLE).unwrap_or_else(|| "password".into());
        Ok(Self::new(key, policy).with_format(Format::from_env(env)?))
    }

    /// The secret's current value of the generated key (the whole value of a plain secret).
    pub fn value_of<'a>(&self, secret: &'a Secret) -> Result<&'a str, RotationError> {
        match secret.as_plain() {
            Some(plain) => Ok(plain),
            None => secret.require_str(&self.key),
        }
    }

    /// `rotatectl doctor`'s check that `current` has the key to replace.
    pub fn check(&self, current: &Secret) -> Check {
        Check::new("the secret has the key to replace", self.value_of(current).map(drop))
    }
}

impl GeneratedSecret {
    /// `current` with `value` in the generated key (or as the whole value of a plain secret), all else kept.
    pub fn with_value(&self, current: &Secret, value: String) -> Result<Secret, RotationError> {
        if current.is_json() {
            // The field must exist already: a typo in GENERATED_KEY must not silently add a new field.
            self.value_of(current)?;
            current.with_field(&self.key, Value::String(value))
        } else {
            Ok(current.with_plain(value))
        }
    }
}

impl Target for GeneratedSecret {
    fn name(&self) -> &'static str {
        "generated"
    }

    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        self.with_value(current, self.format.generate(password)?)
    }

    async fn set(&self, _ctx: &SetContext<'_>) -> Result<(), RotationError> {
        Ok(())
    }

    /// The pending value must have the format and meet the function's password policy or, when the secret's
    /// `rotor:` tags set its own rules, those (read only when the function's policy does not admit the value).
    async fn test(&self, ctx: &TestContext<'_>) -> Result<(), RotationError> {
        let pending = ctx.pending;
        let value = self.value_of(pending)?;
        let Err(reason) = self.format.admits(value, &self.policy) else { return Ok(()) };
        let reason = match ctx.secret_settings().await? {
            Some(settings) if settings.tagged => match self.format.admits(value, &settings.policy) {
                Ok(()) => return Ok(()),
                Err(reason) => format!("{reason}; check the secret's rotor: password tags"),
            },
            _ => format!("{reason}; check the password policy variables"),
        };
        Err(RotationError::target(
            TargetErrorKind::Rejected,
            pending.origin(),
            format!("the pending value of `{}` {reason}", self.key),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> GeneratedSecret {
        GeneratedSecret::new("api_key", PasswordPolicy { length: 24, ..PasswordPolicy::default() })
    }

    #[tokio::test]
    async fn replaces_only_the_configured_key() {
        let current = Secret::parse("s", r#"{"api_key":"old","owner":"team-a"}"#);
        let password = target().policy.generate().unwrap();
        let next = target().next_secret(&current, password.clone()).unwrap();
        assert_eq!(next.get("api_key").unwrap(), password.expose());
        assert_eq!(next.get("owner").unwrap(), "team-a");
        target().test(&TestContext::new(&next)).await.unwrap();
    }

    #[tokio::test]
    async fn plain_secrets_stay_plain() {
        let current = Secret::parse("s", "old-plain-value");
        let next = target().next_secret(&current, target().policy.generate().unwrap()).unwrap();
        assert!(!next.is_json());
        assert_eq!(next.to_secret_string().len(), 24);
        target().test(&TestContext::new(&next)).await.unwrap();
    }

    #[tokio::test]
    async fn a_missing_key_or_a_weak_value_fails_with_the_field_named() {
        let current = Secret::parse("s", r#"{"password":"x"}"#);
        let error = target().next_secret(&current, target().policy.generate().unwrap()).unwrap_err();
        assert!(error.to_string().contains("field `api_key` is missing"), "{error}");
        let weak = Secret::parse("s", r#"{"api_key":"short"}"#);
        let error = target().test(&TestContext::new(&weak)).await.unwrap_err();
        assert_eq!(error.error_type(), "TargetRejected");
        assert!(error.to_string().contains("has 5 characters"), "{error}");
        assert!(!error.to_string().contains("short"));
    }

    #[test]
    fn from_env_reads_the_key_and_policy() {
        let env = Env::from_pairs([("GENERATED_KEY".into(), "token".into()), ("PASSWORD_LENGTH".into(), "40".into())]);
        let target = GeneratedSecret::from_env(&env).unwrap();
        assert_eq!(target.format, Format::Password);
        assert_eq!(target.key, "token");
        assert_eq!(target.policy.length, 40);
    }
}
