//! `rotate-custom`: the rotation Lambda for targets with no database: a generated secret (`CUSTOM_TARGET=
//! generated`, the default) or the user's webhooks (`CUSTOM_TARGET=webhook`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rotation_core::lambda_runtime::Error> {
    rotation_core::run_function::<rotation_custom::RotateCustom>().await
}
