//! A thin wrapper over the Secrets Manager client, in the rotation's words.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};

use crate::aws::config::{Timeouts, load_sdk_config};
use crate::aws::failure::AwsFailure;
use crate::config::Env;
use crate::error::RotationError;
use crate::password::{Password, PasswordPolicy};
use crate::retry::Backoff;
use crate::secret::Secret;
use crate::versions::{AWSCURRENT, AWSPENDING, GuardRefusal, Promotion, Verdict, Versions};

/// What `DescribeSecret` says about a secret that the rotation needs.
#[derive(Debug, Clone)]
pub struct Description {
    /// The secret's full ARN.
    pub arn: String,
    /// `RotationEnabled`: `None` when the service does not say.
    pub rotation_enabled: Option<bool>,
    /// The versions and their labels.
    pub versions: Versions,
    /// The secret's tags (RDS-managed secrets name their database in them).
    pub tags: Vec<(String, String)>,
}

/// Which version to read.
#[derive(Debug, Clone, Copy)]
pub enum Selector<'a> {
    /// The version holding a staging label.
    Stage(&'a str),
    /// A version by id that must also hold a staging label (`VersionId` + `VersionStage`, as AWS's functions); a
    /// version that does not hold it reads as no value.
    VersionInStage(&'a str, &'a str),
    /// A version by id, whatever its labels (an abandoned rotation's value).
    Version(&'a str),
}

/// What `PutSecretValue` of a pending value did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// It stored the value (or the same value was already there: the call is idempotent).
    Now,
    /// The token's version already holds another value (`ResourceExistsException`): an earlier attempt of
    /// createSecret stored it, and it stays.
    Before,
}

/// The Secrets Manager calls a rotation makes.
///
/// Built from `aws_config` defaults, so `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`, region and
/// credentials work as in every AWS tool; `SECRETS_MANAGER_ENDPOINT` (AWS's functions' variable) wins when set.
/// Errors never carry a secret value.
#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: Client,
    calls: Arc<AtomicU64>,
}

impl SecretsManager {
    /// A client of the standard AWS configuration loaded here, with other time-outs (tests of the bounds).
    pub async fn from_env_with(env: &Env, timeouts: Timeouts) -> Self {
        Self::from_sdk_config(&load_sdk_config(timeouts).await, env)
    }

    /// A client of an AWS configuration already loaded (the one every client of a function shares: one HTTP
    /// connector, one credentials chain); `SECRETS_MANAGER_ENDPOINT` in `env` wins over its endpoint.
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, env: &Env) -> Self {
        let mut config = aws_sdk_secretsmanager::config::Builder::from(sdk_config);
        if let Some(endpoint) = env.get("SECRETS_MANAGER_ENDPOINT") {
            config = config.endpoint_url(endpoint);
        }
        Self::from_client(Client::from_conf(config.build()))
    }

    /// Wraps a client built elsewhere (tests, fault injection).
    pub fn from_client(client: Client) -> Self {
        Self { client, calls: Arc::default() }
    }

    /// How many API calls this wrapper has made (for metrics).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// `DescribeSecret`: ARN, rotation state and the versions' labels.
    pub async fn describe(&self, secret_id: &str) -> Result<Description, RotationError> {
        self.count();
        let out = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| service_error("DescribeSecret", secret_id, e))?;
        Ok(description(secret_id, out))
    }

    /// `DescribeSecret` of a secret that may not exist (`ResourceNotFoundException` is `None`).
    pub async fn describe_optional(&self, secret_id: &str) -> Result<Option<Description>, RotationError> {
        self.count();
        match self.client.describe_secret().secret_id(secret_id).send().await {
            Ok(out) => Ok(Some(description(secret_id, out))),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(service_error("DescribeSecret", secret_id, e)),
        }
    }

    /// `GetSecretValue`: the `SecretString`, or `None` when no such version has a value
    /// (`ResourceNotFoundException`, as for the value-less `AWSPENDING` placeholder) or, for
    /// [`Selector::VersionInStage`], the version does not hold the stage (AWS's `InvalidRequestException`, see
    /// [`AwsFailure::is_stage_not_on_version`]).
    pub async fn get(&self, secret_id: &str, selector: Selector<'_>) -> Result<Option<String>, RotationError> {
        Ok(self.get_resolved(secret_id, selector).await?.map(|(_, value)| value))
    }

    /// [`SecretsManager::get`], with the full ARN Secrets Manager resolved `secret_id` to.
    pub async fn get_resolved(
        &self,
        secret_id: &str,
        selector: Selector<'_>,
    ) -> Result<Option<(String, String)>, RotationError> {
        self.count();
        let request = self.client.get_secret_value().secret_id(secret_id);
        let request = match selector {
            Selector::Stage(stage) => request.version_stage(stage),
            Selector::VersionInStage(version, stage) => request.version_id(version).version_stage(stage),
            Selector::Version(version) => request.version_id(version),
        };
        match request.send().await {
            Ok(out) => match out.secret_string {
                Some(value) => Ok(Some((out.arn.unwrap_or_else(|| secret_id.to_owned()), value))),
                None => Err(RotationError::invalid_secret(
                    secret_id,
                    "SecretString",
                    "is absent (a SecretBinary secret); rotor rotates SecretString values only",
                )),
            },
            Err(e) => {
                let failure = AwsFailure::of(&e);
                if failure.code() == Some("ResourceNotFoundException") || failure.is_stage_not_on_version() {
                    Ok(None)
                } else {
                    Err(service_error("GetSecretValue", secret_id, e))
                }
            }
        }
    }

    /// The versions without any label created after `AWSCURRENT`'s, newest first, at most `limit`: the
    /// values of rotations abandoned since (`ListSecretVersionIds` with `IncludeDeprecated`).
    pub async fn abandoned_versions(&self, secret_id: &str, limit: usize) -> Result<Vec<String>, RotationError> {
        self.count();
        let out = self
            .client
            .list_secret_version_ids()
            .secret_id(secret_id)
            .include_deprecated(true)
            .max_results(100)
            .send()
            .await
            .map_err(|e| service_error("ListSecretVersionIds", secret_id, e))?;
        let versions = out.versions.unwrap_or_default();
        let current_created =
            versions.iter().find(|v| v.version_stages().iter().any(|s| s == AWSCURRENT)).and_then(|v| v.created_date);
        let mut abandoned: Vec<_> = versions
            .into_iter()
            .filter(|v| v.version_stages().is_empty())
            .filter(|v| match (v.created_date, current_created) {
                (Some(created), Some(current)) => created > current,
                _ => true,
            })
            .collect();
        abandoned.sort_by_key(|v| std::cmp::Reverse(v.created_date));
        Ok(abandoned.into_iter().filter_map(|v| v.version_id).take(limit).collect())
    }

    /// `PutSecretValue` of the pending version: `ClientRequestToken=token`, `VersionStages=["AWSPENDING"]`, and
    /// the `RotationToken` when the event had one. Storing the same value again is a no-op in the service.
    pub async fn put_pending(
        &self,
        secret_id: &str,
        token: &str,
        value: &str,
        rotation_token: Option<&str>,
    ) -> Result<Stored, RotationError> {
        let result = through_throttling("PutSecretValue", || {
            self.count();
            self.client
                .put_secret_value()
                .secret_id(secret_id)
                .client_request_token(token)
                .secret_string(value)
                .version_stages(crate::versions::AWSPENDING)
                .set_rotation_token(rotation_token.map(str::to_owned))
                .send()
        })
        .await;
        match result {
            Ok(_) => Ok(Stored::Now),
            Err(SdkError::ServiceError(context)) if context.err().is_resource_exists_exception() => Ok(Stored::Before),
            Err(e) => Err(service_error("PutSecretValue", secret_id, e)),
        }
    }

    /// `UpdateSecretVersionStage` moving `AWSCURRENT` to the token; the service moves `AWSPREVIOUS` itself.
    pub async fn promote(&self, secret_id: &str, promotion: &Promotion) -> Result<(), RotationError> {
        through_throttling("UpdateSecretVersionStage", || {
            self.count();
            self.client
                .update_secret_version_stage()
                .secret_id(secret_id)
                .version_stage(AWSCURRENT)
                .move_to_version_id(&promotion.move_to)
                .set_remove_from_version_id(promotion.remove_from.clone())
                .send()
        })
        .await
        .map_err(|e| service_error("UpdateSecretVersionStage", secret_id, e))?;
        Ok(())
    }

    /// `GetRandomPassword` with the policy's length and classes.
    pub async fn random_password(&self, secret_id: &str, policy: &PasswordPolicy) -> Result<Password, RotationError> {
        self.count();
        let out = self
            .client
            .get_random_password()
            .password_length(policy.length as i64)
            .exclude_characters(&policy.exclude_characters)
            .exclude_numbers(policy.exclude_numbers)
            .exclude_punctuation(policy.exclude_punctuation)
            .exclude_uppercase(policy.exclude_uppercase)
            .exclude_lowercase(policy.exclude_lowercase)
            .require_each_included_type(policy.require_each_included_type)
            .include_space(policy.include_space)
            .send()
            .await
            .map_err(|e| service_error("GetRandomPassword", secret_id, e))?;
        out.random_password.map(Password::new).ok_or_else(|| RotationError::SecretsManager {
            operation: "GetRandomPassword",
            secret: secret_id.to_owned(),
            reason: "the response had no RandomPassword".into(),
            retryable: true,
            source: None,
        })
    }
}

/// The token's `AWSPENDING` value: `None` while it has none (the service's placeholder) and when the token's version
/// does not hold `AWSPENDING` (any more), whichever of its two answers Secrets Manager gives.
pub(crate) async fn read_pending(
    secrets: &SecretsManager,
    secret_id: &str,
    token: &str,
) -> Result<Option<Secret>, RotationError> {
    let value = secrets.get(secret_id, Selector::VersionInStage(token, AWSPENDING)).await?;
    Ok(value.map(|v| Secret::parse(secret_id, &v).with_version(token)))
}

/// Whether the rotation of `token` still owns `AWSPENDING` (or already finished); an error naming what happened
/// when it does not.
pub(crate) fn still_pending(description: &Description, token: &str) -> Result<(), RotationError> {
    guard(description, token).map(drop)
}

/// The guard of CONTRACT section 4: rotation enabled (a missing flag is fine), the token a version of the
/// secret, and that version `AWSPENDING` or already `AWSCURRENT`.
pub(crate) fn guard(description: &Description, token: &str) -> Result<Verdict, RotationError> {
    if description.rotation_enabled == Some(false) {
        return Err(RotationError::RotationDisabled { secret: description.arn.clone() });
    }
    description.versions.guard(token).map_err(|refusal| RotationError::VersionState {
        secret: description.arn.clone(),
        version: token.to_owned(),
        reason: match refusal {
            GuardRefusal::UnknownVersion => "is not a version of this secret: the rotation was abandoned \
                (for example by a manual PutSecretValue); start a new rotation"
                .into(),
            GuardRefusal::NotPending { stages } => {
                format!("is not AWSPENDING (its labels: {stages:?}): another rotation took over; start a new rotation")
            }
        },
    })
}

/// The parts of a `DescribeSecret` answer the rotation reads.
fn description(
    secret_id: &str,
    out: aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput,
) -> Description {
    let versions = Versions::new(out.version_ids_to_stages.unwrap_or_default());
    let tags =
        out.tags.unwrap_or_default().into_iter().filter_map(|t| Some((t.key?, t.value.unwrap_or_default()))).collect();
    Description {
        arn: out.arn.unwrap_or_else(|| secret_id.to_owned()),
        rotation_enabled: out.rotation_enabled,
        versions,
        tags,
    }
}

/// How a rotation's write is sent again after the SDK's own attempts all met throttling: three more times, after a
/// jittered wait of 1-2 s, 2-4 s, then 4-8 s. The writes a rotation makes (`PutSecretValue`,
/// `UpdateSecretVersionStage`) share one 50-a-second quota per account and Region; rotations that fall due together
/// (a fleet on one schedule) can exhaust the SDK's attempts while the service is only busy. Both writes are
/// idempotent for the rotation's token. The step's deadline still bounds it all.
const THROTTLED: Backoff =
    Backoff { attempts: 4, initial_delay: Duration::from_secs(1), max_delay: Duration::from_secs(4), jitter: true };

/// Sends a write again, as [`THROTTLED`] says, while Secrets Manager keeps answering that it is throttled.
async fn through_throttling<T, E, Fut>(
    operation: &'static str,
    call: impl FnMut() -> Fut,
) -> Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata,
    Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    let throttled = |error: &SdkError<E, HttpResponse>| AwsFailure::of(error).is_throttling();
    THROTTLED
        .retry_when(throttled, None, call, |_, _, wait| {
            tracing::warn!(
                operation,
                wait_ms = wait.as_millis() as u64,
                "Secrets Manager throttled the call after the SDK's retries (the account's quota, shared with other rotations); sending it again"
            );
        })
        .await
}

/// Maps an SDK error to a [`RotationError`] naming the operation, the service's code and the fix.
fn service_error<E>(operation: &'static str, secret_id: &str, error: SdkError<E, HttpResponse>) -> RotationError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let failure = AwsFailure::of(&error);
    let fix = match failure.code().unwrap_or_default() {
        "AccessDeniedException" | "AccessDenied" => {
            "grant the function's role this action on the secret (and kms:Decrypt/kms:GenerateDataKey on its KMS key)"
        }
        "ResourceNotFoundException" => "check the SecretId; the secret may have been deleted",
        "ResourceExistsException" => {
            "a different value already exists under this ClientRequestToken; cancel the rotation and start a new one"
        }
        "InvalidRequestException" => "the secret's state does not allow this call (deleted, or labels moved)",
        "DecryptionFailure" | "EncryptionFailure" => {
            "allow the function's role kms:Decrypt and kms:GenerateDataKey on the secret's KMS key"
        }
        _ => "",
    };
    let reason = failure
        .unanswered("Secrets Manager", "AWS_ENDPOINT_URL / SECRETS_MANAGER_ENDPOINT")
        .unwrap_or_else(|| failure.answer_with(fix));
    RotationError::SecretsManager {
        operation,
        secret: secret_id.to_owned(),
        reason,
        retryable: failure.is_retryable(),
        source: Some(Box::new(error)),
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::body::SdkBody;

    use super::*;

    /// A client whose every `GetSecretValue` gets Secrets Manager's error answer `code: message`.
    fn answering(code: &'static str, message: &'static str) -> SecretsManager {
        let rule = mock!(Client::get_secret_value).then_http_response(move || {
            let body = serde_json::json!({"__type": code, "message": message}).to_string();
            aws_smithy_runtime_api::http::Response::new(400.try_into().unwrap(), SdkBody::from(body))
        });
        SecretsManager::from_client(mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&rule]))
    }

    #[tokio::test]
    async fn a_version_without_the_stage_asked_for_reads_as_no_value_whichever_answer_the_service_gives() {
        let pending = Selector::VersionInStage("11111111-2222-4333-8444-555555555555", "AWSPENDING");
        let mismatch = "You provided a VersionStage that is not associated to the provided VersionId.";
        let placeholder = "Secrets Manager can't find the specified secret value for staging label: AWSPENDING";
        for (code, message) in [("InvalidRequestException", mismatch), ("ResourceNotFoundException", placeholder)] {
            assert_eq!(answering(code, message).get("app", pending).await.unwrap(), None, "{code}");
        }
        let deleted = "You can't perform this operation on the secret because it was marked for deletion.";
        let error = answering("InvalidRequestException", deleted).get("app", pending).await.unwrap_err();
        assert!(error.to_string().contains("marked for deletion"), "{error}");
    }
}
