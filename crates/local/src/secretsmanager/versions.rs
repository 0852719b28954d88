//! Versions and their labels: `GetSecretValue`, `PutSecretValue`, `UpdateSecretVersionStage`,
//! `ListSecretVersionIds`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::request::{check_token, find, find_mut, new_version_id, paginate, value_of};
use crate::error::Error;
use crate::json::{epoch, input};
use crate::state::{RotationState, SecretRecord, State, VersionRecord};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetSecretValueInput {
    secret_id: String,
    version_id: Option<String>,
    version_stage: Option<String>,
}

/// `GetSecretValue`: by stage (default `AWSCURRENT`), by version, or both. A version that does not carry the stage
/// answers `InvalidRequestException`, as AWS does (LocalStack recorded the answer against AWS; moto gives it too),
/// never `ResourceNotFoundException`, which is for a version that does not exist and for the value-less rotation
/// placeholder.
pub fn get_secret_value(state: &State, body: &Value) -> Result<Value, Error> {
    let input: GetSecretValueInput = input(body)?;
    let secret = find(state, &input.secret_id, false)?;
    let (id, version) = match (&input.version_id, &input.version_stage) {
        (Some(id), stage) => {
            let version = secret.versions.get(id).ok_or_else(|| {
                Error::not_found(format!("Secrets Manager can't find the specified secret value for VersionId: {id}"))
            })?;
            if stage.as_deref().is_some_and(|s| !version.has_stage(s)) {
                return Err(Error::invalid_request(
                    "You provided a VersionStage that is not associated to the provided VersionId.",
                ));
            }
            (id.as_str(), version)
        }
        (None, stage) => {
            let stage = stage.as_deref().unwrap_or("AWSCURRENT");
            let id = secret.holding(stage).ok_or_else(|| {
                Error::not_found(format!(
                    "Secrets Manager can't find the specified secret value for staging label: {stage}"
                ))
            })?;
            (id, &secret.versions[id])
        }
    };
    if !version.has_value() {
        return Err(Error::not_found(format!(
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
pub fn put_secret_value(state: &mut State, now: DateTime<Utc>, body: &Value) -> Result<Value, Error> {
    let input: PutSecretValueInput = input(body)?;
    let (secret_string, secret_binary) = value_of(input.secret_string, input.secret_binary)?;
    if secret_string.is_none() && secret_binary.is_none() {
        return Err(Error::invalid_parameter("You must provide either SecretString or SecretBinary."));
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
            return Err(Error::exists(format!(
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
pub fn update_secret_version_stage(state: &mut State, now: DateTime<Utc>, body: &Value) -> Result<Value, Error> {
    let input: UpdateSecretVersionStageInput = input(body)?;
    let secret = find_mut(state, &input.secret_id, false)?;
    let stage = input.version_stage.as_str();
    let holder = secret.holding(stage).map(str::to_owned);
    if let Some(remove_from) = &input.remove_from_version_id {
        if !secret.versions.contains_key(remove_from) {
            return Err(Error::not_found(format!(
                "Secrets Manager can't find the specified secret version: {remove_from}"
            )));
        }
        if holder.as_deref() != Some(remove_from) {
            return Err(Error::invalid_parameter(format!(
                "The staging label {stage} is not attached to the version {remove_from}, so it can't be removed from it."
            )));
        }
    }
    match &input.move_to_version_id {
        Some(move_to) => {
            if !secret.versions.contains_key(move_to) {
                return Err(Error::not_found(format!(
                    "Secrets Manager can't find the specified secret version: {move_to}"
                )));
            }
            if let Some(holder) = holder.as_deref().filter(|h| h != move_to)
                && input.remove_from_version_id.as_deref() != Some(holder)
            {
                return Err(Error::invalid_parameter(format!(
                    "The parameter RemoveFromVersionId can't be empty. Staging label {stage} is currently attached to version {holder}, so you must explicitly reference that version in RemoveFromVersionId."
                )));
            }
            secret.attach(stage, move_to);
        }
        None => match &input.remove_from_version_id {
            Some(remove_from) => secret.detach(stage, remove_from),
            None => {
                return Err(Error::invalid_parameter(
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
struct ListSecretVersionIdsInput {
    secret_id: String,
    max_results: Option<usize>,
    next_token: Option<String>,
    include_deprecated: Option<bool>,
}

/// `ListSecretVersionIds`: versions with labels, and those without when `IncludeDeprecated`.
pub fn list_secret_version_ids(state: &State, body: &Value) -> Result<Value, Error> {
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
