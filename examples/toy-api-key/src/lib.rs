//! Your own rotor target, in a few lines: rotating the API key of a toy HTTP service.
//!
//! The service keeps one key per client. `PUT {url}/keys` with `Authorization: Bearer <current key>` and the new
//! key as the body replaces it; `GET {url}/whoami` with `Authorization: Bearer <key>` answers 200 for a valid
//! key. The secret is `{"url": "...", "api_key": "..."}`. rotor's core does the rest: the event, the guard, the
//! staging labels, createSecret, finishSecret, logs and metrics.

use rotation_core::{Password, RotationError, Secret, SetContext, Target, TargetErrorKind, TestContext};

/// Rotates the `api_key` of a toy service.
#[derive(Debug, Clone, Default)]
pub struct ToyApiKey {
    http: reqwest::Client,
}

impl ToyApiKey {
    async fn whoami(&self, url: &str, key: &str) -> Result<bool, RotationError> {
        let response =
            self.http.get(format!("{url}/whoami")).bearer_auth(key).send().await.map_err(|e| unreachable(url, e))?;
        Ok(response.status().is_success())
    }
}

fn unreachable(url: &str, error: reqwest::Error) -> RotationError {
    RotationError::Target {
        kind: TargetErrorKind::Unreachable,
        target: url.to_owned(),
        message: "the toy service did not answer".into(),
        source: Some(Box::new(error)),
    }
}

impl Target for ToyApiKey {
    fn name(&self) -> &'static str {
        "toy-api-key"
    }

    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        current.require_str("url")?;
        current.with_field("api_key", password.into_inner())
    }

    async fn set(&self, ctx: &SetContext<'_>) -> Result<(), RotationError> {
        let url = ctx.current.require_str("url")?;
        let pending = ctx.pending.require_str("api_key")?;
        // Idempotent: a retry after success finds the key already set.
        if self.whoami(url, pending).await? {
            return Ok(());
        }
        let current = ctx.current.require_str("api_key")?;
        let response = self
            .http
            .put(format!("{url}/keys"))
            .bearer_auth(current)
            .body(pending.to_owned())
            .send()
            .await
            .map_err(|e| unreachable(url, e))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(RotationError::target(
                TargetErrorKind::Rejected,
                url,
                format!("the toy service answered {}", response.status()),
            ))
        }
    }

    async fn test(&self, ctx: &TestContext<'_>) -> Result<(), RotationError> {
        let pending = ctx.pending;
        let url = pending.require_str("url")?;
        if self.whoami(url, pending.require_str("api_key")?).await? {
            Ok(())
        } else {
            Err(RotationError::target(
                TargetErrorKind::AuthenticationFailed,
                url,
                "the toy service refuses the pending key",
            ))
        }
    }
}
