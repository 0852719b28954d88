//! The function's configuration, read from the environment once at cold start.

use std::collections::HashMap;
use std::ops::RangeInclusive;

use crate::error::RotationError;

/// A snapshot of environment variables with typed, validated readers whose errors name the variable.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// The process environment.
    pub fn from_process() -> Self {
        Self::from_pairs(std::env::vars())
    }

    /// An environment from pairs (tests).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self { vars: pairs.into_iter().collect() }
    }

    /// The same environment with `name` set to `value` where it is unset (a binary's own default).
    pub fn with_default(mut self, name: &str, value: &str) -> Self {
        if self.get(name).is_none() {
            self.vars.insert(name.to_owned(), value.to_owned());
        }
        self
    }

    /// The names of the variables present, empty ones included (which some readers, as the AWS SDK's endpoint
    /// settings, count as set).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }

    /// A variable's value; unset and empty are the same.
    pub fn get(&self, name: &str) -> Option<String> {
        self.vars.get(name).filter(|v| !v.is_empty()).cloned()
    }

    /// A boolean: `true`/`false` in any case (AWS's functions compare `.lower() == 'true'`), or the default.
    pub fn flag(&self, name: &'static str, default: bool) -> Result<bool, RotationError> {
        match self.get(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => Ok(default),
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(_) => Err(RotationError::Config { variable: name, reason: "must be true or false".into() }),
        }
    }

    /// A whole number within `range`, or the default.
    pub fn number(
        &self,
        name: &'static str,
        default: usize,
        range: RangeInclusive<usize>,
    ) -> Result<usize, RotationError> {
        let Some(raw) = self.get(name) else { return Ok(default) };
        raw.trim().parse::<usize>().ok().filter(|n| range.contains(n)).ok_or_else(|| RotationError::Config {
            variable: name,
            reason: format!("must be a whole number from {} to {}", range.start(), range.end()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_validate_and_name_the_variable() {
        let env = Env::from_pairs([
            ("A".to_string(), "True".to_string()),
            ("N".to_string(), "9".to_string()),
            ("E".to_string(), String::new()),
        ]);
        assert!(env.flag("A", false).unwrap());
        assert!(!env.flag("E", false).unwrap());
        assert_eq!(env.number("N", 1, 1..=10).unwrap(), 9);
        assert!(env.number("N", 1, 1..=5).unwrap_err().to_string().contains("environment variable N must be"));
    }
}
