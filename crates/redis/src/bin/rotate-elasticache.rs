//! `rotate-elasticache`: the rotation Lambda for ElastiCache users (`ModifyUser`), with the secret AWS's
//! ElastiCache user rotation function uses. `ELASTICACHE_USER_ARNS` (or `USER_NAME`) names the users it may rotate.
// The rotation futures nest deeply (runtime, rotator, target, driver); the default limit is too low.
#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rotation_core::lambda_runtime::Error> {
    rotation_core::run_function::<rotation_redis::RotateElastiCache>().await
}
