//! [`RedshiftAdmin`]: the admin password of a Redshift provisioned cluster or Serverless namespace, as a
//! [`ManagedCredential`]: the API describes the resource and changes the password, a PostgreSQL-wire login at the
//! endpoint the API names proves a password.

use rotation_core::{
    Change, Claim, ManagedCredential, Password, PasswordPolicy, Readiness, RotationError, Secret, TargetErrorKind,
};
use rotation_database::{Engine, LoginFields, Purpose, password_of, proven_by_engine_login};

use super::cluster::{self, AVAILABLE};
use super::config::RedshiftAdminConfig;
use super::namespace;
use super::resource::{AdminEndpoint, AdminResourceKind, RedshiftAdminResource};
use crate::{DEFAULT_DBNAME, RedshiftEngine, refuse_policy};

/// The admin (master user) passwords of Redshift provisioned clusters and Serverless namespaces, changed by the
/// function's role through the API (`ModifyCluster`, `UpdateNamespace`). Redshift keeps one admin password: a change
/// replaces it, so clients holding AWSCURRENT's are refused from the moment Redshift applies it. Logins (the proofs,
/// testSecret's probe) are made at the endpoint the API names, as the admin the API names, in the TLS mode the
/// secret's `ssl` field and the function's floor allow.
///
/// What the role may change is bounded twice: by its IAM resources, and by `REDSHIFT_CLUSTER_ARNS` and
/// `REDSHIFT_NAMESPACE_ARNS`, so a secret naming another cluster or namespace is refused before any call.
#[derive(Debug, Clone)]
pub struct RedshiftAdmin {
    redshift: aws_sdk_redshift::config::Builder,
    serverless: aws_sdk_redshiftserverless::config::Builder,
    engine: RedshiftEngine,
    config: RedshiftAdminConfig,
}

impl RedshiftAdmin {
    /// Passwords changed with `redshift` (clusters) and `serverless` (namespaces), their Region replaced by each
    /// secret's, proven with `engine`.
    pub fn new(
        redshift: aws_sdk_redshift::config::Builder,
        serverless: aws_sdk_redshiftserverless::config::Builder,
        engine: RedshiftEngine,
        config: RedshiftAdminConfig,
    ) -> Self {
        Self { redshift, serverless, engine, config }
    }

    /// The configuration.
    pub fn config(&self) -> &RedshiftAdminConfig {
        &self.config
    }

    /// A login as the API's admin with `password` where the API says the resource is, to the secret's `dbname`
    /// (the database every cluster and workgroup starts with when it names none).
    fn connection(at: &AdminEndpoint, secret: &Secret, password: &str) -> Result<LoginFields, RotationError> {
        let dbname = secret.optional_str("dbname")?.filter(|dbname| !dbname.is_empty()).unwrap_or(DEFAULT_DBNAME);
        Ok(LoginFields {
            engine: None,
            host: at.host().to_owned(),
            port: at.port(),
            dbname: Some(dbname.to_owned()),
            username: at.master().to_owned(),
            password: Password::new(password.to_owned()),
        })
    }
}

impl ManagedCredential for RedshiftAdmin {
    type Resource = RedshiftAdminResource;
    type Ready = AdminEndpoint;

    const READY: &'static str = AVAILABLE;

    fn name(&self) -> &'static str {
        "redshift-admin"
    }

    /// The cluster (`dbClusterIdentifier`) or namespace (`namespaceName`) the secret names in its own Region and
    /// account, refused unless `REDSHIFT_CLUSTER_ARNS` or `REDSHIFT_NAMESPACE_ARNS` allows it.
    fn resource(&self, secret: &Secret) -> Result<RedshiftAdminResource, RotationError> {
        let admin = RedshiftAdminResource::parse(secret)?;
        let (allowed, variable, what) = match admin.kind() {
            AdminResourceKind::Cluster => (&self.config.clusters, "REDSHIFT_CLUSTER_ARNS", "clusters"),
            AdminResourceKind::Namespace => (&self.config.namespaces, "REDSHIFT_NAMESPACE_ARNS", "namespaces"),
        };
        if !allowed.allows(admin.arn()) {
            return Err(RotationError::target(
                TargetErrorKind::ConfusedDeputy,
                admin.arn(),
                format!(
                    "it is not in {variable}; this function changes only the admin passwords of the {what} its configuration names"
                ),
            ));
        }
        Ok(admin)
    }

    /// A cluster or namespace is named by its ARN: a name alone would let the secret's writer move it to another
    /// Region.
    fn claim<'r>(&self, admin: &'r RedshiftAdminResource) -> Claim<'r> {
        let kind = match admin.kind() {
            AdminResourceKind::Cluster => "Redshift cluster",
            AdminResourceKind::Namespace => "Redshift Serverless namespace",
        };
        Claim { kind, name: admin.arn(), at: None }
    }

    /// Redshift's rules for passwords (8 to 64 characters, an upper-case letter, a lower-case letter and a digit,
    /// none of `'"\/@` or the space).
    fn refuse_policy(&self, policy: &PasswordPolicy) -> Option<String> {
        refuse_policy(policy).map(|(variable, reason)| format!("{variable} {reason}"))
    }

    /// `DescribeClusters`, or `GetNamespace` and `ListWorkgroups`.
    async fn describe(&self, admin: &RedshiftAdminResource) -> Result<Readiness<AdminEndpoint>, RotationError> {
        match admin.kind() {
            AdminResourceKind::Cluster => cluster::describe(&self.redshift, admin).await,
            AdminResourceKind::Namespace => namespace::describe(&self.serverless, admin).await,
        }
    }

    /// A login (and a wrong password refused beside it) where the API says the resource is, as the admin it names,
    /// never at the secret's host: a proof that a password is the admin's must reach the admin.
    async fn proves(
        &self,
        _admin: &RedshiftAdminResource,
        at: &AdminEndpoint,
        secret: &Secret,
    ) -> Result<bool, RotationError> {
        let Some(password) = password_of(secret) else { return Ok(false) };
        let mode = self.config.managed.login.tls.for_secret(secret)?;
        proven_by_engine_login(&self.engine, &self.config.managed.login, &Self::connection(at, secret, password)?, mode)
            .await
    }

    /// `ModifyCluster` or `UpdateNamespace` with the pending password, which replaces the one Redshift holds
    /// (`current` is not kept: Redshift holds one admin password). Idempotent: a pending password that already logs
    /// in is not sent again (a retry after the change), and sending it again would be harmless.
    async fn modify(
        &self,
        admin: &RedshiftAdminResource,
        at: &AdminEndpoint,
        pending: &Secret,
        _current: Option<&Secret>,
    ) -> Result<Change, RotationError> {
        let password = pending.require_str("password")?;
        if self.proves(admin, at, pending).await? {
            tracing::info!("the admin takes the pending password already");
            return Ok(Change::Done);
        }
        match admin.kind() {
            AdminResourceKind::Cluster => cluster::set_password(&self.redshift, admin, password).await?,
            AdminResourceKind::Namespace => {
                namespace::set_password(&self.serverless, admin, at.master(), password).await?
            }
        }
        tracing::info!("Redshift is applying the admin password");
        Ok(Change::Done)
    }

    /// A login where the API says the resource is, as the admin it names, and `TEST_QUERY` (default `SELECT 1`).
    async fn login(
        &self,
        _admin: &RedshiftAdminResource,
        at: &AdminEndpoint,
        secret: &Secret,
    ) -> Result<(), RotationError> {
        let connection = Self::connection(at, secret, secret.require_str("password")?)?;
        let login = &self.config.managed.login;
        let mode = login.tls.for_secret(secret)?;
        let mut session = self.engine.login(login, &connection, mode, Purpose::Probe).await?;
        self.engine.probe(&mut session, &login.test_query).await
    }
}

#[cfg(test)]
mod tests {
    use rotation_core::Env;
    use rotation_database::TlsRoots;

    use super::*;

    const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:admin-AbCdEf";

    fn admins(env: &[(&str, &str)]) -> RedshiftAdmin {
        let env = Env::from_pairs(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let policy = rotation_core::PasswordPolicy {
            exclude_characters: crate::DEFAULT_EXCLUDE_CHARACTERS.into(),
            ..Default::default()
        };
        let config = RedshiftAdminConfig::from_env(&env, &policy).unwrap();
        let redshift = aws_sdk_redshift::config::Builder::new();
        let serverless = aws_sdk_redshiftserverless::config::Builder::new();
        let engine = RedshiftEngine::new(TlsRoots::load(&[]).unwrap(), redshift.clone(), serverless.clone());
        RedshiftAdmin::new(redshift, serverless, engine, config)
    }

    fn secret(fields: &str) -> Secret {
        Secret::parse(SECRET_ARN, &format!(r#"{{"engine":"redshift","username":"awsuser","password":"p",{fields}}}"#))
    }

    #[test]
    fn only_the_clusters_and_namespaces_the_configuration_names_are_rotated() {
        let target = admins(&[
            ("REDSHIFT_CLUSTER_ARNS", "arn:aws:redshift:us-east-1:123456789012:cluster:prod-*"),
            ("REDSHIFT_NAMESPACE_ARNS", "arn:aws:redshift-serverless:us-east-1:123456789012:namespace/analytics"),
        ]);
        let cluster = target.resource(&secret(r#""dbClusterIdentifier":"prod-dw""#)).unwrap();
        assert_eq!(target.claim(&cluster).pinned_as(), "arn:aws:redshift:us-east-1:123456789012:cluster:prod-dw");
        assert_eq!(target.claim(&cluster).kind, "Redshift cluster");
        let namespace = target.resource(&secret(r#""namespaceName":"analytics""#)).unwrap();
        assert_eq!(target.claim(&namespace).kind, "Redshift Serverless namespace");

        for (fields, expected) in [
            (r#""dbClusterIdentifier":"test-dw""#, "not in REDSHIFT_CLUSTER_ARNS"),
            (r#""namespaceName":"analytics2""#, "not in REDSHIFT_NAMESPACE_ARNS"),
        ] {
            let error = target.resource(&secret(fields)).unwrap_err();
            assert_eq!(error.error_type(), "ConfusedDeputy", "{error}");
            assert!(error.to_string().contains(expected), "{error}");
        }
        // Another account's cluster of the same name is another resource.
        let other = Secret::parse(
            "arn:aws:secretsmanager:us-east-1:999999999999:secret:admin",
            r#"{"username":"awsuser","dbClusterIdentifier":"prod-dw"}"#,
        );
        assert_eq!(target.resource(&other).unwrap_err().error_type(), "ConfusedDeputy");
    }

    #[test]
    fn a_function_for_clusters_only_refuses_every_namespace() {
        let target = admins(&[("REDSHIFT_CLUSTER_ARNS", "arn:aws:redshift:*")]);
        assert!(target.resource(&secret(r#""dbClusterIdentifier":"any""#)).is_ok());
        let error = target.resource(&secret(r#""namespaceName":"analytics""#)).unwrap_err();
        assert!(error.to_string().contains("not in REDSHIFT_NAMESPACE_ARNS"), "{error}");
    }

    #[test]
    fn logins_go_where_the_api_says_as_the_admin_it_names_to_the_secrets_database() {
        let at = AdminEndpoint::new("dw.abc.us-east-1.redshift.amazonaws.com", 5439, "awsuser");
        let secret =
            Secret::parse(SECRET_ARN, r#"{"host":"attacker.example","port":1,"username":"AWSUSER","dbname":"sales"}"#);
        let fields = RedshiftAdmin::connection(&at, &secret, "pw").unwrap();
        assert_eq!((fields.host.as_str(), fields.port), ("dw.abc.us-east-1.redshift.amazonaws.com", 5439));
        assert_eq!((fields.username.as_str(), fields.dbname.as_deref()), ("awsuser", Some("sales")));
        let dev = RedshiftAdmin::connection(&at, &Secret::parse(SECRET_ARN, "{}"), "pw").unwrap();
        assert_eq!(dev.dbname.as_deref(), Some("dev"));
        assert_eq!(password_of(&Secret::parse(SECRET_ARN, r#"{"password":""}"#)), None);
    }

    #[test]
    fn a_tagged_policy_redshift_refuses_is_named() {
        let target = admins(&[("REDSHIFT_CLUSTER_ARNS", "arn:aws:redshift:*")]);
        let short = PasswordPolicy { length: 70, ..Default::default() };
        let reason = target.refuse_policy(&short).unwrap();
        assert!(reason.starts_with("PASSWORD_LENGTH is 70, but Redshift takes passwords of 8 to 64"), "{reason}");
    }
}
