//! The Secrets Manager operations, with AWS's semantics, over the endpoint's state.
//!
//! Each operation takes the request's JSON and answers JSON or an [`ApiError`] with AWS's code and message.
//! Rotation (`RotateSecret`) is in [`crate::orchestrator`]; these are the synchronous parts.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::clock::epoch_seconds;
use crate::error::ApiError;
use crate::state::{RotationState, SecretRecord, State, VersionRecord};

/// The region and account the endpoint pretends to be in, for ARNs.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The region in ARNs.
    pub region: String,
    /// The account id in ARNs.
    pub account: String,
}

/// Parses an operation's request body.
pub fn input<T: DeserializeOwned>(body: &Value) -> Result<T, ApiError> {
    serde_json::from_value(body.clone()).map_err(|e| ApiError::serialization(format!("Invalid request body: {e}")))
}

fn epoch(time: DateTime<Utc>) -> Value {
    json!(epoch_seconds(time))
}

/// A `ClientRequestToken`: 32 to 64 characters, as the service requires.
fn check_token(token: &str) -> Result<(), ApiError> {
    if (32..=64).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter("ClientRequestToken must be 32 to 64 printable ASCII characters."))
    }
}

fn new_version_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The secret a request names, refusing secrets scheduled for deletion unless `allow_deleted`.
fn find<'a>(state: &'a State, secret_id: &str, allow_deleted: bool) -> Result<&'a SecretRecord, ApiError> {
    let secret = state.find(secret_id).ok_or_else(ApiError::secret_not_found)?;
    if secret.deleted_date.is_some() && !allow_deleted {
        return Err(ApiError::marked_for_deletion());
    }
    Ok(secret)
}

fn find_mut<'a>(state: &'a mut State, secret_id: &str, allow_deleted: bool) -> Result<&'a mut SecretRecord, ApiError> {
    find(state, secret_id, allow_deleted)?;
    Ok(state.find_mut(secret_id).expect("found above"))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateSecretInput {
    name: String,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    secret_string: Option<String>,
    secret_binary: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

/// The value of a new version: exactly one of `SecretString` and `SecretBinary`.
fn value_of(
    secret_string: Option<String>,
    secret_binary: Option<String>,
) -> Result<(Option<String>, Option<String>), ApiError> {
    if secret_string.is_some() && secret_binary.is_some() {
        return Err(ApiError::invalid_parameter(
            "You can't specify both a binary secret value and a string secret value in the same secret.",
        ));
    }
    Ok((secret_string, secret_binary))
}

/// `CreateSecret`.
pub fn create_secret(
    state: &mut State,
    identity: &Identity,
    now: DateTime<Utc>,
    body: &Value,
) -> Result<Value, ApiError> {
    let input: CreateSecretInput = input(body)?;
    if input.name.is_empty() || input.name.len() > 512 {
        return Err(ApiError::invalid_parameter("Name must be 1 to 512 characters."));
    }
    if let Some(existing) = state.secrets.values().find(|s| s.name == input.name) {
        return Err(if existing.deleted_date.is_some() {
            ApiError::invalid_request(
                "You can't create this secret because a secret with this name is already scheduled for deletion.",
            )
        } else {
            ApiError::exists(format!("The operation failed because the secret {} already exists.", input.name))
        });
    }
    let (secret_string, secret_binary) = value_of(input.secret_string, input.secret_binary)?;
    let suffix: String =
        uuid::Uuid::new_v4().simple().to_string().chars().filter(char::is_ascii_alphanumeric).take(6).collect();
    let arn = format!("arn:aws:secretsmanager:{}:{}:secret:{}-{suffix}", identity.region, identity.account, input.name);
    let mut secret = SecretRecord::new(arn.clone(), input.name.clone(), now);
    secret.description = input.description;
    secret.kms_key_id = input.kms_key_id;
    secret.tags = input.tags.into_iter().map(|t| (t.key, t.value)).collect();
    let mut response = json!({"ARN": arn, "Name": input.name});
    if secret_string.is_some() || secret_binary.is_some() {
        let version = input.client_request_token.unwrap_or_else(new_version_id);
        check_token(&version)?;
        secret.versions.insert(
            version.clone(),
            VersionRecord { secret_string, secret_binary, stages: vec!["AWSCURRENT".into()], created: now },
        );
        response["VersionId"] = json!(version);
    }
    state.secrets.insert(arn, secret);
    Ok(response)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SecretIdInput {
    secret_id: String,
}

/// The `DescribeSecret` (and `ListSecrets` entry) view of a secret.
pub fn describe(secret: &SecretRecord) -> Value {
    let mut out = json!({
        "ARN": secret.arn,
        "Name": secret.name,
        "CreatedDate": epoch(secret.created),
        "LastChangedDate": epoch(secret.last_changed),
        "VersionIdsToStages": secret.versions.iter()
            .filter(|(_, v)| !v.stages.is_empty())
            .map(|(id, v)| (id.clone(), json!(v.stages)))
            .collect::<serde_json::Map<_, _>>(),
    });
    let optional = [
        ("Description", secret.description.as_ref().map(|d| json!(d))),
        ("KmsKeyId", secret.kms_key_id.as_ref().map(|k| json!(k))),
        ("RotationEnabled", secret.rotation_enabled.map(|e| json!(e))),
        ("RotationLambdaARN", secret.rotation_lambda_arn.as_ref().map(|a| json!(a))),
        ("RotationRules", secret.rotation_rules.as_ref().map(|r| json!(r))),
        ("LastRotatedDate", secret.last_rotated.map(epoch)),
        ("NextRotationDate", secret.next_rotation.filter(|_| secret.rotation_enabled == Some(true)).map(epoch)),
        ("DeletedDate", secret.deleted_date.map(epoch)),
        (
            "Tags",
            (!secret.tags.is_empty())
                .then(|| json!(secret.tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>())),
        ),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            out[key] = value;
        }
    }
    out
}

/// `DescribeSecret`: works on secrets scheduled for deletion too.
pub fn describe_secret(state: &State, body: &Value) -> Result<Value, ApiError> {
    let input: SecretIdInput = input(body)?;
    Ok(describe(find(state, &input.secret_id, true)?))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetSecretValueInput {
    secret_id: String,
    version_id: Option<String>,
    version_stage: Option<String>,
}

/// `GetSecretValue`: by stage (default `AWSCURRENT`), by version, or both (the version must carry the stage).
/// The value-less rotation placeholder answers `ResourceNotFoundException`.
pub fn get_secret_value(state: &State, body: &Value) -> Result<Value, ApiError> {
    let input: GetSecretValueInput = input(body)?;
    let secret = find(state, &input.secret_id, false)?;
    let (id, version) = match (&input.version_id, &input.version_stage) {
        (Some(id), stage) => {
            let version = secret.versions.get(id).ok_or_else(|| {
                ApiError::not_found(format!(
                    "Secrets Manager can't find the specified secret value for VersionId: {id}"
                ))
            })?;
            if let Some(stage) = stage.as_deref().filter(|s| !version.has_stage(s)) {
                return Err(ApiError::not_found(format!(
                    "Secrets Manager can't find the specified secret value for VersionId: {id} and staging label: {stage}"
                )));
            }
            (id.as_str(), version)
        }
        (None, stage) => {
            let stage = stage.as_deref().unwrap_or("AWSCURRENT");
            let id = secret.holding(stage).ok_or_else(|| {
                ApiError::not_found(format!(
                    "Secrets Manager can't find the specified secret value for staging label: {stage}"
                ))
            })?;
            (id, &secret.versions[id])
        }
    };
    if !version.has_value() {
        return Err(ApiError::not_found(format!(
            "Secrets Manager can't find the specified secret value for VersionId: {id}"
        )));
    }
    let mut out = json!({
        "ARN": secret.arn, "Name": secret.name, "VersionId": id,
        "VersionStages": version.stages, "CreatedDate": epoch(version.created),
    });
    if let Some(s) = &version.secret_string {
        out["SecretString"] = json!(s);
    }
    if let Some(b) = &version.secret_binary {
        out["SecretBinary"] = json!(b);
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutSecretValueInput {
    secret_id: String,
    client_request_token: Option<String>,
    secret_string: Option<String>,
    secret_binary: Option<String>,
    version_stages: Option<Vec<String>>,
    rotation_token: Option<String>,
}

/// `PutSecretValue`. The same token with the same value is a no-op; with another value it is
/// `ResourceExistsException`. A value for the rotation placeholder fills it. Without `VersionStages` the new
/// version becomes `AWSCURRENT`; a manual put that moves `AWSCURRENT` abandons an unfinished rotation.
pub fn put_secret_value(state: &mut State, now: DateTime<Utc>, body: &Value) -> Result<Value, ApiError> {
    let input: PutSecretValueInput = input(body)?;
    let (secret_string, secret_binary) = value_of(input.secret_string, input.secret_binary)?;
    if secret_string.is_none() && secret_binary.is_none() {
        return Err(ApiError::invalid_parameter("You must provide either SecretString or SecretBinary."));
    }
    let secret = find_mut(state, &input.secret_id, false)?;
    let token = input.client_request_token.unwrap_or_else(new_version_id);
    check_token(&token)?;
    let stages = input.version_stages.unwrap_or_else(|| vec!["AWSCURRENT".into()]);
    let response = |secret: &SecretRecord| json!({"ARN": secret.arn, "Name": secret.name, "VersionId": token, "VersionStages": secret.versions[&token].stages});
    if let Some(rotation) =
        secret.last_rotation.as_mut().filter(|r| r.token == token && r.state == RotationState::Running)
    {
        rotation.rotation_token_returned |=
            input.rotation_token.is_some() && input.rotation_token == rotation.rotation_token;
    }
    match secret.versions.get_mut(&token) {
        Some(existing) if existing.has_value() => {
            if existing.secret_string == secret_string && existing.secret_binary == secret_binary {
                return Ok(response(secret));
            }
            return Err(ApiError::exists(format!(
                "You can't use ClientRequestToken {token} because that value is already in use for a version of secret {}.",
                secret.arn
            )));
        }
        Some(placeholder) => {
            placeholder.secret_string = secret_string;
            placeholder.secret_binary = secret_binary;
        }
        None => {
            secret
                .versions
                .insert(token.clone(), VersionRecord { secret_string, secret_binary, stages: vec![], created: now });
        }
    }
    let manual_current = stages.iter().any(|s| s == "AWSCURRENT");
    for stage in &stages {
        secret.attach(stage, &token);
    }
    if manual_current && let Some(pending) = secret.stuck_pending().map(str::to_owned) {
        secret.detach("AWSPENDING", &pending);
        if let Some(rotation) = secret.last_rotation.as_mut().filter(|r| r.token == pending) {
            rotation.state = RotationState::Cancelled;
            rotation.finished.get_or_insert(now);
        }
    }
    secret.last_changed = now;
    Ok(response(secret))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateSecretVersionStageInput {
    secret_id: String,
    version_stage: String,
    move_to_version_id: Option<String>,
    remove_from_version_id: Option<String>,
}

/// `UpdateSecretVersionStage`: moving a label that is on another version requires `RemoveFromVersionId` naming
/// it; moving `AWSCURRENT` puts `AWSPREVIOUS` on the version it left.
pub fn update_secret_version_stage(state: &mut State, now: DateTime<Utc>, body: &Value) -> Result<Value, ApiError> {
    let input: UpdateSecretVersionStageInput = input(body)?;
    let secret = find_mut(state, &input.secret_id, false)?;
    let stage = input.version_stage.as_str();
    let holder = secret.holding(stage).map(str::to_owned);
    if let Some(remove_from) = &input.remove_from_version_id {
        if !secret.versions.contains_key(remove_from) {
            return Err(ApiError::not_found(format!(
                "Secrets Manager can't find the specified secret version: {remove_from}"
            )));
        }
        if holder.as_deref() != Some(remove_from) {
            return Err(ApiError::invalid_parameter(format!(
                "The staging label {stage} is not attached to the version {remove_from}, so it can't be removed from it."
            )));
        }
    }
    match &input.move_to_version_id {
        Some(move_to) => {
            if !secret.versions.contains_key(move_to) {
                return Err(ApiError::not_found(format!(
                    "Secrets Manager can't find the specified secret version: {move_to}"
                )));
            }
            if let Some(holder) = holder.as_deref().filter(|h| h != move_to)
                && input.remove_from_version_id.as_deref() != Some(holder)
            {
                return Err(ApiError::invalid_parameter(format!(
                    "The parameter RemoveFromVersionId can't be empty. Staging label {stage} is currently attached to version {holder}, so you must explicitly reference that version in RemoveFromVersionId."
                )));
            }
            secret.attach(stage, move_to);
        }
        None => match &input.remove_from_version_id {
            Some(remove_from) => secret.detach(stage, remove_from),
            None => {
                return Err(ApiError::invalid_parameter(
                    "You must specify MoveToVersionId, RemoveFromVersionId, or both.",
                ));
            }
        },
    }
    secret.last_changed = now;
    Ok(json!({"ARN": secret.arn, "Name": secret.name}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateSecretInput {
    secret_id: String,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    secret_string: Option<String>,
    secret_binary: Option<String>,
}

/// `UpdateSecret`: metadata, and a new `AWSCURRENT` version when a value is given.
pub fn update_secret(state: &mut State, now: DateTime<Utc>, body: &Value) -> Result<Value, ApiError> {
    let input: UpdateSecretInput = input(body)?;
    let (secret_string, secret_binary) = value_of(input.secret_string, input.secret_binary)?;
    let version = if secret_string.is_some() || secret_binary.is_some() {
        let put = json!({
            "SecretId": input.secret_id,
            "ClientRequestToken": input.client_request_token.unwrap_or_else(new_version_id),
            "SecretString": secret_string, "SecretBinary": secret_binary,
        });
        Some(put_secret_value(state, now, &put)?["VersionId"].clone())
    } else {
        None
    };
    let secret = find_mut(state, &input.secret_id, false)?;
    if let Some(description) = input.description {
        secret.description = Some(description);
    }
    if let Some(key) = input.kms_key_id {
        secret.kms_key_id = Some(key);
    }
    secret.last_changed = now;
    let mut out = json!({"ARN": secret.arn, "Name": secret.name});
    if let Some(version) = version {
        out["VersionId"] = version;
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Filter {
    key: String,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListSecretsInput {
    max_results: Option<usize>,
    next_token: Option<String>,
    #[serde(default)]
    filters: Vec<Filter>,
    include_planned_deletion: Option<bool>,
}

fn matches(secret: &SecretRecord, filter: &Filter) -> bool {
    filter.values.iter().any(|value| {
        let (negate, value) = match value.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, value.as_str()),
        };
        let hit = match filter.key.as_str() {
            "name" => secret.name.starts_with(value),
            "description" => secret.description.as_deref().is_some_and(|d| d.starts_with(value)),
            "tag-key" => secret.tags.iter().any(|(k, _)| k.starts_with(value)),
            "tag-value" => secret.tags.iter().any(|(_, v)| v.starts_with(value)),
            "all" => {
                secret.name.starts_with(value)
                    || secret.description.as_deref().is_some_and(|d| d.starts_with(value))
                    || secret.tags.iter().any(|(k, v)| k.starts_with(value) || v.starts_with(value))
            }
            _ => false,
        };
        hit != negate
    })
}

/// `ListSecrets`, with filters (`name`, `description`, `tag-key`, `tag-value`, `all`; prefix match, `!` negates)
/// and pagination.
pub fn list_secrets(state: &State, body: &Value) -> Result<Value, ApiError> {
    let input: ListSecretsInput = input(body)?;
    if let Some(filter) =
        input.filters.iter().find(|f| !["name", "description", "tag-key", "tag-value", "all"].contains(&f.key.as_str()))
    {
        return Err(ApiError::invalid_parameter(format!("Invalid filter key: {}", filter.key)));
    }
    let mut secrets: Vec<&SecretRecord> = state
        .secrets
        .values()
        .filter(|s| s.deleted_date.is_none() || input.include_planned_deletion == Some(true))
        .filter(|s| input.filters.iter().all(|f| matches(s, f)))
        .collect();
    secrets.sort_by(|a, b| a.created.cmp(&b.created).then(a.name.cmp(&b.name)));
    let entries = secrets
        .into_iter()
        .map(|s| {
            let mut entry = describe(s);
            if let Some(stages) = entry.as_object_mut().and_then(|o| o.remove("VersionIdsToStages")) {
                entry["SecretVersionsToStages"] = stages;
            }
            entry
        })
        .collect();
    paginate(entries, input.max_results, input.next_token.as_deref(), "SecretList")
}

fn paginate(items: Vec<Value>, max: Option<usize>, next: Option<&str>, key: &str) -> Result<Value, ApiError> {
    let max = max.unwrap_or(100);
    if !(1..=100).contains(&max) {
        return Err(ApiError::invalid_parameter("MaxResults must be from 1 to 100."));
    }
    let start = match next {
        Some(token) => token.parse::<usize>().map_err(|_| ApiError::invalid_parameter("Invalid NextToken."))?,
        None => 0,
    };
    let page: Vec<Value> = items.iter().skip(start).take(max).cloned().collect();
    let mut out = json!({ key: page });
    if start + max < items.len() {
        out["NextToken"] = json!((start + max).to_string());
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListSecretVersionIdsInput {
    secret_id: String,
    max_results: Option<usize>,
    next_token: Option<String>,
    include_deprecated: Option<bool>,
}

/// `ListSecretVersionIds`: versions with labels, and those without when `IncludeDeprecated`.
pub fn list_secret_version_ids(state: &State, body: &Value) -> Result<Value, ApiError> {
    let input: ListSecretVersionIdsInput = input(body)?;
    let secret = find(state, &input.secret_id, true)?;
    let mut versions: Vec<(&String, &VersionRecord)> = secret
        .versions
        .iter()
        .filter(|(_, v)| !v.stages.is_empty() || input.include_deprecated == Some(true))
        .collect();
    versions.sort_by(|a, b| b.1.created.cmp(&a.1.created).then(a.0.cmp(b.0)));
    let items = versions
        .into_iter()
        .map(|(id, v)| json!({"VersionId": id, "VersionStages": v.stages, "CreatedDate": epoch(v.created)}))
        .collect();
    let mut out = paginate(items, input.max_results, input.next_token.as_deref(), "Versions")?;
    out["ARN"] = json!(secret.arn);
    out["Name"] = json!(secret.name);
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteSecretInput {
    secret_id: String,
    recovery_window_in_days: Option<i64>,
    force_delete_without_recovery: Option<bool>,
}

/// `DeleteSecret`: a recovery window of 7 to 30 days (default 30), or at once with `ForceDeleteWithoutRecovery`.
pub fn delete_secret(state: &mut State, now: DateTime<Utc>, body: &Value) -> Result<Value, ApiError> {
    let input: DeleteSecretInput = input(body)?;
    let force = input.force_delete_without_recovery == Some(true);
    if force && input.recovery_window_in_days.is_some() {
        return Err(ApiError::invalid_parameter(
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        ));
    }
    let window = input.recovery_window_in_days.unwrap_or(30);
    if !(7..=30).contains(&window) {
        return Err(ApiError::invalid_parameter(
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
        ));
    }
    let secret = find_mut(state, &input.secret_id, true)?;
    if secret.deleted_date.is_some() && !force {
        return Err(ApiError::invalid_request(
            "You can't perform this operation on the secret because it was already scheduled for deletion.",
        ));
    }
    let deletion = if force { now } else { now + Duration::days(window) };
    let out = json!({"ARN": secret.arn, "Name": secret.name, "DeletionDate": epoch(deletion)});
    if force {
        let arn = secret.arn.clone();
        state.secrets.remove(&arn);
    } else {
        secret.deleted_date = Some(deletion);
    }
    Ok(out)
}

/// `RestoreSecret`: cancels a scheduled deletion.
pub fn restore_secret(state: &mut State, now: DateTime<Utc>, body: &Value) -> Result<Value, ApiError> {
    let input: SecretIdInput = input(body)?;
    let secret = find_mut(state, &input.secret_id, true)?;
    secret.deleted_date = None;
    secret.last_changed = now;
    Ok(json!({"ARN": secret.arn, "Name": secret.name}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagResourceInput {
    secret_id: String,
    tags: Vec<Tag>,
}

/// `TagResource`: adds tags, replacing the value of a key already there.
pub fn tag_resource(state: &mut State, body: &Value) -> Result<Value, ApiError> {
    let input: TagResourceInput = input(body)?;
    let secret = find_mut(state, &input.secret_id, false)?;
    for tag in input.tags {
        match secret.tags.iter_mut().find(|(k, _)| *k == tag.key) {
            Some(existing) => existing.1 = tag.value,
            None => secret.tags.push((tag.key, tag.value)),
        }
    }
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UntagResourceInput {
    secret_id: String,
    tag_keys: Vec<String>,
}

/// `UntagResource`.
pub fn untag_resource(state: &mut State, body: &Value) -> Result<Value, ApiError> {
    let input: UntagResourceInput = input(body)?;
    let secret = find_mut(state, &input.secret_id, false)?;
    secret.tags.retain(|(k, _)| !input.tag_keys.contains(k));
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetRandomPasswordInput {
    password_length: Option<usize>,
    exclude_characters: Option<String>,
    exclude_numbers: Option<bool>,
    exclude_punctuation: Option<bool>,
    exclude_uppercase: Option<bool>,
    exclude_lowercase: Option<bool>,
    include_space: Option<bool>,
    require_each_included_type: Option<bool>,
}

/// `GetRandomPassword`, with the same generator the rotation functions use locally.
pub fn get_random_password(body: &Value) -> Result<Value, ApiError> {
    let input: GetRandomPasswordInput = input(body)?;
    let length = input.password_length.unwrap_or(32);
    if !(1..=4096).contains(&length) {
        return Err(ApiError::invalid_parameter("PasswordLength must be from 1 to 4096."));
    }
    let policy = rotation_core::PasswordPolicy {
        length,
        exclude_characters: input.exclude_characters.unwrap_or_default(),
        exclude_numbers: input.exclude_numbers.unwrap_or(false),
        exclude_punctuation: input.exclude_punctuation.unwrap_or(false),
        exclude_uppercase: input.exclude_uppercase.unwrap_or(false),
        exclude_lowercase: input.exclude_lowercase.unwrap_or(false),
        include_space: input.include_space.unwrap_or(false),
        require_each_included_type: input.require_each_included_type.unwrap_or(true),
        source: rotation_core::PasswordSource::Local,
    };
    let password = policy.generate().map_err(|e| ApiError::invalid_parameter(e.to_string()))?;
    Ok(json!({"RandomPassword": password.expose()}))
}
