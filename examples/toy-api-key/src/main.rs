//! `rotate-toy-api-key`: the whole Lambda function of a custom target, described once (its binary runs it, and
//! `rotatectl doctor` could build it the same way).

use rotation_core::{Function, Init, RotationError};
use toy_api_key_rotation::ToyApiKey;

/// The function: its name and how its target is built.
struct RotateToyApiKey;

impl Function for RotateToyApiKey {
    type Target = ToyApiKey;
    const NAME: &'static str = "rotate-toy-api-key";

    fn build(_init: &Init) -> Result<ToyApiKey, RotationError> {
        Ok(ToyApiKey::default())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rotation_core::lambda_runtime::Error> {
    rotation_core::run_function::<RotateToyApiKey>().await
}
