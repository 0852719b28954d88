//! `rotate-redshift-admin`: the rotation Lambda for the admin (master user) password of an Amazon Redshift
//! provisioned cluster (`ModifyCluster`) or Redshift Serverless namespace (`UpdateNamespace`).
//! `REDSHIFT_CLUSTER_ARNS` and `REDSHIFT_NAMESPACE_ARNS` name what it may change.
// The rotation futures nest deeply (runtime, rotator, target, driver); the default limit is too low.
#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rotation_core::lambda_runtime::Error> {
    rotation_core::run_function::<rotation_redshift::RotateRedshiftAdmin>().await
}
