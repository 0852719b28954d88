//! rotation-core: the AWS Secrets Manager rotation protocol, shared by every rotor target.
//!
//! Data flows one way: event -> guard -> step -> (Secrets Manager | target) -> result. The core owns the event
//! ([`RotationEvent`]), the staging-label state machine ([`Versions`]), createSecret and finishSecret, the
//! Secrets Manager client ([`SecretsManager`]), the password policy, and the Lambda entry point ([`run`]). A
//! system to rotate implements [`Target`].

pub mod config;
pub mod error;
pub mod event;
pub mod password;
pub mod retry;
pub mod rotation;
pub mod runtime;
pub mod secret;
pub mod secrets_manager;
pub mod target;
pub mod telemetry;
pub mod tls;
pub mod versions;

pub use config::Env;
pub use error::{RotationError, TargetErrorKind};
pub use event::{RotationEvent, Step};
pub use password::{Password, PasswordPolicy, PasswordSource};
pub use retry::Backoff;
pub use rotation::{DEADLINE_MARGIN, Outcome, Rotator};
pub use runtime::{run, run_with_exclusions, run_with_policy};
pub use secret::Secret;
pub use secrets_manager::{SecretsManager, Selector, Timeouts};
pub use target::{CreateContext, FinishContext, SetContext, Target, TestContext};
pub use versions::{AWSCURRENT, AWSPENDING, AWSPREVIOUS, Versions};

pub use lambda_runtime;
