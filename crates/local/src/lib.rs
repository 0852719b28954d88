//! rotation-local: a local AWS Secrets Manager endpoint with AWS's rotation semantics.
//!
//! It speaks Secrets Manager's JSON 1.1 protocol so any AWS SDK or the aws CLI can use it, and gets right what
//! emulators get wrong: `RotateSecret` creates the value-less `AWSPENDING` placeholder, runs the rotation
//! function's four steps through the Lambda Invoke API, removes `AWSPENDING` only on success, keeps it (and
//! refuses new rotations) on failure; schedules rotate when due; a token reused with another value is
//! `ResourceExistsException`. The state survives a restart, and an audit log records every operation without a
//! value or token. Only loopback `Host`s are served, and a request a web page could send cross-site is refused.

// The shared plumbing: the services use it, it uses no service.
mod clock;
mod error;
mod identity;
mod json;
mod query;
mod schedule;
mod state;
mod store;

// One folder per AWS service; a service uses the plumbing, and only the emulated Lambda of the other services.
mod directory;
mod documentdb;
mod elasticache;
mod events;
mod lambda;
mod redshift;
mod secretsmanager;
mod ssm;

// The HTTP layer on top: it routes each request to its service.
mod http;

pub use clock::Clock;
pub use directory::DirectoryConfig;
pub use documentdb::DocumentDbConfig;
pub use elasticache::CacheConfig;
pub use error::{Error, ErrorKind};
pub use http::{Config, Endpoint};
pub use identity::Identity;
pub use redshift::RedshiftConfig;
pub use secretsmanager::{AWS_QUOTAS, Quotas};
