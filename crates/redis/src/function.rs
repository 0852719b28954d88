//! The Lambda function `rotate-redis`, described once for its binary and for `rotatectl doctor`.

use rotation_core::{Check, Function, Init, RotationError, Secret};
use rotation_database::{DatabaseConfig, DatabaseTarget, Rds, TlsRoots, doctor_checks};

use crate::defaults::DEFAULT_TEST_COMMAND;
use crate::engine::RedisEngine;

/// `rotate-redis`: Redis and Valkey ACL users, `TEST_QUERY` defaulting to `PING`.
#[derive(Debug)]
pub struct RotateRedis;

impl Function for RotateRedis {
    type Target = DatabaseTarget<RedisEngine>;

    const NAME: &'static str = "rotate-redis";

    fn build(init: &Init) -> Result<Self::Target, RotationError> {
        let mut config = DatabaseConfig::from_env(&init.env)?;
        if init.env.get("TEST_QUERY").is_none() {
            config.test_query = DEFAULT_TEST_COMMAND.to_owned();
        }
        let roots = TlsRoots::load(&config.ca_bundle)?;
        Ok(DatabaseTarget::new(RedisEngine::new(roots), config, Rds::new(&init.sdk_config)))
    }

    async fn checks(target: &Self::Target, init: &Init, id: &str, current: &Secret) -> Vec<Check> {
        doctor_checks(target, init, id, current).await
    }
}
