//! `rotate-iam-access-key`, described once for its binary and for `rotatectl doctor`.

use rotation_core::{Check, Function, Init, RotationError, Secret};

use crate::config::IamConfig;
use crate::target::AccessKeyTarget;

/// `rotate-iam-access-key`: IAM user access keys stored in Secrets Manager.
#[derive(Debug)]
pub struct RotateIamAccessKey;

impl Function for RotateIamAccessKey {
    type Target = AccessKeyTarget;

    const NAME: &'static str = "rotate-iam-access-key";

    fn build(init: &Init) -> Result<AccessKeyTarget, RotationError> {
        Ok(AccessKeyTarget::new(IamConfig::from_env(&init.env)?, &init.sdk_config))
    }

    async fn checks(target: &AccessKeyTarget, _init: &Init, _id: &str, current: &Secret) -> Vec<Check> {
        target.doctor(current).await
    }
}
