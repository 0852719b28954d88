//! A DocumentDB cluster through the RDS API: what a master secret names, `DescribeDBClusters` to see whether the
//! cluster is ready and where to log in, `ModifyDBCluster` to change its `MasterUserPassword`.

use aws_sdk_rds::Client;
use aws_sdk_rds::config::http::HttpResponse;
use aws_sdk_rds::config::{Builder as ClientConfig, Region};
use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rds::types::DbCluster;
use rotation_core::{AwsFailure, Readiness, RotationError, Secret, TargetErrorKind};
use rotation_database::AdminEndpoint;

use crate::ENGINES;

/// The field naming the cluster: the one the Secrets Manager console stores for a DocumentDB secret.
pub(super) const CLUSTER_FIELD: &str = "dbClusterIdentifier";
/// The status of a cluster that takes a change.
pub(super) const AVAILABLE: &str = "available";
/// The engine RDS reports for DocumentDB clusters.
const DOCDB: &str = "docdb";

/// The ARN of cluster `identifier` (`arn:<partition>:rds:<region>:<account>:cluster:<identifier>`): DocumentDB's
/// clusters are RDS resources.
pub fn cluster_arn(partition: &str, region: &str, account: &str, identifier: &str) -> String {
    format!("arn:{partition}:rds:{region}:{account}:cluster:{identifier}")
}

/// The cluster a master secret names, and the master's user name: never the password. Two secrets name the same
/// cluster only when all of it is the same, so a pending secret cannot move the rotation to another master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentDbCluster {
    arn: String,
    region: String,
    account: String,
    identifier: String,
    username: String,
}

impl DocumentDbCluster {
    /// Reads the secret: `engine` (`mongo` when present), `username`, `dbClusterIdentifier`; the Region and
    /// account are the secret's own, read from its ARN. `host` and `port` are never read: logins go where the API
    /// says the cluster is.
    pub(super) fn parse(secret: &Secret) -> Result<Self, RotationError> {
        if let Some(engine) = secret.optional_str("engine")?
            && !ENGINES.contains(&engine)
        {
            return Err(
                secret.invalid("engine", format!("is {engine:?}; this function rotates DocumentDB masters (mongo)"))
            );
        }
        let username = secret.require_str("username")?.to_owned();
        // RDS keeps identifiers in lower case and reads them without case: the ARN is written as it does.
        let identifier = secret
            .optional_str(CLUSTER_FIELD)?
            .ok_or_else(|| {
                secret.invalid(CLUSTER_FIELD, "is missing: name the DocumentDB cluster whose master this is")
            })?
            .to_ascii_lowercase();
        let valid = (1..=63).contains(&identifier.len())
            && identifier.starts_with(|c: char| c.is_ascii_lowercase())
            && identifier.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !identifier.ends_with('-')
            && !identifier.contains("--");
        if !valid {
            return Err(secret.invalid(
                CLUSTER_FIELD,
                "must be a cluster identifier: 1 to 63 letters, digits or single hyphens, starting with a letter",
            ));
        }
        let Some((partition, region, account)) = rotation_core::secret_home(secret.origin()) else {
            return Err(secret.invalid(
                CLUSTER_FIELD,
                "names no Region or account: the secret must be read by its ARN, whose Region and account are the cluster's",
            ));
        };
        Ok(Self {
            arn: cluster_arn(partition, region, account, &identifier),
            region: region.to_owned(),
            account: account.to_owned(),
            identifier,
            username,
        })
    }

    /// The ARN `DOCDB_CLUSTER_ARNS` allows and a `rotor:user` tag pins.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The cluster's identifier, in lower case.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// The master's user name, as the secret says it.
    pub fn username(&self) -> &str {
        &self.username
    }
}

/// A client of `config` in `region` (the secret's, whatever the function's own).
fn client(config: &ClientConfig, region: &str) -> Client {
    Client::from_conf(config.clone().region(Region::new(region.to_owned())).build())
}

/// An RDS API error of `operation` on the cluster, with the fix; the password is never in it (the service's
/// message does not repeat it).
fn api_error<E: ProvideErrorMetadata>(
    operation: &str,
    cluster: &DocumentDbCluster,
    error: &SdkError<E, HttpResponse>,
) -> RotationError {
    let failure = AwsFailure::of(error);
    let allow;
    let (kind, fix) = match failure.code().unwrap_or_default() {
        "AccessDenied" | "AccessDeniedException" => {
            allow = format!("allow the function's role rds:{operation} on it (DocumentDB's actions are rds: actions)");
            (TargetErrorKind::PermissionDenied, allow.as_str())
        }
        "DBClusterNotFoundFault" => {
            (TargetErrorKind::Rejected, "there is no such cluster; fix the secret's dbClusterIdentifier")
        }
        "InvalidDBClusterStateFault" => {
            (TargetErrorKind::Unreachable, "it is being changed; the service retries the step")
        }
        "InvalidParameterValue" | "InvalidParameterCombination" if operation == "ModifyDBCluster" => (
            TargetErrorKind::Rejected,
            "it refused the pending password: make the function's password policy (PASSWORD_LENGTH 8 to 100, EXCLUDE_CHARACTERS with /\"@) one DocumentDB takes",
        ),
        _ => (failure.target_kind(), ""),
    };
    let reason = failure.unanswered("RDS", "AWS_ENDPOINT_URL_RDS").unwrap_or_else(|| failure.answer_with(fix));
    RotationError::target(kind, cluster.arn(), format!("RDS {operation} failed: {reason}"))
}

/// The cluster as `DescribeDBClusters` describes it: ready when `available` with no master password still being
/// applied. Refused when it is not the secret's (another identifier, engine, account or Region, another master
/// user) or when DocumentDB manages its master password in Secrets Manager itself.
pub(super) async fn describe(
    config: &ClientConfig,
    cluster: &DocumentDbCluster,
) -> Result<Readiness<AdminEndpoint>, RotationError> {
    let sent =
        client(config, &cluster.region).describe_db_clusters().db_cluster_identifier(&cluster.identifier).send().await;
    match sent {
        Err(error) if AwsFailure::of(&error).code() == Some("DBClusterNotFoundFault") => {
            Ok(Readiness::Gone("there is no such cluster; create it, or fix the secret's dbClusterIdentifier".into()))
        }
        sent => {
            let out = sent.map_err(|error| api_error("DescribeDBClusters", cluster, &error))?;
            match out.db_clusters().first() {
                Some(described) => readiness(cluster, described),
                None => Ok(Readiness::Gone("RDS describes no such cluster".into())),
            }
        }
    }
}

/// What `described` says of the secret's cluster: the identity checks first, so a secret naming another master
/// fails at once rather than after a wait.
fn readiness(cluster: &DocumentDbCluster, described: &DbCluster) -> Result<Readiness<AdminEndpoint>, RotationError> {
    let refuse = |kind, why: String| Err(RotationError::target(kind, cluster.arn(), why));
    let identifier = described.db_cluster_identifier().unwrap_or_default();
    if !identifier.eq_ignore_ascii_case(cluster.identifier()) {
        return refuse(
            TargetErrorKind::ConfusedDeputy,
            format!("RDS describes the cluster {identifier:?}, not the secret's {CLUSTER_FIELD}"),
        );
    }
    if described.db_cluster_arn().is_some_and(|arn| arn != cluster.arn()) {
        return refuse(
            TargetErrorKind::ConfusedDeputy,
            "the function's role reaches a cluster of another account or Region than the secret's; rotate it with a function of its own account".into(),
        );
    }
    if described.engine().is_some_and(|engine| engine != DOCDB) {
        return refuse(
            TargetErrorKind::Rejected,
            format!(
                "the cluster's engine is {:?}, not DocumentDB's {DOCDB:?}; rotate it with its own engine's function",
                described.engine().unwrap_or_default()
            ),
        );
    }
    if described.master_user_secret().is_some() {
        return refuse(
            TargetErrorKind::Rejected,
            "DocumentDB manages this master password in Secrets Manager itself (ManageMasterUserPassword); rotate it there, or turn that off to rotate it with this function".into(),
        );
    }
    let Some(master) = described.master_username() else {
        return refuse(TargetErrorKind::Rejected, "RDS describes the cluster but names no MasterUsername".into());
    };
    if master != cluster.username() {
        return refuse(
            TargetErrorKind::ConfusedDeputy,
            format!("the cluster's master user is {master:?}, not the secret's username; fix the secret"),
        );
    }
    let status = described.status().unwrap_or("unknown");
    if status != AVAILABLE {
        return Ok(Readiness::Busy(status.to_owned()));
    }
    if described.pending_modified_values().and_then(|pending| pending.master_user_password()).is_some() {
        return Ok(Readiness::Busy("applying a new master password".to_owned()));
    }
    let port = described.port().and_then(|port| u16::try_from(port).ok()).filter(|port| *port > 0);
    match (described.endpoint(), port) {
        (Some(host), Some(port)) => Ok(Readiness::Ready(AdminEndpoint::new(host, port, master))),
        _ => refuse(TargetErrorKind::Rejected, "RDS names no endpoint and port for the cluster".into()),
    }
}

/// `ModifyDBCluster` with the new `MasterUserPassword`, applied immediately: DocumentDB shows it in
/// `PendingModifiedValues` until it is applied and keeps no other. Setting the same password again is harmless.
pub(super) async fn set_password(
    config: &ClientConfig,
    cluster: &DocumentDbCluster,
    password: &str,
) -> Result<(), RotationError> {
    client(config, &cluster.region)
        .modify_db_cluster()
        .db_cluster_identifier(&cluster.identifier)
        .master_user_password(password)
        .apply_immediately(true)
        .send()
        .await
        .map_err(|error| api_error("ModifyDBCluster", cluster, &error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use aws_sdk_rds::types::{ClusterPendingModifiedValues, MasterUserSecret};

    use super::*;

    const SECRET_ARN: &str = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:docdb-master-AbCdEf";

    fn secret(fields: &str) -> Secret {
        Secret::parse(SECRET_ARN, &format!(r#"{{"engine":"mongo","username":"master","password":"p",{fields}}}"#))
    }

    fn cluster() -> DocumentDbCluster {
        DocumentDbCluster::parse(&secret(r#""dbClusterIdentifier":"Orders""#)).unwrap()
    }

    fn described() -> aws_sdk_rds::types::builders::DbClusterBuilder {
        DbCluster::builder()
            .db_cluster_identifier("orders")
            .db_cluster_arn("arn:aws:rds:eu-west-1:123456789012:cluster:orders")
            .engine("docdb")
            .status("available")
            .master_username("master")
            .endpoint("orders.cluster-abc.eu-west-1.docdb.amazonaws.com")
            .port(27017)
    }

    #[test]
    fn a_cluster_is_named_by_its_identifier_in_the_secrets_region_and_account() {
        assert_eq!(cluster().arn(), "arn:aws:rds:eu-west-1:123456789012:cluster:orders");
        for (fields, expected) in [
            (r#""host":"h""#, "`dbClusterIdentifier` is missing"),
            (r#""dbClusterIdentifier":"a--b""#, "must be a cluster identifier"),
            (r#""dbClusterIdentifier":"1abc""#, "must be a cluster identifier"),
        ] {
            let error = DocumentDbCluster::parse(&secret(fields)).unwrap_err().to_string();
            assert!(error.contains(expected), "{fields}: {error}");
        }
        let nameless = Secret::parse("docdb-master", r#"{"username":"m","dbClusterIdentifier":"orders"}"#);
        assert!(DocumentDbCluster::parse(&nameless).unwrap_err().to_string().contains("names no Region or account"));
        let postgres = secret(r#""engine":"postgres","dbClusterIdentifier":"orders""#);
        assert!(DocumentDbCluster::parse(&postgres).is_err());
    }

    #[test]
    fn an_available_cluster_is_logged_in_to_where_rds_says_as_its_master() {
        let Readiness::Ready(at) = readiness(&cluster(), &described().build()).unwrap() else { panic!("not ready") };
        assert_eq!(
            (at.host(), at.port(), at.master()),
            ("orders.cluster-abc.eu-west-1.docdb.amazonaws.com", 27017, "master")
        );
        let modifying = described().status("modifying").build();
        assert_eq!(readiness(&cluster(), &modifying).unwrap(), Readiness::Busy("modifying".into()));
        let pending = ClusterPendingModifiedValues::builder().master_user_password("****").build();
        let applying = described().pending_modified_values(pending).build();
        assert_eq!(readiness(&cluster(), &applying).unwrap(), Readiness::Busy("applying a new master password".into()));
    }

    #[test]
    fn a_cluster_of_another_master_account_engine_or_manager_is_refused() {
        for (described, kind, expected) in [
            (described().master_username("other").build(), "ConfusedDeputy", "master user is \"other\""),
            (
                described().db_cluster_identifier("elsewhere").build(),
                "ConfusedDeputy",
                "describes the cluster \"elsewhere\"",
            ),
            (
                described().db_cluster_arn("arn:aws:rds:eu-west-1:999999999999:cluster:orders").build(),
                "ConfusedDeputy",
                "another account or Region",
            ),
            (described().engine("aurora-postgresql").build(), "TargetRejected", "not DocumentDB's"),
            (
                described().master_user_secret(MasterUserSecret::builder().secret_arn("arn:x").build()).build(),
                "TargetRejected",
                "ManageMasterUserPassword",
            ),
            (described().set_endpoint(None).build(), "TargetRejected", "names no endpoint"),
        ] {
            let error = readiness(&cluster(), &described).unwrap_err();
            assert_eq!(error.error_type(), kind, "{error}");
            assert!(error.to_string().contains(expected), "{error}");
        }
    }
}
