//! [`ElastiCacheTarget`]: ElastiCache users, whose passwords are changed through the ElastiCache API
//! (`ModifyUser`), with the secret AWS's ElastiCache rotation function uses.
//!
//! The secret is `{"user_arn": "arn:aws:elasticache:<region>:<account>:user:<user id>", "username": ..., "password":
//! ...}`, unknown fields kept; `host` and `port` (and `ssl`), when present, name the cache testSecret logs in to, else
//! it is found from the user's user groups and their replication group. setSecret waits (with a bound) for the
//! user to be `active`, then gives it two passwords, the pending one and the current one, so a client holding
//! AWSCURRENT keeps working; the one before is dropped at the next rotation, as AWS's function does. testSecret
//! waits for `active` again (the change has reached every node), then logs in to the cache with the pending
//! password and runs the test command.
//!
//! There is no admin secret: the function's role is the administrator. What it may change is bounded twice: by the
//! role's `elasticache:ModifyUser` resources, and by `ELASTICACHE_USER_ARNS` (or AWS's `USER_NAME`), so a secret
//! whose `user_arn` names another user is refused before any call.

use std::time::{Duration, Instant};

use aws_sdk_elasticache::Client;
use aws_sdk_elasticache::config::{Builder as ClientConfig, Region};
use aws_sdk_elasticache::error::ProvideErrorMetadata;
use aws_sdk_elasticache::types::User;
use rotation_core::{
    CreateContext, Env, Password, PasswordPolicy, RotationError, Secret, SetContext, Target, TargetErrorKind,
    TestContext,
};
use rotation_database::{ArnPatterns, Connection, DatabaseConfig, Engine, Purpose};

use crate::{DEFAULT_PORT, RedisEngine};

/// The characters ElastiCache refuses in a password.
const REFUSED_CHARACTERS: &str = "/\"@";

/// The access-string rules that make a user an administrator of the cache.
const ADMIN_RULES: &[&str] = &["+@all", "allcommands", "+@admin", "+@dangerous", "+acl", "+config"];

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
    /// `ALLOW_PRIVILEGED_USERS` (default false): whether a user whose access string makes it an administrator
    /// (`+@all`, `+@admin`, `+@dangerous`, `+acl`) may be rotated.
    pub allow_privileged_users: bool,
    /// TLS, time-outs, the test command and its retries, as for the other engines (`TLS_MODE`, `TLS_CA_BUNDLE`,
    /// `CONNECT_TIMEOUT_SECONDS`, `TEST_QUERY`, `TEST_ATTEMPTS`).
    pub database: DatabaseConfig,
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
        if !(16..=128).contains(&policy.length) {
            return Err(RotationError::Config {
                variable: "PASSWORD_LENGTH",
                reason: "must be from 16 to 128: ElastiCache refuses other passwords".into(),
            });
        }
        if let Some(c) = REFUSED_CHARACTERS.chars().find(|c| !policy.exclude_characters.contains(*c)) {
            return Err(RotationError::Config {
                variable: "EXCLUDE_CHARACTERS",
                reason: format!("must hold {c:?}: ElastiCache refuses passwords with /, \" or @"),
            });
        }
        let mut database = DatabaseConfig::from_env(env)?;
        if env.get("TEST_QUERY").is_none() {
            database.test_query = crate::DEFAULT_TEST_COMMAND.to_owned();
        }
        Ok(Self {
            users,
            user_name,
            max_wait: Duration::from_secs(env.number("MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS", 600, 1..=900)? as u64),
            interval: Duration::from_secs(env.number("WAITING_RETRY_INTERVAL_IN_SECONDS", 5, 1..=60)? as u64),
            allow_privileged_users: env.flag("ALLOW_PRIVILEGED_USERS", false)?,
            database,
        })
    }
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
        let parts: Vec<&str> = arn.split(':').collect();
        let [_, partition, "elasticache", region, account, "user", id] = parts[..] else {
            return Err(secret.invalid(
                "user_arn",
                "must be an ElastiCache user ARN: arn:aws:elasticache:<region>:<account>:user:<user id>",
            ));
        };
        if !partition.starts_with("aws") || region.is_empty() || account.is_empty() || id.is_empty() {
            return Err(secret.invalid("user_arn", "must be arn:aws:elasticache:<region>:<account>:user:<user id>"));
        }
        Ok(Self {
            arn: arn.to_owned(),
            region: region.to_owned(),
            id: id.to_owned(),
            username: secret.require_str("username")?.to_owned(),
            password: secret.optional_str("password")?.map(|p| Password::new(p.to_owned())),
        })
    }
}

/// Rotates ElastiCache users through the ElastiCache API; testSecret logs in to the cache.
#[derive(Debug, Clone)]
pub struct ElastiCacheTarget {
    client: ClientConfig,
    redis: RedisEngine,
    config: ElastiCacheConfig,
}

impl ElastiCacheTarget {
    /// A target calling ElastiCache with `client` (its region replaced by each user ARN's), logging in to caches
    /// with `redis`.
    pub fn new(client: ClientConfig, redis: RedisEngine, config: ElastiCacheConfig) -> Self {
        Self { client, redis, config }
    }

    /// `rotatectl doctor`: whether the function may rotate the user `secret` names, and ElastiCache describes it
    /// under the secret's name, not an administrator.
    pub async fn check_user(&self, secret: &Secret) -> Result<(), RotationError> {
        self.describe(&self.user_secret(secret)?).await.map(drop)
    }

    fn client(&self, region: &str) -> Client {
        Client::from_conf(self.client.clone().region(Region::new(region.to_owned())).build())
    }

    /// The user a secret names, refused unless the configuration allows it.
    fn user_secret(&self, secret: &Secret) -> Result<UserSecret, RotationError> {
        let user = UserSecret::parse(secret)?;
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
        Ok(user)
    }

    /// The user, as ElastiCache describes it, checked against the secret: the same name, and no administrator
    /// unless allowed.
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
        let access = found.access_string().unwrap_or_default();
        let rights: Vec<&str> = access.split_whitespace().filter(|rule| ADMIN_RULES.contains(rule)).collect();
        if !rights.is_empty() && !self.config.allow_privileged_users {
            return Err(RotationError::target(
                TargetErrorKind::ConfusedDeputy,
                &user.arn,
                format!(
                    "the user's access string grants {}: rotor does not rotate administrators (set ALLOW_PRIVILEGED_USERS=true to allow it)",
                    rights.join(" ")
                ),
            ));
        }
        Ok(found.clone())
    }

    /// Waits until the user is `active` (a change made earlier has reached every node), looking every
    /// `WAITING_RETRY_INTERVAL_IN_SECONDS`, for at most `MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS` and never past
    /// `deadline` (less one interval, to report its own error).
    async fn wait_active(&self, user: &UserSecret, deadline: Option<Instant>) -> Result<User, RotationError> {
        let mut end = Instant::now() + self.config.max_wait;
        if let Some(deadline) = deadline {
            end = end.min(deadline.checked_sub(self.config.interval).unwrap_or(deadline));
        }
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

    /// Where the cache is: the secret's `host` and `port`, else the endpoint of the replication group of the
    /// user's first user group that has one (its configuration endpoint in cluster mode, else its primary).
    async fn endpoint(&self, secret: &Secret, user: &UserSecret, found: &User) -> Result<(String, u16), RotationError> {
        if let Some(host) = secret.optional_str("host")? {
            return Ok((host.to_owned(), secret.port("port", DEFAULT_PORT)?));
        }
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

fn no_such_user(user: &UserSecret) -> RotationError {
    RotationError::target(
        TargetErrorKind::Rejected,
        &user.arn,
        "ElastiCache has no such user; create it, or fix the secret's user_arn",
    )
}

/// An ElastiCache API error, named by its operation, with the fix.
fn api_error<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    operation: &str,
    resource: &str,
    error: &aws_sdk_elasticache::error::SdkError<E, aws_sdk_elasticache::config::http::HttpResponse>,
) -> RotationError {
    let code = error.code();
    let (kind, fix) = match code {
        Some("AccessDenied") | Some("AccessDeniedException") | Some("UnauthorizedOperation") => (
            TargetErrorKind::PermissionDenied,
            "allow the function's role elasticache:DescribeUsers, elasticache:ModifyUser, elasticache:DescribeUserGroups and elasticache:DescribeReplicationGroups on it",
        ),
        Some("UserNotFound") => (TargetErrorKind::Rejected, "ElastiCache has no such user; fix the secret's user_arn"),
        Some("UserGroupNotFound") | Some("ReplicationGroupNotFoundFault") => {
            (TargetErrorKind::Rejected, "it was deleted; name the cache with host and port in the secret")
        }
        Some("InvalidUserState") => (TargetErrorKind::Unreachable, "the user is being changed; the service retries"),
        Some("InvalidParameterValue") | Some("InvalidParameterCombination") => {
            (TargetErrorKind::Rejected, "ElastiCache refused the request")
        }
        _ => (
            TargetErrorKind::Unreachable,
            "check the ElastiCache endpoint (AWS_ENDPOINT_URL_ELASTICACHE) and the network",
        ),
    };
    let message = match code {
        Some(code) => format!("ElastiCache {operation} failed ({code}): {fix}"),
        None => format!("ElastiCache {operation} got no answer ({error}): {fix}"),
    };
    RotationError::target(kind, resource, message)
}

impl Target for ElastiCacheTarget {
    fn name(&self) -> &'static str {
        "elasticache"
    }

    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        self.user_secret(current)?;
        // The store holds the value itself: this is where the new password leaves its wrapper.
        current.with_field("password", password.into_inner())
    }

    /// The next secret, once ElastiCache says the user exists under the secret's name.
    async fn create(
        &self,
        _ctx: &CreateContext<'_>,
        current: &Secret,
        password: Password,
    ) -> Result<Secret, RotationError> {
        let next = self.next_secret(current, password)?;
        self.describe(&self.user_secret(current)?).await?;
        Ok(next)
    }

    /// Waits for the user to be `active`, then gives it the pending password and the current one.
    async fn set(&self, ctx: &SetContext<'_>) -> Result<(), RotationError> {
        let current = self.user_secret(ctx.current)?;
        let pending = self.user_secret(ctx.pending)?;
        if (&pending.arn, &pending.username) != (&current.arn, &current.username) {
            return Err(RotationError::target(
                TargetErrorKind::ConfusedDeputy,
                &current.arn,
                "the pending secret names another user than the current one; rotate only the credential, never the target",
            ));
        }
        let new = pending.password.as_ref().ok_or_else(|| ctx.pending.invalid("password", "is missing"))?;
        self.wait_active(&current, ctx.deadline).await?;
        let mut passwords = vec![new.expose().to_owned()];
        // AWS's secrets may have no password before their first rotation.
        if let Some(kept) = current.password.as_ref().filter(|kept| kept.expose() != new.expose()) {
            passwords.push(kept.expose().to_owned());
        }
        self.client(&current.region)
            .modify_user()
            .user_id(&current.id)
            .set_passwords(Some(passwords))
            .send()
            .await
            .map_err(|e| api_error("ModifyUser", &current.arn, &e))?;
        tracing::info!(user = %current.id, "ElastiCache is applying the user's new password");
        Ok(())
    }

    /// Waits for the user to be `active`, then logs in to the cache with the pending password and runs the test
    /// command, with the other engines' bounded retries.
    async fn test(&self, ctx: &TestContext<'_>) -> Result<(), RotationError> {
        let user = self.user_secret(ctx.pending)?;
        let password = user.password.clone().ok_or_else(|| ctx.pending.invalid("password", "is missing"))?;
        let found = self.wait_active(&user, ctx.deadline).await?;
        let (host, port) = self.endpoint(ctx.pending, &user, &found).await?;
        let connection = Connection {
            engine: Some("elasticache".into()),
            host,
            port,
            dbname: None,
            username: user.username.clone(),
            password,
        };
        let config = &self.config.database;
        let mode = config.tls.for_secret(ctx.pending)?;
        let retry_on = |error: &RotationError| error.is_retryable() || error.is_authentication_failure();
        let deadline = ctx.deadline.map(|deadline| (deadline, config.test_attempt_bound()));
        config
            .test_backoff
            .retry_if(retry_on, deadline, || async {
                let mut session = self.redis.login(config, &connection, mode, Purpose::Probe).await?;
                self.redis.probe(&mut session, &config.test_query).await
            })
            .await
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
        assert_eq!(config.database.test_query, "PING");
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
