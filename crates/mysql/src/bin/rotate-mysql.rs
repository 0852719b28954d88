//! `rotate-mysql`: the rotation Lambda for MySQL and MariaDB.
// The rotation futures nest deeply (runtime, rotator, target, driver); the default limit is too low.
#![recursion_limit = "256"]

use rotation_core::database::DatabaseConfig;
use rotation_core::runtime::init_failed;
use rotation_core::{Env, lambda_runtime};
use rotation_mysql::MysqlTarget;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::telemetry::init();
    let config = DatabaseConfig::from_env(&Env::from_process()).map_err(init_failed)?;
    let rds = rotation_core::rds::Rds::from_env().await;
    rotation_core::run(MysqlTarget::new(config, rds)).await
}
