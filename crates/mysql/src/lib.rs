//! rotation-mysql: the MySQL and MariaDB target of rotor.
//!
//! A drop-in for AWS's SecretsManagerRDSMySQLRotationSingleUser and ...MultiUser functions (engines `mysql`,
//! `mariadb`, `aurora-mysql`). Differences that matter: the password is changed on the user's real account
//! (`user@host` from `CURRENT_USER()`, not an assumed `'%'`); MySQL 8's dual passwords are used when the server
//! accepts them (found by asking the server, not by reading a version string); the clone of the alternating
//! strategy gets the active user's grants and TLS requirements again on every rotation; TLS is verified by
//! default and never silently dropped.

mod account;
mod alternating;
mod connect;
mod defaults;
mod engine;
mod error;
mod function;
mod privileges;
mod statements;
mod version;

pub use account::Account;
pub use connect::{MysqlSession, StatementError};
pub use defaults::{DEFAULT_PORT, ENGINES};
pub use engine::MysqlEngine;
pub use function::{RotateMysql, RotateMysqlAlternating};
pub use statements::native_hash;
pub use version::{Feature, Flavor, Version};
