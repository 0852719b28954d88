//! The Lambda function: configuration from the environment, then rotor's runtime.

use rotation_core::{RunOptions, lambda_runtime};
use rotation_database::{DatabaseConfig, DatabaseTarget, Rds, TlsRoots};

use crate::RedisEngine;

/// Reads the configuration once (cold start) and serves rotation events until the runtime stops. `TEST_QUERY`
/// defaults to `PING`.
pub async fn run_function(options: RunOptions) -> Result<(), lambda_runtime::Error> {
    let build = |init: &rotation_core::Init| {
        let mut config = DatabaseConfig::from_env(&init.env)?;
        if init.env.get("TEST_QUERY").is_none() {
            config.test_query = crate::DEFAULT_TEST_COMMAND.to_owned();
        }
        let roots = TlsRoots::load(&config.ca_bundle)?;
        Ok(DatabaseTarget::new(RedisEngine::new(roots), config, Rds::new(&init.sdk_config)))
    };
    rotation_core::run(build, options).await
}
