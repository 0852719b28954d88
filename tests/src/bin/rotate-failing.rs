//! `rotate-failing`: a test fixture whose target refuses setSecret, to prove a failed rotation leaves
//! AWSCURRENT untouched and the secret blocked as in AWS.

use rotation_core::{
    Password, RotationError, Secret, SetContext, Target, TargetErrorKind, TestContext, lambda_runtime,
};

struct RefusingTarget;

impl Target for RefusingTarget {
    fn name(&self) -> &'static str {
        "refusing"
    }

    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        current.with_field("password", password.into_inner())
    }

    async fn set(&self, ctx: &SetContext<'_>) -> Result<(), RotationError> {
        Err(RotationError::target(TargetErrorKind::Rejected, ctx.secret_id, "this fixture target refuses every change"))
    }

    async fn test(&self, _ctx: &TestContext<'_>) -> Result<(), RotationError> {
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::run(|_| Ok(RefusingTarget), rotation_core::RunOptions::default()).await
}
