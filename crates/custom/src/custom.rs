//! `rotate-custom`'s one configuration and one target: a generated secret or webhooks, chosen by
//! `CUSTOM_TARGET`.

use rotation_core::{
    CreateContext, FinishContext, Init, Password, RotationError, Secret, SetContext, Target, TestContext,
};

use crate::generated::GeneratedSecret;
use crate::webhook::{WebhookConfig, WebhookTarget};

/// What `CUSTOM_TARGET` chooses, with its settings read and checked at cold start.
#[derive(Debug, Clone)]
pub enum CustomConfig {
    /// `generated` (the default): a value no system has to accept.
    Generated(GeneratedSecret),
    /// `webhook`: the user's service sets and tests the value (and may mint it).
    Webhook(GeneratedSecret, WebhookConfig),
}

impl CustomConfig {
    /// Reads `CUSTOM_TARGET` and the chosen target's variables from the function's environment.
    pub fn from_init(init: &Init) -> Result<Self, RotationError> {
        let values = GeneratedSecret::from_env_with_policy(&init.env, init.policy.clone())?;
        match init.env.get("CUSTOM_TARGET").as_deref() {
            None | Some("generated") => Ok(Self::Generated(values)),
            Some("webhook") => Ok(Self::Webhook(values, WebhookConfig::from_env(&init.env)?)),
            Some(_) => {
                Err(RotationError::Config { variable: "CUSTOM_TARGET", reason: "must be generated or webhook".into() })
            }
        }
    }
}

/// The target `rotate-custom` runs.
#[derive(Debug, Clone)]
pub enum CustomTarget {
    /// A generated secret.
    Generated(GeneratedSecret),
    /// Webhooks.
    Webhook(WebhookTarget),
}

impl CustomTarget {
    /// The target of a configuration, with the function's shared Secrets Manager client (which reads the webhook
    /// signing key) and `TLS_CA_BUNDLE`.
    pub fn build(config: CustomConfig, init: &Init) -> Result<Self, RotationError> {
        Ok(match config {
            CustomConfig::Generated(values) => Self::Generated(values),
            CustomConfig::Webhook(values, webhook) => {
                let ca_bundle = rotation_core::ca_bundle_from_env(&init.env)?;
                Self::Webhook(WebhookTarget::new(webhook, values, init.secrets.clone(), &ca_bundle)?)
            }
        })
    }
}

impl Target for CustomTarget {
    fn name(&self) -> &'static str {
        match self {
            Self::Generated(target) => target.name(),
            Self::Webhook(target) => target.name(),
        }
    }

    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        match self {
            Self::Generated(target) => target.next_secret(current, password),
            Self::Webhook(target) => target.next_secret(current, password),
        }
    }

    async fn create(
        &self,
        ctx: &CreateContext<'_>,
        current: &Secret,
        password: Password,
    ) -> Result<Secret, RotationError> {
        match self {
            Self::Generated(target) => target.create(ctx, current, password).await,
            Self::Webhook(target) => target.create(ctx, current, password).await,
        }
    }

    async fn set(&self, ctx: &SetContext<'_>) -> Result<(), RotationError> {
        match self {
            Self::Generated(target) => target.set(ctx).await,
            Self::Webhook(target) => target.set(ctx).await,
        }
    }

    async fn test(&self, ctx: &TestContext<'_>) -> Result<(), RotationError> {
        match self {
            Self::Generated(target) => target.test(ctx).await,
            Self::Webhook(target) => target.test(ctx).await,
        }
    }

    async fn finish(&self, ctx: &FinishContext<'_>) -> Result<(), RotationError> {
        match self {
            Self::Generated(target) => target.finish(ctx).await,
            Self::Webhook(target) => target.finish(ctx).await,
        }
    }
}
