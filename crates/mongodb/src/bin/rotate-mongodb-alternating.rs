//! `rotate-mongodb-alternating`: the rotation Lambda for Amazon DocumentDB and MongoDB users (`ROTATION_STRATEGY` defaults to `alternating-users`).
// The rotation futures nest deeply (runtime, rotator, target, driver); the default limit is too low.
#![recursion_limit = "256"]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rotation_core::lambda_runtime::Error> {
    rotation_core::run_function::<rotation_mongodb::RotateMongoDbAlternating>().await
}
