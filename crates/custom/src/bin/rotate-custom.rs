//! `rotate-custom`: the rotation Lambda for targets with no database: a generated secret (`CUSTOM_TARGET=
//! generated`, the default) or the user's webhooks (`CUSTOM_TARGET=webhook`).

use rotation_core::{RunOptions, lambda_runtime};
use rotation_custom::{CustomConfig, CustomTarget};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    rotation_core::run(|init| CustomTarget::build(CustomConfig::from_init(init)?, init), RunOptions::default()).await
}
