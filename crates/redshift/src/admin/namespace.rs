//! A Redshift Serverless namespace's admin through the Redshift Serverless API: `GetNamespace` says whether it is
//! ready and who its admin is, `ListWorkgroups` finds the workgroup it is logged in to at, `UpdateNamespace`
//! changes its `adminUserPassword`.

use aws_sdk_redshiftserverless::Client;
use aws_sdk_redshiftserverless::config::{Builder as ClientConfig, Region};
use aws_sdk_redshiftserverless::types::{Namespace, NamespaceStatus, Workgroup, WorkgroupStatus};
use rotation_core::{AwsFailure, Readiness, RotationError, TargetErrorKind};

use super::error::{Api, api_error};
use super::managed::TagArn;
use super::resource::{AdminEndpoint, Described, RedshiftAdminResource};

/// What a secret naming a namespace Redshift Serverless does not have is told.
const NO_SUCH_NAMESPACE: &str =
    "Redshift Serverless has no such namespace; create it, or fix the secret's namespaceName";

/// What a namespace no workgroup serves is told.
const NO_WORKGROUP: &str =
    "no Redshift Serverless workgroup serves the namespace, so its admin cannot log in; create one";
/// What a workgroup with no endpoint is told.
const NO_ENDPOINT: &str = "Redshift Serverless names no endpoint for the namespace's workgroup";

/// The most `ListNamespaces` or `ListWorkgroups` pages read while looking for a namespace or its workgroup (an account holds far fewer).
const MAX_PAGES: usize = 20;

/// A client of `config` in `region` (the secret's, whatever the function's own).
fn client(config: &ClientConfig, region: &str) -> Client {
    Client::from_conf(config.clone().region(Region::new(region.to_owned())).build())
}

/// The namespace as `GetNamespace` describes it, at its workgroup's endpoint (`ListWorkgroups`): ready when both
/// are `AVAILABLE`. Refused when it is not the secret's (another name, account or Region, another
/// `adminUsername`), when Redshift Serverless manages its admin password itself, or when no workgroup serves it.
pub(super) async fn describe(
    config: &ClientConfig,
    admin: &RedshiftAdminResource,
) -> Result<Readiness<AdminEndpoint>, RotationError> {
    let client = client(config, admin.region());
    let sent = client.get_namespace().namespace_name(admin.name()).send().await;
    let out = match sent {
        Err(error) if AwsFailure::of(&error).code() == Some("ResourceNotFoundException") => {
            return Ok(Readiness::Gone(NO_SUCH_NAMESPACE.into()));
        }
        sent => sent.map_err(|error| api_error(Api::Serverless, "GetNamespace", admin.arn(), &error))?,
    };
    let Some(namespace) = out.namespace() else { return Ok(Readiness::Gone(NO_SUCH_NAMESPACE.into())) };
    let master = match namespace_readiness(admin, namespace)? {
        Readiness::Ready(master) => master,
        Readiness::Busy(status) => return Ok(Readiness::Busy(status)),
        Readiness::Gone(fix) => return Ok(Readiness::Gone(fix)),
    };
    let workgroup = workgroup_of(&client, admin.name(), admin.arn()).await?;
    workgroup_readiness(admin, workgroup.as_ref(), master)
}

/// What `namespace` says of the secret's admin: its `adminUsername` when it is `AVAILABLE`. The identity checks
/// come first, so a secret naming another admin fails at once rather than after a wait.
fn namespace_readiness(
    admin: &RedshiftAdminResource,
    namespace: &Namespace,
) -> Result<Readiness<String>, RotationError> {
    let described = Described {
        name: namespace.namespace_name().unwrap_or_default(),
        arn: namespace.namespace_arn(),
        managed_by_redshift: namespace.admin_password_secret_arn().is_some(),
        admin: namespace.admin_username(),
    };
    let master = admin.admin_of(&described)?;
    match namespace.status() {
        Some(NamespaceStatus::Available) => Ok(Readiness::Ready(master.to_owned())),
        status => Ok(Readiness::Busy(status.map_or("unknown", NamespaceStatus::as_str).to_owned())),
    }
}

/// The first of the items a paged `List*` call returns that `wanted` accepts, reading at most [`MAX_PAGES`] pages;
/// `page` sends the call for a page's token and answers its items and the next token.
async fn first_listed<T, F, Fut>(mut page: F, wanted: impl Fn(&T) -> bool) -> Result<Option<T>, RotationError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), RotationError>>,
{
    let mut next_token = None;
    for _ in 0..MAX_PAGES {
        let (items, next) = page(next_token).await?;
        if let Some(found) = items.into_iter().find(|item| wanted(item)) {
            return Ok(Some(found));
        }
        next_token = next.filter(|token| !token.is_empty());
        if next_token.is_none() {
            break;
        }
    }
    Ok(None)
}

/// The workgroup serving the namespace named `namespace` (Redshift Serverless gives a namespace one), from
/// `ListWorkgroups`'s pages; `resource` names the namespace in errors.
async fn workgroup_of(client: &Client, namespace: &str, resource: &str) -> Result<Option<Workgroup>, RotationError> {
    let page = |token| async move {
        let out = client
            .list_workgroups()
            .set_next_token(token)
            .send()
            .await
            .map_err(|error| api_error(Api::Serverless, "ListWorkgroups", resource, &error))?;
        Ok((out.workgroups, out.next_token))
    };
    let serves =
        |workgroup: &Workgroup| workgroup.namespace_name().is_some_and(|name| name.eq_ignore_ascii_case(namespace));
    first_listed(page, serves).await
}

/// The address and port Redshift Serverless names for `workgroup`'s endpoint, when it names both.
fn endpoint(workgroup: &Workgroup) -> Option<(String, u16)> {
    let endpoint = workgroup.endpoint()?;
    let port = endpoint.port().or(workgroup.port())?;
    Some((endpoint.address()?.to_owned(), u16::try_from(port).ok().filter(|port| *port > 0)?))
}

/// Where the namespace named by a Redshift-managed admin secret's tag is (`arn`: the namespace's own ARN, by its
/// id): the namespace whose `namespaceArn` it is (`ListNamespaces`), at its workgroup's endpoint (`ListWorkgroups`),
/// whatever their state, as AWS's function finds it.
pub(super) async fn managed_endpoint(config: &ClientConfig, arn: &TagArn<'_>) -> Result<(String, u16), RotationError> {
    let refuse = |why: &str| RotationError::target(TargetErrorKind::Rejected, arn.arn, why);
    let client = client(config, arn.region);
    let page = |token| {
        let client = &client;
        async move {
            let out = client
                .list_namespaces()
                .set_next_token(token)
                .send()
                .await
                .map_err(|error| api_error(Api::Serverless, "ListNamespaces", arn.arn, &error))?;
            Ok((out.namespaces, out.next_token))
        }
    };
    let named = |namespace: &Namespace| namespace.namespace_arn() == Some(arn.arn);
    let namespace = first_listed(page, named).await?.ok_or_else(|| {
        refuse("Redshift Serverless has no such namespace; fix the admin secret's aws:redshift-serverless:namespacearn tag")
    })?;
    let name = namespace.namespace_name().ok_or_else(|| refuse("Redshift Serverless names no namespaceName for it"))?;
    let workgroup = workgroup_of(&client, name, arn.arn).await?.ok_or_else(|| refuse(NO_WORKGROUP))?;
    endpoint(&workgroup).ok_or_else(|| refuse(NO_ENDPOINT))
}

/// Where the namespace's `master` logs in: its workgroup's endpoint, once the workgroup is `AVAILABLE`.
fn workgroup_readiness(
    admin: &RedshiftAdminResource,
    workgroup: Option<&Workgroup>,
    master: String,
) -> Result<Readiness<AdminEndpoint>, RotationError> {
    let refuse = |why: &str| Err(RotationError::target(TargetErrorKind::Rejected, admin.arn(), why));
    let Some(workgroup) = workgroup else {
        return refuse(NO_WORKGROUP);
    };
    match workgroup.status() {
        Some(WorkgroupStatus::Available) => {}
        status => {
            let status = status.map_or("unknown", WorkgroupStatus::as_str);
            return Ok(Readiness::Busy(format!("its workgroup {status}")));
        }
    }
    match endpoint(workgroup) {
        Some((host, port)) => Ok(Readiness::Ready(AdminEndpoint::new(host, port, master))),
        None => refuse(NO_ENDPOINT),
    }
}

/// `UpdateNamespace` with the admin's user name (the API takes the password only beside it) and the new
/// `adminUserPassword`: the namespace is `MODIFYING` until it applies it, and keeps no other. Setting the same
/// password again is harmless.
pub(super) async fn set_password(
    config: &ClientConfig,
    admin: &RedshiftAdminResource,
    master: &str,
    password: &str,
) -> Result<(), RotationError> {
    client(config, admin.region())
        .update_namespace()
        .namespace_name(admin.name())
        .admin_username(master)
        .admin_user_password(password)
        .send()
        .await
        .map_err(|error| api_error(Api::Serverless, "UpdateNamespace", admin.arn(), &error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use aws_sdk_redshiftserverless::types::Endpoint;
    use aws_sdk_redshiftserverless::types::builders::{NamespaceBuilder, WorkgroupBuilder};
    use rotation_core::Secret;

    use super::*;

    const ARN: &str = "arn:aws:redshift-serverless:us-east-1:123456789012:namespace/analytics";

    fn admin() -> RedshiftAdminResource {
        let secret = Secret::parse(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:admin-AbCdEf",
            r#"{"username":"admin","password":"p","namespaceName":"analytics"}"#,
        );
        RedshiftAdminResource::parse(&secret).unwrap()
    }

    fn namespace() -> NamespaceBuilder {
        Namespace::builder()
            .namespace_name("analytics")
            .namespace_arn("arn:aws:redshift-serverless:us-east-1:123456789012:namespace/0f3c-uuid")
            .admin_username("admin")
            .status(NamespaceStatus::Available)
    }

    fn workgroup() -> WorkgroupBuilder {
        Workgroup::builder()
            .workgroup_name("analytics-wg")
            .namespace_name("analytics")
            .status(WorkgroupStatus::Available)
            .endpoint(
                Endpoint::builder()
                    .address("analytics-wg.1.us-east-1.redshift-serverless.amazonaws.com")
                    .port(5439)
                    .build(),
            )
    }

    #[test]
    fn an_available_namespace_is_logged_in_to_at_its_workgroup_as_its_admin() {
        assert_eq!(namespace_readiness(&admin(), &namespace().build()).unwrap(), Readiness::Ready("admin".into()));
        let Readiness::Ready(at) = workgroup_readiness(&admin(), Some(&workgroup().build()), "admin".into()).unwrap()
        else {
            panic!("not ready")
        };
        assert_eq!(at, AdminEndpoint::new("analytics-wg.1.us-east-1.redshift-serverless.amazonaws.com", 5439, "admin"));
    }

    #[test]
    fn a_namespace_or_workgroup_applying_a_change_is_busy() {
        let modifying = namespace().status(NamespaceStatus::Modifying).build();
        assert_eq!(namespace_readiness(&admin(), &modifying).unwrap(), Readiness::Busy("MODIFYING".into()));
        let workgroup = workgroup().status(WorkgroupStatus::Modifying).build();
        let busy = workgroup_readiness(&admin(), Some(&workgroup), "admin".into()).unwrap();
        assert_eq!(busy, Readiness::Busy("its workgroup MODIFYING".into()));
    }

    #[test]
    fn a_namespace_of_another_admin_account_or_manager_or_without_a_workgroup_is_refused() {
        for (namespace, kind, expected) in [
            (namespace().admin_username("root").build(), "ConfusedDeputy", "the namespace's admin is \"root\""),
            (namespace().namespace_name("other").build(), "ConfusedDeputy", "describes the namespace \"other\""),
            (
                namespace().namespace_arn("arn:aws:redshift-serverless:eu-west-1:123456789012:namespace/x").build(),
                "ConfusedDeputy",
                "another account or Region",
            ),
            (
                namespace().admin_password_secret_arn("arn:aws:secretsmanager:x").build(),
                "TargetRejected",
                "manageAdminPassword",
            ),
        ] {
            let error = namespace_readiness(&admin(), &namespace).unwrap_err();
            assert_eq!(error.error_type(), kind, "{error}");
            assert!(error.to_string().contains(expected) && error.to_string().contains(ARN), "{error}");
        }
        let error = workgroup_readiness(&admin(), None, "admin".into()).unwrap_err().to_string();
        assert!(error.contains("no Redshift Serverless workgroup serves the namespace"), "{error}");
        let error = workgroup_readiness(&admin(), Some(&workgroup().set_endpoint(None).build()), "admin".into());
        assert!(error.unwrap_err().to_string().contains("names no endpoint"));
    }
}
