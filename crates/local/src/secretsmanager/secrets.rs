//! Secrets: `CreateSecret`, `DescribeSecret`, `UpdateSecret`, `ListSecrets`, `DeleteSecret`, `RestoreSecret`.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::request::{SecretIdInput, Tag, check_token, find, find_mut, new_version_id, paginate, value_of};
use super::versions::put_secret_value;
use crate::error::Error;
use crate::identity::Identity;
use crate::json::{epoch, input};
use crate::state::{SecretRecord, State, VersionRecord};

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

/// `CreateSecret`.
pub fn create_secret(state: &mut State, identity: &Identity, now: DateTime<Utc>, body: &Value) -> Result<Value, Error> {
    let input: CreateSecretInput = input(body)?;
    if input.name.is_empty() || input.name.len() > 512 {
        return Err(Error::invalid_parameter("Name must be 1 to 512 characters."));
    }
    if let Some(existing) = state.secrets.values().find(|s| s.name == input.name) {
        return Err(if existing.deleted_date.is_some() {
            Error::invalid_request(
                "You can't create this secret because a secret with this name is already scheduled for deletion.",
            )
        } else {
            Error::exists(format!("The operation failed because the secret {} already exists.", input.name))
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
    state.secrets.insert(arn, secret.into());
    Ok(response)
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
            "PrimaryRegion",
            (!secret.replicas.is_empty()).then(|| json!(secret.arn.split(':').nth(3).unwrap_or_default())),
        ),
        (
            "ReplicationStatus",
            (!secret.replicas.is_empty()).then(|| {
                json!(secret.replicas.iter().map(|region| json!({"Region": region, "Status": "InSync", "StatusMessage": "Replication succeeded"})).collect::<Vec<_>>())
            }),
        ),
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
pub fn describe_secret(state: &State, body: &Value) -> Result<Value, Error> {
    let input: SecretIdInput = input(body)?;
    Ok(describe(find(state, &input.secret_id, true)?))
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
pub fn update_secret(state: &mut State, now: DateTime<Utc>, body: &Value) -> Result<Value, Error> {
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
pub fn list_secrets(state: &State, body: &Value) -> Result<Value, Error> {
    let input: ListSecretsInput = input(body)?;
    if let Some(filter) =
        input.filters.iter().find(|f| !["name", "description", "tag-key", "tag-value", "all"].contains(&f.key.as_str()))
    {
        return Err(Error::invalid_parameter(format!("Invalid filter key: {}", filter.key)));
    }
    let mut secrets: Vec<&SecretRecord> = state
        .secrets
        .values()
        .map(|s| &**s)
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

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteSecretInput {
    secret_id: String,
    recovery_window_in_days: Option<i64>,
    force_delete_without_recovery: Option<bool>,
}

/// `DeleteSecret`: a recovery window of 7 to 30 days (default 30), or at once with `ForceDeleteWithoutRecovery`.
pub fn delete_secret(state: &mut State, now: DateTime<Utc>, body: &Value) -> Result<Value, Error> {
    let input: DeleteSecretInput = input(body)?;
    let force = input.force_delete_without_recovery == Some(true);
    if force && input.recovery_window_in_days.is_some() {
        return Err(Error::invalid_parameter(
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        ));
    }
    let window = input.recovery_window_in_days.unwrap_or(30);
    if !(7..=30).contains(&window) {
        return Err(Error::invalid_parameter(
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
        ));
    }
    let secret = find_mut(state, &input.secret_id, true)?;
    if secret.deleted_date.is_some() && !force {
        return Err(Error::invalid_request(
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
pub fn restore_secret(state: &mut State, now: DateTime<Utc>, body: &Value) -> Result<Value, Error> {
    let input: SecretIdInput = input(body)?;
    let secret = find_mut(state, &input.secret_id, true)?;
    secret.deleted_date = None;
    secret.last_changed = now;
    Ok(json!({"ARN": secret.arn, "Name": secret.name}))
}
