//! DocumentDB masters (`rotate-documentdb-admin`): the master user's password of an Amazon DocumentDB cluster,
//! rotated through the RDS API (DocumentDB's control plane is RDS's: `rds:ModifyDBCluster`, not a `docdb:` action)
//! as a [`ManagedTarget`](rotation_core::ManagedTarget) over [`DocumentDbMaster`], for master secrets DocumentDB
//! does not manage itself.
//!
//! The secret is AWS's MongoDB secret with the cluster named: `{"engine": "mongo", "host": ..., "port": 27017,
//! "username": <master>, "password": ..., "ssl": true, "dbClusterIdentifier": <cluster>}` (the field the Secrets
//! Manager console stores); unknown fields are kept. The cluster is the secret's own Region's and account's (read
//! from the secret's ARN), and `DOCDB_CLUSTER_ARNS` must allow it. `host` and `port` are the clients': rotor logs
//! in where `DescribeDBClusters` says the cluster is (its `Endpoint` and `Port`), as the master user it names, who
//! must be the secret's `username`.
//!
//! setSecret waits (with a bound) for the cluster to be `available` with no master password pending, binds it to
//! the secret, then sends the pending password (`ModifyDBCluster` `MasterUserPassword`, `ApplyImmediately`).
//! DocumentDB holds one master password: the change replaces it. testSecret waits for the change to be applied,
//! then logs in with the pending password and runs `TEST_QUERY`.

mod cluster;
mod config;
mod credential;
mod function;

pub use cluster::{DocumentDbCluster, cluster_arn};
pub use config::DocumentDbAdminConfig;
pub use credential::DocumentDbMaster;
pub use function::{DocumentDbAdminTarget, RotateDocumentDbAdmin};
