//! The configuration of `rotate-documentdb-admin`, read once at cold start: the clusters whose master password it
//! may change, how long it waits for them, and how it logs in to prove a password.

use std::ops::RangeInclusive;

use rotation_core::{Env, ManagedTiming, PasswordPolicy, RotationError};
use rotation_database::{ArnPatterns, ManagedLogin};

/// DocumentDB's shortest and longest master passwords.
const PASSWORD_LENGTHS: RangeInclusive<usize> = 8..=100;
/// The characters DocumentDB refuses in a master password.
const REFUSED_CHARACTERS: &[char] = &['/', '"', '@'];

/// Why DocumentDB would refuse master passwords `policy` makes (8 to 100 printable ASCII characters, none of
/// `/"@`), naming the variable at fault; `None` when it takes them.
pub fn refuse_policy(policy: &PasswordPolicy) -> Option<(&'static str, String)> {
    if !PASSWORD_LENGTHS.contains(&policy.length) {
        return Some((
            "PASSWORD_LENGTH",
            format!("is {}, but DocumentDB takes master passwords of 8 to 100 characters", policy.length),
        ));
    }
    let missing: Vec<char> =
        REFUSED_CHARACTERS.iter().copied().filter(|c| !policy.exclude_characters.contains(*c)).collect();
    if !missing.is_empty() && !policy.exclude_punctuation {
        let missing: String = missing.into_iter().collect();
        return Some((
            "EXCLUDE_CHARACTERS",
            format!("does not exclude {missing:?}, which DocumentDB refuses in a master password"),
        ));
    }
    None
}

/// `rotate-documentdb-admin`'s configuration, read once at cold start.
#[derive(Debug, Clone)]
pub struct DocumentDbAdminConfig {
    /// `DOCDB_CLUSTER_ARNS`: the clusters whose master password this function may change (ARN patterns, as
    /// `ADMIN_SECRET_ARNS`: `arn:aws:rds:<region>:<account>:cluster:<identifier>`).
    pub clusters: ArnPatterns,
    /// How it waits for a cluster, and logs in to prove a password (`TEST_QUERY` defaults to `{"ping": 1}`).
    pub managed: ManagedLogin,
}

impl DocumentDbAdminConfig {
    /// Reads the environment; `policy` is checked against DocumentDB's rules for master passwords, so no rotation
    /// ever stores a password the API would refuse. `DOCDB_CLUSTER_ARNS` is required; `ROTATION_STRATEGY` and
    /// `ADMIN_SECRET_ARNS` are refused ([`ManagedLogin::from_env`]).
    pub fn from_env(env: &Env, policy: &PasswordPolicy) -> Result<Self, RotationError> {
        let clusters = ArnPatterns::from_variable(env, "DOCDB_CLUSTER_ARNS")?;
        if clusters.is_empty() {
            return Err(RotationError::Config {
                variable: "DOCDB_CLUSTER_ARNS",
                reason: "is not set: name the DocumentDB clusters (arn:aws:rds:<region>:<account>:cluster:<identifier>) whose master password this function may change, * as a prefix".into(),
            });
        }
        if let Some((variable, reason)) = refuse_policy(policy) {
            return Err(RotationError::Config { variable, reason });
        }
        Ok(Self { clusters, managed: ManagedLogin::from_env(env, "ModifyDBCluster")? })
    }

    /// How the target waits for a cluster to be available and retries testSecret's login.
    pub fn timing(&self) -> ManagedTiming {
        self.managed.timing()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DEFAULT_EXCLUDE_CHARACTERS;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn policy() -> PasswordPolicy {
        PasswordPolicy { exclude_characters: DEFAULT_EXCLUDE_CHARACTERS.into(), ..PasswordPolicy::default() }
    }

    const CLUSTERS: (&str, &str) = ("DOCDB_CLUSTER_ARNS", "arn:aws:rds:us-east-1:1:cluster:orders-*");

    #[test]
    fn the_configuration_names_clusters_and_refuses_what_docdb_would() {
        let none = DocumentDbAdminConfig::from_env(&env(&[]), &policy()).unwrap_err().to_string();
        assert!(none.contains("DOCDB_CLUSTER_ARNS is not set"), "{none}");
        let config = DocumentDbAdminConfig::from_env(&env(&[CLUSTERS]), &policy()).unwrap();
        assert!(config.clusters.allows("arn:aws:rds:us-east-1:1:cluster:orders-prod"));
        assert!(!config.clusters.allows("arn:aws:rds:us-east-1:1:cluster:billing"));
        let long = PasswordPolicy { length: 101, ..policy() };
        let error = DocumentDbAdminConfig::from_env(&env(&[CLUSTERS]), &long).unwrap_err().to_string();
        assert!(error.contains("PASSWORD_LENGTH is 101"), "{error}");
        let at = PasswordPolicy { exclude_characters: "/\"".into(), ..policy() };
        let error = DocumentDbAdminConfig::from_env(&env(&[CLUSTERS]), &at).unwrap_err().to_string();
        assert!(error.contains("EXCLUDE_CHARACTERS does not exclude \"@\""), "{error}");
        for variable in ["ROTATION_STRATEGY", "ADMIN_SECRET_ARNS"] {
            let error = DocumentDbAdminConfig::from_env(&env(&[CLUSTERS, (variable, "admin")]), &policy());
            assert!(error.unwrap_err().to_string().contains(&format!("{variable} must not be set")), "{variable}");
        }
    }
}
