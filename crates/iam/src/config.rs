//! The function's one configuration: which users it may manage, which keys it may delete, the previous key's
//! grace, the test's retries.

use std::time::Duration;

use rotation_core::{Backoff, Env, RotationError};

/// Which IAM users the function may manage. A secret names its user; the user must pass this filter, so a secret
/// never widens what the function's configuration (and its role) allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFilter {
    /// `IAM_USER_PATH` (required): the users' path prefix, as in the role's resource ARN (`/rotor/`).
    pub path: String,
    /// `IAM_USER_TAG` (optional, `key=value`): a tag the user must also carry.
    pub tag: Option<(String, String)>,
}

impl UserFilter {
    /// Why the user with `path` and `tags` is not one to manage; `None` when it is.
    pub fn refuse(&self, path: &str, tags: &[(String, String)]) -> Option<String> {
        if !path.starts_with(&self.path) {
            return Some(format!(
                "its path {path} is not under IAM_USER_PATH {}: the function manages the keys of those users only",
                self.path
            ));
        }
        match &self.tag {
            Some((key, value)) if !tags.iter().any(|(k, v)| k == key && v == value) => {
                Some(format!("it does not carry the tag {key}={value} that IAM_USER_TAG requires"))
            }
            _ => None,
        }
    }
}

/// `rotate-iam-access-key`'s settings, read and checked at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamConfig {
    /// The users it may manage.
    pub users: UserFilter,
    /// `DELETE_UNKNOWN_KEYS` (default false): whether a rotation may delete a key of the user that the secret cannot
    /// prove is its own (a break-glass key, a second consumer's) to make room. Never a key another secret's record
    /// on the user names or another secret's rotation may have minted, nor `AWSCURRENT`'s.
    pub delete_unknown_keys: bool,
    /// `PREVIOUS_KEY_GRACE_HOURS` (default 0): how long a key must have been `AWSPREVIOUS` before a rotation may
    /// deactivate and delete it. 0: until the next rotation.
    pub grace: Duration,
    /// `TEST_ATTEMPTS` (default 8) over backoff from 1 s to 4 s: testSecret's retries while IAM propagates a
    /// new key (`InvalidClientTokenId` for a few seconds after `CreateAccessKey`).
    pub test: Backoff,
}

impl IamConfig {
    /// Reads the environment; errors name the variable.
    pub fn from_env(env: &Env) -> Result<Self, RotationError> {
        let path = env.get("IAM_USER_PATH").ok_or(RotationError::Config {
            variable: "IAM_USER_PATH",
            reason: "is required: the path of the users whose keys this function may rotate (/rotor/), the same the role's policy names".into(),
        })?;
        if !path.starts_with('/') || !path.ends_with('/') || path.len() > 512 {
            return Err(RotationError::Config {
                variable: "IAM_USER_PATH",
                reason: "must begin and end with / (an IAM path such as /rotor/ or /ci/deploy/)".into(),
            });
        }
        let tag = match env.get("IAM_USER_TAG") {
            None => None,
            Some(pair) => match pair.split_once('=') {
                Some((key, value)) if !key.is_empty() => Some((key.to_owned(), value.to_owned())),
                _ => {
                    return Err(RotationError::Config { variable: "IAM_USER_TAG", reason: "must be key=value".into() });
                }
            },
        };
        if path == "/" && tag.is_none() {
            return Err(RotationError::Config {
                variable: "IAM_USER_PATH",
                reason: "is / (every user of the account, administrators included) and IAM_USER_TAG is not set: set IAM_USER_TAG=key=value to a tag only the users to rotate carry (the template's IamUserTag also conditions the function's role on it), or choose a narrower path such as /rotor/".into(),
            });
        }
        let hours = env.number("PREVIOUS_KEY_GRACE_HOURS", 0, 0..=24 * 365)?;
        Ok(Self {
            users: UserFilter { path, tag },
            delete_unknown_keys: env.flag("DELETE_UNKNOWN_KEYS", false)?,
            grace: Duration::from_secs(hours as u64 * 3600),
            test: Backoff {
                attempts: env.number("TEST_ATTEMPTS", 8, 1..=30)? as u32,
                initial_delay: Duration::from_secs(1),
                max_delay: Duration::from_secs(4),
                ..Backoff::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn the_path_is_required_and_checked_and_the_tag_parsed() {
        let error = IamConfig::from_env(&env(&[])).unwrap_err().to_string();
        assert!(error.contains("IAM_USER_PATH is required"), "{error}");
        let error = IamConfig::from_env(&env(&[("IAM_USER_PATH", "rotor")])).unwrap_err().to_string();
        assert!(error.contains("must begin and end with /"), "{error}");
        let config =
            IamConfig::from_env(&env(&[("IAM_USER_PATH", "/rotor/"), ("IAM_USER_TAG", "rotor=managed")])).unwrap();
        assert_eq!(config.users.tag, Some(("rotor".into(), "managed".into())));
        assert_eq!(config.grace, Duration::ZERO);
        let tagged = [("rotor".to_string(), "managed".to_string())];
        assert_eq!(config.users.refuse("/rotor/ci/", &tagged), None);
        assert!(config.users.refuse("/", &tagged).unwrap().contains("not under IAM_USER_PATH /rotor/"));
        assert!(config.users.refuse("/rotor/", &[]).unwrap().contains("rotor=managed"));
        let error = IamConfig::from_env(&env(&[("IAM_USER_PATH", "/r/"), ("IAM_USER_TAG", "x")])).unwrap_err();
        assert!(error.to_string().contains("IAM_USER_TAG must be key=value"));
        assert!(!config.delete_unknown_keys, "unknown keys are kept unless the function opts in");
    }

    #[test]
    fn every_user_of_the_account_is_refused_unless_a_tag_narrows_it() {
        let error = IamConfig::from_env(&env(&[("IAM_USER_PATH", "/")])).unwrap_err().to_string();
        assert!(error.contains("IAM_USER_PATH is / (every user") && error.contains("set IAM_USER_TAG="), "{error}");
        let config = IamConfig::from_env(&env(&[("IAM_USER_PATH", "/"), ("IAM_USER_TAG", "rotor=managed")])).unwrap();
        let tagged = [("rotor".to_string(), "managed".to_string())];
        assert_eq!(config.users.refuse("/any/path/", &tagged), None);
        assert!(config.users.refuse("/", &[]).unwrap().contains("rotor=managed"));
        // An empty tag is no tag.
        assert!(IamConfig::from_env(&env(&[("IAM_USER_PATH", "/"), ("IAM_USER_TAG", "")])).is_err());
    }

    #[test]
    fn deleting_unknown_keys_is_an_explicit_opt_in() {
        let opted = env(&[("IAM_USER_PATH", "/rotor/"), ("DELETE_UNKNOWN_KEYS", "TRUE")]);
        assert!(IamConfig::from_env(&opted).unwrap().delete_unknown_keys);
        let wrong = env(&[("IAM_USER_PATH", "/rotor/"), ("DELETE_UNKNOWN_KEYS", "yes")]);
        assert!(
            IamConfig::from_env(&wrong).unwrap_err().to_string().contains("DELETE_UNKNOWN_KEYS must be true or false")
        );
    }
}
