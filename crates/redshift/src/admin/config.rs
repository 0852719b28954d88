//! The configuration of `rotate-redshift-admin`, read once at cold start: the clusters and namespaces whose admin
//! password it may change, how long it waits for them, and how it logs in to prove a password.

use rotation_core::{Env, ManagedTiming, PasswordPolicy, RotationError};
use rotation_database::{ArnPatterns, ManagedLogin};

use crate::refuse_policy;

/// `rotate-redshift-admin`'s configuration, read once at cold start.
#[derive(Debug, Clone)]
pub struct RedshiftAdminConfig {
    /// `REDSHIFT_CLUSTER_ARNS`: the provisioned clusters whose admin password this function may change (ARN
    /// patterns, as `ADMIN_SECRET_ARNS`: `arn:aws:redshift:<region>:<account>:cluster:<identifier>`).
    pub clusters: ArnPatterns,
    /// `REDSHIFT_NAMESPACE_ARNS`: the Redshift Serverless namespaces whose admin password this function may change,
    /// named by their name where AWS writes their id
    /// (`arn:aws:redshift-serverless:<region>:<account>:namespace/<name>`).
    pub namespaces: ArnPatterns,
    /// How it waits for a cluster or namespace, and logs in to prove a password (`TEST_QUERY` defaults to
    /// `SELECT 1`).
    pub managed: ManagedLogin,
}

impl RedshiftAdminConfig {
    /// Reads the environment; `policy` is checked against Redshift's rules for passwords, so no rotation ever
    /// stores a password the API would refuse. At least one of `REDSHIFT_CLUSTER_ARNS` and
    /// `REDSHIFT_NAMESPACE_ARNS` is required; `ROTATION_STRATEGY` and `ADMIN_SECRET_ARNS` are refused
    /// ([`ManagedLogin::from_env`]).
    pub fn from_env(env: &Env, policy: &PasswordPolicy) -> Result<Self, RotationError> {
        let clusters = ArnPatterns::from_variable(env, "REDSHIFT_CLUSTER_ARNS")?;
        let namespaces = ArnPatterns::from_variable(env, "REDSHIFT_NAMESPACE_ARNS")?;
        if clusters.is_empty() && namespaces.is_empty() {
            return Err(RotationError::Config {
                variable: "REDSHIFT_CLUSTER_ARNS",
                reason: "is not set, nor REDSHIFT_NAMESPACE_ARNS: name the provisioned clusters (arn:aws:redshift:<region>:<account>:cluster:<identifier>) or the Serverless namespaces (arn:aws:redshift-serverless:<region>:<account>:namespace/<name>) whose admin password this function may change, * as a prefix".into(),
            });
        }
        if let Some((variable, reason)) = refuse_policy(policy) {
            return Err(RotationError::Config { variable, reason });
        }
        let managed = ManagedLogin::from_env(env, "ModifyCluster or UpdateNamespace")?;
        Ok(Self { clusters, namespaces, managed })
    }

    /// How the target waits for a cluster or namespace to be available and retries testSecret's login.
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

    const CLUSTERS: (&str, &str) = ("REDSHIFT_CLUSTER_ARNS", "arn:aws:redshift:us-east-1:1:cluster:prod-*");
    const NAMESPACES: (&str, &str) =
        ("REDSHIFT_NAMESPACE_ARNS", "arn:aws:redshift-serverless:us-east-1:1:namespace/ns");

    #[test]
    fn the_configuration_names_clusters_or_namespaces() {
        let none = RedshiftAdminConfig::from_env(&env(&[]), &policy()).unwrap_err().to_string();
        assert!(none.contains("REDSHIFT_CLUSTER_ARNS is not set, nor REDSHIFT_NAMESPACE_ARNS"), "{none}");
        let config = RedshiftAdminConfig::from_env(&env(&[CLUSTERS]), &policy()).unwrap();
        assert!(config.clusters.allows("arn:aws:redshift:us-east-1:1:cluster:prod-warehouse"));
        assert!(config.namespaces.is_empty());
        assert_eq!(config.managed.login.test_query, "SELECT 1");
        let config = RedshiftAdminConfig::from_env(&env(&[NAMESPACES]), &policy()).unwrap();
        assert!(config.namespaces.allows("arn:aws:redshift-serverless:us-east-1:1:namespace/ns"));
        let bad = RedshiftAdminConfig::from_env(&env(&[("REDSHIFT_NAMESPACE_ARNS", "ns")]), &policy());
        assert!(bad.unwrap_err().to_string().contains("REDSHIFT_NAMESPACE_ARNS holds \"ns\""));
    }

    #[test]
    fn a_policy_redshift_refuses_and_the_database_strategies_are_refused_at_cold_start() {
        let short = PasswordPolicy { length: 7, ..policy() };
        let error = RedshiftAdminConfig::from_env(&env(&[CLUSTERS]), &short).unwrap_err().to_string();
        assert!(error.contains("PASSWORD_LENGTH is 7, but Redshift takes passwords of 8 to 64"), "{error}");
        let at = PasswordPolicy { exclude_characters: "/\"'\\".into(), ..policy() };
        let error = RedshiftAdminConfig::from_env(&env(&[CLUSTERS]), &at).unwrap_err().to_string();
        assert!(error.contains("EXCLUDE_CHARACTERS does not exclude \"@\""), "{error}");
        for variable in ["ROTATION_STRATEGY", "ADMIN_SECRET_ARNS"] {
            let error = RedshiftAdminConfig::from_env(&env(&[CLUSTERS, (variable, "admin")]), &policy());
            assert!(error.unwrap_err().to_string().contains(&format!("{variable} must not be set")), "{variable}");
        }
    }
}
