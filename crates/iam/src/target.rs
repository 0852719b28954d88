//! The IAM access key target: createSecret makes room and mints a key, setSecret checks it, testSecret signs with
//! it.

use std::time::{Duration, SystemTime};

use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::{AccessKeyMetadata, StatusType};
use rotation_core::{
    AwsFailure, CreateContext, Password, RotationError, Secret, SetContext, Target, TargetErrorKind, TestContext,
};

use crate::config::IamConfig;
use crate::key::KeySecret;

/// Rotates the access key of the IAM user a secret names (see the crate's documentation).
#[derive(Debug, Clone)]
pub struct AccessKeyTarget {
    config: IamConfig,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::config::Builder,
}

/// One access key of the user, as `ListAccessKeys` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Key {
    id: String,
    active: bool,
    created: Option<SystemTime>,
}

impl From<&AccessKeyMetadata> for Key {
    fn from(key: &AccessKeyMetadata) -> Self {
        Self {
            id: key.access_key_id().unwrap_or_default().to_owned(),
            active: key.status() == Some(&StatusType::Active),
            created: key.create_date().and_then(|d| SystemTime::try_from(*d).ok()),
        }
    }
}

impl AccessKeyTarget {
    /// A target managing the users `config` allows, with IAM and STS clients of the function's AWS configuration.
    pub fn new(config: IamConfig, sdk_config: &aws_config::SdkConfig) -> Self {
        Self { config, iam: aws_sdk_iam::Client::new(sdk_config), sts: aws_sdk_sts::config::Builder::from(sdk_config) }
    }

    /// The user, refused unless the function may manage it.
    async fn check_user(&self, user: &str) -> Result<(), RotationError> {
        let out = self.iam.get_user().user_name(user).send().await.map_err(|e| iam_error("GetUser", user, e))?;
        let Some(found) = out.user() else { return Err(rejected(user, "GetUser returned no user")) };
        let tags: Vec<(String, String)> =
            found.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        match self.config.users.refuse(found.path(), &tags) {
            Some(reason) => Err(RotationError::target(
                TargetErrorKind::ConfusedDeputy,
                format!("IAM user {user}"),
                format!("{reason}; the secret cannot choose a user outside them"),
            )),
            None => Ok(()),
        }
    }

    async fn keys(&self, user: &str) -> Result<Vec<Key>, RotationError> {
        let out = self
            .iam
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .map_err(|e| iam_error("ListAccessKeys", user, e))?;
        Ok(out.access_key_metadata().iter().map(Key::from).collect())
    }

    async fn delete(&self, user: &str, key: &Key, why: &str) -> Result<(), RotationError> {
        if key.active {
            tracing::warn!(user, access_key_id = %key.id, why, "deactivating the access key before deleting it");
            self.iam
                .update_access_key()
                .user_name(user)
                .access_key_id(&key.id)
                .status(StatusType::Inactive)
                .send()
                .await
                .map_err(|e| iam_error("UpdateAccessKey", user, e))?;
        }
        tracing::warn!(user, access_key_id = %key.id, why, "deleting the access key");
        match self.iam.delete_access_key().user_name(user).access_key_id(&key.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("NoSuchEntity") => Ok(()),
            Err(e) => Err(iam_error("DeleteAccessKey", user, e)),
        }
    }

    /// Makes room for a new key: a key neither `AWSCURRENT` nor `AWSPREVIOUS` holds is deleted (one a rotation
    /// minted but never stored, or one made out of band); then, if two keys remain, `AWSPREVIOUS`'s is deactivated
    /// and deleted once its grace is over. `AWSCURRENT`'s key is never touched.
    async fn make_room(&self, user: &str, current: &str, previous: Option<&str>) -> Result<(), RotationError> {
        let mut keys = self.keys(user).await?;
        if !keys.iter().any(|k| k.id == current) {
            tracing::warn!(
                user,
                access_key_id = current,
                "AWSCURRENT's access key no longer exists (deleted out of band?)"
            );
        }
        for key in keys.iter().filter(|k| k.id != current && Some(k.id.as_str()) != previous) {
            self.delete(user, key, "held by neither AWSCURRENT nor AWSPREVIOUS").await?;
        }
        keys.retain(|k| k.id == current || Some(k.id.as_str()) == previous);
        if keys.len() < 2 {
            return Ok(());
        }
        let Some(old) = keys.iter().find(|k| k.id != current) else { return Ok(()) };
        if old.active && !self.config.grace.is_zero() {
            let since = keys.iter().find(|k| k.id == current).and_then(|k| k.created);
            let held = since.and_then(|t| t.elapsed().ok()).unwrap_or(Duration::MAX);
            if held < self.config.grace {
                return Err(rejected(
                    user,
                    &format!(
                        "AWSPREVIOUS's access key {} is still within PREVIOUS_KEY_GRACE_HOURS ({} h of {} h): consumers may still use it; rotate again once the grace is over",
                        old.id,
                        held.as_secs() / 3600,
                        self.config.grace.as_secs() / 3600
                    ),
                ));
            }
        }
        self.delete(user, old, "AWSPREVIOUS's key: IAM allows two keys per user and its grace is over").await
    }
}

impl Target for AccessKeyTarget {
    fn name(&self) -> &'static str {
        "iam-access-key"
    }

    /// IAM mints the key: without IAM there is no next secret.
    fn next_secret(&self, current: &Secret, _password: Password) -> Result<Secret, RotationError> {
        Err(current.invalid("access_key_id", "is minted by IAM at createSecret; there is no offline next value"))
    }

    /// Checks the user, then returns the key an earlier attempt stored for this token, if any (IAM shows a secret
    /// access key only once, so a retry must not mint another); otherwise makes room and creates a key, right
    /// after re-checking that this rotation still owns `AWSPENDING`.
    async fn create(
        &self,
        ctx: &CreateContext<'_>,
        current: &Secret,
        _password: Password,
    ) -> Result<Secret, RotationError> {
        let key = KeySecret::parse(current)?;
        self.check_user(&key.user_name).await?;
        if let Some(stored) = ctx.stored().await? {
            return Ok(stored);
        }
        let previous = ctx.lookup(current, current).previous().await?;
        let previous = previous.and_then(|p| KeySecret::parse(&p).ok()).filter(|p| p.user_name == key.user_name);
        ctx.still_pending().await?;
        self.make_room(&key.user_name, &key.access_key_id, previous.as_ref().map(|p| p.access_key_id.as_str())).await?;
        let out = self
            .iam
            .create_access_key()
            .user_name(&key.user_name)
            .send()
            .await
            .map_err(|e| iam_error("CreateAccessKey", &key.user_name, e))?;
        let Some(created) = out.access_key() else {
            return Err(rejected(&key.user_name, "CreateAccessKey returned no key"));
        };
        tracing::info!(user = %key.user_name, access_key_id = created.access_key_id(), "created the pending access key");
        key.next(current, created.access_key_id().to_owned(), created.secret_access_key().to_owned())
    }

    /// Nothing to set: IAM made the key. Checks that it is still there and active.
    async fn set(&self, ctx: &SetContext<'_>) -> Result<(), RotationError> {
        let pending = KeySecret::parse(ctx.pending)?;
        let keys = self.keys(&pending.user_name).await?;
        match keys.iter().find(|k| k.id == pending.access_key_id) {
            Some(key) if key.active => Ok(()),
            found => Err(rejected(
                &pending.user_name,
                &format!(
                    "the pending access key {} is {}: cancel this rotation (rotatectl unstick) and rotate again",
                    pending.access_key_id,
                    if found.is_some() { "inactive" } else { "gone (deleted out of band?)" }
                ),
            )),
        }
    }

    /// Signs `sts:GetCallerIdentity` with the pending key and expects the user back, retried (bounded, never past
    /// the deadline) while IAM propagates the new key.
    async fn test(&self, ctx: &TestContext<'_>) -> Result<(), RotationError> {
        let pending = KeySecret::parse(ctx.pending)?;
        let credentials = aws_sdk_sts::config::Credentials::new(
            &pending.access_key_id,
            pending.secret_access_key(),
            None,
            None,
            "rotor-pending-access-key",
        );
        let sts = aws_sdk_sts::Client::from_conf(self.sts.clone().credentials_provider(credentials).build());
        let user = pending.user_name.as_str();
        let deadline = ctx.deadline.map(|d| (d, Duration::from_secs(5)));
        self.config
            .test
            .retry_if(RotationError::is_authentication_failure, deadline, || async {
                let out = sts.get_caller_identity().send().await.map_err(|e| sts_error(user, e))?;
                let arn = out.arn().unwrap_or_default();
                if arn.rsplit('/').next() == Some(user) && arn.contains(":user/") {
                    Ok(())
                } else {
                    Err(RotationError::target(
                        TargetErrorKind::ConfusedDeputy,
                        format!("IAM user {user}"),
                        format!("the pending access key signs as {arn}, not as the user the secret names"),
                    ))
                }
            })
            .await
    }
}

fn rejected(user: &str, message: &str) -> RotationError {
    RotationError::target(TargetErrorKind::Rejected, format!("IAM user {user}"), message)
}

/// An IAM error, classified, naming the operation and the fix.
fn iam_error<E>(operation: &str, user: &str, error: SdkError<E, HttpResponse>) -> RotationError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    api_error("IAM", "AWS_ENDPOINT_URL_IAM", operation, user, error)
}

/// An STS error while signing with the pending key: an unknown or unpropagated key is an authentication failure
/// (retried); anything else as IAM's.
fn sts_error<E>(user: &str, error: SdkError<E, HttpResponse>) -> RotationError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match error.code() {
        Some("InvalidClientTokenId" | "SignatureDoesNotMatch" | "AuthFailure") => RotationError::target(
            TargetErrorKind::AuthenticationFailed,
            format!("IAM user {user}"),
            format!(
                "sts:GetCallerIdentity refused the pending access key ({}): IAM may still be propagating it",
                error.code().unwrap_or_default()
            ),
        ),
        _ => api_error("STS", "AWS_ENDPOINT_URL_STS", "GetCallerIdentity", user, error),
    }
}

/// An IAM or STS error (`service`, its endpoint set by `endpoint_variable`), classified, naming the operation and
/// the fix.
fn api_error<E>(
    service: &str,
    endpoint_variable: &str,
    operation: &str,
    user: &str,
    error: SdkError<E, HttpResponse>,
) -> RotationError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let failure = AwsFailure::of(&error);
    let fix = match failure.code().unwrap_or_default() {
        "AccessDenied" | "AccessDeniedException" => format!(
            "the function's role may not iam:{operation} on this user: it manages users under IAM_USER_PATH only (template parameter IamUserPath)"
        ),
        // moto answers a missing user in a shape the SDK cannot read: its status says it.
        "NoSuchEntity" | "HTTP 404" => "the user does not exist; fix user_name in the secret".to_owned(),
        "LimitExceeded" => "the user already holds two access keys".to_owned(),
        _ => String::new(),
    };
    let reason = failure.unanswered(service, endpoint_variable).unwrap_or_else(|| failure.answer_with(&fix));
    RotationError::Target {
        kind: failure.target_kind(),
        target: format!("IAM user {user}"),
        message: format!("{operation} failed: {reason}"),
        source: Some(Box::new(error)),
    }
}

/// A well-formed access key id that no user holds: doctor's probes of the write permissions.
const PROBE_KEY_ID: &str = "AKIAROTORDOCTORPROBE";

/// A probe's answer: IAM authorizes before it looks the key up, so `NoSuchEntity` means the action is allowed.
fn probed<T, E>(action: &str, user: &str, result: Result<T, SdkError<E, HttpResponse>>) -> Result<(), String>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("NoSuchEntity") => Ok(()),
        Err(e) => Err(rotation_core::with_causes(&iam_error(action, user, e))),
    }
}

impl AccessKeyTarget {
    async fn probe_update(&self, user: &str) -> Result<(), String> {
        let request = self.iam.update_access_key().user_name(user).access_key_id(PROBE_KEY_ID);
        probed("UpdateAccessKey", user, request.status(StatusType::Inactive).send().await)
    }

    async fn probe_delete(&self, user: &str) -> Result<(), String> {
        probed(
            "DeleteAccessKey",
            user,
            self.iam.delete_access_key().user_name(user).access_key_id(PROBE_KEY_ID).send().await,
        )
    }
}

impl AccessKeyTarget {
    /// `rotatectl doctor`'s checks of a secret, each named, changing nothing: the secret's shape, the user (it
    /// exists and the function may manage it), its keys (AWSCURRENT's among them and active; two keys means the
    /// next rotation deletes the other), the caller's permission to update and delete the user's keys (probed with
    /// a key id no user holds; run with the function role's credentials, this checks the function; IAM has no dry
    /// run for `CreateAccessKey`, which is not probed), and that AWSCURRENT's key signs in as the user.
    pub async fn doctor(&self, current: &Secret) -> Vec<(String, Result<(), String>)> {
        let text = |e: RotationError| rotation_core::with_causes(&e);
        let mut checks = Vec::new();
        let key = match KeySecret::parse(current) {
            Ok(key) => key,
            Err(error) => {
                checks.push(("the secret holds an IAM access key".to_owned(), Err(text(error))));
                return checks;
            }
        };
        checks.push(("the secret holds an IAM access key".to_owned(), Ok(())));
        let user = key.user_name.as_str();
        let checked = self.check_user(user).await.map_err(text);
        let found = checked.is_ok();
        checks.push((format!("IAM user {user} exists and is one this function may manage"), checked));
        if !found {
            return checks;
        }
        let keys = self.keys(user).await;
        let name = match &keys {
            Ok(keys) if keys.len() == 2 => {
                let other = keys.iter().find(|k| k.id != key.access_key_id).map_or("", |k| k.id.as_str());
                format!(
                    "the user's keys: AWSCURRENT's is there and active (two keys: the next rotation deletes {other})"
                )
            }
            _ => "the user's keys: AWSCURRENT's is there and active".to_owned(),
        };
        let keys = keys.map_err(text).and_then(|keys| match keys.iter().find(|k| k.id == key.access_key_id) {
            None => Err(format!("AWSCURRENT's key {} is not among the user's keys", key.access_key_id)),
            Some(k) if !k.active => Err(format!("AWSCURRENT's key {} is inactive", key.access_key_id)),
            Some(_) => Ok(()),
        });
        checks.push((name, keys));
        for (action, probe) in
            [("UpdateAccessKey", self.probe_update(user).await), ("DeleteAccessKey", self.probe_delete(user).await)]
        {
            checks.push((
                format!("the caller may iam:{action} on the user (probed with a key id that does not exist)"),
                probe,
            ));
        }
        let signs_in = self.test(&TestContext::new(current)).await.map_err(text);
        checks.push(("AWSCURRENT's key signs in as the user (sts:GetCallerIdentity)".to_owned(), signs_in));
        checks
    }
}
