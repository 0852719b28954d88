//! The one Redis server that plays the cache: how the endpoint reaches it, the one replication group it is, and
//! what a call changes on it once answered.

use std::time::Duration;

/// The cache the ElastiCache calls manage.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// The Redis server's administrative URL (`redis://user:password@127.0.0.1:port`, plaintext, loopback): where
    /// users are applied.
    pub admin_url: String,
    /// The address clients reach the cache at (the server's TLS port), as `DescribeReplicationGroups` answers it.
    pub endpoint: (String, u16),
    /// How long a modified user stays `modifying` before its passwords apply.
    pub modify_delay: Duration,
}

/// The replication group's id.
pub const REPLICATION_GROUP: &str = "rotor-local";

/// What a call changes on the cache once answered.
#[derive(Debug)]
pub enum Apply {
    /// Nothing.
    Nothing,
    /// `ACL SETUSER` with these arguments now (a created user).
    Now(Vec<String>),
    /// `ACL SETUSER` with these arguments after the modify delay, then the user is `active` again.
    Later {
        /// The user's id.
        user_id: String,
        /// The `ACL SETUSER` arguments.
        args: Vec<String>,
    },
}

/// Applies `ACL SETUSER args...` to the cache.
pub async fn apply(config: &CacheConfig, args: &[String]) -> Result<(), String> {
    let client = redis::Client::open(config.admin_url.as_str()).map_err(|e| e.to_string())?;
    let connect = client.get_multiplexed_async_connection();
    let mut connection = tokio::time::timeout(Duration::from_secs(5), connect)
        .await
        .map_err(|_| "the cache did not answer within 5s".to_owned())?
        .map_err(|e| e.to_string())?;
    redis::cmd("ACL").arg("SETUSER").arg(args).query_async::<()>(&mut connection).await.map_err(|e| e.to_string())
}
