//! What the Redshift engine accepts in a secret, and its defaults (those of AWS's Redshift rotation functions).

/// The engines this target accepts in the secret's `engine` field: AWS's Redshift functions accept only this one.
pub const ENGINES: &[&str] = &["redshift"];
/// Redshift's default port.
pub const DEFAULT_PORT: u16 = 5439;
/// The database used when the secret names none: the one every cluster and workgroup starts with.
pub const DEFAULT_DBNAME: &str = "dev";
/// Redshift's limit on a user name, in bytes.
pub const MAX_NAME_BYTES: usize = 127;
/// Characters Redshift refuses in a password (`'`, `"`, `\`, `/`, `@`, and the space, which is outside ASCII
/// 33-126), and `:` as AWS's functions exclude it too (it breaks connection URIs).
pub const DEFAULT_EXCLUDE_CHARACTERS: &str = "/@\"'\\: ";
/// Redshift's shortest and longest passwords.
pub const PASSWORD_LENGTHS: std::ops::RangeInclusive<usize> = 8..=64;
