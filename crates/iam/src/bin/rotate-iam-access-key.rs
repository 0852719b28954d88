//! `rotate-iam-access-key`: the rotation Lambda for IAM user access keys stored in Secrets Manager.

use rotation_core::{RunOptions, lambda_runtime};
use rotation_iam::{AccessKeyTarget, IamConfig};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::run(
        |init| Ok(AccessKeyTarget::new(IamConfig::from_env(&init.env)?, &init.sdk_config)),
        RunOptions::default(),
    )
    .await
}
