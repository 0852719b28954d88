//! rotation-core: the AWS Secrets Manager rotation protocol, shared by every rotor target.
//!
//! Data flows one way: event -> guard -> step -> (Secrets Manager | target) -> result. The core owns the event
//! ([`RotationEvent`]), the staging-label state machine ([`Versions`]), createSecret and finishSecret, the
//! Secrets Manager client ([`SecretsManager`]), the password policy, and the Lambda entry point ([`run`]). A
//! system to rotate implements [`Target`].

mod aws;
mod config;
mod error;
mod event;
mod identity;
mod notify;
mod password;
mod protocol;
mod retry;
mod runtime;
mod secret;
mod settings;
mod store;
mod target;
pub mod telemetry;
mod tls;
mod versions;

pub use aws::failure::AwsFailure;
pub use config::Env;
pub use error::{RotationError, TargetErrorKind, with_causes};
pub use event::{RotationEvent, Step};
pub use identity::{Binding, Claim, Possession, USER_TAG};
pub use notify::{DETAIL_TYPE, EVENT_SOURCE, Notifier, Rotated};
pub use password::{
    DEFAULT_EXCLUDE_CHARACTERS, MIN_ENTROPY_BITS, PUNCTUATION, Password, PasswordPolicy, PasswordSource, random_bytes,
};
pub use protocol::parameter_store::{CURRENT_LABEL, PENDING_SUFFIX, PREVIOUS_LABEL, ParameterEvent};
pub use protocol::secrets_manager::{DEADLINE_MARGIN, Outcome, Rotator};
pub use retry::Backoff;
pub use runtime::{Init, RunOptions, handle_parameter, run};
pub use secret::Secret;
pub use settings::{PRESET_TAG, PRESETS, Preset, STRATEGY_TAG, SecretSettings, TAG_PREFIX};
pub use store::parameter_store::{Created, Parameter, ParameterStore, Settings};
pub use store::secrets_manager::{Description, SecretsManager, Selector, Stored, Timeouts, load_sdk_config};
pub use target::{CreateContext, FinishContext, SetContext, Target, TestContext};
pub use tls::{ca_bundle_from_env, is_tls_error, load_ca_bundle, system_root_certificates, system_roots};
pub use versions::{AWSCURRENT, AWSPENDING, AWSPREVIOUS, Versions};

pub use lambda_runtime;
