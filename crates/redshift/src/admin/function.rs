//! `rotate-redshift-admin`, described once for its binary and for `rotatectl doctor`.

use rotation_core::{Check, Function, Init, ManagedCredential, ManagedTarget, RotationError, RunOptions, Secret};
use rotation_database::TlsRoots;

use super::config::RedshiftAdminConfig;
use super::credential::RedshiftAdmin;
use crate::{DEFAULT_EXCLUDE_CHARACTERS, RedshiftEngine};

/// The target `rotate-redshift-admin` rotates with.
pub type RedshiftAdminTarget = ManagedTarget<RedshiftAdmin>;

/// `rotate-redshift-admin`: the admin (master user) password of a Redshift provisioned cluster or Serverless
/// namespace, through the Redshift API (`ModifyCluster`) or the Redshift Serverless API (`UpdateNamespace`);
/// testSecret logs in where the API says the admin is. Redshift's refused characters are excluded by default, and a
/// password policy Redshift would refuse stops the function at cold start, naming the variable.
#[derive(Debug)]
pub struct RotateRedshiftAdmin;

impl Function for RotateRedshiftAdmin {
    type Target = RedshiftAdminTarget;

    const NAME: &'static str = "rotate-redshift-admin";

    fn options() -> RunOptions {
        RunOptions::default().excluding(DEFAULT_EXCLUDE_CHARACTERS)
    }

    fn build(init: &Init) -> Result<Self::Target, RotationError> {
        let config = RedshiftAdminConfig::from_env(&init.env, &init.policy)?;
        let roots = TlsRoots::load(&config.managed.login.ca_bundle)?;
        let redshift = aws_sdk_redshift::config::Builder::from(&init.sdk_config);
        let serverless = aws_sdk_redshiftserverless::config::Builder::from(&init.sdk_config);
        let timing = config.timing();
        let engine = RedshiftEngine::new(roots, redshift.clone(), serverless.clone());
        Ok(ManagedTarget::new(RedshiftAdmin::new(redshift, serverless, engine, config), timing))
    }

    /// The secret's fields (a cluster or namespace the configuration names) and its `ssl` field; that the API
    /// names the secret's admin, and that the current password logs in where the API says the admin is, once the
    /// cluster or namespace is available.
    async fn checks(target: &Self::Target, _init: &Init, _id: &str, current: &Secret) -> Vec<Check> {
        let admins = target.credential();
        let admin = admins.resource(current);
        let mode = admins.config().managed.login.tls.for_secret(current);
        let mut checks =
            vec![Check::of("the secret's fields fit the function", &admin), Check::of("the secret's ssl field", &mode)];
        let (Ok(admin), Ok(mode)) = (admin, mode) else { return checks };
        let login = async {
            let at = target.wait_ready(&admin, None).await?;
            admins.login(&admin, &at, current).await
        };
        let name = format!(
            "the API names the secret's admin, its endpoint is reachable over TLS ({}) and the current password logs in",
            mode.as_str()
        );
        checks.push(Check::new(name, login.await));
        checks
    }
}
