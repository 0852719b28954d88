//! `rotate-elasticache` and `rotate-elasticache-auth-token`, each described once for its binary and for
//! `rotatectl doctor`.

use rotation_core::{
    Check, Function, Init, ManagedCredential, ManagedTarget, RotationError, RunOptions, Secret, TargetErrorKind,
};
use rotation_database::TlsRoots;

use super::auth_token::ElastiCacheAuthToken;
use super::config::{AUTH_TOKEN_EXCLUDED_CHARACTERS, ElastiCacheAuthTokenConfig, ElastiCacheConfig};
use super::error::NO_SUCH_USER;
use super::users::ElastiCacheUsers;
use crate::RedisEngine;

/// The target `rotate-elasticache` rotates with.
pub type ElastiCacheTarget = ManagedTarget<ElastiCacheUsers>;

/// The target `rotate-elasticache-auth-token` rotates with.
pub type ElastiCacheAuthTokenTarget = ManagedTarget<ElastiCacheAuthToken>;

/// `rotate-elasticache`: ElastiCache users through the ElastiCache API, the function's role their administrator
/// (`ROTATION_STRATEGY` defaults to, and may only be, `admin`); testSecret logs in to the cache.
#[derive(Debug)]
pub struct RotateElastiCache;

impl Function for RotateElastiCache {
    type Target = ElastiCacheTarget;

    const NAME: &'static str = "rotate-elasticache";

    fn options() -> RunOptions {
        RunOptions::default().env_default("ROTATION_STRATEGY", "admin")
    }

    fn build(init: &Init) -> Result<Self::Target, RotationError> {
        let config = ElastiCacheConfig::from_env(&init.env, &init.policy)?;
        let roots = TlsRoots::load(&config.login.ca_bundle)?;
        let client = aws_sdk_elasticache::config::Builder::from(&init.sdk_config);
        let timing = config.timing();
        Ok(ManagedTarget::new(ElastiCacheUsers::new(client, RedisEngine::new(roots), config), timing))
    }

    /// The secret's fields (a user the configuration names) and its `ssl` field; that the function's role finds
    /// the user under the secret's name and that it is no administrator (the refusal setSecret makes before any
    /// change); that the user's cache answers and the current credential logs in, once the user is `active`.
    async fn checks(target: &Self::Target, _init: &Init, _id: &str, current: &Secret) -> Vec<Check> {
        let users = target.credential();
        let user = users.resource(current);
        let mode = users.config().login.tls.for_secret(current);
        let mut checks =
            vec![Check::of("the secret's fields fit the function", &user), Check::of("the secret's ssl field", &mode)];
        let (Ok(user), Ok(mode)) = (user, mode) else { return checks };
        let found = users.find(&user).await.and_then(|found| {
            found.ok_or_else(|| RotationError::target(TargetErrorKind::Rejected, user.arn(), NO_SUCH_USER))
        });
        checks.push(Check::of("the function's role finds the user under the secret's name", &found));
        let Ok(found) = found else { return checks };
        checks.push(Check::new(
            "the user is no administrator (or ALLOW_PRIVILEGED_USERS is set)",
            users.refuse_privileged(&user, &found),
        ));
        let login = async {
            let ready = target.wait_ready(&user, None).await?;
            users.login(&user, &ready, current).await
        };
        let name =
            format!("the user's cache is reachable over TLS ({}) and the current credential logs in", mode.as_str());
        checks.push(Check::new(name, login.await));
        checks
    }
}

/// `rotate-elasticache-auth-token`: the AUTH token of a replication group without RBAC, through the ElastiCache
/// API (`ModifyReplicationGroup`); testSecret logs in with `AUTH <token>` where the API says the group is.
/// `EXCLUDE_CHARACTERS` defaults to every punctuation character an AUTH token may not hold.
#[derive(Debug)]
pub struct RotateElastiCacheAuthToken;

impl Function for RotateElastiCacheAuthToken {
    type Target = ElastiCacheAuthTokenTarget;

    const NAME: &'static str = "rotate-elasticache-auth-token";

    fn options() -> RunOptions {
        RunOptions::default().excluding(AUTH_TOKEN_EXCLUDED_CHARACTERS)
    }

    fn build(init: &Init) -> Result<Self::Target, RotationError> {
        let config = ElastiCacheAuthTokenConfig::from_env(&init.env, &init.policy)?;
        let roots = TlsRoots::load(&config.login.ca_bundle)?;
        let client = aws_sdk_elasticache::config::Builder::from(&init.sdk_config);
        let timing = config.timing();
        Ok(ManagedTarget::new(ElastiCacheAuthToken::new(client, RedisEngine::new(roots), config), timing))
    }

    /// The secret's fields (a group the configuration names) and its `ssl` field; that the group is `available`,
    /// takes an AUTH token, and the current token logs in where the API says the group is.
    async fn checks(target: &Self::Target, _init: &Init, _id: &str, current: &Secret) -> Vec<Check> {
        let tokens = target.credential();
        let group = tokens.resource(current);
        let mode = tokens.config().login.tls.for_secret(current);
        let mut checks =
            vec![Check::of("the secret's fields fit the function", &group), Check::of("the secret's ssl field", &mode)];
        let (Ok(group), Ok(mode)) = (group, mode) else { return checks };
        let login = async {
            let at = target.wait_ready(&group, None).await?;
            tokens.login(&group, &at, current).await
        };
        let name = format!(
            "the group takes an AUTH token, is reachable over TLS ({}) and the current token logs in",
            mode.as_str()
        );
        checks.push(Check::new(name, login.await));
        checks
    }
}
