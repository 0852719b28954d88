//! What the PostgreSQL engine accepts in a secret, and its defaults.

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
