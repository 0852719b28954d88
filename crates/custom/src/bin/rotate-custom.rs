//! `rotate-custom`: the rotation Lambda for generated secrets.

use rotation_core::password::DEFAULT_EXCLUDE_CHARACTERS;
use rotation_core::runtime::init_failed;
use rotation_core::{Env, PasswordPolicy, lambda_runtime};
use rotation_custom::GeneratedSecret;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::telemetry::init();
    let env = Env::from_process();
    let policy = PasswordPolicy::from_env(&env, DEFAULT_EXCLUDE_CHARACTERS).map_err(init_failed)?;
    let target = GeneratedSecret::from_env_with_policy(&env, policy.clone()).map_err(init_failed)?;
    rotation_core::run_with_policy(target, policy).await
}
