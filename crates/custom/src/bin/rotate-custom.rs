//! `rotate-custom`: the rotation Lambda for targets with no database: a generated secret (`CUSTOM_TARGET=
//! generated`, the default) or the user's webhooks (`CUSTOM_TARGET=webhook`).

use rotation_core::DEFAULT_EXCLUDE_CHARACTERS;
use rotation_core::init_failed;
use rotation_core::{Env, PasswordPolicy, RotationError, SecretsManager, lambda_runtime};
use rotation_custom::{GeneratedSecret, WebhookConfig, WebhookTarget};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::telemetry::init();
    let env = Env::from_process();
    let policy = PasswordPolicy::from_env(&env, DEFAULT_EXCLUDE_CHARACTERS).map_err(init_failed)?;
    let values = GeneratedSecret::from_env_with_policy(&env, policy.clone()).map_err(init_failed)?;
    match env.get("CUSTOM_TARGET").as_deref() {
        None | Some("generated") => rotation_core::run_with_policy(values, policy).await,
        Some("webhook") => {
            let config = WebhookConfig::from_env(&env).map_err(init_failed)?;
            let secrets = SecretsManager::from_env(&env).await;
            let ca_bundle = rotation_core::ca_bundle_from_env(&env).map_err(init_failed)?;
            let target = WebhookTarget::new(config, values, secrets, &ca_bundle).map_err(init_failed)?;
            rotation_core::run_with_policy(target, policy).await
        }
        Some(_) => Err(init_failed(RotationError::Config {
            variable: "CUSTOM_TARGET",
            reason: "must be generated or webhook".into(),
        })),
    }
}
