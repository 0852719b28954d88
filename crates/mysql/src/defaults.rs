//! What the MySQL and MariaDB engine accepts in a secret, and its defaults.

/// The engines this target accepts in the secret's `engine` field.
pub const ENGINES: &[&str] = &["mysql", "mariadb", "aurora-mysql"];
/// MySQL's default port.
pub const DEFAULT_PORT: u16 = 3306;
/// The longest user name (in characters) the servers in support take: MySQL 5.7.8 and later 32, MariaDB 10 80 or
/// more (MySQL before 5.7.8 and MariaDB 5.5, past their end of life, took 16: there a longer name fails at
/// setSecret). Only a longer clone name makes createSecret ask the server (as the admin) for its own limit.
pub const NAME_EVERY_SERVER_TAKES: usize = 32;
