//! How to use TLS towards the database: the function's `TLS_MODE` and one secret's `ssl` field.

use serde_json::Value;

use rotation_core::{Env, RotationError, Secret};

/// How to use TLS towards the database, weakest first: the order is the one [`TlsPolicy`](crate::TlsPolicy)'s
/// floor compares by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsMode {
    /// Plaintext; only when explicitly asked, and logged as a warning at every connection.
    Disable,
    /// Encrypted, the server's certificate not verified.
    Require,
    /// Encrypted, the certificate chain verified, the host name not.
    VerifyCa,
    /// Encrypted, chain and host name verified (the default).
    VerifyFull,
}

impl TlsMode {
    /// Parses `disable`, `require`, `verify-ca`, `verify-full`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "disable" => Some(Self::Disable),
            "require" => Some(Self::Require),
            "verify-ca" => Some(Self::VerifyCa),
            "verify-full" => Some(Self::VerifyFull),
            _ => None,
        }
    }

    /// The mode's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// Reads `TLS_MODE` (default `verify-full`).
    pub fn from_env(env: &Env) -> Result<Self, RotationError> {
        match env.get("TLS_MODE") {
            None => Ok(Self::VerifyFull),
            Some(value) => Self::parse(&value).ok_or(RotationError::Config {
                variable: "TLS_MODE",
                reason: "must be disable, require, verify-ca or verify-full".into(),
            }),
        }
    }

    /// What one secret's `ssl` field asks for: a mode name, or `true`/`false` as AWS's functions write it
    /// (`true` means "at least `default`, and never plaintext"); `None` when the field is absent.
    /// [`TlsPolicy::for_secret`](crate::TlsPolicy::for_secret) applies the function's floor to it.
    pub fn requested_by(secret: &Secret, default: TlsMode) -> Result<Option<Self>, RotationError> {
        match secret.get("ssl") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(true)) if default == Self::Disable => Ok(Some(Self::VerifyFull)),
            Some(Value::Bool(true)) => Ok(Some(default)),
            Some(Value::Bool(false)) => Ok(Some(Self::Disable)),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" => Self::requested_by(&secret.with_field("ssl", true)?, default),
                "false" => Ok(Some(Self::Disable)),
                other => Self::parse(other).map(Some).ok_or_else(|| {
                    secret.invalid("ssl", "must be true, false, disable, require, verify-ca or verify-full")
                }),
            },
            Some(_) => Err(secret.invalid("ssl", "must be true, false, or a TLS mode name")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(json: &str) -> Secret {
        Secret::parse("arn:s", json)
    }

    #[test]
    fn tls_modes_parse_with_named_errors() {
        let env = |k: &str, v: &str| Env::from_pairs([(k.to_string(), v.to_string())]);
        assert_eq!(TlsMode::from_env(&Env::default()).unwrap(), TlsMode::VerifyFull);
        assert!(TlsMode::from_env(&env("TLS_MODE", "prefer")).unwrap_err().to_string().contains("TLS_MODE must be"));

        let full = TlsMode::VerifyFull;
        assert_eq!(TlsMode::requested_by(&secret("{}"), full).unwrap(), None);
        assert_eq!(TlsMode::requested_by(&secret(r#"{"ssl":true}"#), TlsMode::Disable).unwrap(), Some(full));
        let verify_ca = TlsMode::VerifyCa;
        assert_eq!(TlsMode::requested_by(&secret(r#"{"ssl":true}"#), verify_ca).unwrap(), Some(verify_ca));
        assert_eq!(TlsMode::requested_by(&secret(r#"{"ssl":false}"#), full).unwrap(), Some(TlsMode::Disable));
        assert_eq!(TlsMode::requested_by(&secret(r#"{"ssl":"require"}"#), full).unwrap(), Some(TlsMode::Require));
        assert_eq!(TlsMode::requested_by(&secret(r#"{"ssl":"true"}"#), full).unwrap(), Some(full));
        assert!(
            TlsMode::requested_by(&secret(r#"{"ssl":"prefer"}"#), full)
                .unwrap_err()
                .to_string()
                .contains("`ssl` must be")
        );
        assert!(TlsMode::Disable < TlsMode::Require && TlsMode::Require < verify_ca && verify_ca < full);
    }
}
