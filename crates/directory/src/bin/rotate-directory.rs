//! `rotate-directory`: the rotation Lambda for AWS Directory Service users (AWS Managed Microsoft AD, Simple AD),
//! reset through `ds:ResetUserPassword` and proved by the domain's KDC.
// The rotation futures nest deeply (runtime, rotator, target, driver); the default limit is too low.
#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rotation_core::lambda_runtime::Error> {
    rotation_core::run_function::<rotation_directory::RotateDirectory>().await
}
