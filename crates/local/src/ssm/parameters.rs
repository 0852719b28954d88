//! Parameter Store's operations a parameter rotation (and its operator) uses, in the SSM JSON protocol with AWS's
//! semantics: `PutParameter`, `GetParameter`, `GetParameters`, `GetParameterHistory`, `LabelParameterVersion`,
//! `UnlabelParameterVersion`, `DescribeParameters`, `DeleteParameter`, and a parameter's tags (`Tags` on creation,
//! `AddTagsToResource`, `RemoveTagsFromResource`, `ListTagsForResource`).
//!
//! What AWS does and emulators get wrong is kept: `Overwrite=false` refuses an existing name
//! (`ParameterAlreadyExists`), a label names one version and moves, labels beginning with `aws` or `ssm` in any
//! case (or a digit) are refused as `InvalidLabels`, a version holds at most 10 labels, the history keeps 100
//! versions (the oldest dropped unless it carries a label), a standard parameter holds 4 KB and an advanced one 8
//! KB, a SecureString is returned decrypted only when asked, and tags are taken only when a parameter is created
//! (`Tags` with `Overwrite` is refused).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::Error;
use crate::identity::Identity;
use crate::json::{epoch, input};
use crate::state::{ParameterRecord, ParameterVersion, State};

fn not_found(name: &str) -> Error {
    Error::parameter("ParameterNotFound", format!("Parameter {name} not found."))
}

/// A name, or `name:selector`, split.
fn selector(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once(':') {
        Some((base, selector)) if !base.is_empty() => (base, Some(selector)),
        _ => (name, None),
    }
}

fn valid_name(name: &str) -> Result<(), Error> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "/_.-".contains(c);
    let lower = name.trim_start_matches('/').to_ascii_lowercase();
    if name.is_empty()
        || name.len() > 1011
        || !name.chars().all(allowed)
        || lower.starts_with("aws")
        || lower.starts_with("ssm")
    {
        return Err(Error::parameter(
            "ValidationException",
            format!(
                "Parameter name {name:?} is invalid: use letters, numbers and / _ . - (not beginning with aws or ssm), at most 1011 characters."
            ),
        ));
    }
    if name.contains('/') && !name.starts_with('/') {
        return Err(Error::parameter(
            "ValidationException",
            "Parameter name: a fully qualified name must begin with a forward slash (/).",
        ));
    }
    Ok(())
}

fn version_of<'a>(record: &'a ParameterRecord, selector: Option<&str>) -> Result<&'a ParameterVersion, Error> {
    let missing = || {
        Error::parameter(
            "ParameterVersionNotFound",
            format!(
                "Systems Manager could not find version {} of {}. Verify the version and try again.",
                selector.unwrap_or(""),
                record.name
            ),
        )
    };
    match selector {
        None => record.versions.last().ok_or_else(|| not_found(&record.name)),
        Some(s) => match s.parse::<i64>() {
            Ok(version) => record.versions.iter().find(|v| v.version == version).ok_or_else(missing),
            // A missing label is a missing parameter (a missing version number is a missing version), as in AWS.
            Err(_) => {
                record.versions.iter().find(|v| v.labels.iter().any(|l| l == s)).ok_or_else(|| not_found(&record.name))
            }
        },
    }
}

/// A parameter as `GetParameter` answers it; a SecureString's value stays encrypted unless `decrypt`.
fn shown(
    identity: &Identity,
    record: &ParameterRecord,
    version: &ParameterVersion,
    selector: Option<&str>,
    decrypt: bool,
) -> Value {
    let value = value_of(record, version, decrypt);
    let mut out = json!({
        "Name": record.name, "Type": record.kind, "Value": value, "Version": version.version,
        "LastModifiedDate": epoch(version.modified), "ARN": arn(identity, &record.name), "DataType": "text",
    });
    if let Some(selector) = selector {
        out["Selector"] = json!(format!(":{selector}"));
    }
    out
}

/// A version's value as an answer shows it: a SecureString's only when decryption was asked, else an opaque
/// stand-in for the ciphertext AWS returns.
fn value_of(record: &ParameterRecord, version: &ParameterVersion, decrypt: bool) -> String {
    if record.kind == "SecureString" && !decrypt {
        format!("AQICAHrotorlocal{}", version.version)
    } else {
        version.value.clone()
    }
}

fn arn(identity: &Identity, name: &str) -> String {
    format!("arn:aws:ssm:{}:{}:parameter/{}", identity.region, identity.account, name.trim_start_matches('/'))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutInput {
    name: String,
    value: String,
    #[serde(rename = "Type")]
    kind: Option<String>,
    key_id: Option<String>,
    overwrite: Option<bool>,
    tier: Option<String>,
    description: Option<String>,
    #[serde(default)]
    tags: Vec<TagInput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagInput {
    key: String,
    value: String,
}

/// Tags as AWS checks them: keys of 1 to 128 characters not beginning with `aws:`, values of at most 256, at most
/// 50 on a parameter.
fn add_tags(record: &mut ParameterRecord, tags: Vec<TagInput>) -> Result<(), Error> {
    for tag in &tags {
        if tag.key.is_empty() || tag.key.len() > 128 || tag.value.len() > 256 || tag.key.starts_with("aws:") {
            return Err(Error::parameter(
                "ValidationException",
                format!(
                    "Tag {:?}: a key has 1 to 128 characters and does not begin with aws:, a value at most 256.",
                    tag.key
                ),
            ));
        }
    }
    let mut tagged = record.tags.clone();
    tagged.extend(tags.into_iter().map(|t| (t.key, t.value)));
    if tagged.len() > 50 {
        return Err(Error::parameter("TooManyTagsError", "A parameter holds at most 50 tags."));
    }
    record.tags = tagged;
    Ok(())
}

/// `PutParameter`.
pub fn put_parameter(state: &mut State, now: DateTime<Utc>, body: &Value) -> Result<Value, Error> {
    let mut request: PutInput = input(body)?;
    valid_name(&request.name)?;
    let tier = request.tier.clone().unwrap_or_else(|| "Standard".into());
    let limit = match tier.as_str() {
        "Standard" => 4096,
        "Advanced" | "Intelligent-Tiering" => 8192,
        other => {
            return Err(Error::parameter(
                "ValidationException",
                format!("Tier {other:?} is not Standard, Advanced or Intelligent-Tiering."),
            ));
        }
    };
    if request.value.is_empty() || request.value.len() > limit {
        return Err(Error::parameter(
            "ValidationException",
            format!("The value must be 1 to {limit} characters for the {tier} tier; it has {}.", request.value.len()),
        ));
    }
    if !request.tags.is_empty() && request.overwrite.unwrap_or(false) {
        return Err(Error::parameter(
            "ValidationException",
            "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags on an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
        ));
    }
    let existing = state.parameters.get(&request.name);
    if existing.is_some() && !request.overwrite.unwrap_or(false) {
        return Err(Error::parameter(
            "ParameterAlreadyExists",
            "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
        ));
    }
    let kind = match (&request.kind, existing) {
        (Some(kind), _) if ["String", "StringList", "SecureString"].contains(&kind.as_str()) => kind.clone(),
        (Some(kind), _) => {
            return Err(Error::parameter(
                "ValidationException",
                format!("Type {kind:?} is not String, StringList or SecureString."),
            ));
        }
        (None, Some(record)) => record.kind.clone(),
        (None, None) => return Err(Error::parameter("ValidationException", "A new parameter needs a Type.")),
    };
    if request.key_id.is_some() && kind != "SecureString" {
        return Err(Error::parameter("ValidationException", "KeyId is required only for SecureString parameters."));
    }
    let record = state.parameters.entry(request.name.clone()).or_insert_with(|| ParameterRecord {
        name: request.name.clone(),
        kind: kind.clone(),
        key_id: None,
        tier: tier.clone(),
        description: None,
        versions: Vec::new(),
        tags: BTreeMap::new(),
    });
    if record.versions.is_empty() {
        add_tags(record, std::mem::take(&mut request.tags))?;
    }
    if record.versions.len() >= 100 {
        if !record.versions[0].labels.is_empty() {
            return Err(Error::parameter(
                "ParameterMaxVersionLimitExceeded",
                format!(
                    "You attempted to create a new version of {} by calling the PutParameter API with the overwrite flag. Version {}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.",
                    record.name, record.versions[0].version
                ),
            ));
        }
        record.versions.remove(0);
    }
    let version = record.versions.last().map_or(1, |v| v.version + 1);
    record.kind = kind.clone();
    // A SecureString written without a key uses the account's default key, whatever it had before, as in AWS.
    record.key_id = (kind == "SecureString").then(|| request.key_id.clone().unwrap_or_else(|| "alias/aws/ssm".into()));
    record.tier = tier.clone();
    if request.description.is_some() {
        record.description = request.description.clone();
    }
    record.versions.push(ParameterVersion { version, value: request.value, labels: Vec::new(), modified: now });
    Ok(json!({"Version": version, "Tier": tier}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetInput {
    name: String,
    with_decryption: Option<bool>,
}

/// `GetParameter` (a name, `name:version` or `name:label`).
pub fn get_parameter(state: &State, identity: &Identity, body: &Value) -> Result<Value, Error> {
    let request: GetInput = input(body)?;
    let (name, selected) = selector(&request.name);
    let record = state.parameters.get(name).ok_or_else(|| not_found(&request.name))?;
    let version = version_of(record, selected)?;
    Ok(json!({"Parameter": shown(identity, record, version, selected, request.with_decryption.unwrap_or(false))}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetManyInput {
    names: Vec<String>,
    with_decryption: Option<bool>,
}

/// `GetParameters`: up to 10 names or selectors; what is missing is listed in `InvalidParameters`.
pub fn get_parameters(state: &State, identity: &Identity, body: &Value) -> Result<Value, Error> {
    let request: GetManyInput = input(body)?;
    if request.names.is_empty() || request.names.len() > 10 {
        return Err(Error::parameter("ValidationException", "Names must hold 1 to 10 names."));
    }
    let (mut found, mut invalid) = (Vec::new(), Vec::new());
    for wanted in &request.names {
        let (name, selected) = selector(wanted);
        match state.parameters.get(name).map(|r| (r, version_of(r, selected))) {
            Some((record, Ok(version))) => {
                found.push(shown(identity, record, version, selected, request.with_decryption.unwrap_or(false)))
            }
            _ => invalid.push(json!(wanted)),
        }
    }
    Ok(json!({"Parameters": found, "InvalidParameters": invalid}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HistoryInput {
    name: String,
    with_decryption: Option<bool>,
    max_results: Option<usize>,
    next_token: Option<String>,
}

/// `GetParameterHistory`, oldest first, 50 a page at most.
pub fn get_parameter_history(state: &State, body: &Value) -> Result<Value, Error> {
    let request: HistoryInput = input(body)?;
    let record = state.parameters.get(&request.name).ok_or_else(|| not_found(&request.name))?;
    let decrypt = request.with_decryption.unwrap_or(false);
    let max = request.max_results.unwrap_or(50);
    if !(1..=50).contains(&max) {
        return Err(Error::parameter("ValidationException", "MaxResults must be from 1 to 50."));
    }
    let start = match &request.next_token {
        Some(token) => {
            token.parse::<usize>().map_err(|_| Error::parameter("InvalidNextToken", "The NextToken is not valid."))?
        }
        None => 0,
    };
    let page: Vec<Value> = record
        .versions
        .iter()
        .skip(start)
        .take(max)
        .map(|v| {
            let value = value_of(record, v, decrypt);
            json!({
                "Name": record.name, "Type": record.kind, "KeyId": record.key_id, "Value": value, "Version": v.version,
                "Labels": v.labels, "Tier": record.tier, "LastModifiedDate": epoch(v.modified), "DataType": "text",
            })
        })
        .collect();
    let mut out = json!({"Parameters": page});
    if start + max < record.versions.len() {
        out["NextToken"] = json!((start + max).to_string());
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LabelInput {
    name: String,
    parameter_version: Option<i64>,
    labels: Vec<String>,
}

/// Whether Parameter Store takes a label: 1 to 100 letters, digits, `.`, `-`, `_`, not beginning with a digit,
/// `aws` or `ssm` (in any case).
fn valid_label(label: &str) -> bool {
    let lower = label.to_ascii_lowercase();
    !label.is_empty()
        && label.len() <= 100
        && label.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && !label.starts_with(|c: char| c.is_ascii_digit())
        && !lower.starts_with("aws")
        && !lower.starts_with("ssm")
}

/// `LabelParameterVersion`: each valid label moves to the version (the newest when none is named).
pub fn label_parameter_version(state: &mut State, body: &Value) -> Result<Value, Error> {
    let request: LabelInput = input(body)?;
    if request.labels.is_empty() || request.labels.len() > 10 {
        return Err(Error::parameter("ValidationException", "Labels must hold 1 to 10 labels."));
    }
    let record = state.parameters.get_mut(&request.name).ok_or_else(|| not_found(&request.name))?;
    let version = request.parameter_version.unwrap_or_else(|| record.versions.last().map_or(0, |v| v.version));
    let index = record.versions.iter().position(|v| v.version == version).ok_or_else(|| {
        Error::parameter(
            "ParameterVersionNotFound",
            format!(
                "Systems Manager could not find version {version} of {}. Verify the version and try again.",
                request.name
            ),
        )
    })?;
    let (valid, invalid): (Vec<&String>, Vec<&String>) = request.labels.iter().partition(|l| valid_label(l));
    let adding = valid.iter().filter(|l| !record.versions[index].labels.contains(l)).count();
    if record.versions[index].labels.len() + adding > 10 {
        return Err(Error::parameter(
            "ParameterVersionLabelLimitExceeded",
            "A parameter version can have maximum 10 labels. Move one or more labels to another version and try again.",
        ));
    }
    for label in &valid {
        for other in record.versions.iter_mut() {
            other.labels.retain(|l| l != *label);
        }
        record.versions[index].labels.push((*label).clone());
    }
    Ok(json!({"InvalidLabels": invalid, "ParameterVersion": version}))
}

/// `UnlabelParameterVersion`.
pub fn unlabel_parameter_version(state: &mut State, body: &Value) -> Result<Value, Error> {
    let request: LabelInput = input(body)?;
    let record = state.parameters.get_mut(&request.name).ok_or_else(|| not_found(&request.name))?;
    let version = request
        .parameter_version
        .ok_or_else(|| Error::parameter("ValidationException", "ParameterVersion is required."))?;
    let held = record.versions.iter_mut().find(|v| v.version == version).ok_or_else(|| {
        Error::parameter(
            "ParameterVersionNotFound",
            format!("Systems Manager could not find version {version} of {}.", request.name),
        )
    })?;
    let (removed, invalid): (Vec<&String>, Vec<&String>) = request.labels.iter().partition(|l| held.labels.contains(l));
    held.labels.retain(|l| !removed.contains(&l));
    Ok(json!({"RemovedLabels": removed, "InvalidLabels": invalid}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Filter {
    key: String,
    option: Option<String>,
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeInput {
    parameter_filters: Option<Vec<Filter>>,
}

/// `DescribeParameters`, filtered by `Name` (`Equals`, `BeginsWith`) or `Type`; never a value.
pub fn describe_parameters(state: &State, body: &Value) -> Result<Value, Error> {
    let request: DescribeInput = input(body)?;
    let filters = request.parameter_filters.unwrap_or_default();
    let matches = |record: &ParameterRecord| {
        filters.iter().all(|f| {
            let field = match f.key.as_str() {
                "Name" => &record.name,
                "Type" => &record.kind,
                _ => return false,
            };
            match f.option.as_deref().unwrap_or("Equals") {
                "BeginsWith" => f.values.iter().any(|v| field.starts_with(v.as_str())),
                _ => f.values.iter().any(|v| v == field),
            }
        })
    };
    if let Some(bad) = filters.iter().find(|f| f.key != "Name" && f.key != "Type") {
        return Err(Error::parameter(
            "InvalidFilterKey",
            format!("The filter key {:?} is not supported here.", bad.key),
        ));
    }
    let found: Vec<Value> = state
        .parameters
        .values()
        .filter(|r| matches(r))
        .map(|r| {
            let newest = r.versions.last();
            json!({
                "Name": r.name, "Type": r.kind, "KeyId": r.key_id, "Tier": r.tier, "Description": r.description,
                "Version": newest.map(|v| v.version), "LastModifiedDate": newest.map(|v| epoch(v.modified)), "DataType": "text",
            })
        })
        .collect();
    Ok(json!({"Parameters": found}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NameInput {
    name: String,
}

/// `DeleteParameter`: the parameter and every version.
pub fn delete_parameter(state: &mut State, body: &Value) -> Result<Value, Error> {
    let request: NameInput = input(body)?;
    state.parameters.remove(&request.name).ok_or_else(|| not_found(&request.name))?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagsInput {
    resource_type: String,
    resource_id: String,
    #[serde(default)]
    tags: Vec<TagInput>,
    #[serde(default)]
    tag_keys: Vec<String>,
}

/// The name of the parameter a tagging request names (only `ResourceType=Parameter` is served here), checked
/// against `state`.
fn tagged<'a>(state: &State, request: &'a TagsInput) -> Result<&'a str, Error> {
    if request.resource_type != "Parameter" {
        return Err(Error::parameter(
            "InvalidResourceType",
            format!("The local endpoint tags parameters only, not {:?}.", request.resource_type),
        ));
    }
    if !state.parameters.contains_key(&request.resource_id) {
        return Err(Error::parameter(
            "InvalidResourceId",
            format!("The resource ID {} is not valid.", request.resource_id),
        ));
    }
    Ok(&request.resource_id)
}

/// `AddTagsToResource` of a parameter: a key already there takes the new value.
pub fn add_tags_to_resource(state: &mut State, body: &Value) -> Result<Value, Error> {
    let mut request: TagsInput = input(body)?;
    let tags = std::mem::take(&mut request.tags);
    if tags.is_empty() {
        return Err(Error::parameter("ValidationException", "Tags must hold at least one tag."));
    }
    let name = tagged(state, &request)?;
    add_tags(state.parameters.get_mut(name).ok_or_else(|| not_found(name))?, tags)?;
    Ok(json!({}))
}

/// `RemoveTagsFromResource` of a parameter: a key it does not carry is fine.
pub fn remove_tags_from_resource(state: &mut State, body: &Value) -> Result<Value, Error> {
    let request: TagsInput = input(body)?;
    let name = tagged(state, &request)?;
    let record = state.parameters.get_mut(name).ok_or_else(|| not_found(name))?;
    for key in &request.tag_keys {
        record.tags.remove(key);
    }
    Ok(json!({}))
}

/// `ListTagsForResource` of a parameter.
pub fn list_tags_for_resource(state: &State, body: &Value) -> Result<Value, Error> {
    let request: TagsInput = input(body)?;
    let name = tagged(state, &request)?;
    let record = state.parameters.get(name).ok_or_else(|| not_found(name))?;
    let list: Vec<Value> = record.tags.iter().map(|(key, value)| json!({"Key": key, "Value": value})).collect();
    Ok(json!({"TagList": list}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity { region: "us-east-1".into(), account: "123456789012".into() }
    }

    #[test]
    fn labels_move_and_aws_refuses_what_moto_accepts() {
        let mut state = State::default();
        let now = Utc::now();
        for value in ["one", "two"] {
            put_parameter(
                &mut state,
                now,
                &json!({"Name": "/p", "Value": value, "Type": "SecureString", "Overwrite": true}),
            )
            .unwrap();
        }
        let out = label_parameter_version(
            &mut state,
            &json!({"Name": "/p", "ParameterVersion": 1, "Labels": ["current", "AWSCURRENT", "Ssm-x", "9lives"]}),
        )
        .unwrap();
        assert_eq!(out["InvalidLabels"], json!(["AWSCURRENT", "Ssm-x", "9lives"]));
        label_parameter_version(&mut state, &json!({"Name": "/p", "ParameterVersion": 2, "Labels": ["current"]}))
            .unwrap();
        let current =
            get_parameter(&state, &identity(), &json!({"Name": "/p:current", "WithDecryption": true})).unwrap();
        assert_eq!(
            (&current["Parameter"]["Value"], &current["Parameter"]["Selector"]),
            (&json!("two"), &json!(":current"))
        );
        assert_eq!(state.parameters["/p"].versions[0].labels, Vec::<String>::new(), "a label names one version");
        let hidden = get_parameter(&state, &identity(), &json!({"Name": "/p"})).unwrap();
        assert_ne!(hidden["Parameter"]["Value"], "two", "a SecureString is decrypted only when asked");

        let exists =
            put_parameter(&mut state, now, &json!({"Name": "/p", "Value": "x", "Type": "SecureString"})).unwrap_err();
        assert_eq!(exists.code(), "ParameterAlreadyExists");
        let big =
            put_parameter(&mut state, now, &json!({"Name": "/big", "Value": "x".repeat(4097), "Type": "SecureString"}));
        assert_eq!(big.unwrap_err().code(), "ValidationException");
        let many = get_parameters(
            &state,
            &identity(),
            &json!({"Names": ["/p", "/none", "/p:current"], "WithDecryption": true}),
        )
        .unwrap();
        assert_eq!(many["InvalidParameters"], json!(["/none"]));
        assert_eq!(many["Parameters"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn the_history_keeps_a_hundred_versions_unless_the_oldest_is_labelled() {
        let mut state = State::default();
        let now = Utc::now();
        for n in 0..100 {
            put_parameter(
                &mut state,
                now,
                &json!({"Name": "/h", "Value": format!("v{n}"), "Type": "String", "Overwrite": true}),
            )
            .unwrap();
        }
        put_parameter(&mut state, now, &json!({"Name": "/h", "Value": "v100", "Overwrite": true})).unwrap();
        assert_eq!(state.parameters["/h"].versions.first().unwrap().version, 2, "the oldest was dropped");
        label_parameter_version(&mut state, &json!({"Name": "/h", "ParameterVersion": 2, "Labels": ["keep"]})).unwrap();
        let refused =
            put_parameter(&mut state, now, &json!({"Name": "/h", "Value": "v101", "Overwrite": true})).unwrap_err();
        assert_eq!(refused.code(), "ParameterMaxVersionLimitExceeded");
    }

    #[test]
    fn tags_are_taken_on_creation_and_changed_only_by_the_tagging_calls() {
        let mut state = State::default();
        let now = Utc::now();
        let tags = json!([{"Key": "rotor:function", "Value": "postgres"}]);
        let put = json!({"Name": "/t", "Value": "v", "Type": "SecureString", "Tags": tags, "Overwrite": true});
        assert_eq!(put_parameter(&mut state, now, &put).unwrap_err().code(), "ValidationException", "as AWS");
        put_parameter(&mut state, now, &json!({"Name": "/t", "Value": "v", "Type": "SecureString", "Tags": tags}))
            .unwrap();
        put_parameter(&mut state, now, &json!({"Name": "/t", "Value": "w", "Overwrite": true})).unwrap();
        let list = |state: &State| {
            list_tags_for_resource(state, &json!({"ResourceType": "Parameter", "ResourceId": "/t"})).unwrap()["TagList"]
                .clone()
        };
        assert_eq!(list(&state), tags, "a new version keeps the parameter's tags");
        let add = json!({"ResourceType": "Parameter", "ResourceId": "/t", "Tags": [{"Key": "rotor:function", "Value": "custom"}]});
        add_tags_to_resource(&mut state, &add).unwrap();
        assert_eq!(list(&state)[0]["Value"], "custom", "a key takes its new value");
        let remove = json!({"ResourceType": "Parameter", "ResourceId": "/t", "TagKeys": ["rotor:function"]});
        remove_tags_from_resource(&mut state, &remove).unwrap();
        assert_eq!(list(&state), json!([]));
        let missing = json!({"ResourceType": "Parameter", "ResourceId": "/none"});
        assert_eq!(list_tags_for_resource(&state, &missing).unwrap_err().code(), "InvalidResourceId");
    }
}
