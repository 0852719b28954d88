//! The Lambda functions `rotate-postgres` and `rotate-postgres-alternating`, described once for their binaries
//! and for `rotatectl doctor`.

use rotation_core::{Check, Function, Init, RotationError, RunOptions, Secret};
use rotation_database::{DatabaseConfig, DatabaseTarget, Rds, TlsRoots, doctor_checks};

use crate::{DEFAULT_EXCLUDE_CHARACTERS, PostgresEngine};

/// `rotate-postgres`: PostgreSQL, `ROTATION_STRATEGY` defaulting to `single-user`, PostgreSQL's default
/// `EXCLUDE_CHARACTERS` (`:` added, which breaks connection URIs).
#[derive(Debug)]
pub struct RotatePostgres;

impl Function for RotatePostgres {
    type Target = DatabaseTarget<PostgresEngine>;

    const NAME: &'static str = "rotate-postgres";

    fn options() -> RunOptions {
        RunOptions::default().excluding(DEFAULT_EXCLUDE_CHARACTERS)
    }

    fn build(init: &Init) -> Result<Self::Target, RotationError> {
        let config = DatabaseConfig::from_env(&init.env)?;
        let roots = TlsRoots::load(&config.ca_bundle)?;
        Ok(DatabaseTarget::new(PostgresEngine::new(roots), config, Rds::new(&init.sdk_config)))
    }

    async fn checks(target: &Self::Target, init: &Init, id: &str, current: &Secret) -> Vec<Check> {
        doctor_checks(target, init, id, current).await
    }
}

/// `rotate-postgres-alternating`: `rotate-postgres` with `ROTATION_STRATEGY` defaulting to `alternating-users`,
/// the counterpart of AWS's ...MultiUser function (one deployment per strategy, as there).
#[derive(Debug)]
pub struct RotatePostgresAlternating;

impl Function for RotatePostgresAlternating {
    type Target = DatabaseTarget<PostgresEngine>;

    const NAME: &'static str = "rotate-postgres-alternating";

    fn options() -> RunOptions {
        RotatePostgres::options().env_default("ROTATION_STRATEGY", "alternating-users")
    }

    fn build(init: &Init) -> Result<Self::Target, RotationError> {
        RotatePostgres::build(init)
    }

    async fn checks(target: &Self::Target, init: &Init, id: &str, current: &Secret) -> Vec<Check> {
        doctor_checks(target, init, id, current).await
    }
}
