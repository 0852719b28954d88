//! `rotate-custom`, described once for its binary and for `rotatectl doctor`.

use rotation_core::{Check, Function, Init, RotationError, Secret};

use crate::custom::{CustomConfig, CustomTarget};

/// `rotate-custom`: a generated secret (`CUSTOM_TARGET=generated`, the default) or the user's webhooks
/// (`CUSTOM_TARGET=webhook`).
#[derive(Debug)]
pub struct RotateCustom;

impl Function for RotateCustom {
    type Target = CustomTarget;

    const NAME: &'static str = "rotate-custom";

    fn build(init: &Init) -> Result<CustomTarget, RotationError> {
        CustomTarget::build(CustomConfig::from_init(init)?, init)
    }

    async fn checks(target: &CustomTarget, _init: &Init, _id: &str, current: &Secret) -> Vec<Check> {
        match target {
            CustomTarget::Generated(values) => vec![values.check(current)],
            CustomTarget::Webhook(webhook) => webhook.checks(current).await,
        }
    }
}
