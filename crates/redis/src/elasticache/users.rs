//! [`ElastiCacheUsers`]: ElastiCache users as a [`ManagedCredential`]: the API describes and changes them
//! (`DescribeUsers`, `ModifyUser`), a login to their cache with [`RedisEngine`]'s session proves a password.

use aws_sdk_elasticache::Client;
use aws_sdk_elasticache::config::Builder as ClientConfig;
use aws_sdk_elasticache::types::User;
use rotation_core::{
    Change, Claim, ManagedCredential, Password, PasswordPolicy, Readiness, RotationError, Secret, TargetErrorKind,
};
use rotation_database::LoginFields;

use super::config::{ElastiCacheConfig, refuse_policy};
use super::error::{NO_SUCH_USER, api_error};
use super::resources::{client, endpoint, password_of, probe_at, proven_at, region_and_id};
use crate::engine::RedisEngine;
use crate::privilege::{Categories, CommandRules, describe};

/// The user a secret names: its ARN (region, id) and its name. Never its password, and never a cache: a secret's
/// `host`/`port` are kept for its clients, but rotor logs in only where the API says the user's cache is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElastiCacheUser {
    arn: String,
    region: String,
    id: String,
    username: String,
}

impl ElastiCacheUser {
    /// Reads the fields AWS's ElastiCache function writes: `user_arn` and `username`.
    fn parse(secret: &Secret) -> Result<Self, RotationError> {
        let arn = secret.require_str("user_arn")?;
        let Some((region, id)) = region_and_id(arn, "user") else {
            return Err(secret.invalid(
                "user_arn",
                "must be an ElastiCache user ARN: arn:aws:elasticache:<region>:<account>:user:<user id>",
            ));
        };
        Ok(Self { arn: arn.to_owned(), region, id, username: secret.require_str("username")?.to_owned() })
    }

    /// The user's ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }
}

/// ElastiCache users, administered by the function's role through the ElastiCache API, with the secret AWS's
/// ElastiCache rotation function uses; logins (the proofs, testSecret's probe, doctor's check) go to the cache
/// with [`RedisEngine`]'s session, in the TLS mode the secret's `ssl` field and the function's floor allow.
///
/// What the role may change is bounded twice: by its `elasticache:ModifyUser` resources, and by
/// `ELASTICACHE_USER_ARNS` (or AWS's `USER_NAME`), so a secret whose `user_arn` names another user is refused
/// before any call.
#[derive(Debug, Clone)]
pub struct ElastiCacheUsers {
    client: ClientConfig,
    redis: RedisEngine,
    config: ElastiCacheConfig,
}

impl ElastiCacheUsers {
    /// Users changed with `client` (its region replaced by each user ARN's), logged in to with `redis`.
    pub fn new(client: ClientConfig, redis: RedisEngine, config: ElastiCacheConfig) -> Self {
        Self { client, redis, config }
    }

    /// The configuration.
    pub fn config(&self) -> &ElastiCacheConfig {
        &self.config
    }

    fn client(&self, region: &str) -> Client {
        client(&self.client, region)
    }

    /// Refuses a user the configuration does not name.
    fn allowed(&self, user: &ElastiCacheUser) -> Result<(), RotationError> {
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

    /// The user as ElastiCache describes it, whatever its status, checked against the secret: the same name.
    /// `None` when ElastiCache has no such user.
    pub async fn find(&self, user: &ElastiCacheUser) -> Result<Option<User>, RotationError> {
        let out = self
            .client(&user.region)
            .describe_users()
            .user_id(&user.id)
            .send()
            .await
            .map_err(|e| api_error("DescribeUsers", &user.arn, &e))?;
        let Some(found) = out.users().iter().find(|u| u.user_id() == Some(user.id.as_str())) else {
            return Ok(None);
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
        Ok(Some(found.clone()))
    }

    /// Refuses a user whose access string lets it run the commands that take over other users or the cache
    /// (`ACL SETUSER`, `CONFIG SET`, `MODULE LOAD`...), read as an ACL user's rules are, categories expanded by
    /// Redis 7's table (there is no server to ask), unless `ALLOW_PRIVILEGED_USERS` opts in.
    pub fn refuse_privileged(&self, user: &ElastiCacheUser, found: &User) -> Result<(), RotationError> {
        let rights =
            describe(&CommandRules::parse(found.access_string().unwrap_or_default()).grants(&Categories::redis7()));
        if rights.is_empty() || self.config.login.allow_privileged_users {
            return Ok(());
        }
        Err(RotationError::target(
            TargetErrorKind::ConfusedDeputy,
            &user.arn,
            format!(
                "user {:?} holds administrative rights ({}): the function's role does not set its password from a user secret; set ALLOW_PRIVILEGED_USERS=true on the function if this is intended",
                user.username,
                rights.join(", ")
            ),
        ))
    }

    /// Where the cache is: the endpoint of the replication group of the user's first user group that has one (its
    /// configuration endpoint in cluster mode, else its primary).
    async fn endpoint(&self, user: &ElastiCacheUser, found: &User) -> Result<(String, u16), RotationError> {
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
                if let Some(endpoint) = out.replication_groups().first().and_then(endpoint) {
                    return Ok(endpoint);
                }
            }
        }
        Err(RotationError::target(
            TargetErrorKind::Rejected,
            &user.arn,
            "the user is in no user group of a replication group with an endpoint; add it to one (rotor logs in only where the API says the user's cache is, never at a secret's host, so users of serverless caches are not rotated yet)",
        ))
    }

    /// A login as `user` at `(host, port)` with `password`.
    fn connection(user: &ElastiCacheUser, (host, port): (String, u16), password: &str) -> LoginFields {
        let password = Password::new(password.to_owned());
        LoginFields { engine: None, host, port, dbname: None, username: user.username.clone(), password }
    }
}

impl ManagedCredential for ElastiCacheUsers {
    type Resource = ElastiCacheUser;
    type Ready = User;

    const READY: &'static str = "active";

    /// The function once ran under the database strategies, as `admin`.
    const STRATEGY: Option<&'static str> = Some("admin");

    fn name(&self) -> &'static str {
        "elasticache"
    }

    /// The user `user_arn` names, refused unless `ELASTICACHE_USER_ARNS` (and `USER_NAME`, when set) allow it.
    fn resource(&self, secret: &Secret) -> Result<ElastiCacheUser, RotationError> {
        let user = ElastiCacheUser::parse(secret)?;
        self.allowed(&user)?;
        Ok(user)
    }

    /// An ElastiCache user is named by its ARN: user names need not be unique, and an id alone would let the
    /// secret's writer move it to another Region or account the function reaches.
    fn claim<'r>(&self, user: &'r ElastiCacheUser) -> Claim<'r> {
        Claim { kind: "ElastiCache user", name: &user.arn, at: None }
    }

    fn refuse_policy(&self, policy: &PasswordPolicy) -> Option<String> {
        refuse_policy(policy).map(|(variable, reason)| format!("{variable} {reason}"))
    }

    async fn describe(&self, user: &ElastiCacheUser) -> Result<Readiness<User>, RotationError> {
        let Some(found) = self.find(user).await? else { return Ok(Readiness::Gone(NO_SUCH_USER.into())) };
        Ok(match found.status() {
            Some("active") => Readiness::Ready(found),
            status => Readiness::Busy(status.unwrap_or("unknown").to_owned()),
        })
    }

    /// A login at the cache ElastiCache names for the user (its user groups' replication group), never at the
    /// secret's host: a proof that a password is the user's must reach the user's real cache.
    async fn proves(&self, user: &ElastiCacheUser, found: &User, secret: &Secret) -> Result<bool, RotationError> {
        let Some(password) = password_of(secret) else { return Ok(false) };
        let connection = Self::connection(user, self.endpoint(user, found).await?, password);
        proven_at(&self.redis, &self.config.login, &connection, secret).await
    }

    /// `ModifyUser` with the pending password and, when it has just logged in, the current one (so a client
    /// holding AWSCURRENT keeps working; the one before is dropped, as AWS's function does), after refusing a
    /// privileged user. The same two passwords again are harmless.
    async fn modify(
        &self,
        user: &ElastiCacheUser,
        found: &User,
        pending: &Secret,
        current: Option<&Secret>,
    ) -> Result<Change, RotationError> {
        self.refuse_privileged(user, found)?;
        let new = pending.require_str("password")?;
        let mut passwords = vec![new.to_owned()];
        passwords.extend(current.and_then(password_of).filter(|kept| *kept != new).map(str::to_owned));
        self.client(&user.region)
            .modify_user()
            .user_id(&user.id)
            .set_passwords(Some(passwords))
            .send()
            .await
            .map_err(|e| api_error("ModifyUser", &user.arn, &e))?;
        tracing::info!(user = %user.id, "ElastiCache is applying the user's new password");
        Ok(Change::Done)
    }

    /// Logs in at the cache ElastiCache names for the user, never at the secret's `host` (a secret's writer would
    /// choose where the new password is sent), and runs `TEST_QUERY` (default `PING`).
    async fn login(&self, user: &ElastiCacheUser, found: &User, secret: &Secret) -> Result<(), RotationError> {
        let password = secret.require_str("password")?;
        let connection = Self::connection(user, self.endpoint(user, found).await?, password);
        probe_at(&self.redis, &self.config.login, &connection, secret).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_secret_is_read_as_aws_writes_it() {
        let secret = Secret::parse(
            "arn:s",
            r#"{"user_arn":"arn:aws:elasticache:eu-west-1:123456789012:user:app-user","username":"app","password":"p"}"#,
        );
        let user = ElastiCacheUser::parse(&secret).unwrap();
        assert_eq!((user.region.as_str(), user.id.as_str(), user.username.as_str()), ("eu-west-1", "app-user", "app"));
        for bad in ["arn:aws:elasticache:eu-west-1:123456789012:usergroup:g", "app-user", "arn:aws:rds:x:1:user:u"] {
            let secret = Secret::parse("arn:s", &format!(r#"{{"user_arn":"{bad}","username":"app"}}"#));
            let error = ElastiCacheUser::parse(&secret).unwrap_err().to_string();
            assert!(error.contains("`user_arn` must be"), "{bad}: {error}");
        }
        let first = Secret::parse("arn:s", r#"{"user_arn":"arn:aws:elasticache:r:1:user:u","username":"app"}"#);
        assert_eq!(password_of(&first), None);
        // A secret's host names no cache rotor logs in to: the user it names is the same with or without one.
        let cache = Secret::parse(
            "arn:s",
            r#"{"user_arn":"arn:aws:elasticache:r:1:user:u","username":"app","host":"cache.example","port":"6380"}"#,
        );
        assert_eq!(ElastiCacheUser::parse(&cache).unwrap(), ElastiCacheUser::parse(&first).unwrap());
    }
}
