//! `rotate-documentdb-admin`, described once for its binary and for `rotatectl doctor`.

use rotation_core::{Check, Function, Init, ManagedCredential, ManagedTarget, RotationError, RunOptions, Secret};
use rotation_database::TlsRoots;

use super::config::DocumentDbAdminConfig;
use super::credential::DocumentDbMaster;
use crate::defaults::{DEFAULT_EXCLUDE_CHARACTERS, DEFAULT_TEST_COMMAND};
use crate::{CaFile, MongoEngine};

/// The target `rotate-documentdb-admin` rotates with.
pub type DocumentDbAdminTarget = ManagedTarget<DocumentDbMaster>;

/// `rotate-documentdb-admin`: the master user's password of a DocumentDB cluster, through the RDS API
/// (`ModifyDBCluster`); testSecret logs in where the API says the cluster is. A password policy DocumentDB would
/// refuse stops the function at cold start, naming the variable.
#[derive(Debug)]
pub struct RotateDocumentDbAdmin;

impl Function for RotateDocumentDbAdmin {
    type Target = DocumentDbAdminTarget;

    const NAME: &'static str = "rotate-documentdb-admin";

    fn options() -> RunOptions {
        RunOptions::default().excluding(DEFAULT_EXCLUDE_CHARACTERS).env_default("TEST_QUERY", DEFAULT_TEST_COMMAND)
    }

    fn build(init: &Init) -> Result<Self::Target, RotationError> {
        let config = DocumentDbAdminConfig::from_env(&init.env, &init.policy)?;
        crate::engine::test_command(&config.managed.login.test_query)?;
        crate::function::refuse_verify_ca(&init.env)?;
        TlsRoots::load(&config.managed.login.ca_bundle)?;
        let engine = MongoEngine::new(CaFile::write(&config.managed.login.ca_bundle)?);
        let rds = aws_sdk_rds::config::Builder::from(&init.sdk_config);
        let timing = config.timing();
        Ok(ManagedTarget::new(DocumentDbMaster::new(rds, engine, config), timing))
    }

    /// The secret's fields (a cluster the configuration names) and its `ssl` field; that the API names the secret's
    /// master, and that the current password logs in where the API says the cluster is, once it is available.
    async fn checks(target: &Self::Target, _init: &Init, _id: &str, current: &Secret) -> Vec<Check> {
        let masters = target.credential();
        let cluster = masters.resource(current);
        let mode = masters.config().managed.login.tls.for_secret(current);
        let mut checks = vec![
            Check::of("the secret's fields fit the function", &cluster),
            Check::of("the secret's ssl field", &mode),
        ];
        let (Ok(cluster), Ok(mode)) = (cluster, mode) else { return checks };
        let login = async {
            let at = target.wait_ready(&cluster, None).await?;
            masters.login(&cluster, &at, current).await
        };
        let name = format!(
            "the API names the secret's master, its endpoint is reachable over TLS ({}) and the current password logs in",
            mode.as_str()
        );
        checks.push(Check::new(name, login.await));
        checks
    }
}
