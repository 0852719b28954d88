//! The configuration of `rotate-elasticache` and `rotate-elasticache-auth-token`, read once at cold start: what
//! each may change, and what both read alike (the waits, the logins to the cache, ElastiCache's rules for
//! passwords).

use std::time::Duration;

use rotation_core::{Env, ManagedTiming, PUNCTUATION, PasswordPolicy, RotationError};
use rotation_database::{ArnPatterns, DatabaseConfig, Strategy};

/// The characters ElastiCache refuses in a user's password.
const REFUSED_CHARACTERS: &str = "/\"@";

/// The only special characters ElastiCache takes in an AUTH token (its AUTH documentation; the API reference's
/// list is longer, and the stricter one is kept so that every token fits both).
pub const AUTH_TOKEN_SPECIAL_CHARACTERS: &str = "!&#$^<>-";

/// `rotate-elasticache-auth-token`'s default `EXCLUDE_CHARACTERS`: every punctuation character but
/// [`AUTH_TOKEN_SPECIAL_CHARACTERS`], so the generator makes only tokens ElastiCache takes.
pub const AUTH_TOKEN_EXCLUDED_CHARACTERS: &str = "\"%'()*+,./:;=?@[\\]_`{|}~";

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
        let (max_wait, interval) = waits_from_env(env)?;
        Ok(Self { users, user_name, max_wait, interval, login: login_from_env(env)? })
    }

    /// How the target waits for a user to be `active` and retries testSecret's login.
    pub fn timing(&self) -> ManagedTiming {
        timing(self.max_wait, self.interval, &self.login)
    }
}

/// `rotate-elasticache-auth-token`'s configuration, read once at cold start.
#[derive(Debug, Clone)]
pub struct ElastiCacheAuthTokenConfig {
    /// `ELASTICACHE_REPLICATION_GROUP_ARNS` (required): the replication groups whose AUTH token this function may
    /// change (ARN patterns, as `ADMIN_SECRET_ARNS`).
    pub groups: ArnPatterns,
    /// `MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS` (default 600, as for users): how long a step waits for the group to
    /// be `available`; never past the invocation's deadline.
    pub max_wait: Duration,
    /// `WAITING_RETRY_INTERVAL_IN_SECONDS` (default 5): between two looks at the group.
    pub interval: Duration,
    /// The logins to the cache: the database functions' TLS, time-out and test variables, read as they read them;
    /// `TEST_QUERY` defaults to `PING`.
    pub login: DatabaseConfig,
}

impl ElastiCacheAuthTokenConfig {
    /// Reads the environment; `policy` is checked against ElastiCache's rules for AUTH tokens (16 to 128
    /// characters, no special character but `! & # $ ^ < > -`). The function's role changes the token: it rotates
    /// by no strategy and reads no admin secret, so `ROTATION_STRATEGY` and `ADMIN_SECRET_ARNS` are refused.
    pub fn from_env(env: &Env, policy: &PasswordPolicy) -> Result<Self, RotationError> {
        let groups = ArnPatterns::from_variable(env, "ELASTICACHE_REPLICATION_GROUP_ARNS")?;
        if groups.is_empty() {
            return Err(RotationError::Config {
                variable: "ELASTICACHE_REPLICATION_GROUP_ARNS",
                reason: "is not set: name the replication groups whose AUTH token this function may change (arn:aws:elasticache:<region>:<account>:replicationgroup:<id>, * as a prefix)".into(),
            });
        }
        if let Some((variable, reason)) = refuse_auth_token_policy(policy) {
            return Err(RotationError::Config { variable, reason });
        }
        for variable in ["ROTATION_STRATEGY", "ADMIN_SECRET_ARNS"] {
            if env.get(variable).is_some() {
                return Err(RotationError::Config {
                    variable,
                    reason: "must not be set: the function's role changes the AUTH token with ModifyReplicationGroup; there is no strategy to choose and no admin secret to read".into(),
                });
            }
        }
        let (max_wait, interval) = waits_from_env(env)?;
        Ok(Self { groups, max_wait, interval, login: login_from_env(env)? })
    }

    /// How the target waits for a group to be `available` and retries testSecret's login.
    pub fn timing(&self) -> ManagedTiming {
        timing(self.max_wait, self.interval, &self.login)
    }
}

/// `MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS` (default 600, as AWS's function) and
/// `WAITING_RETRY_INTERVAL_IN_SECONDS` (default 5; AWS's function waits 10).
fn waits_from_env(env: &Env) -> Result<(Duration, Duration), RotationError> {
    Ok((
        Duration::from_secs(env.number(MAX_WAIT_VARIABLE, 600, 1..=900)? as u64),
        Duration::from_secs(env.number("WAITING_RETRY_INTERVAL_IN_SECONDS", 5, 1..=60)? as u64),
    ))
}

/// The logins' settings, `TEST_QUERY` defaulting to `PING`.
fn login_from_env(env: &Env) -> Result<DatabaseConfig, RotationError> {
    let mut login = DatabaseConfig::login_from_env(env)?;
    if env.get("TEST_QUERY").is_none() {
        login.test_query = crate::defaults::DEFAULT_TEST_COMMAND.to_owned();
    }
    Ok(login)
}

fn timing(max_wait: Duration, interval: Duration, login: &DatabaseConfig) -> ManagedTiming {
    ManagedTiming {
        max_wait,
        max_wait_variable: MAX_WAIT_VARIABLE,
        interval,
        test: login.test_backoff,
        attempt: login.test_attempt_bound(),
    }
}

/// The length ElastiCache refuses in a password or token, with the variable that sets it.
fn refuse_length(policy: &PasswordPolicy, what: &str) -> Option<(&'static str, String)> {
    let refused = !(16..=128).contains(&policy.length);
    refused.then(|| ("PASSWORD_LENGTH", format!("must be from 16 to 128: ElastiCache refuses other {what}")))
}

/// Why ElastiCache would refuse passwords from `policy`, with the variable that sets what it refuses.
pub(super) fn refuse_policy(policy: &PasswordPolicy) -> Option<(&'static str, String)> {
    if let Some(refused) = refuse_length(policy, "passwords") {
        return Some(refused);
    }
    let c = REFUSED_CHARACTERS.chars().find(|c| !policy.exclude_characters.contains(*c))?;
    Some(("EXCLUDE_CHARACTERS", format!("must hold {c:?}: ElastiCache refuses passwords with /, \" or @")))
}

/// Why ElastiCache would refuse AUTH tokens from `policy`: a length, or a special character it does not take
/// (none when `EXCLUDE_PUNCTUATION` is set; the generator never makes a space).
pub(super) fn refuse_auth_token_policy(policy: &PasswordPolicy) -> Option<(&'static str, String)> {
    if let Some(refused) = refuse_length(policy, "AUTH tokens") {
        return Some(refused);
    }
    if policy.exclude_punctuation {
        return None;
    }
    let c = PUNCTUATION
        .chars()
        .find(|c| !AUTH_TOKEN_SPECIAL_CHARACTERS.contains(*c) && !policy.exclude_characters.contains(*c))?;
    Some((
        "EXCLUDE_CHARACTERS",
        format!(
            "must hold {c:?}: an AUTH token's only special characters are {AUTH_TOKEN_SPECIAL_CHARACTERS} (leave EXCLUDE_CHARACTERS unset for the function's default, which excludes every other)"
        ),
    ))
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
    fn the_auth_token_configuration_names_the_groups_and_keeps_tokens_elasticache_takes() {
        let groups = ("ELASTICACHE_REPLICATION_GROUP_ARNS", "arn:aws:elasticache:us-east-1:1:replicationgroup:app-*");
        let policy = PasswordPolicy { exclude_characters: AUTH_TOKEN_EXCLUDED_CHARACTERS.into(), ..Default::default() };
        let none = ElastiCacheAuthTokenConfig::from_env(&env(&[]), &policy).unwrap_err().to_string();
        assert!(none.contains("ELASTICACHE_REPLICATION_GROUP_ARNS is not set"), "{none}");
        let config = ElastiCacheAuthTokenConfig::from_env(&env(&[groups]), &policy).unwrap();
        assert_eq!((config.max_wait, config.interval), (Duration::from_secs(600), Duration::from_secs(5)));
        assert_eq!(config.login.test_query, "PING");
        assert!(config.groups.allows("arn:aws:elasticache:us-east-1:1:replicationgroup:app-cache"));

        // AWS's default exclusions leave characters no AUTH token may hold; no punctuation at all is fine.
        let error = ElastiCacheAuthTokenConfig::from_env(&env(&[groups]), &PasswordPolicy::default()).unwrap_err();
        assert!(error.to_string().contains("EXCLUDE_CHARACTERS must hold '%'"), "{error}");
        let plain = PasswordPolicy { exclude_punctuation: true, exclude_characters: String::new(), ..policy.clone() };
        assert!(ElastiCacheAuthTokenConfig::from_env(&env(&[groups]), &plain).is_ok());
        let long = PasswordPolicy { length: 129, ..policy.clone() };
        let error = ElastiCacheAuthTokenConfig::from_env(&env(&[groups]), &long).unwrap_err().to_string();
        assert!(error.contains("PASSWORD_LENGTH must be from 16 to 128: ElastiCache refuses other AUTH tokens"));
        for variable in ["ROTATION_STRATEGY", "ADMIN_SECRET_ARNS"] {
            let error = ElastiCacheAuthTokenConfig::from_env(&env(&[groups, (variable, "admin")]), &policy);
            assert!(error.unwrap_err().to_string().contains(&format!("{variable} must not be set")), "{variable}");
        }
    }

    #[test]
    fn the_default_exclusions_leave_exactly_the_auth_tokens_special_characters() {
        let left: String = PUNCTUATION.chars().filter(|c| !AUTH_TOKEN_EXCLUDED_CHARACTERS.contains(*c)).collect();
        let mut expected: Vec<char> = AUTH_TOKEN_SPECIAL_CHARACTERS.chars().collect();
        let mut left: Vec<char> = left.chars().collect();
        expected.sort_unstable();
        left.sort_unstable();
        assert_eq!(left, expected);
        let policy = PasswordPolicy { exclude_characters: AUTH_TOKEN_EXCLUDED_CHARACTERS.into(), ..Default::default() };
        for _ in 0..50 {
            let token = policy.generate().unwrap();
            let allowed = |c: char| c.is_ascii_alphanumeric() || AUTH_TOKEN_SPECIAL_CHARACTERS.contains(c);
            assert!(token.expose().chars().all(allowed));
        }
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
