//! `rotate-redshift-alternating`: `rotate-redshift` with `ROTATION_STRATEGY` defaulting to `alternating-users`,
//! the counterpart of AWS's SecretsManagerRedshiftRotationMultiUser function.
// The rotation futures nest deeply (runtime, rotator, target, driver); the default limit is too low.
#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rotation_core::lambda_runtime::Error> {
    rotation_core::run_function::<rotation_redshift::RotateRedshiftAlternating>().await
}
