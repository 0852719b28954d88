//! [`ElastiCacheEngine`]: ElastiCache users for rotation-database's
//! [`DatabaseTarget`](rotation_database::DatabaseTarget), their passwords changed through the ElastiCache API
//! (`ModifyUser`), with the secret AWS's ElastiCache rotation function uses.
//!
//! The secret is `{"user_arn": "arn:aws:elasticache:<region>:<account>:user:<user id>", "username": ..., "password":
//! ...}`, unknown fields kept; `host` and `port` (and `ssl`), when present, name the cache testSecret logs in to, else
//! it is found from the user's user groups and their replication group. The administrator is the function's own
//! role ([`Engine::ADMIN_IS_ROLE`]): the admin strategy reads no `masterarn`. setSecret waits (with a bound) for the
//! user to be `active`, then gives it two passwords, the pending one and the current one when a login to the cache
//! with it has just succeeded (a secret's writer cannot have a password of its choosing installed), so a client
//! holding AWSCURRENT keeps working; the one before is dropped at the next rotation, as AWS's function does. A login (testSecret's probe)
//! waits for `active` again (the change has reached every node), then logs in to the cache.
//!
//! What the role may change is bounded twice: by its `elasticache:ModifyUser` resources, and by
//! `ELASTICACHE_USER_ARNS` (or AWS's `USER_NAME`), so a secret whose `user_arn` names another user is refused before
//! any call.

use std::time::{Duration, Instant};

use aws_sdk_elasticache::Client;
use aws_sdk_elasticache::config::http::HttpResponse;
use aws_sdk_elasticache::config::{Builder as ClientConfig, Region};
use aws_sdk_elasticache::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_elasticache::types::User;
use rotation_core::{AwsFailure, Env, Password, PasswordPolicy, RotationError, Secret, TargetErrorKind};
use rotation_database::{ArnPatterns, Connection, DatabaseConfig, Engine, Purpose, TlsMode};

use crate::privilege::{Categories, CommandRules, describe};
use crate::{DEFAULT_PORT, RedisEngine, RedisSession};

/// The characters ElastiCache refuses in a password.
const REFUSED_CHARACTERS: &str = "/\"@";

/// The function's configuration, read once at cold start.
#[derive(Debug, Clone)]
pub struct ElastiCacheConfig {
    /// `ELASTICACHE_USER_ARNS`: the users this function may rotate (ARN patterns, as `ADMIN_SECRET_ARNS`).
    pub users: ArnPatterns,
    /// `USER_NAME` (AWS's function): when set, the only user name this function rotates.
    pub user_name: Option<String>,
    /// `MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS` (default 600, as AWS's function): how long a step waits for the
    /// user to be `active`; never past the invocation's deadline.
    pub max_wait: Duration,
    /// `WAITING_RETRY_INTERVAL_IN_SECONDS` (default 5; AWS's function waits 10): between two looks at the user.
    pub interval: Duration,
}

impl ElastiCacheConfig {
    /// Reads the environment; `policy` is checked against ElastiCache's rules for passwords (16 to 128
    /// characters, none of `/`, `"`, `@`), so no rotation ever stores a password the service would refuse.
    pub fn from_env(env: &Env, policy: &PasswordPolicy) -> Result<Self, RotationError> {
        let users = ArnPatterns::from_variable(env, "ELASTICACHE_USER_ARNS")?;
        let user_name = env.get("USER_NAME");
        if users.is_empty() && user_name.is_none() {
            return Err(RotationError::Config {
                variable: "ELASTICACHE_USER_ARNS",
                reason: "is not set: name the users this function may rotate (arn:aws:elasticache:<region>:<account>:user:<id>, * as a prefix), or set USER_NAME as AWS's function does".into(),
            });
        }
        if let Some((variable, reason)) = refuse_policy(policy) {
            return Err(RotationError::Config { variable, reason });
        }
        Ok(Self {
            users,
            user_name,
            max_wait: Duration::from_secs(env.number("MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS", 600, 1..=900)? as u64),
            interval: Duration::from_secs(env.number("WAITING_RETRY_INTERVAL_IN_SECONDS", 5, 1..=60)? as u64),
        })
    }

    /// The database settings (TLS, time-outs, the test command and its retries) for ElastiCache users: the admin
    /// strategy only, whose admin is the function's role, and `PING` unless `TEST_QUERY` says otherwise.
    pub fn database_config(env: &Env) -> Result<DatabaseConfig, RotationError> {
        let mut config = DatabaseConfig::from_env_for_role_admin(env)?;
        if config.strategy != rotation_database::Strategy::Admin {
            return Err(RotationError::Config {
                variable: "ROTATION_STRATEGY",
                reason: "must be admin for ElastiCache users: the function's role sets their passwords with ModifyUser (two at once, so no second user is needed)".into(),
            });
        }
        if env.get("TEST_QUERY").is_none() {
            config.test_query = crate::DEFAULT_TEST_COMMAND.to_owned();
        }
        Ok(config)
    }
}

/// Why ElastiCache would refuse passwords from `policy`, with the variable that sets what it refuses.
fn refuse_policy(policy: &PasswordPolicy) -> Option<(&'static str, String)> {
    if !(16..=128).contains(&policy.length) {
        return Some(("PASSWORD_LENGTH", "must be from 16 to 128: ElastiCache refuses other passwords".into()));
    }
    let c = REFUSED_CHARACTERS.chars().find(|c| !policy.exclude_characters.contains(*c))?;
    Some(("EXCLUDE_CHARACTERS", format!("must hold {c:?}: ElastiCache refuses passwords with /, \" or @")))
}

/// The user a secret names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UserSecret {
    arn: String,
    region: String,
    id: String,
    username: String,
    password: Option<Password>,
}

impl UserSecret {
    fn parse(secret: &Secret) -> Result<Self, RotationError> {
        let arn = secret.require_str("user_arn")?;
        let Some((region, id)) = region_and_id(arn) else {
            return Err(secret.invalid(
                "user_arn",
                "must be an ElastiCache user ARN: arn:aws:elasticache:<region>:<account>:user:<user id>",
            ));
        };
        Ok(Self {
            arn: arn.to_owned(),
            region,
            id,
            username: secret.require_str("username")?.to_owned(),
            password: secret.optional_str("password")?.map(|p| Password::new(p.to_owned())),
        })
    }
}

/// The region and user id of an ElastiCache user ARN.
fn region_and_id(arn: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = arn.split(':').collect();
    let [_, partition, "elasticache", region, account, "user", id] = parts[..] else { return None };
    let valid = partition.starts_with("aws") && !region.is_empty() && !account.is_empty() && !id.is_empty();
    valid.then(|| (region.to_owned(), id.to_owned()))
}

/// ElastiCache users, administered by the function's role through the ElastiCache API; logins (testSecret's probe,
/// doctor's check) go to the cache over verified TLS with [`RedisEngine`]'s session.
#[derive(Debug, Clone)]
pub struct ElastiCacheEngine {
    client: ClientConfig,
    redis: RedisEngine,
    config: ElastiCacheConfig,
}

/// An ElastiCache user: its ARN (region, id), name, access string, and the password kept beside the new one.
#[derive(Debug, Clone)]
pub struct ElastiCacheUser {
    account: UserSecret,
    access_string: String,
    /// Whether it was `active` when described: setSecret then changes it without describing it again.
    active: bool,
    /// How to log in to the cache with AWSCURRENT's password, which is kept only after that login succeeded.
    current: Option<CurrentLogin>,
}

/// A login to the cache with the current secret's credential.
#[derive(Debug, Clone)]
struct CurrentLogin {
    config: DatabaseConfig,
    connection: Connection,
    mode: TlsMode,
}

/// A session: the function's role (ElastiCache API calls), or a login to the cache.
#[derive(Debug)]
pub enum ElastiCacheSession {
    /// The function's role, the users' administrator.
    Role(Connection),
    /// A login to the cache as a user.
    Cache(RedisSession),
}

impl rotation_database::Session for ElastiCacheSession {
    fn connection(&self) -> &Connection {
        match self {
            Self::Role(connection) => connection,
            Self::Cache(session) => session.connection(),
        }
    }
}

impl ElastiCacheEngine {
    /// An engine calling ElastiCache with `client` (its region replaced by each user ARN's), logging in to caches
    /// with `redis`.
    pub fn new(client: ClientConfig, redis: RedisEngine, config: ElastiCacheConfig) -> Self {
        Self { client, redis, config }
    }

    fn client(&self, region: &str) -> Client {
        Client::from_conf(self.client.clone().region(Region::new(region.to_owned())).build())
    }

    /// Refuses a user the configuration does not name.
    fn allowed(&self, user: &UserSecret) -> Result<(), RotationError> {
        let refuse = |why: String| {
            RotationError::target(
                TargetErrorKind::ConfusedDeputy,
                &user.arn,
                format!("{why}; this function rotates only the users its configuration names"),
            )
        };
        if !self.config.users.is_empty() && !self.config.users.allows(&user.arn) {
            return Err(refuse("the user is not in ELASTICACHE_USER_ARNS".into()));
        }
        if let Some(name) = self.config.user_name.as_deref().filter(|name| *name != user.username) {
            return Err(refuse(format!("the secret's username is not USER_NAME ({name:?})")));
        }
        Ok(())
    }

    /// The user a connection addresses (its `resource` is the user's ARN).
    fn user_of(&self, connection: &Connection) -> Result<UserSecret, RotationError> {
        let arn = connection.resource.clone().unwrap_or_default();
        let (region, id) = region_and_id(&arn)
            .ok_or_else(|| RotationError::target(TargetErrorKind::Rejected, &arn, "is not an ElastiCache user ARN"))?;
        let password = Some(connection.password.clone()).filter(|p| !p.expose().is_empty());
        let user = UserSecret { arn, region, id, username: connection.username.clone(), password };
        self.allowed(&user)?;
        Ok(user)
    }

    /// The user, as ElastiCache describes it, checked against the secret: the same name.
    async fn describe(&self, user: &UserSecret) -> Result<User, RotationError> {
        let out = self
            .client(&user.region)
            .describe_users()
            .user_id(&user.id)
            .send()
            .await
            .map_err(|e| api_error("DescribeUsers", &user.arn, &e))?;
        let Some(found) = out.users().iter().find(|u| u.user_id() == Some(user.id.as_str())) else {
            return Err(no_such_user(user));
        };
        if found.user_name() != Some(user.username.as_str()) {
            return Err(RotationError::target(
                TargetErrorKind::ConfusedDeputy,
                &user.arn,
                format!(
                    "the user's name is {:?}, not the secret's username {:?}; fix the secret's user_arn or username",
                    found.user_name().unwrap_or_default(),
                    user.username
                ),
            ));
        }
        Ok(found.clone())
    }

    /// Waits until the user is `active` (a change made earlier has reached every node), looking every
    /// `WAITING_RETRY_INTERVAL_IN_SECONDS`, for at most `MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS` (the step itself
    /// ends before the invocation's deadline).
    async fn wait_active(&self, user: &UserSecret) -> Result<User, RotationError> {
        let end = Instant::now() + self.config.max_wait;
        loop {
            let found = self.describe(user).await?;
            let status = found.status().unwrap_or("unknown");
            if status == "active" {
                return Ok(found);
            }
            if Instant::now() + self.config.interval > end {
                return Err(RotationError::target(
                    TargetErrorKind::Unreachable,
                    &user.arn,
                    format!(
                        "the user is still {status:?}, not active, after waiting; the service retries the step (raise MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS and the function's timeout if changes take longer)"
                    ),
                ));
            }
            tracing::info!(user = %user.id, status, "waiting for the ElastiCache user to be active");
            tokio::time::sleep(self.config.interval).await;
        }
    }

    /// AWSCURRENT's password when a login to the cache with it succeeds now: a secret's writer may put any password
    /// there, and only one proven the user's is kept beside the new one. A refused login leaves it out (logged,
    /// without the value); a cache that cannot be reached fails the step, as testSecret would.
    async fn proven_current(&self, user: &ElastiCacheUser) -> Result<Option<Password>, RotationError> {
        let Some(current) = &user.current else { return Ok(None) };
        match self.login_at_the_users_cache(&current.config, &current.connection, current.mode).await {
            Ok(_) => Ok(Some(current.connection.password.clone())),
            Err(error) if error.is_authentication_failure() => {
                tracing::warn!(
                    user = %user.account.id,
                    "AWSCURRENT's password does not log in to the cache, so it is not kept beside the new one"
                );
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Logs in at the cache ElastiCache names for the user (its user groups' replication group), never at a host
    /// the secret names: a proof that a password is the user's must reach the user's real cache, and whoever
    /// writes the secret chooses its host.
    async fn login_at_the_users_cache(
        &self,
        config: &DatabaseConfig,
        connection: &Connection,
        mode: TlsMode,
    ) -> Result<ElastiCacheSession, RotationError> {
        let mut cache = connection.clone();
        cache.host.clear();
        self.login(config, &cache, mode, Purpose::Rotor).await
    }

    /// Where the cache is: the endpoint of the replication group of the user's first user group that has one (its
    /// configuration endpoint in cluster mode, else its primary).
    async fn endpoint(&self, user: &UserSecret, found: &User) -> Result<(String, u16), RotationError> {
        let client = self.client(&user.region);
        for group in found.user_group_ids() {
            let out = client
                .describe_user_groups()
                .user_group_id(group)
                .send()
                .await
                .map_err(|e| api_error("DescribeUserGroups", group, &e))?;
            for replication_group in out.user_groups().iter().flat_map(|g| g.replication_groups()) {
                let out = client
                    .describe_replication_groups()
                    .replication_group_id(replication_group)
                    .send()
                    .await
                    .map_err(|e| api_error("DescribeReplicationGroups", replication_group, &e))?;
                let Some(found) = out.replication_groups().first() else { continue };
                let endpoint = found
                    .configuration_endpoint()
                    .or_else(|| found.node_groups().first().and_then(|n| n.primary_endpoint()));
                if let Some((host, Some(port))) =
                    endpoint.and_then(|e| Some((e.address()?, e.port().and_then(|p| u16::try_from(p).ok()))))
                {
                    return Ok((host.to_owned(), port));
                }
            }
        }
        Err(RotationError::target(
            TargetErrorKind::Rejected,
            &user.arn,
            "the user is in no user group of a replication group with an endpoint; add it to one, or name the cache with host and port in the secret (serverless caches: always)",
        ))
    }
}

/// The role's session: what messages name as the admin.
fn role_connection() -> Connection {
    Connection {
        engine: Some("elasticache".into()),
        host: String::new(),
        port: 0,
        dbname: None,
        username: String::new(),
        password: Password::new(String::new()),
        resource: Some("the function's role (ElastiCache API)".into()),
    }
}

fn unsupported(what: &str) -> RotationError {
    RotationError::Config {
        variable: "ROTATION_STRATEGY",
        reason: format!(
            "must be admin for ElastiCache users: {what} (the function's role sets their passwords with ModifyUser, two at once)"
        ),
    }
}

fn no_such_user(user: &UserSecret) -> RotationError {
    RotationError::target(
        TargetErrorKind::Rejected,
        &user.arn,
        "ElastiCache has no such user; create it, or fix the secret's user_arn",
    )
}

/// An ElastiCache API error, named by its operation, with the fix.
fn api_error<E: ProvideErrorMetadata>(
    operation: &str,
    resource: &str,
    error: &SdkError<E, HttpResponse>,
) -> RotationError {
    let failure = AwsFailure::of(error);
    let (kind, fix) = match failure.code().unwrap_or_default() {
        "AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation" => (
            TargetErrorKind::PermissionDenied,
            "allow the function's role elasticache:DescribeUsers, elasticache:ModifyUser, elasticache:DescribeUserGroups and elasticache:DescribeReplicationGroups on it",
        ),
        "UserNotFound" => (TargetErrorKind::Rejected, "ElastiCache has no such user; fix the secret's user_arn"),
        "UserGroupNotFound" | "ReplicationGroupNotFoundFault" => {
            (TargetErrorKind::Rejected, "it was deleted; name the cache with host and port in the secret")
        }
        "InvalidUserState" => (TargetErrorKind::Unreachable, "the user is being changed; the service retries"),
        "InvalidParameterValue" | "InvalidParameterCombination" => {
            (TargetErrorKind::Rejected, "ElastiCache refused the request")
        }
        _ => (failure.target_kind(), ""),
    };
    let reason =
        failure.unanswered("ElastiCache", "AWS_ENDPOINT_URL_ELASTICACHE").unwrap_or_else(|| failure.answer_with(fix));
    RotationError::target(kind, resource, format!("ElastiCache {operation} failed: {reason}"))
}

impl Engine for ElastiCacheEngine {
    type Session = ElastiCacheSession;
    type User = ElastiCacheUser;

    /// `ModifyUser` with the same two passwords again is harmless.
    const CHECK_PENDING_FIRST: bool = false;

    fn refuse_policy(&self, policy: &PasswordPolicy) -> Option<String> {
        refuse_policy(policy).map(|(variable, reason)| format!("{variable} {reason}"))
    }
    const ADMIN_IS_ROLE: bool = true;

    fn name(&self) -> &'static str {
        "elasticache"
    }

    /// The user (`user_arn`, refused unless the configuration names it) as the connection's `resource`, and the
    /// cache's `host`/`port` when the secret names them (else found at login).
    fn connection(&self, secret: &Secret) -> Result<Connection, RotationError> {
        let user = UserSecret::parse(secret)?;
        self.allowed(&user)?;
        Ok(Connection {
            engine: secret.optional_str("engine")?.map(str::to_owned),
            host: secret.optional_str("host")?.unwrap_or_default().to_owned(),
            port: secret.port("port", DEFAULT_PORT)?,
            dbname: None,
            username: user.username,
            // AWS's secrets may have no password before their first rotation.
            password: user.password.unwrap_or_else(|| Password::new(String::new())),
            resource: Some(user.arn),
        })
    }

    async fn role_admin(&self, _config: &DatabaseConfig) -> Result<ElastiCacheSession, RotationError> {
        Ok(ElastiCacheSession::Role(role_connection()))
    }

    /// Waits for the user to be `active`, finds the cache when the secret does not name it, and logs in to it.
    async fn login(
        &self,
        config: &DatabaseConfig,
        connection: &Connection,
        mode: TlsMode,
        purpose: Purpose,
    ) -> Result<ElastiCacheSession, RotationError> {
        let user = self.user_of(connection)?;
        let found = self.wait_active(&user).await?;
        let mut cache = connection.clone();
        if cache.host.is_empty() {
            (cache.host, cache.port) = self.endpoint(&user, &found).await?;
        }
        Ok(ElastiCacheSession::Cache(self.redis.login(config, &cache, mode, purpose).await?))
    }

    /// An ElastiCache user is named by its ARN (`user_arn`): user names need not be unique, and an id alone would
    /// let the secret's writer move it to another Region or account the function reaches.
    fn identity(&self, connection: &Connection) -> (String, Option<String>) {
        (connection.resource.clone().unwrap_or_default(), None)
    }

    /// The identity rule's proof: a login at the cache the API names for the user, never at the secret's host.
    async fn proves(
        &self,
        config: &DatabaseConfig,
        connection: &Connection,
        mode: TlsMode,
    ) -> Result<bool, RotationError> {
        rotation_database::proven_by_login(connection, |login| async move {
            self.login_at_the_users_cache(config, &login, mode).await.map(drop)
        })
        .await
    }

    async fn set_own_password(
        &self,
        _session: &mut ElastiCacheSession,
        _password: &Password,
    ) -> Result<(), RotationError> {
        Err(unsupported("a user cannot change its own password"))
    }

    /// The user ElastiCache describes under the secret's `user_arn`, which must carry the secret's name.
    async fn user(
        &self,
        config: &DatabaseConfig,
        _admin: &mut ElastiCacheSession,
        connection: &Connection,
        mode: TlsMode,
    ) -> Result<ElastiCacheUser, RotationError> {
        let account = self.user_of(connection)?;
        let found = self.describe(&account).await?;
        let current = account.password.is_some().then(|| CurrentLogin {
            config: config.clone(),
            connection: connection.clone(),
            mode,
        });
        Ok(ElastiCacheUser {
            account,
            access_string: found.access_string().unwrap_or_default().to_owned(),
            active: found.status() == Some("active"),
            current,
        })
    }

    fn alternate(&self, _active: &ElastiCacheUser, _name: &str) -> Result<ElastiCacheUser, String> {
        Err("ElastiCache users are rotated by the admin strategy only (ModifyUser keeps two passwords)".into())
    }

    fn user_name<'u>(&self, user: &'u ElastiCacheUser) -> &'u str {
        &user.account.username
    }

    /// The commands the user's access string lets it run that take over other users or the cache (`ACL
    /// SETUSER`, `CONFIG SET`, `MODULE LOAD`...), read as an ACL user's rules are, categories expanded by Redis 7's
    /// table (there is no server to ask).
    async fn privileged_rights(
        &self,
        _admin: &mut ElastiCacheSession,
        user: &ElastiCacheUser,
    ) -> Result<Vec<String>, RotationError> {
        Ok(describe(&CommandRules::parse(&user.access_string).grants(&Categories::redis7())))
    }

    /// Waits for the user to be `active` (unless [`Engine::user`] just found it so: a change begun since is refused
    /// by ElastiCache as `InvalidUserState`, which the service retries), then gives it the new password and, when a
    /// login to the cache with it succeeds now, the one it has now.
    async fn set_password(
        &self,
        _admin: &mut ElastiCacheSession,
        user: &ElastiCacheUser,
        password: &Password,
    ) -> Result<(), RotationError> {
        let account = &user.account;
        if !user.active {
            self.wait_active(account).await?;
        }
        let mut passwords = vec![password.expose().to_owned()];
        if let Some(kept) = self.proven_current(user).await?.filter(|kept| kept.expose() != password.expose()) {
            passwords.push(kept.expose().to_owned());
        }
        self.client(&account.region)
            .modify_user()
            .user_id(&account.id)
            .set_passwords(Some(passwords))
            .send()
            .await
            .map_err(|e| api_error("ModifyUser", &account.arn, &e))?;
        tracing::info!(user = %account.id, "ElastiCache is applying the user's new password");
        Ok(())
    }

    async fn sync_alternate(
        &self,
        _admin: &mut ElastiCacheSession,
        _active: &ElastiCacheUser,
        _inactive: &ElastiCacheUser,
        _password: &Password,
    ) -> Result<(), RotationError> {
        Err(unsupported("there is no alternating user"))
    }

    /// The role's IAM permissions cannot be asked of ElastiCache; doctor's check of the user itself covers
    /// `DescribeUsers`.
    async fn missing_admin_rights(&self, _admin: &mut ElastiCacheSession) -> Result<Option<String>, RotationError> {
        Ok(None)
    }

    async fn probe(&self, session: &mut ElastiCacheSession, query: &str) -> Result<(), RotationError> {
        match session {
            ElastiCacheSession::Cache(session) => self.redis.probe(session, query).await,
            ElastiCacheSession::Role(_) => Err(unsupported("the role has no cache session to probe")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn the_configuration_names_the_users_and_keeps_passwords_elasticache_takes() {
        let policy = PasswordPolicy::default();
        let none = ElastiCacheConfig::from_env(&env(&[]), &policy).unwrap_err().to_string();
        assert!(none.contains("ELASTICACHE_USER_ARNS is not set"), "{none}");
        assert!(ElastiCacheConfig::from_env(&env(&[("USER_NAME", "app")]), &policy).is_ok());
        let config =
            ElastiCacheConfig::from_env(&env(&[("ELASTICACHE_USER_ARNS", "arn:aws:elasticache:*")]), &policy).unwrap();
        assert_eq!((config.max_wait, config.interval), (Duration::from_secs(600), Duration::from_secs(5)));
        let database = ElastiCacheConfig::database_config(&env(&[("ROTATION_STRATEGY", "admin")])).unwrap();
        assert_eq!(database.test_query, "PING");
        let single = ElastiCacheConfig::database_config(&env(&[])).unwrap_err().to_string();
        assert!(single.contains("ROTATION_STRATEGY must be admin"), "{single}");
        let admins = [("ROTATION_STRATEGY", "admin"), ("ADMIN_SECRET_ARNS", "arn:aws:secretsmanager:*")];
        let pinned = ElastiCacheConfig::database_config(&env(&admins)).unwrap_err().to_string();
        assert!(pinned.contains("ADMIN_SECRET_ARNS must not be set"), "{pinned}");
        let short = PasswordPolicy { length: 12, ..PasswordPolicy::default() };
        let error = ElastiCacheConfig::from_env(&env(&[("USER_NAME", "app")]), &short).unwrap_err().to_string();
        assert!(error.contains("PASSWORD_LENGTH must be from 16 to 128"), "{error}");
        let at = PasswordPolicy { exclude_characters: "/\"".into(), ..PasswordPolicy::default() };
        let error = ElastiCacheConfig::from_env(&env(&[("USER_NAME", "app")]), &at).unwrap_err().to_string();
        assert!(error.contains("EXCLUDE_CHARACTERS must hold '@'"), "{error}");
    }

    #[test]
    fn a_user_secret_is_read_as_aws_writes_it() {
        let secret = Secret::parse(
            "arn:s",
            r#"{"user_arn":"arn:aws:elasticache:eu-west-1:123456789012:user:app-user","username":"app","password":"p"}"#,
        );
        let user = UserSecret::parse(&secret).unwrap();
        assert_eq!((user.region.as_str(), user.id.as_str(), user.username.as_str()), ("eu-west-1", "app-user", "app"));
        for bad in ["arn:aws:elasticache:eu-west-1:123456789012:usergroup:g", "app-user", "arn:aws:rds:x:1:user:u"] {
            let secret = Secret::parse("arn:s", &format!(r#"{{"user_arn":"{bad}","username":"app"}}"#));
            let error = UserSecret::parse(&secret).unwrap_err().to_string();
            assert!(error.contains("`user_arn` must be"), "{bad}: {error}");
        }
        let first = Secret::parse("arn:s", r#"{"user_arn":"arn:aws:elasticache:r:1:user:u","username":"app"}"#);
        assert_eq!(UserSecret::parse(&first).unwrap().password, None);
    }
}
