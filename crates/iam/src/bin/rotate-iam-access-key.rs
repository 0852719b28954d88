//! `rotate-iam-access-key`: the rotation Lambda for IAM user access keys stored in Secrets Manager.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rotation_core::lambda_runtime::Error> {
    rotation_core::run_function::<rotation_iam::RotateIamAccessKey>().await
}
