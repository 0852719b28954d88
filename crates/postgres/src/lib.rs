//! rotation-postgres: the PostgreSQL target of rotor.
//!
//! A drop-in for AWS's SecretsManagerRDSPostgreSQLRotationSingleUser and ...MultiUser functions: same secret
//! JSON, same environment variables, same event. Differences that matter: the new password reaches the server
//! only as a SCRAM-SHA-256 verifier computed here (never in server logs or `pg_stat_statements`), TLS is
//! verified by default and never silently dropped, and the alternating users are brought in line on every
//! rotation, not only when the clone is created.

mod alternating;
mod connect;
mod engine;
mod error;
mod function;
mod password;

pub use connect::PostgresSession;
pub use engine::PostgresEngine;
pub use function::run_function;
pub use password::password_statement;

/// The engines this target accepts in the secret's `engine` field.
pub const ENGINES: &[&str] = &["postgres", "aurora-postgresql"];
/// PostgreSQL's default port.
pub const DEFAULT_PORT: u16 = 5432;
/// The database used when the secret names none.
pub const DEFAULT_DBNAME: &str = "postgres";
/// PostgreSQL's limit on identifier length (NAMEDATALEN - 1).
pub const MAX_NAME_BYTES: usize = 63;
/// AWS's default excluded characters for PostgreSQL: the defaults plus `:`, which breaks connection URIs.
pub const DEFAULT_EXCLUDE_CHARACTERS: &str = "/@\"'\\:";
