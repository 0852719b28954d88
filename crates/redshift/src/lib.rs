//! rotation-redshift: the Amazon Redshift target of rotor.
//!
//! A drop-in for AWS's SecretsManagerRedshiftRotationSingleUser and ...MultiUser functions: same secret JSON
//! (`engine` `redshift`, port 5439 and database `dev` by default), same environment variables, same event.
//! Differences that matter: the new password reaches the server only as the `md5` hash Redshift documents (never
//! as text in its logs), TLS is verified by default and never dropped, the admin's refusal of privileged users
//! covers superusers and Redshift's user-managing system roles and privileges, and the alternating users are
//! brought in line on every rotation, not only when the clone is created.
//!
//! Redshift speaks PostgreSQL's wire protocol: sessions are rotation-postgres's, logged in without startup
//! options (Redshift refuses the ones it does not know) and pinned with statements instead. What only Redshift
//! answers (its system views) is in one module, `redshift_sql`, run only when the server says it is Redshift.

mod admin;
mod alternating;
mod defaults;
mod engine;
mod function;
mod password;
mod policy;
mod redshift_sql;
mod server;

pub use admin::{
    AdminEndpoint, AdminResourceKind, RedshiftAdmin, RedshiftAdminConfig, RedshiftAdminResource, RedshiftAdminTarget,
    RotateRedshiftAdmin, cluster_arn, namespace_arn,
};
pub use defaults::{
    DEFAULT_DBNAME, DEFAULT_EXCLUDE_CHARACTERS, DEFAULT_PORT, ENGINES, MAX_NAME_BYTES, PASSWORD_LENGTHS,
};
pub use engine::RedshiftEngine;
pub use function::{RotateRedshift, RotateRedshiftAlternating};
pub use password::{create_statement, password_statement};
pub use policy::refuse_policy;
pub use server::Server;
