//! The configuration every database function reads once at cold start.

use std::time::Duration;

use rustls_pki_types::CertificateDer;

use crate::strategy::Strategy;
use crate::tls_mode::TlsMode;
use rotation_core::{Backoff, DEADLINE_MARGIN, Env, RotationError, Secret};

/// How a database rotation function is set up (its environment).
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// `ROTATION_STRATEGY`: `single-user` (default), `admin`, `alternating-users`.
    pub strategy: Strategy,
    /// `TLS_MODE` and `TLS_MIN_MODE`: the mode for secrets whose `ssl` field does not say, and the floor no
    /// secret goes below.
    pub tls: TlsPolicy,
    /// `TLS_CA_BUNDLE`: the certificates of a PEM file, read at cold start, trusted on top of the system's and the
    /// RDS roots.
    pub ca_bundle: Vec<CertificateDer<'static>>,
    /// `ADMIN_SECRET_ARNS`: the admin secrets a user secret's `masterarn` may name.
    pub admin_secrets: AdminSecrets,
    /// `ALLOW_PRIVILEGED_USERS` (default false): whether the admin may set the password of a user that holds
    /// administrative rights (superuser, CREATEROLE, CREATE USER, ...).
    pub allow_privileged_users: bool,
    /// `CONNECT_TIMEOUT_SECONDS` (default 5): one login, TCP connect, TLS handshake and authentication together.
    pub connect_timeout: Duration,
    /// `STATEMENT_TIMEOUT_SECONDS` (default 5): one statement, on the server and (with a second's margin) on the
    /// client, so a server or network that stops answering after login fails the step with a message.
    pub statement_timeout: Duration,
    /// `TEST_QUERY`: testSecret's probe (default `SELECT 1`).
    pub test_query: String,
    /// `TEST_ATTEMPTS` (default 4): testSecret's tries, with backoff, for propagation lag.
    pub test_backoff: Backoff,
    /// `FUNCTION_TIMEOUT_SECONDS` (default 60, the template's `Timeout`): what testSecret's retries must fit in.
    pub function_timeout: Duration,
}

impl DatabaseConfig {
    /// Reads and validates the environment; errors name the variable.
    pub fn from_env(env: &Env) -> Result<Self, RotationError> {
        let strategy = Strategy::from_env(env)?;
        let admin_secrets = AdminSecrets::from_env(env)?;
        if strategy.needs_admin() && admin_secrets.is_empty() {
            return Err(RotationError::Config {
                variable: "ADMIN_SECRET_ARNS",
                reason: format!(
                    "is required by ROTATION_STRATEGY={}: list the admin secrets' ARNs (or ARN prefixes ending in *) that user secrets may name in masterarn",
                    strategy.as_str()
                ),
            });
        }
        Ok(Self { strategy, admin_secrets, ..Self::login_from_env(env)? })
    }

    /// The settings of a login alone (TLS, time-outs, the probe and its retries, `ALLOW_PRIVILEGED_USERS`), for a
    /// function that logs in to a database to prove a credential an AWS API changes (ElastiCache users): it
    /// rotates by no strategy and reads no admin secret, so `ROTATION_STRATEGY` and `ADMIN_SECRET_ARNS` are not
    /// read (`strategy` is single-user, the one that needs no admin; `admin_secrets` allows nothing).
    pub fn login_from_env(env: &Env) -> Result<Self, RotationError> {
        let ca_bundle = rotation_core::ca_bundle_from_env(env)?;
        let config = Self {
            strategy: Strategy::SingleUser,
            tls: TlsPolicy::from_env(env)?,
            ca_bundle,
            admin_secrets: AdminSecrets::default(),
            allow_privileged_users: env.flag("ALLOW_PRIVILEGED_USERS", false)?,
            connect_timeout: Duration::from_secs(env.number("CONNECT_TIMEOUT_SECONDS", 5, 1..=60)? as u64),
            statement_timeout: Duration::from_secs(env.number("STATEMENT_TIMEOUT_SECONDS", 5, 1..=300)? as u64),
            test_query: env.get("TEST_QUERY").unwrap_or_else(|| "SELECT 1".into()),
            test_backoff: Backoff { attempts: env.number("TEST_ATTEMPTS", 4, 1..=20)? as u32, ..Backoff::default() },
            function_timeout: Duration::from_secs(env.number("FUNCTION_TIMEOUT_SECONDS", 60, 3..=900)? as u64),
        };
        let worst = config.worst_test_time();
        if worst + DEADLINE_MARGIN > config.function_timeout {
            return Err(RotationError::Config {
                variable: "TEST_ATTEMPTS",
                reason: format!(
                    "with CONNECT_TIMEOUT_SECONDS and STATEMENT_TIMEOUT_SECONDS, testSecret's retries may take {}s, more than FUNCTION_TIMEOUT_SECONDS={} allows; lower them or raise the function's timeout",
                    worst.as_secs_f32(),
                    config.function_timeout.as_secs()
                ),
            });
        }
        Ok(config)
    }

    /// The client-side bound of one statement: the server's `statement_timeout` and a second for its answer.
    pub fn statement_bound(&self) -> Duration {
        self.statement_timeout + Duration::from_secs(1)
    }

    /// The longest one try of testSecret can take: a login and the probe.
    pub fn test_attempt_bound(&self) -> Duration {
        self.connect_timeout + self.statement_bound()
    }

    /// The longest testSecret can take: every try logs in and runs the probe, with the waits between tries.
    pub fn worst_test_time(&self) -> Duration {
        let attempts = self.test_backoff.attempts.max(1);
        self.test_attempt_bound() * attempts + self.test_backoff.total_delay()
    }
}

/// The TLS modes of a function: the default for secrets that do not say (`TLS_MODE`, default `verify-full`),
/// and the floor no secret (user, admin or AWSPREVIOUS) may go below (`TLS_MIN_MODE`, default `verify-ca`).
/// Plaintext needs `TLS_MIN_MODE=disable`, set by whoever deploys the function, never by a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsPolicy {
    /// The mode of a secret without an `ssl` field.
    pub default: TlsMode,
    /// The weakest mode a secret may ask for.
    pub floor: TlsMode,
}

impl TlsPolicy {
    /// Reads `TLS_MODE` and `TLS_MIN_MODE`; `TLS_MODE` may not be weaker than the floor.
    pub fn from_env(env: &Env) -> Result<Self, RotationError> {
        let default = TlsMode::from_env(env)?;
        let floor = match env.get("TLS_MIN_MODE") {
            None => TlsMode::VerifyCa,
            Some(value) => TlsMode::parse(&value).ok_or(RotationError::Config {
                variable: "TLS_MIN_MODE",
                reason: "must be disable, require, verify-ca or verify-full".into(),
            })?,
        };
        // The FIPS build's credentials are protected in transit by its TLS, to a server whose certificate chain it
        // verified: it never connects without TLS, nor to a server it did not authenticate (`require`).
        if rotation_core::FIPS_BUILD && floor < TlsMode::VerifyCa {
            return Err(RotationError::Config {
                variable: "TLS_MIN_MODE",
                reason: format!(
                    "is {}, which the FIPS build refuses: its credentials cross only FIPS TLS to a verified server (verify-ca at least)",
                    floor.as_str()
                ),
            });
        }
        if default < floor {
            return Err(RotationError::Config {
                variable: "TLS_MODE",
                reason: format!(
                    "is {}, weaker than TLS_MIN_MODE={}; raise TLS_MODE or, if you mean it, lower TLS_MIN_MODE",
                    default.as_str(),
                    floor.as_str()
                ),
            });
        }
        Ok(Self { default, floor })
    }

    /// The mode for one secret: its `ssl` field when present, else the default; an error naming the field when
    /// the field asks for less than the floor (a secret never lowers what the function allows).
    pub fn for_secret(&self, secret: &Secret) -> Result<TlsMode, RotationError> {
        let mode = TlsMode::requested_by(secret, self.default)?.unwrap_or(self.default);
        if mode < self.floor {
            return Err(secret.invalid(
                "ssl",
                format!(
                    "asks for TLS mode {}, weaker than this function's TLS_MIN_MODE={}; remove the field or raise it (only the function's TLS_MIN_MODE can allow less)",
                    mode.as_str(),
                    self.floor.as_str()
                ),
            ));
        }
        Ok(mode)
    }
}

impl Default for TlsPolicy {
    /// `verify-full` by default, `verify-ca` at the least.
    fn default() -> Self {
        Self { default: TlsMode::VerifyFull, floor: TlsMode::VerifyCa }
    }
}

/// ARNs a function may act on, read from one variable (`ADMIN_SECRET_ARNS`, `ELASTICACHE_USER_ARNS`):
/// comma-separated ARNs, each exact, with `?` standing for any one character (as in IAM: `...:secret:db-master-??????`
/// is the secret named `db-master` whatever its random suffix, before it exists), or a prefix ending in `*`. An ARN
/// is compared as the service resolved it, so a name or a partial ARN cannot slip past a pattern.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArnPatterns {
    patterns: Vec<String>,
}

/// The admin secrets a function may use (`ADMIN_SECRET_ARNS`).
pub type AdminSecrets = ArnPatterns;

impl ArnPatterns {
    /// Reads `ADMIN_SECRET_ARNS`.
    pub fn from_env(env: &Env) -> Result<Self, RotationError> {
        Self::from_variable(env, "ADMIN_SECRET_ARNS")
    }

    /// Reads the patterns from `variable`; an unset variable allows nothing.
    pub fn from_variable(env: &Env, variable: &'static str) -> Result<Self, RotationError> {
        let patterns: Vec<String> = env
            .get(variable)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(bad) = patterns.iter().find(|p| !p.starts_with("arn:") || p[..p.len() - 1].contains('*')) {
            return Err(RotationError::Config {
                variable,
                reason: format!(
                    "holds {bad:?}; each entry must be an ARN, with ? for one character, optionally ending in * as a prefix"
                ),
            });
        }
        Ok(Self { patterns })
    }

    /// An allow-list of the given patterns (tests, embedding).
    pub fn new(patterns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self { patterns: patterns.into_iter().map(Into::into).collect() }
    }

    /// Whether nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether the resource with this full ARN is allowed.
    pub fn allows(&self, arn: &str) -> bool {
        self.patterns.iter().any(|pattern| {
            let (fixed, prefix) = match pattern.strip_suffix('*') {
                Some(fixed) => (fixed, true),
                None => (pattern.as_str(), false),
            };
            let mut chars = arn.chars();
            let head_matches = fixed.chars().all(|p| chars.next().is_some_and(|c| p == '?' || p == c));
            head_matches && (prefix || chars.next().is_none())
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
    fn defaults_and_named_errors() {
        let config = DatabaseConfig::from_env(&Env::default()).unwrap();
        assert_eq!(config.strategy, Strategy::SingleUser);
        assert_eq!(config.tls, TlsPolicy { default: TlsMode::VerifyFull, floor: TlsMode::VerifyCa });
        assert_eq!(config.test_query, "SELECT 1");
        assert!(!config.allow_privileged_users);
        for (k, v, expect) in [
            ("TLS_CA_BUNDLE", "/no/such/file.pem", "TLS_CA_BUNDLE names /no/such/file.pem"),
            ("CONNECT_TIMEOUT_SECONDS", "0", "CONNECT_TIMEOUT_SECONDS must be"),
            ("ROTATION_STRATEGY", "x", "ROTATION_STRATEGY must be"),
            ("ROTATION_STRATEGY", "admin", "ADMIN_SECRET_ARNS is required by ROTATION_STRATEGY=admin"),
            ("TLS_MODE", "require", "TLS_MODE is require, weaker than TLS_MIN_MODE=verify-ca"),
            ("TLS_MIN_MODE", "prefer", "TLS_MIN_MODE must be"),
            ("ADMIN_SECRET_ARNS", "admin-secret", "each entry must be an ARN"),
            ("ADMIN_SECRET_ARNS", "arn:aws:*:admin", "each entry must be an ARN"),
            ("TEST_ATTEMPTS", "20", "testSecret's retries may take"),
        ] {
            let error = DatabaseConfig::from_env(&env(&[(k, v)])).unwrap_err().to_string();
            assert!(error.contains(expect), "{k}={v}: {error}");
        }
        // The retries fit once the function's timeout says they do.
        assert!(
            DatabaseConfig::from_env(&env(&[("TEST_ATTEMPTS", "20"), ("FUNCTION_TIMEOUT_SECONDS", "900")])).is_ok()
        );
    }

    #[test]
    fn the_login_settings_read_no_strategy_and_no_admin_secret() {
        let config = DatabaseConfig::login_from_env(&env(&[("ROTATION_STRATEGY", "admin")])).unwrap();
        assert_eq!((config.strategy, config.admin_secrets.is_empty()), (Strategy::SingleUser, true));
        let error = DatabaseConfig::login_from_env(&env(&[("TLS_MODE", "require")])).unwrap_err().to_string();
        assert!(error.contains("TLS_MODE is require"), "{error}");
    }

    #[test]
    fn the_default_test_retries_fit_the_templates_timeout() {
        let config = DatabaseConfig::from_env(&Env::default()).unwrap();
        assert!(
            config.worst_test_time() + DEADLINE_MARGIN <= Duration::from_secs(60),
            "{:?}",
            config.worst_test_time()
        );
    }

    #[test]
    fn no_secret_goes_below_the_tls_floor() {
        let secret = |json: &str| Secret::parse("arn:s", json);
        let policy = TlsPolicy::default();
        let full = TlsMode::VerifyFull;
        assert_eq!(policy.for_secret(&secret("{}")).unwrap(), full);
        assert_eq!(policy.for_secret(&secret(r#"{"ssl":true}"#)).unwrap(), full);
        assert_eq!(policy.for_secret(&secret(r#"{"ssl":"true"}"#)).unwrap(), full);
        assert_eq!(policy.for_secret(&secret(r#"{"ssl":"verify-ca"}"#)).unwrap(), TlsMode::VerifyCa);
        for json in [r#"{"ssl":false}"#, r#"{"ssl":"false"}"#, r#"{"ssl":"disable"}"#, r#"{"ssl":"require"}"#] {
            let error = policy.for_secret(&secret(json)).unwrap_err().to_string();
            assert!(
                error.contains("`ssl` asks for TLS mode") && error.contains("TLS_MIN_MODE=verify-ca"),
                "{json}: {error}"
            );
        }
        assert!(policy.for_secret(&secret(r#"{"ssl":"prefer"}"#)).unwrap_err().to_string().contains("`ssl` must be"));
        // Only the function's own floor allows plaintext; then `ssl: true` still means verified TLS.
        let open = TlsPolicy::from_env(&env(&[("TLS_MIN_MODE", "disable"), ("TLS_MODE", "disable")]));
        if rotation_core::FIPS_BUILD {
            assert!(open.unwrap_err().to_string().contains("TLS_MIN_MODE is disable, which the FIPS build refuses"));
            let unverified = TlsPolicy::from_env(&env(&[("TLS_MIN_MODE", "require")])).unwrap_err().to_string();
            assert!(unverified.contains("TLS_MIN_MODE is require, which the FIPS build refuses"), "{unverified}");
        } else {
            let open = open.unwrap();
            assert_eq!(open.for_secret(&secret(r#"{"ssl":false}"#)).unwrap(), TlsMode::Disable);
            assert_eq!(open.for_secret(&secret("{}")).unwrap(), TlsMode::Disable);
            assert_eq!(open.for_secret(&secret(r#"{"ssl":true}"#)).unwrap(), full);
        }
        // A stricter floor refuses verify-ca too.
        let strict = TlsPolicy::from_env(&env(&[("TLS_MIN_MODE", "verify-full")])).unwrap();
        assert!(strict.for_secret(&secret(r#"{"ssl":"verify-ca"}"#)).is_err());
    }

    #[test]
    fn admin_secrets_match_exact_arns_and_prefixes() {
        let allowed = AdminSecrets::from_env(&env(&[(
            "ADMIN_SECRET_ARNS",
            "arn:aws:secretsmanager:us-east-1:1:secret:admin-AbCdEf, arn:aws:secretsmanager:us-east-1:1:secret:rds!*",
        )]))
        .unwrap();
        assert!(allowed.allows("arn:aws:secretsmanager:us-east-1:1:secret:admin-AbCdEf"));
        assert!(allowed.allows("arn:aws:secretsmanager:us-east-1:1:secret:rds!db-1234-XyZ123"));
        assert!(!allowed.allows("arn:aws:secretsmanager:us-east-1:1:secret:admin-AbCdEf-evil"));
        assert!(!allowed.allows("arn:aws:secretsmanager:us-east-1:1:secret:other-AbCdEf"));
        // The `-??????` form names one secret by its name, whatever suffix Secrets Manager gives it.
        let named = AdminSecrets::new(["arn:aws:secretsmanager:us-east-1:1:secret:db-master-??????"]);
        assert!(named.allows("arn:aws:secretsmanager:us-east-1:1:secret:db-master-AbCdEf"));
        assert!(!named.allows("arn:aws:secretsmanager:us-east-1:1:secret:db-master-evil-AbCdEf"));
        assert!(!named.allows("arn:aws:secretsmanager:us-east-1:1:secret:db-master-AbCdE"));
        assert!(!named.allows("arn:aws:secretsmanager:us-east-1:1:secret:db-masterX-AbCdEf"));
        assert!(AdminSecrets::default().is_empty());
    }
}
