//! The Lambda functions `rotate-redshift` and `rotate-redshift-alternating`, described once for their binaries
//! and for `rotatectl doctor`.

use rotation_core::{Check, Function, Init, RotationError, RunOptions, Secret};
use rotation_database::{DatabaseConfig, DatabaseTarget, Rds, TlsRoots, doctor_checks};

use crate::{DEFAULT_EXCLUDE_CHARACTERS, RedshiftEngine, refuse_policy};

/// `rotate-redshift`: Amazon Redshift users, `ROTATION_STRATEGY` defaulting to `single-user`, Redshift's
/// refused characters excluded by default. A password policy Redshift would refuse (`PASSWORD_LENGTH` outside 8 to
/// 64, a character class excluded) stops the function at cold start, naming the variable.
#[derive(Debug)]
pub struct RotateRedshift;

impl Function for RotateRedshift {
    type Target = DatabaseTarget<RedshiftEngine>;

    const NAME: &'static str = "rotate-redshift";

    fn options() -> RunOptions {
        RunOptions::default().excluding(DEFAULT_EXCLUDE_CHARACTERS)
    }

    fn build(init: &Init) -> Result<Self::Target, RotationError> {
        if let Some((variable, reason)) = refuse_policy(&init.policy) {
            return Err(RotationError::Config { variable, reason });
        }
        let config = DatabaseConfig::from_env(&init.env)?;
        let roots = TlsRoots::load(&config.ca_bundle)?;
        let engine = RedshiftEngine::new(
            roots,
            aws_sdk_redshift::config::Builder::from(&init.sdk_config),
            aws_sdk_redshiftserverless::config::Builder::from(&init.sdk_config),
        );
        Ok(DatabaseTarget::new(engine, config, Rds::new(&init.sdk_config)))
    }

    async fn checks(target: &Self::Target, init: &Init, id: &str, current: &Secret) -> Vec<Check> {
        doctor_checks(target, init, id, current).await
    }
}

/// `rotate-redshift-alternating`: `rotate-redshift` with `ROTATION_STRATEGY` defaulting to `alternating-users`,
/// the counterpart of AWS's SecretsManagerRedshiftRotationMultiUser function.
#[derive(Debug)]
pub struct RotateRedshiftAlternating;

impl Function for RotateRedshiftAlternating {
    type Target = DatabaseTarget<RedshiftEngine>;

    const NAME: &'static str = "rotate-redshift-alternating";

    fn options() -> RunOptions {
        RotateRedshift::options().env_default("ROTATION_STRATEGY", "alternating-users")
    }

    fn build(init: &Init) -> Result<Self::Target, RotationError> {
        RotateRedshift::build(init)
    }

    async fn checks(target: &Self::Target, init: &Init, id: &str, current: &Secret) -> Vec<Check> {
        doctor_checks(target, init, id, current).await
    }
}
