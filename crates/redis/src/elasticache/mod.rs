//! ElastiCache users (`rotate-elasticache`), rotated through the ElastiCache API as a
//! [`ManagedTarget`](rotation_core::ManagedTarget) over [`ElastiCacheUsers`], with the secret AWS's ElastiCache
//! rotation function uses.
//!
//! The secret is `{"user_arn": "arn:aws:elasticache:<region>:<account>:user:<user id>", "username": ..., "password":
//! ...}`, unknown fields kept; `host` and `port` (and `ssl`), when present, name the cache testSecret logs in to, else
//! it is found from the user's user groups and their replication group. The administrator is the function's own
//! role: no `masterarn` is read. setSecret waits (with a bound) for the user to be `active`, binds it to the secret,
//! then gives it two passwords, the pending one and the current one when a login to the user's cache with it has
//! just succeeded (a secret's writer cannot have a password of its choosing installed), so a client holding
//! AWSCURRENT keeps working; the one before is dropped at the next rotation, as AWS's function does. testSecret
//! waits for `active` again (the change has reached every node), then logs in to the cache.

mod config;
mod error;
mod function;
mod users;

pub use config::ElastiCacheConfig;
pub use function::{ElastiCacheTarget, RotateElastiCache};
pub use users::{ElastiCacheUser, ElastiCacheUsers};
