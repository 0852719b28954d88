//! `rotate-elasticache`'s configuration, read once at cold start.

use std::time::Duration;

use rotation_core::{Env, ManagedTiming, PasswordPolicy, RotationError};
use rotation_database::{ArnPatterns, DatabaseConfig, Strategy};

/// The characters ElastiCache refuses in a password.
const REFUSED_CHARACTERS: &str = "/\"@";

/// The variable that bounds a wait for a user to be `active`.
const MAX_WAIT_VARIABLE: &str = "MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS";

/// The function's configuration, read once at cold start.
#[derive(Debug, Clone)]
pub struct ElastiCacheConfig {
    /// `ELASTICACHE_USER_ARNS`: the users this function may rotate (ARN patterns, as `ADMIN_SECRET_ARNS`).
    pub users: ArnPatterns,
    /// `USER_NAME` (AWS's function): when set, the only user name this function rotates.
    pub user_name: Option<String>,
    /// `MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS` (default 600, as AWS's function): how long a step waits for the
    /// user to be `active`; never past the invocation's deadline.
    pub max_wait: Duration,
    /// `WAITING_RETRY_INTERVAL_IN_SECONDS` (default 5; AWS's function waits 10): between two looks at the user.
    pub interval: Duration,
    /// The logins to the cache: the database functions' TLS, time-out and test variables and
    /// `ALLOW_PRIVILEGED_USERS`, read as they read them; `TEST_QUERY` defaults to `PING`.
    pub login: DatabaseConfig,
}

impl ElastiCacheConfig {
    /// Reads the environment; `policy` is checked against ElastiCache's rules for passwords (16 to 128
    /// characters, none of `/`, `"`, `@`), so no rotation ever stores a password the service would refuse. The
    /// function's role is the users' administrator: `ROTATION_STRATEGY` may only say `admin` (the binary's
    /// default), and `ADMIN_SECRET_ARNS` is refused.
    pub fn from_env(env: &Env, policy: &PasswordPolicy) -> Result<Self, RotationError> {
        let users = ArnPatterns::from_variable(env, "ELASTICACHE_USER_ARNS")?;
        let user_name = env.get("USER_NAME");
        if users.is_empty() && user_name.is_none() {
            return Err(RotationError::Config {
                variable: "ELASTICACHE_USER_ARNS",
                reason: "is not set: name the users this function may rotate (arn:aws:elasticache:<region>:<account>:user:<id>, * as a prefix), or set USER_NAME as AWS's function does".into(),
            });
        }
        if let Some((variable, reason)) = refuse_policy(policy) {
            return Err(RotationError::Config { variable, reason });
        }
        if env.get("ROTATION_STRATEGY").is_some_and(|name| Strategy::parse(&name) != Some(Strategy::Admin)) {
            return Err(RotationError::Config {
                variable: "ROTATION_STRATEGY",
                reason: "must be admin for ElastiCache users: the function's role sets their passwords with ModifyUser (two at once, so no second user is needed)".into(),
            });
        }
        if env.get("ADMIN_SECRET_ARNS").is_some() {
            return Err(RotationError::Config {
                variable: "ADMIN_SECRET_ARNS",
                reason: "must not be set: this function's admin is its own role, and it reads no admin secret".into(),
            });
        }
        let mut login = DatabaseConfig::login_from_env(env)?;
        if env.get("TEST_QUERY").is_none() {
            login.test_query = crate::defaults::DEFAULT_TEST_COMMAND.to_owned();
        }
        Ok(Self {
            users,
            user_name,
            max_wait: Duration::from_secs(env.number(MAX_WAIT_VARIABLE, 600, 1..=900)? as u64),
            interval: Duration::from_secs(env.number("WAITING_RETRY_INTERVAL_IN_SECONDS", 5, 1..=60)? as u64),
            login,
        })
    }

    /// How the target waits for a user to be `active` and retries testSecret's login.
    pub fn timing(&self) -> ManagedTiming {
        ManagedTiming {
            max_wait: self.max_wait,
            max_wait_variable: MAX_WAIT_VARIABLE,
            interval: self.interval,
            test: self.login.test_backoff,
            attempt: self.login.test_attempt_bound(),
        }
    }
}

/// Why ElastiCache would refuse passwords from `policy`, with the variable that sets what it refuses.
pub(super) fn refuse_policy(policy: &PasswordPolicy) -> Option<(&'static str, String)> {
    if !(16..=128).contains(&policy.length) {
        return Some(("PASSWORD_LENGTH", "must be from 16 to 128: ElastiCache refuses other passwords".into()));
    }
    let c = REFUSED_CHARACTERS.chars().find(|c| !policy.exclude_characters.contains(*c))?;
    Some(("EXCLUDE_CHARACTERS", format!("must hold {c:?}: ElastiCache refuses passwords with /, \" or @")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn the_configuration_names_the_users_and_keeps_passwords_elasticache_takes() {
        let policy = PasswordPolicy::default();
        let none = ElastiCacheConfig::from_env(&env(&[]), &policy).unwrap_err().to_string();
        assert!(none.contains("ELASTICACHE_USER_ARNS is not set"), "{none}");
        assert!(ElastiCacheConfig::from_env(&env(&[("USER_NAME", "app")]), &policy).is_ok());
        let config =
            ElastiCacheConfig::from_env(&env(&[("ELASTICACHE_USER_ARNS", "arn:aws:elasticache:*")]), &policy).unwrap();
        assert_eq!((config.max_wait, config.interval), (Duration::from_secs(600), Duration::from_secs(5)));
        assert_eq!(config.login.test_query, "PING");
        let short = PasswordPolicy { length: 12, ..PasswordPolicy::default() };
        let error = ElastiCacheConfig::from_env(&env(&[("USER_NAME", "app")]), &short).unwrap_err().to_string();
        assert!(error.contains("PASSWORD_LENGTH must be from 16 to 128"), "{error}");
        let at = PasswordPolicy { exclude_characters: "/\"".into(), ..PasswordPolicy::default() };
        let error = ElastiCacheConfig::from_env(&env(&[("USER_NAME", "app")]), &at).unwrap_err().to_string();
        assert!(error.contains("EXCLUDE_CHARACTERS must hold '@'"), "{error}");
    }

    #[test]
    fn the_admin_is_the_functions_role_and_no_other_strategy_or_admin_secret_is_taken() {
        let policy = PasswordPolicy::default();
        for strategy in ["admin", " ADMIN "] {
            let admin = env(&[("USER_NAME", "app"), ("ROTATION_STRATEGY", strategy)]);
            assert!(ElastiCacheConfig::from_env(&admin, &policy).is_ok(), "{strategy}");
        }
        for strategy in ["single-user", "alternating-users", "x"] {
            let other = env(&[("USER_NAME", "app"), ("ROTATION_STRATEGY", strategy)]);
            let error = ElastiCacheConfig::from_env(&other, &policy).unwrap_err().to_string();
            assert!(error.contains("ROTATION_STRATEGY must be admin"), "{strategy}: {error}");
        }
        let admins = env(&[("USER_NAME", "app"), ("ADMIN_SECRET_ARNS", "arn:aws:secretsmanager:*")]);
        let pinned = ElastiCacheConfig::from_env(&admins, &policy).unwrap_err().to_string();
        assert!(pinned.contains("ADMIN_SECRET_ARNS must not be set"), "{pinned}");
    }
}
