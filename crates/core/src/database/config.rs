//! The configuration every database function reads once at cold start.

use std::path::PathBuf;
use std::time::Duration;

use crate::database::{Strategy, TlsMode};
use crate::{Backoff, Env, RotationError};

/// How a database rotation function is set up (its environment).
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `ROTATION_STRATEGY`: `single-user` (default), `admin`, `alternating-users`.
    pub strategy: Strategy,
    /// `TLS_MODE`: the mode for secrets whose `ssl` field does not say (default `verify-full`).
    pub tls_mode: TlsMode,
    /// `TLS_CA_BUNDLE`: a PEM file of CA certificates trusted on top of the system's (an RDS CA bundle).
    pub ca_bundle: Option<PathBuf>,
    /// `CONNECT_TIMEOUT_SECONDS` (default 5).
    pub connect_timeout: Duration,
    /// `STATEMENT_TIMEOUT_SECONDS` (default 10).
    pub statement_timeout: Duration,
    /// `TEST_QUERY`: testSecret's probe (default `SELECT 1`).
    pub test_query: String,
    /// `TEST_ATTEMPTS` (default 5): testSecret's tries, with backoff, for propagation lag.
    pub test_backoff: Backoff,
}

impl DatabaseConfig {
    /// Reads and validates the environment; errors name the variable.
    pub fn from_env(env: &Env) -> Result<Self, RotationError> {
        let ca_bundle = env.get("TLS_CA_BUNDLE").map(PathBuf::from);
        if let Some(path) = &ca_bundle
            && !path.is_file()
        {
            return Err(RotationError::Config {
                variable: "TLS_CA_BUNDLE",
                reason: format!("names {}, which is not a readable file", path.display()),
            });
        }
        Ok(Self {
            strategy: Strategy::from_env(env)?,
            tls_mode: TlsMode::from_env(env)?,
            ca_bundle,
            connect_timeout: Duration::from_secs(env.number("CONNECT_TIMEOUT_SECONDS", 5, 1..=60)? as u64),
            statement_timeout: Duration::from_secs(env.number("STATEMENT_TIMEOUT_SECONDS", 10, 1..=300)? as u64),
            test_query: env.get("TEST_QUERY").unwrap_or_else(|| "SELECT 1".into()),
            test_backoff: Backoff { attempts: env.number("TEST_ATTEMPTS", 5, 1..=20)? as u32, ..Backoff::default() },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_named_errors() {
        let config = DatabaseConfig::from_env(&Env::default()).unwrap();
        assert_eq!(config.strategy, Strategy::SingleUser);
        assert_eq!(config.tls_mode, TlsMode::VerifyFull);
        assert_eq!(config.test_query, "SELECT 1");
        let env = |k: &str, v: &str| Env::from_pairs([(k.to_string(), v.to_string())]);
        for (k, v, expect) in [
            ("TLS_CA_BUNDLE", "/no/such/file.pem", "TLS_CA_BUNDLE names /no/such/file.pem"),
            ("CONNECT_TIMEOUT_SECONDS", "0", "CONNECT_TIMEOUT_SECONDS must be"),
            ("ROTATION_STRATEGY", "x", "ROTATION_STRATEGY must be"),
        ] {
            assert!(DatabaseConfig::from_env(&env(k, v)).unwrap_err().to_string().contains(expect));
        }
    }
}
