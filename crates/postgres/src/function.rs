//! The Lambda function: configuration from the environment, then rotor's runtime.

use rotation_core::{RunOptions, lambda_runtime};
use rotation_database::{DatabaseConfig, DatabaseTarget, Rds, TlsRoots};

use crate::{DEFAULT_EXCLUDE_CHARACTERS, PostgresEngine};

/// Reads the configuration once (cold start) and serves rotation events until the runtime stops. `options`
/// carries the binary's defaults (`rotate-postgres-alternating` defaults `ROTATION_STRATEGY`); PostgreSQL's
/// default `EXCLUDE_CHARACTERS` is added here.
pub async fn run_function(options: RunOptions) -> Result<(), lambda_runtime::Error> {
    let build = |init: &rotation_core::Init| {
        let config = DatabaseConfig::from_env(&init.env)?;
        let roots = TlsRoots::load(&config.ca_bundle)?;
        Ok(DatabaseTarget::new(PostgresEngine::new(roots), config, Rds::new(&init.sdk_config)))
    };
    rotation_core::run(build, options.excluding(DEFAULT_EXCLUDE_CHARACTERS)).await
}
