//! The Lambda function: configuration from the environment, then rotor's runtime.

use rotation_core::{RunOptions, lambda_runtime};
use rotation_database::{DatabaseConfig, DatabaseTarget, Rds, TlsRoots};

use crate::{ElastiCacheConfig, ElastiCacheEngine, RedisEngine};

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

/// `rotate-elasticache`: ElastiCache users through the ElastiCache API (`ROTATION_STRATEGY` is admin, the admin
/// being the function's role); testSecret logs in to the cache. Reads the configuration once (cold start) and
/// serves rotation events until the runtime stops.
pub async fn run_elasticache(options: RunOptions) -> Result<(), lambda_runtime::Error> {
    let build = |init: &rotation_core::Init| {
        let settings = ElastiCacheConfig::from_env(&init.env, &init.policy)?;
        let config = ElastiCacheConfig::database_config(&init.env)?;
        let roots = TlsRoots::load(&config.ca_bundle)?;
        let client = aws_sdk_elasticache::config::Builder::from(&init.sdk_config);
        let engine = ElastiCacheEngine::new(client, RedisEngine::new(roots), settings);
        Ok(DatabaseTarget::new(engine, config, Rds::new(&init.sdk_config)))
    };
    rotation_core::run(build, options.env_default("ROTATION_STRATEGY", "admin")).await
}
