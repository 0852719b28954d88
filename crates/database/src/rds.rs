//! RDS endpoints for admin secrets that RDS manages (they hold only a username and a password).

use std::sync::{Arc, OnceLock};

use aws_sdk_rds::config::http::HttpResponse;
use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};

use rotation_core::Description;
use rotation_core::{AwsFailure, RotationError, TargetErrorKind};

/// The tag RDS puts on a secret it manages for a DB instance.
pub const INSTANCE_TAG: &str = "aws:rds:primaryDBInstanceArn";
/// The tag RDS puts on a secret it manages for a DB cluster.
pub const CLUSTER_TAG: &str = "aws:rds:primaryDBClusterArn";

/// Where the database of a managed admin secret listens, as its service describes it (RDS, or the engine's own
/// through [`Engine::managed_admin_endpoint`](crate::Engine::managed_admin_endpoint)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdsEndpoint {
    /// The writer endpoint's address.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The engine the service reports.
    pub engine: Option<String>,
}

/// A thin client of the two RDS calls rotation needs, built on first use: most functions never meet an
/// RDS-managed admin secret, and pay nothing for it.
#[derive(Debug, Clone)]
pub struct Rds {
    sdk_config: aws_config::SdkConfig,
    client: Arc<OnceLock<aws_sdk_rds::Client>>,
}

impl Rds {
    /// A client of the function's shared AWS configuration (`AWS_ENDPOINT_URL_RDS` included: the same retries,
    /// time-outs, connector and credentials as the Secrets Manager client).
    pub fn new(sdk_config: &aws_config::SdkConfig) -> Self {
        Self { sdk_config: sdk_config.clone(), client: Arc::default() }
    }

    fn client(&self) -> &aws_sdk_rds::Client {
        self.client.get_or_init(|| aws_sdk_rds::Client::new(&self.sdk_config))
    }

    /// The endpoint of the database a secret managed by RDS belongs to, from its RDS tags (as AWS's functions
    /// do), or `None` when the secret has no such tag.
    pub async fn endpoint_of(&self, secret: &Description) -> Result<Option<RdsEndpoint>, RotationError> {
        let tag = |key: &str| secret.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        if let Some(cluster) = tag(CLUSTER_TAG) {
            return self.cluster(resource_id(cluster)).await.map(Some);
        }
        if let Some(instance) = tag(INSTANCE_TAG) {
            return self.instance(resource_id(instance)).await.map(Some);
        }
        Ok(None)
    }

    /// `DescribeDBInstances` for one instance.
    pub async fn instance(&self, id: &str) -> Result<RdsEndpoint, RotationError> {
        let out = self
            .client()
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(|e| rds_error("DescribeDBInstances", id, &e))?;
        let instance = out.db_instances().first().ok_or_else(|| not_found(id))?;
        let endpoint = instance.endpoint().ok_or_else(|| not_found(id))?;
        Ok(RdsEndpoint {
            host: endpoint.address().ok_or_else(|| not_found(id))?.to_owned(),
            port: endpoint.port().and_then(|p| u16::try_from(p).ok()).ok_or_else(|| not_found(id))?,
            engine: instance.engine().map(str::to_owned),
        })
    }

    /// `DescribeDBClusters` for one cluster: its writer endpoint.
    pub async fn cluster(&self, id: &str) -> Result<RdsEndpoint, RotationError> {
        let out = self
            .client()
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
            .map_err(|e| rds_error("DescribeDBClusters", id, &e))?;
        let cluster = out.db_clusters().first().ok_or_else(|| not_found(id))?;
        Ok(RdsEndpoint {
            host: cluster.endpoint().ok_or_else(|| not_found(id))?.to_owned(),
            port: cluster.port().and_then(|p| u16::try_from(p).ok()).ok_or_else(|| not_found(id))?,
            engine: cluster.engine().map(str::to_owned),
        })
    }
}

/// The identifier at the end of an RDS ARN (`arn:aws:rds:region:account:db:name`), or the input itself.
pub fn resource_id(arn_or_id: &str) -> &str {
    if arn_or_id.starts_with("arn:") { arn_or_id.rsplit(':').next().unwrap_or(arn_or_id) } else { arn_or_id }
}

fn not_found(id: &str) -> RotationError {
    RotationError::target(
        TargetErrorKind::Rejected,
        id,
        "RDS does not describe an available endpoint for it; check the secret's RDS tags",
    )
}

/// An RDS API error, named by its operation, with the fix.
fn rds_error<E: ProvideErrorMetadata>(operation: &str, id: &str, error: &SdkError<E, HttpResponse>) -> RotationError {
    let failure = AwsFailure::of(error);
    let fix = match failure.code().unwrap_or_default() {
        "AccessDenied" | "AccessDeniedException" => {
            "allow the function's role rds:DescribeDBInstances and rds:DescribeDBClusters"
        }
        "DBInstanceNotFound" | "DBInstanceNotFoundFault" | "DBClusterNotFoundFault" => {
            "the database named by the admin secret's RDS tag does not exist"
        }
        _ => "",
    };
    let reason = failure.unanswered("RDS", "AWS_ENDPOINT_URL_RDS").unwrap_or_else(|| failure.answer_with(fix));
    RotationError::target(failure.target_kind(), id, format!("RDS {operation} failed: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_arns() {
        assert_eq!(resource_id("arn:aws:rds:us-east-1:123456789012:db:orders"), "orders");
        assert_eq!(resource_id("arn:aws:rds:us-east-1:123456789012:cluster:orders-cluster"), "orders-cluster");
        assert_eq!(resource_id("orders"), "orders");
    }
}
