//! The Lambda function: configuration from the environment, then rotor's runtime.

use rotation_core::{RunOptions, lambda_runtime};
use rotation_database::{DatabaseConfig, DatabaseTarget, Rds};

use crate::MysqlEngine;

/// Reads the configuration once (cold start) and serves rotation events until the runtime stops. `options`
/// carries the binary's defaults (`rotate-mysql-alternating` defaults `ROTATION_STRATEGY`).
pub async fn run_function(options: RunOptions) -> Result<(), lambda_runtime::Error> {
    let build = |init: &rotation_core::Init| {
        let config = DatabaseConfig::from_env(&init.env)?;
        Ok(DatabaseTarget::new(MysqlEngine, config, Rds::new(&init.sdk_config)))
    };
    rotation_core::run(build, options).await
}
