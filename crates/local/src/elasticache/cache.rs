//! The one Redis server that plays the cache: how the endpoint reaches it, the replication groups it is, the form a
//! password reaches it in, and what a call changes on it once answered.

use std::fmt::{self, Write as _};
use std::time::Duration;

/// The cache the ElastiCache calls manage.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// The Redis server's administrative URL (`redis://user:password@127.0.0.1:port`, plaintext, loopback): where
    /// users are applied.
    pub admin_url: String,
    /// The address clients reach the cache at (the server's TLS port), as `DescribeReplicationGroups` answers it.
    pub endpoint: (String, u16),
    /// How long a modified user or replication group stays `modifying` before its passwords apply.
    pub modify_delay: Duration,
}

impl CacheConfig {
    /// The Redis user the endpoint administers the server as (`default` when the URL names none): no user the
    /// endpoint creates, and no AUTH token (the `default` user's password), may replace it.
    pub fn admin_user(&self) -> String {
        let user = self.admin_url.split_once("://").map_or("", |(_, rest)| rest);
        let user = user.split_once('@').map_or("", |(credentials, _)| credentials.split(':').next().unwrap_or(""));
        if user.is_empty() { "default".to_owned() } else { user.to_owned() }
    }
}

/// The id of the replication group the users reach the cache through (with user groups: RBAC).
pub const REPLICATION_GROUP: &str = "rotor-local";

/// What a change is to: a user, or a replication group clients reach with an AUTH token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A user, by id.
    User(String),
    /// A replication group, by id.
    ReplicationGroup(String),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(id) => write!(f, "user {id}"),
            Self::ReplicationGroup(id) => write!(f, "replication group {id}"),
        }
    }
}

/// What a call changes on the cache once answered.
#[derive(Debug)]
pub enum Apply {
    /// Nothing.
    Nothing,
    /// `ACL SETUSER` with these arguments now: `created` is new, and is removed again if the cache refuses them.
    Now {
        /// What the call created.
        created: Subject,
        /// The `ACL SETUSER` arguments.
        args: Vec<String>,
    },
    /// `ACL SETUSER` with these arguments after the modify delay, then `subject` is ready again (a user `active`,
    /// a replication group `available`).
    Later {
        /// What the call modified.
        subject: Subject,
        /// The `ACL SETUSER` arguments.
        args: Vec<String>,
    },
}

/// The ACL's form of a password: `#` and its SHA-256 in hex, so that no password reaches the server's command
/// stream or its logs.
pub fn password_hash(password: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, password.as_bytes());
    digest.as_ref().iter().fold(String::from("#"), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
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
