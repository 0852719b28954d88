//! Admin secrets Redshift manages itself (`ManageMasterPassword`, `manageAdminPassword`): they hold only a
//! username and a password, and name their cluster or namespace in a tag. [`ManagedAdmins`] finds where the
//! database is, as AWS's Redshift MultiUser function does: `DescribeClusters` for a provisioned cluster, the
//! namespace's workgroup for Redshift Serverless.

use rotation_core::{Description, RotationError, TargetErrorKind};
use rotation_database::RdsEndpoint;

use super::resource::is_home;
use super::{cluster, namespace};

/// The tag Redshift puts on the admin secret it manages for a provisioned cluster: the cluster's ARN.
const CLUSTER_TAG: &str = "aws:redshift:primaryclusterarn";
/// The tag Redshift Serverless puts on the admin secret it manages for a namespace: the namespace's ARN (by id).
const NAMESPACE_TAG: &str = "aws:redshift-serverless:namespacearn";

/// The engine a managed admin's endpoint is reported as.
const ENGINE: &str = "redshift";

/// The Redshift and Redshift Serverless clients' configuration, for finding a managed admin secret's database.
/// Clients are built only when such a secret is met, in the Region its tag names (whatever the function's own).
#[derive(Debug, Clone)]
pub(crate) struct ManagedAdmins {
    redshift: aws_sdk_redshift::config::Builder,
    serverless: aws_sdk_redshiftserverless::config::Builder,
}

impl ManagedAdmins {
    /// Lookups with `redshift` (clusters) and `serverless` (namespaces), their Region replaced by each tag's.
    pub(crate) fn new(
        redshift: aws_sdk_redshift::config::Builder,
        serverless: aws_sdk_redshiftserverless::config::Builder,
    ) -> Self {
        Self { redshift, serverless }
    }

    /// Where the database of an admin secret Redshift manages is, from its [`CLUSTER_TAG`] or [`NAMESPACE_TAG`];
    /// `None` when it has neither.
    pub(crate) async fn endpoint_of(&self, secret: &Description) -> Result<Option<RdsEndpoint>, RotationError> {
        let tag = |key: &str| secret.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let (host, port) = if let Some(value) = tag(CLUSTER_TAG) {
            let arn = TagArn::parse(CLUSTER_TAG, value, "redshift")?;
            let id = arn.resource.strip_prefix("cluster:").filter(|id| !id.is_empty());
            let id = id.ok_or_else(|| arn.invalid(CLUSTER_TAG, "arn:aws:redshift:<region>:<account>:cluster:<id>"))?;
            cluster::managed_endpoint(&self.redshift, &arn, id).await?
        } else if let Some(value) = tag(NAMESPACE_TAG) {
            let arn = TagArn::parse(NAMESPACE_TAG, value, "redshift-serverless")?;
            namespace::managed_endpoint(&self.serverless, &arn).await?
        } else {
            return Ok(None);
        };
        Ok(Some(RdsEndpoint { host, port, engine: Some(ENGINE.to_owned()) }))
    }
}

/// A Redshift or Redshift Serverless ARN a managed admin secret's tag holds:
/// `arn:<partition>:<service>:<region>:<account>:<resource>`.
#[derive(Debug, Clone, Copy)]
pub(super) struct TagArn<'a> {
    /// The whole ARN, as the tag holds it.
    pub(super) arn: &'a str,
    /// The Region its clients are asked in.
    pub(super) region: &'a str,
    account: &'a str,
    resource: &'a str,
}

impl<'a> TagArn<'a> {
    /// The ARN in the tag `key`, refused unless it is of `service`.
    fn parse(key: &str, arn: &'a str, service: &str) -> Result<Self, RotationError> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts[..] {
            ["arn", _, tag_service, region, account, resource]
                if tag_service == service && ![region, account, resource].contains(&"") =>
            {
                Ok(Self { arn, region, account, resource })
            }
            _ => Err(RotationError::target(
                TargetErrorKind::Rejected,
                arn,
                format!("the admin secret's {key} tag is not a {service} ARN"),
            )),
        }
    }

    /// The refusal of a tag whose resource is not written as `shape`.
    fn invalid(&self, key: &str, shape: &str) -> RotationError {
        RotationError::target(
            TargetErrorKind::Rejected,
            self.arn,
            format!("the admin secret's {key} tag is not written as {shape}"),
        )
    }

    /// Whether an ARN the API returned is of the tag's Region and account: the API answers for the function's
    /// account, which a tag naming another must not reach.
    pub(super) fn is_home_of(&self, api_arn: &str) -> bool {
        is_home(api_arn, self.region, self.account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_arn_names_its_service_region_account_and_resource() {
        let arn = TagArn::parse(CLUSTER_TAG, "arn:aws:redshift:eu-west-1:123456789012:cluster:warehouse", "redshift")
            .unwrap();
        assert_eq!((arn.region, arn.account, arn.resource), ("eu-west-1", "123456789012", "cluster:warehouse"));
        assert!(arn.is_home_of("arn:aws:redshift:eu-west-1:123456789012:namespace:0f3c"));
        assert!(!arn.is_home_of("arn:aws:redshift:eu-west-1:210987654321:namespace:0f3c"));
        let namespace = "arn:aws:redshift-serverless:us-east-1:1:namespace/0f3c-uuid";
        assert_eq!(
            TagArn::parse(NAMESPACE_TAG, namespace, "redshift-serverless").unwrap().resource,
            "namespace/0f3c-uuid"
        );
        for bad in ["warehouse", "arn:aws:rds:eu-west-1:1:cluster:c", "arn:aws:redshift::1:cluster:c"] {
            let error = TagArn::parse(CLUSTER_TAG, bad, "redshift").unwrap_err().to_string();
            assert!(error.contains("is not a redshift ARN"), "{bad}: {error}");
        }
    }

    #[tokio::test]
    async fn a_secret_without_a_redshift_tag_is_left_to_rds() {
        let admins = ManagedAdmins::new(
            aws_sdk_redshift::config::Builder::new(),
            aws_sdk_redshiftserverless::config::Builder::new(),
        );
        let secret = Description {
            arn: "arn:aws:secretsmanager:us-east-1:1:secret:rds!db-AbCdEf".into(),
            rotation_enabled: None,
            versions: Default::default(),
            tags: vec![("aws:rds:primaryDBInstanceArn".into(), "arn:aws:rds:us-east-1:1:db:orders".into())],
        };
        assert_eq!(admins.endpoint_of(&secret).await.unwrap(), None);
    }
}
