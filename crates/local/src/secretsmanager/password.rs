//! `GetRandomPassword`.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::Error;
use crate::json::input;

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
pub fn get_random_password(body: &Value) -> Result<Value, Error> {
    let input: GetRandomPasswordInput = input(body)?;
    let length = input.password_length.unwrap_or(32);
    if !(1..=4096).contains(&length) {
        return Err(Error::invalid_parameter("PasswordLength must be from 1 to 4096."));
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
        allow_weak: true,
    };
    let password = policy.generate().map_err(|e| Error::invalid_parameter(e.to_string()))?;
    Ok(json!({"RandomPassword": password.expose()}))
}
