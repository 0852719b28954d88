//! rotation-postgres: the PostgreSQL target of rotor.
//!
//! A drop-in for AWS's SecretsManagerRDSPostgreSQLRotationSingleUser and ...MultiUser functions: same secret
//! JSON, same environment variables, same event. Differences that matter: the new password reaches the server
//! only as a SCRAM-SHA-256 verifier computed here (never in server logs or `pg_stat_statements`), TLS is
//! verified by default and never silently dropped, and the alternating users are brought in line on every
//! rotation, not only when the clone is created.

mod alternating;
mod connect;
mod defaults;
mod engine;
mod error;
mod function;
mod password;

pub use connect::{Param, PostgresSession, connect_plain};
pub use defaults::{DEFAULT_DBNAME, DEFAULT_EXCLUDE_CHARACTERS, DEFAULT_PORT, ENGINES, MAX_NAME_BYTES};
pub use engine::PostgresEngine;
pub use function::{RotatePostgres, RotatePostgresAlternating};
pub use password::password_statement;
