//! What the functions that change a database admin's password through an AWS API share (`rotate-redshift-admin`,
//! `rotate-documentdb-admin`): how long they wait for the resource, how they log in to prove a password, and where
//! the API says the admin logs in.

use std::time::Duration;

use rotation_core::{Env, ManagedTiming, RotationError, Secret};

use crate::config::DatabaseConfig;

/// The variable that bounds a wait for a resource to be available (the name the ElastiCache functions read, so
/// that every function waiting on an AWS API is tuned alike).
pub const MAX_WAIT_VARIABLE: &str = "MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS";

/// The waits and logins of a function whose role changes an admin's password through an API, read once at cold
/// start.
#[derive(Debug, Clone)]
pub struct ManagedLogin {
    /// `MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS` (default 600): how long a step waits for the resource to be
    /// available; never past the invocation's deadline.
    pub max_wait: Duration,
    /// `WAITING_RETRY_INTERVAL_IN_SECONDS` (default 5): between two looks at it.
    pub interval: Duration,
    /// The logins that prove a password: the database functions' TLS, time-out and test variables, read as they
    /// read them.
    pub login: DatabaseConfig,
}

impl ManagedLogin {
    /// Reads the environment. The function's role changes the password (with `changes_with`, named in the
    /// refusal): it rotates by no strategy and reads no admin secret, so `ROTATION_STRATEGY` and
    /// `ADMIN_SECRET_ARNS` are refused.
    pub fn from_env(env: &Env, changes_with: &str) -> Result<Self, RotationError> {
        for variable in ["ROTATION_STRATEGY", "ADMIN_SECRET_ARNS"] {
            if env.get(variable).is_some() {
                return Err(RotationError::Config {
                    variable,
                    reason: format!(
                        "must not be set: the function's role changes the admin password with {changes_with}; there is no strategy to choose and no admin secret to read"
                    ),
                });
            }
        }
        Ok(Self {
            max_wait: Duration::from_secs(env.number(MAX_WAIT_VARIABLE, 600, 1..=900)? as u64),
            interval: Duration::from_secs(env.number("WAITING_RETRY_INTERVAL_IN_SECONDS", 5, 1..=60)? as u64),
            login: DatabaseConfig::login_from_env(env)?,
        })
    }

    /// How the target waits for the resource to be available and retries testSecret's login.
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

/// Where an admin logs in, as the API says: the endpoint's host, its port, and the admin user's name as the API
/// names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminEndpoint {
    host: String,
    port: u16,
    master: String,
}

impl AdminEndpoint {
    /// The endpoint `host:port` of admin `master`.
    pub fn new(host: impl Into<String>, port: u16, master: impl Into<String>) -> Self {
        Self { host: host.into(), port, master: master.into() }
    }

    /// The endpoint's host name.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The admin user, as the API names it.
    pub fn master(&self) -> &str {
        &self.master
    }
}

/// The password a secret holds, when it holds a non-empty one.
pub fn password_of(secret: &Secret) -> Option<&str> {
    secret.optional_str("password").ok().flatten().filter(|password| !password.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn waits_are_read_and_the_database_strategies_refused() {
        let login = ManagedLogin::from_env(&env(&[]), "ModifyDBCluster").unwrap();
        assert_eq!((login.max_wait, login.interval), (Duration::from_secs(600), Duration::from_secs(5)));
        let waits = env(&[(MAX_WAIT_VARIABLE, "60"), ("WAITING_RETRY_INTERVAL_IN_SECONDS", "2")]);
        let timing = ManagedLogin::from_env(&waits, "ModifyDBCluster").unwrap().timing();
        assert_eq!((timing.max_wait, timing.interval), (Duration::from_secs(60), Duration::from_secs(2)));
        assert_eq!(timing.max_wait_variable, MAX_WAIT_VARIABLE);
        for variable in ["ROTATION_STRATEGY", "ADMIN_SECRET_ARNS"] {
            let error = ManagedLogin::from_env(&env(&[(variable, "admin")]), "ModifyDBCluster").unwrap_err();
            let error = error.to_string();
            assert!(
                error.contains(&format!("{variable} must not be set")) && error.contains("ModifyDBCluster"),
                "{error}"
            );
        }
        assert!(ManagedLogin::from_env(&env(&[(MAX_WAIT_VARIABLE, "0")]), "x").is_err());
    }
}
