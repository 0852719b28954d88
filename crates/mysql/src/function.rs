//! The Lambda functions `rotate-mysql` and `rotate-mysql-alternating`, described once for their binaries and for
//! `rotatectl doctor`.

use rotation_core::{Check, Function, Init, RotationError, RunOptions, Secret};
use rotation_database::{DatabaseConfig, DatabaseTarget, Rds, doctor_checks};

use crate::MysqlEngine;

/// `rotate-mysql`: MySQL and MariaDB, `ROTATION_STRATEGY` defaulting to `single-user`.
#[derive(Debug)]
pub struct RotateMysql;

impl Function for RotateMysql {
    type Target = DatabaseTarget<MysqlEngine>;

    const NAME: &'static str = "rotate-mysql";

    fn build(init: &Init) -> Result<Self::Target, RotationError> {
        let config = DatabaseConfig::from_env(&init.env)?;
        Ok(DatabaseTarget::new(MysqlEngine::default(), config, Rds::new(&init.sdk_config)))
    }

    async fn checks(target: &Self::Target, init: &Init, id: &str, current: &Secret) -> Vec<Check> {
        doctor_checks(target, init, id, current).await
    }
}

/// `rotate-mysql-alternating`: `rotate-mysql` with `ROTATION_STRATEGY` defaulting to `alternating-users`, the
/// counterpart of AWS's ...MultiUser function (one deployment per strategy, as there).
#[derive(Debug)]
pub struct RotateMysqlAlternating;

impl Function for RotateMysqlAlternating {
    type Target = DatabaseTarget<MysqlEngine>;

    const NAME: &'static str = "rotate-mysql-alternating";

    fn options() -> RunOptions {
        RotateMysql::options().env_default("ROTATION_STRATEGY", "alternating-users")
    }

    fn build(init: &Init) -> Result<Self::Target, RotationError> {
        RotateMysql::build(init)
    }

    async fn checks(target: &Self::Target, init: &Init, id: &str, current: &Secret) -> Vec<Check> {
        doctor_checks(target, init, id, current).await
    }
}
