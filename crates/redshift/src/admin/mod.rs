//! Redshift admins (`rotate-redshift-admin`): the admin (master user) password of a provisioned cluster or a
//! Redshift Serverless namespace, rotated through the API as a [`ManagedTarget`](rotation_core::ManagedTarget) over
//! [`RedshiftAdmin`], with the secret AWS documents for a Redshift admin that Redshift does not manage itself.
//!
//! The secret is `{"engine": "redshift", "host": ..., "port": 5439, "username": <admin>, "password": ..., "dbname":
//! "dev", "dbClusterIdentifier": <cluster>}` for a provisioned cluster (the field the Secrets Manager console
//! stores), or with `"namespaceName": <namespace>` instead for Redshift Serverless; unknown fields are kept. The
//! cluster or namespace is the secret's own Region's and account's (read from the secret's ARN), and
//! `REDSHIFT_CLUSTER_ARNS` or `REDSHIFT_NAMESPACE_ARNS` must allow it. `host` and `port` are the clients': rotor
//! logs in where the API says (`DescribeClusters`'s `Endpoint`; the namespace's workgroup's endpoint from
//! `ListWorkgroups`), as the admin the API names, who must be the secret's `username`.
//!
//! setSecret waits (with a bound) for the cluster to be `available` with no admin password pending (the namespace
//! and its workgroup `AVAILABLE`), binds it to the secret, then sends the pending password (`ModifyCluster`
//! `MasterUserPassword`, `UpdateNamespace` `adminUserPassword`). Redshift holds one admin password: the change
//! replaces it, so clients holding AWSCURRENT's are refused once Redshift applies it. testSecret waits for the
//! change to be applied, then logs in with the pending password and runs `TEST_QUERY`.

mod cluster;
mod config;
mod credential;
mod error;
mod function;
mod managed;
mod namespace;
mod resource;

pub use config::RedshiftAdminConfig;
pub use credential::RedshiftAdmin;
pub use function::{RedshiftAdminTarget, RotateRedshiftAdmin};
pub(crate) use managed::ManagedAdmins;
pub use resource::{AdminEndpoint, AdminResourceKind, RedshiftAdminResource, cluster_arn, namespace_arn};
