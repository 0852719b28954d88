//! The Lambda function: configuration from the environment, then rotor's runtime.

use rotation_core::init_failed;
use rotation_core::{Env, lambda_runtime};
use rotation_database::{DatabaseConfig, DatabaseTarget};

use crate::{DEFAULT_EXCLUDE_CHARACTERS, PostgresEngine, TlsRoots};

/// Reads the configuration from `env` once (cold start) and serves rotation events until the runtime stops.
pub async fn run_function(env: Env) -> Result<(), lambda_runtime::Error> {
    rotation_core::telemetry::init();
    let config = DatabaseConfig::from_env(&env).map_err(init_failed)?;
    let roots = TlsRoots::load(&config.ca_bundle).map_err(init_failed)?;
    let rds = rotation_database::Rds::from_env().await;
    let target = DatabaseTarget::new(PostgresEngine::new(roots), config, rds);
    rotation_core::run_with_exclusions(target, DEFAULT_EXCLUDE_CHARACTERS).await
}
