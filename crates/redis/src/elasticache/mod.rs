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
//!
//! AUTH tokens (`rotate-elasticache-auth-token`) of replication groups without RBAC are the second credential over
//! the same helper ([`ElastiCacheAuthToken`]): the secret is `{"replication_group_arn":
//! "arn:aws:elasticache:<region>:<account>:replicationgroup:<id>", "password": <token>}`, unknown fields (`host`,
//! `port`, `ssl` for clients) kept; `ModifyReplicationGroup` `ROTATE` keeps AWSCURRENT's token beside the new one
//! and drops the one before, and the proofs and testSecret log in with `AUTH <token>` where the API says the group
//! is, never where the secret says.

mod auth_token;
mod config;
mod error;
mod function;
mod resources;
mod users;

pub use auth_token::{ElastiCacheAuthToken, ElastiCacheReplicationGroup, GroupEndpoint};
pub use config::{
    AUTH_TOKEN_EXCLUDED_CHARACTERS, AUTH_TOKEN_SPECIAL_CHARACTERS, ElastiCacheAuthTokenConfig, ElastiCacheConfig,
};
pub use function::{ElastiCacheAuthTokenTarget, ElastiCacheTarget, RotateElastiCache, RotateElastiCacheAuthToken};
pub use users::{ElastiCacheUser, ElastiCacheUsers};
