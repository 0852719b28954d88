//! What the MySQL and MariaDB engine accepts in a secret, and its defaults.

/// The engines this target accepts in the secret's `engine` field.
pub const ENGINES: &[&str] = &["mysql", "mariadb", "aurora-mysql"];
/// MySQL's default port.
pub const DEFAULT_PORT: u16 = 3306;
