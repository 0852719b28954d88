//! The IAM access key target: createSecret binds the user to the secret, makes room and mints a key, setSecret
//! checks it, testSecret signs with it.

use std::time::{Duration, Instant, SystemTime};

use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::{AccessKey, StatusType, Tag};
use rotation_core::{
    AwsFailure, Check, Claim, CreateContext, Password, Possession, RotationError, Secret, SetContext, Target,
    TargetErrorKind, TestContext, with_causes,
};

use crate::clock::AnswerDate;
use crate::config::IamConfig;
use crate::key::KeySecret;
use crate::record::{MINTING_BOUND, Record, Start};
use crate::room::{self, Holdings, Key, Rules};

/// Rotates the access key of the IAM user a secret names (see the crate's documentation).
#[derive(Debug, Clone)]
pub struct AccessKeyTarget {
    config: IamConfig,
    iam: aws_sdk_iam::Client,
    sts: aws_sdk_sts::config::Builder,
}

/// The user a secret names, as `GetUser` describes it.
#[derive(Debug, Clone)]
struct User {
    name: String,
    /// The account the user belongs to (from its ARN).
    account: String,
    tags: Vec<(String, String)>,
}

/// Who an access key signs as (`sts:GetCallerIdentity`).
#[derive(Debug, Clone)]
struct Caller {
    account: String,
    arn: String,
}

impl Caller {
    /// Whether the key is the key of an IAM user of that name, in any account (compare the account too where it
    /// matters).
    fn is_user(&self, user: &str) -> bool {
        self.arn.contains(":user/") && self.arn.rsplit('/').next() == Some(user)
    }
}

impl AccessKeyTarget {
    /// A target managing the users `config` allows, with IAM and STS clients of the function's AWS configuration.
    pub fn new(config: IamConfig, sdk_config: &aws_config::SdkConfig) -> Self {
        Self { config, iam: aws_sdk_iam::Client::new(sdk_config), sts: aws_sdk_sts::config::Builder::from(sdk_config) }
    }

    /// The user, refused unless the function may manage it.
    async fn check_user(&self, user: &str) -> Result<User, RotationError> {
        let out = self.iam.get_user().user_name(user).send().await.map_err(|e| iam_error("GetUser", user, e))?;
        let Some(found) = out.user() else { return Err(rejected(user, "GetUser returned no user")) };
        let tags: Vec<(String, String)> =
            found.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
        if let Some(reason) = self.config.users.refuse(found.path(), &tags) {
            return Err(RotationError::target(
                TargetErrorKind::ConfusedDeputy,
                format!("IAM user {user}"),
                format!("{reason}; the secret cannot choose a user outside them"),
            ));
        }
        let account = found.arn().split(':').nth(4).unwrap_or_default().to_owned();
        Ok(User { name: found.user_name().to_owned(), account, tags })
    }

    async fn keys(&self, user: &str) -> Result<Vec<Key>, RotationError> {
        Ok(self.listing(user).await?.0)
    }

    /// The user's keys, when IAM listed them (its answer's `Date`, else the function's clock), and the instant the
    /// answer arrived: an attempt's record and its bound count from there.
    async fn listing(&self, user: &str) -> Result<(Vec<Key>, Start, Instant), RotationError> {
        let date = AnswerDate::default();
        let out = self
            .iam
            .list_access_keys()
            .user_name(user)
            .customize()
            .interceptor(date.clone())
            .send()
            .await
            .map_err(|e| iam_error("ListAccessKeys", user, e))?;
        let arrived = Instant::now();
        let start = date.get().map_or_else(|| Start::Function(SystemTime::now()), Start::Iam);
        Ok((out.access_key_metadata().iter().map(Key::from).collect(), start, arrived))
    }

    /// Who `key` signs as, asked of STS with that key (the function's own credentials play no part).
    async fn caller(&self, key: &KeySecret) -> Result<Caller, RotationError> {
        let credentials = aws_sdk_sts::config::Credentials::new(
            &key.access_key_id,
            key.secret_access_key(),
            None,
            None,
            "rotor-secret-access-key",
        );
        let sts = aws_sdk_sts::Client::from_conf(self.sts.clone().credentials_provider(credentials).build());
        let out =
            sts.get_caller_identity().send().await.map_err(|e| sts_error(&key.user_name, &key.access_key_id, e))?;
        Ok(Caller {
            account: out.account().unwrap_or_default().to_owned(),
            arn: out.arn().unwrap_or_default().to_owned(),
        })
    }

    /// Whether `key` signs as `user` of `user`'s account; `false` when STS refuses the key (unknown, deleted, a
    /// wrong secret access key) or it is another identity's. An error only when STS cannot be asked.
    async fn signs_as(&self, key: &KeySecret, user: &User) -> Result<bool, RotationError> {
        match self.caller(key).await {
            Ok(caller) => Ok(caller.is_user(&user.name) && caller.account == user.account),
            Err(error) if error.is_authentication_failure() => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Writes this attempt's record on the user, replacing this secret's earlier one.
    async fn record(&self, user: &str, record: &Record) -> Result<(), RotationError> {
        let invalid = |e: String| {
            rejected(user, &format!("the minting record (the user's tag {}) cannot be written: {e}", record.key))
        };
        let tag = Tag::builder()
            .key(&record.key)
            .value(record.value().map_err(invalid)?)
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        self.iam.tag_user().user_name(user).tags(tag).send().await.map_err(|e| iam_error("TagUser", user, e))?;
        let minted = record.minted.as_deref().unwrap_or("none yet");
        tracing::info!(user, tag = %record.key, minted, "recorded this attempt on the user");
        Ok(())
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

    /// Makes room for a new key (see [`room::plan`]) and mints it: decides, from the user's keys, this secret's
    /// `AWSCURRENT` and `AWSPREVIOUS` and the records on the user, what this rotation may delete; records the
    /// attempt; deletes; creates the key (giving up [`MINTING_BOUND`] after the listing, so that the record's
    /// window holds any key the attempt minted); records the new key. Fails with nothing changed when a key it may
    /// not delete stands in the way.
    async fn mint(
        &self,
        ctx: &CreateContext<'_>,
        user: &User,
        current: &KeySecret,
        previous: Option<&KeySecret>,
    ) -> Result<AccessKey, RotationError> {
        let (keys, start, listed) = self.listing(&user.name).await?;
        let records = Record::all(&user.tags);
        // AWSPREVIOUS's key is deleted only once its own secret access key signs as the user with it: a writer of
        // the secret cannot point AWSPREVIOUS at a key it does not hold.
        let previous = match previous {
            Some(p) => {
                let active = keys.iter().any(|k| k.id == p.access_key_id && k.active);
                Some((p.access_key_id.as_str(), active && self.signs_as(p, user).await?))
            }
            None => None,
        };
        // Only the secret's first rotation by this version takes AWSCURRENT's key as the secret's, on its signature.
        let current_proven = room::first_rotation(&records, ctx.secret_id) && self.signs_as(current, user).await?;
        let holdings = Holdings {
            secret_id: ctx.secret_id,
            token: ctx.token,
            current: (&current.access_key_id, current_proven),
            previous,
        };
        let rules = Rules { delete_unknown: self.config.delete_unknown_keys, grace: self.config.grace };
        match start {
            Start::Iam(_) => {
                tracing::info!(user = %user.name, "the attempt is timed by IAM's clock (the Date of its answer)")
            }
            Start::Function(_) => tracing::warn!(
                user = %user.name,
                "IAM's answer had no Date header: the attempt is timed by the function's clock, and its record allows SigV4's 5 minutes of skew either side"
            ),
        }
        let plan = room::plan(&user.name, &keys, &holdings, &records, rules, start.at())
            .map_err(|message| rejected(&user.name, &message))?;
        let record = Record::new(ctx.secret_id, ctx.token, start, plan.retiring.clone(), plan.kept.clone());
        self.record(&user.name, &record).await?;
        let bound = tokio::time::Instant::from_std(listed + MINTING_BOUND);
        let created = tokio::time::timeout_at(bound, async {
            for (key, why) in &plan.deletions {
                self.delete(&user.name, key, why).await?;
            }
            self.create_key(&user.name).await
        })
        .await
        .map_err(|_| {
            RotationError::target(
                TargetErrorKind::Unreachable,
                format!("IAM user {}", user.name),
                format!(
                    "IAM did not delete the old key and create the new one within {} s of listing the user's keys, the window this attempt's record gives the key it mints: the rotation's retry goes on from where it stopped, and names a key created after the window for you to delete",
                    MINTING_BOUND.as_secs()
                ),
            )
        })??;
        let id = created.access_key_id();
        // A key rotor stores must be named by the record, or the next rotation could not delete it: a key the
        // record cannot name is deleted at once (nobody holds it yet).
        if let Err(error) = self.record(&user.name, &record.with_minted(id)).await {
            let unrecorded = Key { id: id.to_owned(), active: true, created: None };
            if let Err(e) =
                self.delete(&user.name, &unrecorded, "minted by this attempt, which could not record it").await
            {
                tracing::warn!(user = %user.name, access_key_id = id, error = %rotation_core::with_causes(&e), "could not delete the key this attempt minted; its retry does, by the record's window");
            }
            return Err(error);
        }
        Ok(created)
    }

    async fn create_key(&self, user: &str) -> Result<AccessKey, RotationError> {
        let out = self
            .iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .map_err(|e| iam_error("CreateAccessKey", user, e))?;
        let created = out.access_key.ok_or_else(|| rejected(user, "CreateAccessKey returned no key"))?;
        tracing::info!(user, access_key_id = created.access_key_id(), "created the pending access key");
        Ok(created)
    }
}

/// IAM's proof of possession: the secret's access key signs `sts:GetCallerIdentity` as the claimed user.
struct KeyProof<'a> {
    target: &'a AccessKeyTarget,
    user: &'a User,
}

impl Possession for KeyProof<'_> {
    async fn proves(&self, secret: &Secret) -> Result<bool, RotationError> {
        let Ok(key) = KeySecret::parse(secret) else { return Ok(false) };
        self.target.signs_as(&key, self.user).await
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
    /// access key only once, so a retry must not mint another); otherwise binds the user to the secret (the
    /// secret's `rotor:user` tag names it, or its `AWSCURRENT` or `AWSPREVIOUS` key signs as it), makes room and
    /// creates a key, right after re-checking that this rotation still owns `AWSPENDING`. Nothing changes in IAM
    /// before the user is bound.
    async fn create(
        &self,
        ctx: &CreateContext<'_>,
        current: &Secret,
        _password: Password,
    ) -> Result<Secret, RotationError> {
        let key = KeySecret::parse(current)?;
        let user = self.check_user(&key.user_name).await?;
        if let Some(stored) = ctx.stored().await? {
            return Ok(stored);
        }
        let lookup = ctx.lookup(current, current);
        let claim = Claim { kind: "IAM user", name: &user.name, at: None };
        lookup.bind_identity(&claim, &KeyProof { target: self, user: &user }).await?;
        let previous = lookup.previous().await?;
        let previous = previous.and_then(|p| KeySecret::parse(&p).ok()).filter(|p| p.user_name == key.user_name);
        ctx.still_pending().await?;
        let created = self.mint(ctx, &user, &key, previous.as_ref()).await?;
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
        let user = pending.user_name.as_str();
        let deadline = ctx.deadline.map(|d| (d, Duration::from_secs(5)));
        self.config
            .test
            .retry_if(RotationError::is_authentication_failure, deadline, || async {
                let caller = self.caller(&pending).await?;
                if caller.is_user(user) {
                    Ok(())
                } else {
                    Err(RotationError::target(
                        TargetErrorKind::ConfusedDeputy,
                        format!("IAM user {user}"),
                        format!("the pending access key signs as {}, not as the user the secret names", caller.arn),
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

/// An STS error while signing with a secret's key: an unknown, unpropagated or wrong key is an authentication
/// failure (testSecret retries it while IAM propagates a new key); anything else as IAM's.
fn sts_error<E>(user: &str, access_key_id: &str, error: SdkError<E, HttpResponse>) -> RotationError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let failure = AwsFailure::of(&error);
    match failure.code() {
        // GetCallerIdentity needs no permission, so a denial (or a bare 403, as moto's unreadable answers are) is
        // a refusal of the key itself.
        Some(
            code @ ("InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "IncompleteSignature"
            | "AuthFailure"
            | "AccessDenied"),
        ) => RotationError::target(
            TargetErrorKind::AuthenticationFailed,
            format!("IAM user {user}"),
            format!(
                "sts:GetCallerIdentity refused the access key {access_key_id} ({code}): it is not a working key, or IAM is still propagating a new one"
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
            "the function's role may not iam:{operation} on this user: it manages the users under IAM_USER_PATH only (template parameter IamUserPath), carrying IAM_USER_TAG when one is set (IamUserTag), and tags them with rotor-minting:* records only (redeploy the template if the role predates iam:TagUser)"
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
    /// exists and the function may manage it), its keys (AWSCURRENT's among them and active; with two keys, the
    /// next rotation deletes the other only if it is AWSPREVIOUS's), the caller's permission to update and delete
    /// the user's keys (probed with a key id no user holds; run with the function role's credentials, this checks
    /// the function; IAM has no dry run for `CreateAccessKey` or `TagUser`, which are not probed), and that
    /// AWSCURRENT's key signs in as the user.
    pub async fn doctor(&self, current: &Secret) -> Vec<Check> {
        let holds_key = "the secret holds an IAM access key";
        let key = match KeySecret::parse(current) {
            Ok(key) => key,
            Err(error) => return vec![Check::new(holds_key, Err(error))],
        };
        let mut checks = vec![Check::new(holds_key, Ok(()))];
        let user = key.user_name.as_str();
        let checked = self.check_user(user).await.map(drop);
        let found = checked.is_ok();
        checks.push(Check::new(format!("IAM user {user} exists and is one this function may manage"), checked));
        if !found {
            return checks;
        }
        let keys = self.keys(user).await;
        let name = match &keys {
            Ok(keys) if keys.len() == 2 => {
                let other = keys.iter().find(|k| k.id != key.access_key_id).map_or("", |k| k.id.as_str());
                format!(
                    "the user's keys: AWSCURRENT's is there and active (two keys: the next rotation deletes {other} if it is AWSPREVIOUS's and rotor minted it for this secret, and stops naming it otherwise)"
                )
            }
            _ => "the user's keys: AWSCURRENT's is there and active".to_owned(),
        };
        let keys =
            keys.map_err(|e| with_causes(&e)).and_then(|keys| match keys.iter().find(|k| k.id == key.access_key_id) {
                None => Err(format!("AWSCURRENT's key {} is not among the user's keys", key.access_key_id)),
                Some(k) if !k.active => Err(format!("AWSCURRENT's key {} is inactive", key.access_key_id)),
                Some(_) => Ok(()),
            });
        checks.push(Check::with_problem(name, keys));
        for (action, probe) in
            [("UpdateAccessKey", self.probe_update(user).await), ("DeleteAccessKey", self.probe_delete(user).await)]
        {
            let name = format!("the caller may iam:{action} on the user (probed with a key id that does not exist)");
            checks.push(Check::with_problem(name, probe));
        }
        let signs_in = self.test(&TestContext::new(current)).await;
        checks.push(Check::new("AWSCURRENT's key signs in as the user (sts:GetCallerIdentity)", signs_in));
        checks
    }
}
