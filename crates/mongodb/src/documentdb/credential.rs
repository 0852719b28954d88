//! [`DocumentDbMaster`]: a DocumentDB cluster's master password, as a [`ManagedCredential`]: the RDS API describes
//! the cluster and changes the password, a SCRAM login at the endpoint the API names proves a password.

use rotation_core::{
    Change, Claim, ManagedCredential, Password, PasswordPolicy, Readiness, RotationError, Secret, TargetErrorKind,
};
use rotation_database::{AdminEndpoint, Engine, LoginFields, Purpose, password_of, proven_by_engine_login};

use super::cluster::{self, AVAILABLE, DocumentDbCluster};
use super::config::{DocumentDbAdminConfig, refuse_policy};
use crate::{DEFAULT_DBNAME, MongoEngine};

/// The master passwords of DocumentDB clusters, changed by the function's role through the RDS API
/// (`ModifyDBCluster`). DocumentDB keeps one master password: a change replaces it, so clients holding AWSCURRENT's
/// are refused from the moment DocumentDB applies it. Logins (the proofs, testSecret's probe) are made at the
/// endpoint the API names, as the master it names, to `admin`, in the TLS mode the secret's `ssl` field and the
/// function's floor allow.
///
/// What the role may change is bounded twice: by its IAM resources, and by `DOCDB_CLUSTER_ARNS`, so a secret naming
/// another cluster is refused before any call.
#[derive(Debug, Clone)]
pub struct DocumentDbMaster {
    rds: aws_sdk_rds::config::Builder,
    engine: MongoEngine,
    config: DocumentDbAdminConfig,
}

impl DocumentDbMaster {
    /// Passwords changed with `rds`, its Region replaced by each secret's, proven with `engine`.
    pub fn new(rds: aws_sdk_rds::config::Builder, engine: MongoEngine, config: DocumentDbAdminConfig) -> Self {
        Self { rds, engine, config }
    }

    /// The configuration.
    pub fn config(&self) -> &DocumentDbAdminConfig {
        &self.config
    }

    /// A login as the API's master with `password` where the API says the cluster is, to `admin` (where DocumentDB
    /// keeps every user).
    fn connection(at: &AdminEndpoint, password: &str) -> LoginFields {
        LoginFields {
            engine: None,
            host: at.host().to_owned(),
            port: at.port(),
            dbname: Some(DEFAULT_DBNAME.to_owned()),
            username: at.master().to_owned(),
            password: Password::new(password.to_owned()),
        }
    }
}

impl ManagedCredential for DocumentDbMaster {
    type Resource = DocumentDbCluster;
    type Ready = AdminEndpoint;

    const READY: &'static str = AVAILABLE;

    fn name(&self) -> &'static str {
        "documentdb-admin"
    }

    /// The cluster (`dbClusterIdentifier`) the secret names in its own Region and account, refused unless
    /// `DOCDB_CLUSTER_ARNS` allows it.
    fn resource(&self, secret: &Secret) -> Result<DocumentDbCluster, RotationError> {
        let cluster = DocumentDbCluster::parse(secret)?;
        if !self.config.clusters.allows(cluster.arn()) {
            return Err(RotationError::target(
                TargetErrorKind::ConfusedDeputy,
                cluster.arn(),
                "it is not in DOCDB_CLUSTER_ARNS; this function changes only the master passwords of the clusters its configuration names",
            ));
        }
        Ok(cluster)
    }

    /// A cluster is named by its ARN: an identifier alone would let the secret's writer move it to another Region.
    fn claim<'r>(&self, cluster: &'r DocumentDbCluster) -> Claim<'r> {
        Claim { kind: "DocumentDB cluster", name: cluster.arn(), at: None }
    }

    /// DocumentDB's rules for master passwords (8 to 100 characters, none of `/"@`).
    fn refuse_policy(&self, policy: &PasswordPolicy) -> Option<String> {
        refuse_policy(policy).map(|(variable, reason)| format!("{variable} {reason}"))
    }

    /// `DescribeDBClusters`.
    async fn describe(&self, cluster: &DocumentDbCluster) -> Result<Readiness<AdminEndpoint>, RotationError> {
        cluster::describe(&self.rds, cluster).await
    }

    /// A login (and a wrong password refused beside it) where the API says the cluster is, as the master it names,
    /// never at the secret's host: a proof that a password is the master's must reach the master.
    async fn proves(
        &self,
        _cluster: &DocumentDbCluster,
        at: &AdminEndpoint,
        secret: &Secret,
    ) -> Result<bool, RotationError> {
        let Some(password) = password_of(secret) else { return Ok(false) };
        let mode = self.config.managed.login.tls.for_secret(secret)?;
        proven_by_engine_login(&self.engine, &self.config.managed.login, &Self::connection(at, password), mode).await
    }

    /// `ModifyDBCluster` with the pending password, which replaces the one DocumentDB holds (`current` is not kept:
    /// DocumentDB holds one master password). Idempotent: a pending password that already logs in is not sent
    /// again (a retry after the change), and sending it again would be harmless.
    async fn modify(
        &self,
        cluster: &DocumentDbCluster,
        at: &AdminEndpoint,
        pending: &Secret,
        _current: Option<&Secret>,
    ) -> Result<Change, RotationError> {
        let password = pending.require_str("password")?;
        if self.proves(cluster, at, pending).await? {
            tracing::info!("the master takes the pending password already");
            return Ok(Change::Done);
        }
        cluster::set_password(&self.rds, cluster, password).await?;
        tracing::info!("DocumentDB is applying the master password");
        Ok(Change::Done)
    }

    /// A login where the API says the cluster is, as the master it names, and `TEST_QUERY` (default `{"ping": 1}`).
    async fn login(
        &self,
        _cluster: &DocumentDbCluster,
        at: &AdminEndpoint,
        secret: &Secret,
    ) -> Result<(), RotationError> {
        let connection = Self::connection(at, secret.require_str("password")?);
        let login = &self.config.managed.login;
        let mode = login.tls.for_secret(secret)?;
        let mut session = self.engine.login(login, &connection, mode, Purpose::Probe).await?;
        self.engine.probe(&mut session, &login.test_query).await
    }
}
