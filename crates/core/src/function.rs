//! One description per rotation function: its name, the defaults its binary starts with, how its target is built
//! from its configuration, and what `rotatectl doctor` checks for a credential it would rotate. The binary runs it
//! with [`run_function`]; doctor builds it with [`Init::load`] and the same [`Function::build`], so a setting the
//! function would refuse at cold start fails doctor with the same message, and nothing is written twice.

use std::future::{Future, ready};

use crate::error::{RotationError, with_causes};
use crate::runtime::{Init, RunOptions, run};
use crate::secret::Secret;
use crate::target::Target;

/// One check of `rotatectl doctor`: what was checked, and the problem with its fix when it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked ("the admin can change other users' passwords").
    pub name: String,
    /// `Err` names the problem and the fix; never a value.
    pub result: Result<(), String>,
}

impl Check {
    /// A check with its result; an error is shown with its causes.
    pub fn new(name: impl Into<String>, result: Result<(), RotationError>) -> Self {
        Self::of(name, &result)
    }

    /// A check of `result`, which the caller keeps (its value serves the next checks); an error is shown with its
    /// causes.
    pub fn of<T>(name: impl Into<String>, result: &Result<T, RotationError>) -> Self {
        Self { name: name.into(), result: result.as_ref().map(drop).map_err(|error| with_causes(error)) }
    }

    /// A check whose problem is already a message.
    pub fn with_problem(name: impl Into<String>, result: Result<(), String>) -> Self {
        Self { name: name.into(), result }
    }
}

/// A rotation function, described once for its binary and for `rotatectl doctor`.
///
/// ```no_run
/// use rotation_core::{Function, Init, RotationError};
/// # use rotation_core::{Password, Secret, SetContext, Target, TestContext};
/// # struct ApiKey;
/// # impl Target for ApiKey {
/// #     fn name(&self) -> &'static str { "api-key" }
/// #     fn next_secret(&self, c: &Secret, p: Password) -> Result<Secret, RotationError> { c.with_field("k", p.into_inner()) }
/// #     async fn set(&self, _: &SetContext<'_>) -> Result<(), RotationError> { Ok(()) }
/// #     async fn test(&self, _: &TestContext<'_>) -> Result<(), RotationError> { Ok(()) }
/// # }
///
/// struct RotateApiKey;
///
/// impl Function for RotateApiKey {
///     type Target = ApiKey;
///     const NAME: &'static str = "rotate-api-key";
///     fn build(_init: &Init) -> Result<ApiKey, RotationError> { Ok(ApiKey) }
/// }
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() -> Result<(), lambda_runtime::Error> {
///     rotation_core::run_function::<RotateApiKey>().await
/// }
/// ```
pub trait Function: 'static {
    /// The target the function rotates with.
    type Target: Target;

    /// The binary's name (`rotate-postgres`).
    const NAME: &'static str;

    /// The defaults the function's environment is read over (`ROTATION_STRATEGY`, `EXCLUDE_CHARACTERS`). The
    /// default sets none.
    fn options() -> RunOptions {
        RunOptions::default()
    }

    /// Builds the target from the function's configuration, once, at cold start (and in doctor): an error names
    /// the variable and what it allows.
    fn build(init: &Init) -> Result<Self::Target, RotationError>;

    /// What doctor checks, beyond the configuration, for `current` (the value the function would rotate from) of
    /// `id` (a secret's ARN or a parameter's name): that the system answers, that the credential logs in, that an
    /// admin has the rights it needs. Changes nothing. The default checks nothing more.
    fn checks(
        target: &Self::Target,
        init: &Init,
        id: &str,
        current: &Secret,
    ) -> impl Future<Output = Vec<Check>> + Send {
        let _ = (target, init, id, current);
        ready(Vec::new())
    }
}

/// Runs the function `F` as a Lambda function: [`run`] with its [`Function::build`] and [`Function::options`].
pub async fn run_function<F: Function>() -> Result<(), lambda_runtime::Error> {
    run(F::build, F::options()).await
}
