//! rotation-redis: the Redis and Valkey target of rotor.
//!
//! Rotates ACL users (Redis 6+, Valkey) by the database strategies: the admin sets the user's passwords, alternating
//! users kept alike both ways, or a single user that may run `ACL SETUSER`. Passwords reach the server only in the
//! ACL's SHA-256 form, and the new one is added beside the current one when that one is proven the user's (its
//! hash among the user's, or a login with it), so no client holding AWSCURRENT is refused while a rotation runs;
//! the one before is dropped at the next rotation. Users that may take over other users or the server are refused
//! (the rules, read one way for ACL users and ElastiCache access strings, live in `privilege`).
//!
//! ElastiCache users ([`ElastiCacheEngine`], `rotate-elasticache`) are rotated through the ElastiCache API
//! (`ModifyUser` with the new and the current password) by the same database target, the function's role as the
//! admin, with the secret AWS's ElastiCache function uses.

mod acl;
mod connect;
mod elasticache;
mod engine;
mod error;
mod function;
mod privilege;

pub use acl::{Rules, Selector, password_hash};
pub use connect::{RedisSession, connect};
pub use elasticache::{ElastiCacheConfig, ElastiCacheEngine, ElastiCacheSession, ElastiCacheUser};
pub use engine::{RedisEngine, RedisUser};
pub use error::classify;
pub use function::{run_elasticache, run_function};

/// The engines this target accepts in the secret's `engine` field.
pub const ENGINES: &[&str] = &["redis", "valkey"];
/// Redis's default port.
pub const DEFAULT_PORT: u16 = 6379;
/// testSecret's default probe.
pub const DEFAULT_TEST_COMMAND: &str = "PING";
