//! rotation-mongodb: the Amazon DocumentDB and MongoDB target of rotor.
//!
//! A drop-in for AWS's SecretsManagerMongoDBRotationSingleUser and ...MultiUser functions: the same secret JSON
//! (`engine` `mongo`, port 27017, `dbname` the user's authentication database, `admin` by default, `masterarn`,
//! `ssl`), on the official MongoDB driver. Differences that matter: TLS is verified by default against the system's,
//! the Amazon RDS and `TLS_CA_BUNDLE`'s roots and never falls back to plaintext (AWS's functions retry without TLS
//! when the `ssl` field is absent); the SCRAM mechanism is the one the server offers (SCRAM-SHA-256, SCRAM-SHA-1 on
//! DocumentDB before 5.0); the admin refuses users that can manage users or the server; the alternating users'
//! roles and authentication restrictions are made equal both ways on every rotation, not copied once when the
//! clone is created.
//!
//! A DocumentDB cluster's master password that DocumentDB does not manage itself is rotated through the RDS API
//! ([`RotateDocumentDbAdmin`], `rotate-documentdb-admin`, `ModifyDBCluster`), logged in to where the API says the
//! cluster is.

mod ca_file;
mod connect;
mod defaults;
mod documentdb;
mod engine;
mod error;
mod function;
mod privilege;
mod users;

pub use ca_file::CaFile;
pub use connect::{MongoSession, connect};
pub use defaults::{DEFAULT_DBNAME, DEFAULT_EXCLUDE_CHARACTERS, DEFAULT_PORT, DEFAULT_TEST_COMMAND, ENGINES};
pub use documentdb::{
    DocumentDbAdminConfig, DocumentDbAdminTarget, DocumentDbCluster, DocumentDbMaster, RotateDocumentDbAdmin,
    cluster_arn,
};
pub use engine::{MongoEngine, MongoUser};
pub use function::{RotateMongoDb, RotateMongoDbAlternating};
pub use users::{RoleRef, UserInfo, users_info};
