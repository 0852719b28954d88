//! The Lambda function `rotate-directory`, described once for its binary and for `rotatectl doctor`.

use rotation_core::{Check, Function, Init, ManagedCredential, ManagedTarget, RotationError, Secret};
use rotation_database::TlsRoots;

use super::config::DirectoryServiceConfig;
use super::users::DirectoryServiceUsers;

/// The target `rotate-directory` rotates with.
pub type DirectoryServiceTarget = ManagedTarget<DirectoryServiceUsers>;

/// `rotate-directory`: users of AWS Directory Service directories, reset by the function's role with
/// `ResetUserPassword`, the secret AWS's Active Directory function uses (`awsSeamlessDomain*` keys, or
/// `DICT_KEY_*`); the new password is proved by a Kerberos AS exchange with the domain's KDC (an LDAPS bind where
/// no KDC answers).
#[derive(Debug)]
pub struct RotateDirectory;

impl Function for RotateDirectory {
    type Target = DirectoryServiceTarget;

    const NAME: &'static str = "rotate-directory";

    fn build(init: &Init) -> Result<Self::Target, RotationError> {
        let config = DirectoryServiceConfig::from_env(&init.env, &init.policy)?;
        let roots = TlsRoots::load(&config.managed.login.ca_bundle)?;
        let client = aws_sdk_directory::Client::new(&init.sdk_config);
        let timing = config.timing();
        Ok(ManagedTarget::new(DirectoryServiceUsers::new(client, roots, config), timing))
    }

    /// The secret's fields (a directory the configuration names), that the directory is `Active`, and that the
    /// current password is proved to its domain.
    async fn checks(target: &Self::Target, _init: &Init, _id: &str, current: &Secret) -> Vec<Check> {
        let users = target.credential();
        let user = users.resource(current);
        let mut checks = vec![Check::of("the secret's fields fit the function", &user)];
        let Ok(user) = user else { return checks };
        let proof = async {
            let domain = target.wait_ready(&user, None).await?;
            users.login(&user, &domain, current).await
        };
        checks
            .push(Check::new("the directory is Active and the current password is proved to its domain", proof.await));
        checks
    }
}
