//! AWS Directory Service users (`rotate-directory`): Directory Service resets the password, the domain's KDC
//! proves it.

mod config;
mod function;
mod users;

pub use config::{DirectoryServiceConfig, MAX_PASSWORD_LENGTH, SecretKeys, is_directory_id};
pub use function::{DirectoryServiceTarget, RotateDirectory};
pub use users::{DirectoryServiceUsers, DirectoryUserRef, Domain};
