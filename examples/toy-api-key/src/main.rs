//! `rotate-toy-api-key`: the whole Lambda function of a custom target.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rotation_core::lambda_runtime::Error> {
    rotation_core::run(|_| Ok(toy_api_key_rotation::ToyApiKey::default()), rotation_core::RunOptions::default()).await
}
