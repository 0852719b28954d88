//! `rotate-elasticache-auth-token`: the rotation Lambda for the AUTH token of an ElastiCache replication group without
//! RBAC (`ModifyReplicationGroup`). `ELASTICACHE_REPLICATION_GROUP_ARNS` names the groups it may change.
// The rotation futures nest deeply (runtime, rotator, target, driver); the default limit is too low.
#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rotation_core::lambda_runtime::Error> {
    rotation_core::run_function::<rotation_redis::RotateElastiCacheAuthToken>().await
}
