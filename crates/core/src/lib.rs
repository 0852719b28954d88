//! rotation-core: the rotation protocol over its stores, shared by every rotor target.
//!
//! Data flows one way: event -> driver -> guard -> step -> (store | target) -> result. The core owns the events
//! ([`Incoming`]), the stores' clients ([`SecretsManager`], [`ParameterStore`]) and the store-neutral handle the step
//! contexts hold, the two protocols as drivers above those contexts (Secrets Manager's one step per invocation,
//! Parameter Store's four steps in one, both entered through [`Rotator`]), the staging-label state machine
//! ([`Versions`]), the password policy, and the Lambda entry point ([`run`]). A system to rotate implements
//! [`Target`].

mod aws;
mod config;
mod error;
mod event;
mod fips;
mod function;
mod identity;
mod managed;
mod notify;
mod outcome;
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

pub use aws::arn::secret_home;
pub use aws::config::{Timeouts, load_sdk_config, load_sdk_config_at};
pub use aws::failure::AwsFailure;
pub use config::Env;
pub use error::{RotationError, TargetErrorKind, with_causes};
pub use event::{Incoming, ParameterEvent, RotationEvent, Step};
pub use fips::{FIPS_BUILD, enter as enter_fips_mode, fips_endpoints, tls_provider};
pub use function::{Check, Function, run_function};
pub use identity::{Binding, Claim, Possession, USER_TAG};
pub use managed::{Change, ManagedCredential, ManagedTarget, ManagedTiming, Readiness};
pub use notify::{DETAIL_TYPE, EVENT_SOURCE, Notifier, Rotated};
pub use outcome::Outcome;
pub use password::{
    DEFAULT_EXCLUDE_CHARACTERS, MIN_ENTROPY_BITS, PUNCTUATION, Password, PasswordPolicy, PasswordSource, random_bytes,
};
pub use protocol::rotator::Rotator;
pub use protocol::shared::DEADLINE_MARGIN;
pub use retry::Backoff;
pub use runtime::{Init, Parameters, RunOptions, handle, run};
pub use secret::Secret;
pub use settings::{PRESET_TAG, PRESETS, Preset, STRATEGY_TAG, SecretSettings, TAG_PREFIX};
pub use store::kind::Store;
pub use store::parameter_lock::{CURRENT_LABEL, LockHolder, PENDING_SUFFIX, PREVIOUS_LABEL};
pub use store::parameter_store::FUNCTION_TAG;
pub use store::parameter_store::{Created, Parameter, ParameterStore, Settings};
pub use store::secrets_manager::{Description, SecretsManager, Selector, Stored};
pub use target::{CreateContext, FinishContext, SetContext, Target, TestContext};
pub use tls::{ca_bundle_from_env, is_tls_error, load_ca_bundle, system_root_certificates, system_roots, to_pem};
pub use versions::{AWSCURRENT, AWSPENDING, AWSPREVIOUS, Versions};

pub use lambda_runtime;
