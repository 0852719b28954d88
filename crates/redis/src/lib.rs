//! rotation-redis: the Redis and Valkey target of rotor.
//!
//! Rotates ACL users (Redis 6+, Valkey) by the database strategies: the admin sets the user's passwords, alternating
//! users kept alike both ways, or a single user that may run `ACL SETUSER`. Passwords reach the server only in the
//! ACL's SHA-256 form, and the new one is added beside the current one when that one is proven the user's (its
//! hash among the user's, or a login with it), so no client holding AWSCURRENT is refused while a rotation runs;
//! the one before is dropped at the next rotation. Users that may take over other users or the server are refused
//! (the rules, read one way for ACL users and ElastiCache access strings, live in `privilege`).
//!
//! ElastiCache users ([`RotateElastiCache`], `rotate-elasticache`) are a credential the ElastiCache API manages
//! ([`ElastiCacheUsers`], `ModifyUser` with the new and the current password, the function's role their
//! administrator), rotated by rotation-core's `ManagedTarget` with the secret AWS's ElastiCache function uses;
//! their proofs and testSecret log in to the cache with [`RedisEngine`]'s session. The AUTH tokens of replication
//! groups without RBAC ([`RotateElastiCacheAuthToken`], `rotate-elasticache-auth-token`) are a second such
//! credential ([`ElastiCacheAuthToken`], `ModifyReplicationGroup` `ROTATE`, then `SET` only when AWSCURRENT's token
//! did not log in), proven by `AUTH <token>` where the API says the group is.

mod acl;
mod connect;
mod defaults;
mod elasticache;
mod engine;
mod error;
mod function;
mod privilege;

pub use acl::{Rules, Selector, password_hash};
pub use connect::{RedisSession, connect};
pub use defaults::{DEFAULT_PORT, DEFAULT_TEST_COMMAND, ENGINES};
pub use elasticache::{
    AUTH_TOKEN_EXCLUDED_CHARACTERS, AUTH_TOKEN_SPECIAL_CHARACTERS, ElastiCacheAuthToken, ElastiCacheAuthTokenConfig,
    ElastiCacheAuthTokenTarget, ElastiCacheConfig, ElastiCacheReplicationGroup, ElastiCacheTarget, ElastiCacheUser,
    ElastiCacheUsers, GroupEndpoint, RotateElastiCache, RotateElastiCacheAuthToken,
};
pub use engine::{RedisEngine, RedisUser};
pub use error::classify;
pub use function::RotateRedis;
