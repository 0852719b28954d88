//! A provisioned cluster's admin through the Redshift API: `DescribeClusters` says whether it is ready and where
//! it is logged in to, `ModifyCluster` changes its `MasterUserPassword`.

use aws_sdk_redshift::Client;
use aws_sdk_redshift::config::{Builder as ClientConfig, Region};
use aws_sdk_redshift::types::Cluster;
use rotation_core::{AwsFailure, Readiness, RotationError, TargetErrorKind};

use super::error::{Api, api_error};
use super::managed::TagArn;
use super::resource::{AdminEndpoint, Described, RedshiftAdminResource};

/// The status of a cluster that takes a change.
pub(super) const AVAILABLE: &str = "available";

/// What a secret naming a cluster Redshift does not have is told.
const NO_SUCH_CLUSTER: &str = "Redshift has no such cluster; create it, or fix the secret's dbClusterIdentifier";

/// A client of `config` in `region` (the secret's, whatever the function's own).
fn client(config: &ClientConfig, region: &str) -> Client {
    Client::from_conf(config.clone().region(Region::new(region.to_owned())).build())
}

/// The cluster as `DescribeClusters` describes it: ready when `available` with no admin password still being
/// applied. Refused when it is not the secret's (another identifier, account or Region, another `MasterUsername`)
/// or when Redshift manages its admin password itself.
pub(super) async fn describe(
    config: &ClientConfig,
    admin: &RedshiftAdminResource,
) -> Result<Readiness<AdminEndpoint>, RotationError> {
    match find(config, admin.region(), admin.name(), admin.arn()).await? {
        Some(cluster) => readiness(admin, &cluster),
        None => Ok(Readiness::Gone(NO_SUCH_CLUSTER.into())),
    }
}

/// `DescribeClusters` for the cluster `id` in `region`; `None` when Redshift has none. `resource` names the
/// cluster in errors (the ARN the caller was given).
async fn find(config: &ClientConfig, region: &str, id: &str, resource: &str) -> Result<Option<Cluster>, RotationError> {
    match client(config, region).describe_clusters().cluster_identifier(id).send().await {
        Err(error) if AwsFailure::of(&error).code() == Some("ClusterNotFound") => Ok(None),
        sent => {
            let out = sent.map_err(|error| api_error(Api::Redshift, "DescribeClusters", resource, &error))?;
            Ok(out.clusters().first().cloned())
        }
    }
}

/// The address and port `DescribeClusters` names for `cluster`, when it names both.
fn endpoint(cluster: &Cluster) -> Option<(String, u16)> {
    let endpoint = cluster.endpoint()?;
    Some((endpoint.address()?.to_owned(), u16::try_from(endpoint.port()?).ok().filter(|port| *port > 0)?))
}

/// Where the cluster named by a Redshift-managed admin secret's tag is (`arn` in `region` of `account`, cluster
/// `id`), as `DescribeClusters` says, whatever its state: the endpoint a client reaches is the same while it is
/// being changed. Refused when the function's role reaches a cluster of another account or Region than the tag's.
pub(super) async fn managed_endpoint(
    config: &ClientConfig,
    arn: &TagArn<'_>,
    id: &str,
) -> Result<(String, u16), RotationError> {
    let refuse = |kind, why: &str| RotationError::target(kind, arn.arn, why);
    let cluster = find(config, arn.region, id, arn.arn).await?.ok_or_else(|| {
        refuse(
            TargetErrorKind::Rejected,
            "Redshift has no such cluster; fix the admin secret's aws:redshift:primaryclusterarn tag",
        )
    })?;
    if cluster.cluster_namespace_arn().is_some_and(|namespace| !arn.is_home_of(namespace)) {
        return Err(refuse(
            TargetErrorKind::ConfusedDeputy,
            "the function's role reaches a cluster of another account or Region than the admin secret's tag names; rotate it with a function of its own account",
        ));
    }
    endpoint(&cluster).ok_or_else(|| refuse(TargetErrorKind::Rejected, "Redshift names no endpoint for the cluster"))
}

/// What `cluster` says of the secret's admin: the identity checks first, so a secret naming another admin fails
/// at once rather than after a wait.
fn readiness(admin: &RedshiftAdminResource, cluster: &Cluster) -> Result<Readiness<AdminEndpoint>, RotationError> {
    let described = Described {
        name: cluster.cluster_identifier().unwrap_or_default(),
        arn: cluster.cluster_namespace_arn(),
        managed_by_redshift: cluster.master_password_secret_arn().is_some(),
        admin: cluster.master_username(),
    };
    let master = admin.admin_of(&described)?;
    let status = cluster.cluster_status().unwrap_or("unknown");
    if status != AVAILABLE {
        return Ok(Readiness::Busy(status.to_owned()));
    }
    if cluster.pending_modified_values().and_then(|pending| pending.master_user_password()).is_some() {
        return Ok(Readiness::Busy("applying a new admin password".to_owned()));
    }
    match endpoint(cluster) {
        Some((host, port)) => Ok(Readiness::Ready(AdminEndpoint::new(host, port, master))),
        None => Err(RotationError::target(
            TargetErrorKind::Rejected,
            admin.arn(),
            "Redshift names no endpoint for the cluster",
        )),
    }
}

/// `ModifyCluster` with the new `MasterUserPassword`: Redshift applies it as soon as it can (the cluster shows it in
/// `PendingModifiedValues` meanwhile) and keeps no other. Setting the same password again is harmless.
pub(super) async fn set_password(
    config: &ClientConfig,
    admin: &RedshiftAdminResource,
    password: &str,
) -> Result<(), RotationError> {
    client(config, admin.region())
        .modify_cluster()
        .cluster_identifier(admin.name())
        .master_user_password(password)
        .send()
        .await
        .map_err(|error| api_error(Api::Redshift, "ModifyCluster", admin.arn(), &error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use aws_sdk_redshift::types::{Endpoint, PendingModifiedValues};
    use rotation_core::Secret;

    use super::*;

    fn admin() -> RedshiftAdminResource {
        let secret = Secret::parse(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:admin-AbCdEf",
            r#"{"username":"awsuser","password":"p","dbClusterIdentifier":"warehouse"}"#,
        );
        RedshiftAdminResource::parse(&secret).unwrap()
    }

    fn cluster() -> aws_sdk_redshift::types::builders::ClusterBuilder {
        Cluster::builder()
            .cluster_identifier("warehouse")
            .cluster_status("available")
            .master_username("awsuser")
            .cluster_namespace_arn("arn:aws:redshift:us-east-1:123456789012:namespace:0f3c")
            .endpoint(Endpoint::builder().address("warehouse.abc.us-east-1.redshift.amazonaws.com").port(5439).build())
    }

    #[test]
    fn an_available_cluster_is_logged_in_to_where_redshift_says_as_its_master() {
        let Readiness::Ready(at) = readiness(&admin(), &cluster().build()).unwrap() else { panic!("not ready") };
        assert_eq!(at, AdminEndpoint::new("warehouse.abc.us-east-1.redshift.amazonaws.com", 5439, "awsuser"));
    }

    #[test]
    fn a_cluster_applying_a_change_or_a_password_is_busy() {
        let modifying = cluster().cluster_status("modifying").build();
        assert_eq!(readiness(&admin(), &modifying).unwrap(), Readiness::Busy("modifying".into()));
        let pending = PendingModifiedValues::builder().master_user_password("****").build();
        let applying = cluster().pending_modified_values(pending).build();
        assert_eq!(readiness(&admin(), &applying).unwrap(), Readiness::Busy("applying a new admin password".into()));
    }

    #[test]
    fn a_cluster_of_another_admin_account_or_manager_is_refused() {
        for (cluster, kind, expected) in [
            (cluster().master_username("other").build(), "ConfusedDeputy", "the cluster's admin is \"other\""),
            (
                cluster().cluster_identifier("elsewhere").build(),
                "ConfusedDeputy",
                "describes the cluster \"elsewhere\"",
            ),
            (
                cluster().cluster_namespace_arn("arn:aws:redshift:us-east-1:999999999999:namespace:0f3c").build(),
                "ConfusedDeputy",
                "another account or Region",
            ),
            (
                cluster().master_password_secret_arn("arn:aws:secretsmanager:x").build(),
                "TargetRejected",
                "ManageMasterPassword",
            ),
            (cluster().set_endpoint(None).build(), "TargetRejected", "names no endpoint"),
        ] {
            let error = readiness(&admin(), &cluster).unwrap_err();
            assert_eq!(error.error_type(), kind, "{error}");
            assert!(error.to_string().contains(expected), "{error}");
            assert!(error.to_string().contains("arn:aws:redshift:us-east-1:123456789012:cluster:warehouse"), "{error}");
        }
    }
}
