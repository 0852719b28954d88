//! The Lambda function: configuration from the environment, then rotor's runtime.

use rotation_core::init_failed;
use rotation_core::{Env, lambda_runtime};
use rotation_database::{DatabaseConfig, DatabaseTarget};

use crate::MysqlEngine;

/// Reads the configuration from `env` once (cold start) and serves rotation events until the runtime stops.
pub async fn run_function(env: Env) -> Result<(), lambda_runtime::Error> {
    rotation_core::telemetry::init();
    let config = DatabaseConfig::from_env(&env).map_err(init_failed)?;
    let rds = rotation_database::Rds::from_env().await;
    rotation_core::run(DatabaseTarget::new(MysqlEngine, config, rds)).await
}
