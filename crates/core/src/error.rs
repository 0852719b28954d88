//! The one error type every step returns.

use std::error::Error as StdError;

/// A boxed error source, kept for `#[source]` chains.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What went wrong in a rotation step.
///
/// Every message names the cause and the fix. No variant ever carries a password, a secret value or a
/// `RotationToken`: values are redacted before they reach an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotationError {
    /// The Lambda event is malformed: a field is missing or has a value Secrets Manager never sends.
    #[error("invalid rotation event: field `{field}` {reason}")]
    InvalidEvent {
        /// The event field at fault (`Step`, `SecretId`, `ClientRequestToken`, `RotationToken`).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// The secret's value is not what the target needs.
    #[error("secret {secret} is invalid: field `{field}` {reason}; fix the secret value and rotate again")]
    InvalidSecret {
        /// The secret's ARN or name.
        secret: String,
        /// The JSON field at fault (or `SecretString` for the whole value).
        field: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A `rotor:` tag on the secret is invalid (unknown, malformed, or asking for more than the function allows).
    #[error(
        "secret {secret} has an invalid tag `{tag}`: {reason}; fix or remove the tag (see the book, \"Per-secret settings\" in docs/src/configuration.md) and rotate again"
    )]
    InvalidTag {
        /// The secret's ARN or name.
        secret: String,
        /// The tag key at fault.
        tag: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The function's configuration (its environment) is invalid.
    #[error("invalid configuration: environment variable {variable} {reason}")]
    Config {
        /// The environment variable at fault.
        variable: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },

    /// The FIPS build is not in FIPS mode (its module, its TLS provider or a TLS configuration is not FIPS), or a
    /// deployment requiring FIPS runs a build without it: the function refuses to run.
    #[error("FIPS mode is not active: {reason}")]
    FipsUnavailable {
        /// What is not in FIPS mode, and the fix.
        reason: String,
    },

    /// Rotation is turned off for the secret (`RotationEnabled` is false).
    #[error(
        "rotation is not enabled for secret {secret}; enable it with RotateSecret (or the console) before rotating"
    )]
    RotationDisabled {
        /// The secret's ARN or name.
        secret: String,
    },

    /// The version named by the event's token does not exist, or is in the wrong stage.
    #[error("secret {secret}: version {version} {reason}")]
    VersionState {
        /// The secret's ARN or name.
        secret: String,
        /// The version (the event's `ClientRequestToken`).
        version: String,
        /// What is wrong: not found, not AWSPENDING, has no value.
        reason: String,
    },

    /// A Secrets Manager call failed.
    #[error("Secrets Manager {operation} failed for {secret}: {reason}")]
    SecretsManager {
        /// The API operation (`DescribeSecret`, `PutSecretValue`, ...).
        operation: &'static str,
        /// The secret's ARN or name.
        secret: String,
        /// The service's error code and message, and the fix where one is known.
        reason: String,
        /// Whether trying the step again may succeed (throttling, 5xx, time-outs, network).
        retryable: bool,
        /// The SDK error.
        #[source]
        source: Option<BoxError>,
    },

    /// A Parameter Store call failed.
    #[error("Parameter Store {operation} failed for {parameter}: {reason}")]
    ParameterStore {
        /// The API operation (`GetParameters`, `PutParameter`, ...).
        operation: &'static str,
        /// The parameter's name.
        parameter: String,
        /// The service's error code and message, and the fix where one is known.
        reason: String,
        /// Whether trying again may succeed (throttling, 5xx, time-outs, network).
        retryable: bool,
        /// The SDK error.
        #[source]
        source: Option<BoxError>,
    },

    /// The password policy cannot produce a password.
    #[error("password policy: {reason}")]
    PasswordPolicy {
        /// What is wrong and which variable to change.
        reason: String,
    },

    /// The step did not finish before the invocation's deadline (less a margin) and stopped.
    #[error(
        "{step} stopped {margin:?} before the function's deadline without finishing: the target or Secrets Manager answered too slowly (see the step's warnings); check the network path, or raise the function's timeout"
    )]
    StepTimedOut {
        /// The step.
        step: &'static str,
        /// How long before the deadline it stopped.
        margin: std::time::Duration,
    },

    /// The identity the rotation would change is not bound to the secret (the trust model): neither pinned by an
    /// administrator's `rotor:user` tag nor proven by a login with the secret's own credential.
    #[error(
        "secret {secret} names {kind} {identity:?}, but nothing binds that {kind} to the secret: {reason}; rotor changes only an identity the secret proves or an administrator pins: put a credential that logs in as {identity:?} into the secret's AWSCURRENT (PutSecretValue), or have an administrator tag the secret rotor:user={identity} (the tag guard keeps rotor:* tags to administrators); the first rotation of a secret whose password never worked needs the tag"
    )]
    IdentityNotBound {
        /// The secret's ARN or name.
        secret: String,
        /// What kind of identity (`user`, `IAM user`).
        kind: &'static str,
        /// The identity the secret names.
        identity: String,
        /// Why it is not bound.
        reason: String,
    },

    /// The target system refused or failed the step.
    #[error("{kind} {target}: {message}")]
    Target {
        /// What kind of failure it is.
        kind: TargetErrorKind,
        /// The target system (host, endpoint, or target name).
        target: String,
        /// The cause and the fix, free of values.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<BoxError>,
    },
}

/// The kinds of target failures, so callers and operators can tell them apart without reading strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TargetErrorKind {
    /// The system could not be reached (network, DNS, TLS handshake, time-out).
    Unreachable,
    /// The credential was refused.
    AuthenticationFailed,
    /// The credential logs in but lacks a privilege the step needs.
    PermissionDenied,
    /// The system answered but rejected the change or the test.
    Rejected,
    /// The pending secret would redirect the rotation elsewhere (host, engine, user set changed).
    ConfusedDeputy,
    /// The TLS handshake failed (an untrusted or mismatched certificate, or a server without TLS).
    Tls,
}

impl std::fmt::Display for TargetErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Unreachable => "cannot reach",
            Self::AuthenticationFailed => "authentication failed at",
            Self::PermissionDenied => "permission denied at",
            Self::Rejected => "rejected by",
            Self::ConfusedDeputy => "refusing to rotate",
            Self::Tls => "TLS failed with",
        })
    }
}

impl RotationError {
    /// A short, stable name for the error, used as the Lambda `errorType` and in metrics.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidEvent { .. } => "InvalidEvent",
            Self::InvalidSecret { .. } => "InvalidSecret",
            Self::InvalidTag { .. } => "InvalidSecretTag",
            Self::Config { .. } => "InvalidConfiguration",
            Self::FipsUnavailable { .. } => "FipsModeUnavailable",
            Self::RotationDisabled { .. } => "RotationDisabled",
            Self::VersionState { .. } => "VersionState",
            Self::SecretsManager { .. } => "SecretsManagerError",
            Self::ParameterStore { .. } => "ParameterStoreError",
            Self::PasswordPolicy { .. } => "PasswordPolicy",
            Self::StepTimedOut { .. } => "StepTimedOut",
            Self::IdentityNotBound { .. } => "IdentityNotBound",
            Self::Target { kind, .. } => match kind {
                TargetErrorKind::Unreachable => "TargetUnreachable",
                TargetErrorKind::AuthenticationFailed => "TargetAuthenticationFailed",
                TargetErrorKind::PermissionDenied => "TargetPermissionDenied",
                TargetErrorKind::Rejected => "TargetRejected",
                TargetErrorKind::ConfusedDeputy => "ConfusedDeputy",
                TargetErrorKind::Tls => "TargetTlsFailed",
            },
        }
    }

    /// Whether the same step may succeed when tried again unchanged (the service retries a failed rotation).
    ///
    /// Throttling, server errors, time-outs and unreachable targets are retryable; bad input, bad
    /// configuration, refused credentials and state conflicts need a person.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::SecretsManager { retryable, .. } | Self::ParameterStore { retryable, .. } => *retryable,
            Self::StepTimedOut { .. } => true,
            Self::Target { kind, .. } => matches!(kind, TargetErrorKind::Unreachable),
            _ => false,
        }
    }

    /// Whether the target refused a credential (a wrong password): the caller may try another one.
    pub fn is_authentication_failure(&self) -> bool {
        matches!(self, Self::Target { kind: TargetErrorKind::AuthenticationFailed, .. })
    }

    /// Shorthand for a target error without a source.
    pub fn target(kind: TargetErrorKind, target: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Target { kind, target: target.into(), message: message.into(), source: None }
    }

    /// Shorthand for an invalid secret field.
    pub fn invalid_secret(secret: impl Into<String>, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidSecret { secret: secret.into(), field: field.into(), reason: reason.into() }
    }
}

/// An error and all its causes on one line, `error: cause: cause`, as operators read them.
pub fn with_causes(error: &dyn StdError) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

impl From<RotationError> for lambda_runtime::Diagnostic {
    fn from(error: RotationError) -> Self {
        lambda_runtime::Diagnostic { error_type: error.error_type().to_owned(), error_message: with_causes(&error) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_carries_the_type_and_the_source_chain() {
        let error = RotationError::Target {
            kind: TargetErrorKind::Unreachable,
            target: "db.internal:5432".into(),
            message: "connection refused; check the security group".into(),
            source: Some("os error 111".into()),
        };
        assert!(error.is_retryable());
        let diagnostic = lambda_runtime::Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "TargetUnreachable");
        assert!(diagnostic.error_message.contains("cannot reach db.internal:5432"));
        assert!(diagnostic.error_message.ends_with(": os error 111"));
    }

    #[test]
    fn input_errors_are_not_retryable() {
        let error = RotationError::invalid_secret("s", "port", "is not a number");
        assert!(!error.is_retryable());
        assert_eq!(error.error_type(), "InvalidSecret");
        assert!(error.to_string().contains("field `port` is not a number"));
    }
}
