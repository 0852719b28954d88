//! Which store a credential lives in.

/// The store a rotated credential lives in, as logs, metrics and events name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// AWS Secrets Manager: a secret's versions and staging labels.
    SecretsManager,
    /// AWS Systems Manager Parameter Store: a SecureString's versions and labels.
    ParameterStore,
}

impl Store {
    /// The store's name as AWS's service prefixes spell it (`secretsmanager`, `ssm`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SecretsManager => "secretsmanager",
            Self::ParameterStore => "ssm",
        }
    }
}
