//! rotation-custom: rotation targets with no database.
//!
//! [`GeneratedSecret`] rotates a value that no external system has to accept: API keys, signing keys, shared
//! secrets. The new value is a password by the policy or random bytes in a [`Format`]; setSecret has nothing to
//! change; testSecret checks that the pending value has the format (and meets the policy).

mod custom;
mod format;
mod function;
mod generated;
mod webhook;

pub use custom::{CustomConfig, CustomTarget};
pub use format::Format;
pub use function::RotateCustom;
pub use generated::GeneratedSecret;
pub use webhook::{UrlSource, WebhookConfig, WebhookTarget, WebhookUrls, fingerprint};
