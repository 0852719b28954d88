//! The Lambda functions `rotate-mongodb` and `rotate-mongodb-alternating`, described once for their binaries and
//! for `rotatectl doctor`.

use rotation_core::{Check, Function, Init, RotationError, RunOptions, Secret};
use rotation_database::{DatabaseConfig, DatabaseTarget, Rds, TlsMode, TlsRoots, doctor_checks};

use crate::ca_file::CaFile;
use crate::defaults::{DEFAULT_EXCLUDE_CHARACTERS, DEFAULT_TEST_COMMAND};
use crate::engine::{MongoEngine, test_command};

/// `rotate-mongodb`: Amazon DocumentDB and MongoDB users, `ROTATION_STRATEGY` defaulting to `single-user`,
/// `TEST_QUERY` to `{"ping": 1}`.
#[derive(Debug)]
pub struct RotateMongoDb;

impl Function for RotateMongoDb {
    type Target = DatabaseTarget<MongoEngine>;

    const NAME: &'static str = "rotate-mongodb";

    fn options() -> RunOptions {
        RunOptions::default().excluding(DEFAULT_EXCLUDE_CHARACTERS).env_default("TEST_QUERY", DEFAULT_TEST_COMMAND)
    }

    fn build(init: &Init) -> Result<Self::Target, RotationError> {
        let config = DatabaseConfig::from_env(&init.env)?;
        // testSecret's command is read now: a TEST_QUERY that is not a command must stop the function before
        // setSecret changes a password that testSecret could then never prove.
        test_command(&config.test_query)?;
        refuse_verify_ca(&init.env)?;
        // The same checks of TLS_CA_BUNDLE as the other engines, then the file the driver reads.
        TlsRoots::load(&config.ca_bundle)?;
        let roots = CaFile::write(&config.ca_bundle)?;
        Ok(DatabaseTarget::new(MongoEngine::new(roots), config, Rds::new(&init.sdk_config)))
    }

    async fn checks(target: &Self::Target, init: &Init, id: &str, current: &Secret) -> Vec<Check> {
        doctor_checks(target, init, id, current).await
    }
}

/// Refuses `TLS_MODE=verify-ca` at cold start: the MongoDB driver checks a certificate's chain and name together, and
/// rotor never gives another mode than the one asked for.
pub(crate) fn refuse_verify_ca(env: &rotation_core::Env) -> Result<(), RotationError> {
    if TlsMode::from_env(env)? == TlsMode::VerifyCa {
        return Err(RotationError::Config {
            variable: "TLS_MODE",
            reason: "verify-ca is not available for MongoDB and DocumentDB (the MongoDB driver checks the chain and the host name together); use verify-full".into(),
        });
    }
    Ok(())
}

/// `rotate-mongodb-alternating`: `rotate-mongodb` with `ROTATION_STRATEGY` defaulting to `alternating-users`, the
/// counterpart of AWS's SecretsManagerMongoDBRotationMultiUser function.
#[derive(Debug)]
pub struct RotateMongoDbAlternating;

impl Function for RotateMongoDbAlternating {
    type Target = DatabaseTarget<MongoEngine>;

    const NAME: &'static str = "rotate-mongodb-alternating";

    fn options() -> RunOptions {
        RotateMongoDb::options().env_default("ROTATION_STRATEGY", "alternating-users")
    }

    fn build(init: &Init) -> Result<Self::Target, RotationError> {
        RotateMongoDb::build(init)
    }

    async fn checks(target: &Self::Target, init: &Init, id: &str, current: &Secret) -> Vec<Check> {
        doctor_checks(target, init, id, current).await
    }
}
