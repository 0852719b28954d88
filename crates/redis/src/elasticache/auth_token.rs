//! [`ElastiCacheAuthToken`]: the AUTH token of an ElastiCache replication group without RBAC, as a
//! [`ManagedCredential`]: the API describes the group and changes its token (`DescribeReplicationGroups`,
//! `ModifyReplicationGroup`), a Redis `AUTH <token>` at the endpoint the API names proves a token.

use aws_sdk_elasticache::config::Builder as ClientConfig;
use aws_sdk_elasticache::types::AuthTokenUpdateStrategyType;
use rotation_core::{
    AwsFailure, Change, Claim, ManagedCredential, Password, PasswordPolicy, Readiness, RotationError, Secret,
    TargetErrorKind,
};
use rotation_database::LoginFields;

use super::config::{ElastiCacheAuthTokenConfig, refuse_auth_token_policy};
use super::error::api_error;
use super::resources::{client, endpoint, password_of, probe_at, proven_at, region_and_id};
use crate::connect::DEFAULT_USER;
use crate::engine::RedisEngine;

/// What a secret naming a group ElastiCache does not have is told.
const NO_SUCH_GROUP: &str =
    "ElastiCache has no such replication group; create it, or fix the secret's replication_group_arn";

/// The replication group a secret names: its ARN, region and id. Never its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElastiCacheReplicationGroup {
    arn: String,
    region: String,
    id: String,
}

impl ElastiCacheReplicationGroup {
    /// Reads `replication_group_arn`; every other field (`host`, `port`, `ssl` for clients) is the secret's own.
    fn parse(secret: &Secret) -> Result<Self, RotationError> {
        let arn = secret.require_str("replication_group_arn")?;
        let Some((region, id)) = region_and_id(arn, "replicationgroup") else {
            return Err(secret.invalid(
                "replication_group_arn",
                "must be an ElastiCache replication group ARN: arn:aws:elasticache:<region>:<account>:replicationgroup:<id>",
            ));
        };
        Ok(Self { arn: arn.to_owned(), region, id })
    }

    /// The group's ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }
}

/// Where a group that is `available` is reached, as the API names it (never as a secret says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEndpoint {
    host: String,
    port: u16,
}

/// The AUTH tokens of replication groups without RBAC, changed by the function's role through the ElastiCache API:
/// `ModifyReplicationGroup` `ROTATE` adds the pending token beside the newest one the group holds (AWSCURRENT's, once
/// it has logged in), so clients holding AWSCURRENT keep working and AWSPREVIOUS's token is dropped at the next
/// rotation; `SET` follows only when AWSCURRENT's token did not log in, so that no token rotor cannot vouch for stays
/// valid. Logins (the proofs, testSecret's probe) are `AUTH <token>` at the endpoint the API names, in the TLS
/// mode the secret's `ssl` field and the function's floor allow.
///
/// What the role may change is bounded twice: by its `elasticache:ModifyReplicationGroup` resources, and by
/// `ELASTICACHE_REPLICATION_GROUP_ARNS`, so a secret naming another group is refused before any call.
#[derive(Debug, Clone)]
pub struct ElastiCacheAuthToken {
    client: ClientConfig,
    redis: RedisEngine,
    config: ElastiCacheAuthTokenConfig,
}

impl ElastiCacheAuthToken {
    /// Tokens changed with `client` (its region replaced by each group ARN's), logged in with `redis`.
    pub fn new(client: ClientConfig, redis: RedisEngine, config: ElastiCacheAuthTokenConfig) -> Self {
        Self { client, redis, config }
    }

    /// The configuration.
    pub fn config(&self) -> &ElastiCacheAuthTokenConfig {
        &self.config
    }

    /// A login as the `default` user with `token` where the API says the group is.
    fn connection(at: &GroupEndpoint, token: &str) -> LoginFields {
        let password = Password::new(token.to_owned());
        let (host, port) = (at.host.clone(), at.port);
        LoginFields { engine: None, host, port, dbname: None, username: DEFAULT_USER.to_owned(), password }
    }

    /// `ModifyReplicationGroup` of the token, applied now. `Ok(Some(refusal))` when the API refused the request's
    /// values (`InvalidParameterValue`: a `SET` the group's tokens do not allow), every other failure an error.
    async fn update(
        &self,
        group: &ElastiCacheReplicationGroup,
        token: &str,
        strategy: AuthTokenUpdateStrategyType,
    ) -> Result<Option<RotationError>, RotationError> {
        let sent = client(&self.client, &group.region)
            .modify_replication_group()
            .replication_group_id(&group.id)
            .auth_token(token)
            .auth_token_update_strategy(strategy.clone())
            .apply_immediately(true)
            .send()
            .await;
        match sent {
            Ok(_) => {
                tracing::info!(group = %group.id, strategy = strategy.as_str(), "ElastiCache is applying the AUTH token");
                Ok(None)
            }
            Err(error) => {
                let refusal = api_error("ModifyReplicationGroup", &group.arn, &error);
                match AwsFailure::of(&error).code() {
                    Some("InvalidParameterValue") => Ok(Some(refusal)),
                    _ => Err(refusal),
                }
            }
        }
    }
}

impl ManagedCredential for ElastiCacheAuthToken {
    type Resource = ElastiCacheReplicationGroup;
    type Ready = GroupEndpoint;

    const READY: &'static str = "available";

    fn name(&self) -> &'static str {
        "elasticache-auth-token"
    }

    /// The group `replication_group_arn` names, refused unless `ELASTICACHE_REPLICATION_GROUP_ARNS` allows it.
    fn resource(&self, secret: &Secret) -> Result<ElastiCacheReplicationGroup, RotationError> {
        let group = ElastiCacheReplicationGroup::parse(secret)?;
        if !self.config.groups.allows(&group.arn) {
            return Err(RotationError::target(
                TargetErrorKind::ConfusedDeputy,
                &group.arn,
                "the replication group is not in ELASTICACHE_REPLICATION_GROUP_ARNS; this function changes only the AUTH tokens of the groups its configuration names",
            ));
        }
        Ok(group)
    }

    /// A group is named by its ARN: an id alone would let the secret's writer move it to another Region.
    fn claim<'r>(&self, group: &'r ElastiCacheReplicationGroup) -> Claim<'r> {
        Claim { kind: "ElastiCache replication group", name: &group.arn, at: None }
    }

    fn refuse_policy(&self, policy: &PasswordPolicy) -> Option<String> {
        refuse_auth_token_policy(policy).map(|(variable, reason)| format!("{variable} {reason}"))
    }

    /// The group as ElastiCache describes it: the one the secret names (its ARN, so its account), clients reaching
    /// it with an AUTH token (not user groups), and where.
    async fn describe(&self, group: &ElastiCacheReplicationGroup) -> Result<Readiness<GroupEndpoint>, RotationError> {
        let out = match client(&self.client, &group.region)
            .describe_replication_groups()
            .replication_group_id(&group.id)
            .send()
            .await
        {
            Err(error) if AwsFailure::of(&error).code() == Some("ReplicationGroupNotFoundFault") => {
                return Ok(Readiness::Gone(NO_SUCH_GROUP.into()));
            }
            sent => sent.map_err(|e| api_error("DescribeReplicationGroups", &group.arn, &e))?,
        };
        let Some(found) = out.replication_groups().first() else { return Ok(Readiness::Gone(NO_SUCH_GROUP.into())) };
        let refuse = |kind, why: String| Err(RotationError::target(kind, &group.arn, why));
        if found.arn() != Some(group.arn.as_str()) {
            let why = format!(
                "ElastiCache names the group {:?}, not the secret's replication_group_arn; fix the secret",
                found.arn().unwrap_or_default()
            );
            return refuse(TargetErrorKind::ConfusedDeputy, why);
        }
        let status = found.status().unwrap_or("unknown");
        if status != Self::READY {
            return Ok(Readiness::Busy(status.to_owned()));
        }
        if found.auth_token_enabled() != Some(true) {
            let why = "the group takes no AUTH token (it has none, or authenticates users with user groups: rotate those with rotate-elasticache)";
            return refuse(TargetErrorKind::Rejected, why.into());
        }
        match endpoint(found) {
            Some((host, port)) => Ok(Readiness::Ready(GroupEndpoint { host, port })),
            None => refuse(TargetErrorKind::Rejected, "ElastiCache names no endpoint for the group".into()),
        }
    }

    /// `AUTH <token>` where ElastiCache says the group is, never at the secret's host: a proof that a token is the
    /// group's must reach the group.
    async fn proves(
        &self,
        _group: &ElastiCacheReplicationGroup,
        at: &GroupEndpoint,
        secret: &Secret,
    ) -> Result<bool, RotationError> {
        let Some(token) = password_of(secret) else { return Ok(false) };
        proven_at(&self.redis, &self.config.login, &Self::connection(at, token), secret).await
    }

    /// `ROTATE` with the pending token: the group then takes it and the newest token before it (AWSCURRENT's, when
    /// it has just logged in), so no client holding AWSCURRENT is refused; the older one is dropped. When AWSCURRENT's
    /// token did not log in, the group holds tokens rotor cannot vouch for: a second phase `SET`s the pending token
    /// alone. Idempotent: a pending token that already logs in is not rotated in again (a second `ROTATE` would drop
    /// AWSCURRENT's), and a `SET` the group refuses because the pending token is already its only one is done.
    async fn modify(
        &self,
        group: &ElastiCacheReplicationGroup,
        at: &GroupEndpoint,
        pending: &Secret,
        current: Option<&Secret>,
    ) -> Result<Change, RotationError> {
        let token = pending.require_str("password")?;
        if !self.proves(group, at, pending).await? {
            if let Some(refusal) = self.update(group, token, AuthTokenUpdateStrategyType::Rotate).await? {
                return Err(refusal);
            }
            return Ok(if current.is_some() { Change::Done } else { Change::Again });
        }
        if current.is_none() && self.update(group, token, AuthTokenUpdateStrategyType::Set).await?.is_some() {
            tracing::info!(group = %group.id, "ElastiCache refused SET: the group takes the pending AUTH token alone already");
        }
        Ok(Change::Done)
    }

    /// `AUTH <token>` where ElastiCache says the group is, and `TEST_QUERY` (default `PING`).
    async fn login(
        &self,
        _group: &ElastiCacheReplicationGroup,
        at: &GroupEndpoint,
        secret: &Secret,
    ) -> Result<(), RotationError> {
        let connection = Self::connection(at, secret.require_str("password")?);
        probe_at(&self.redis, &self.config.login, &connection, secret).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_names_its_group_by_arn() {
        let arn = "arn:aws:elasticache:eu-west-1:123456789012:replicationgroup:app-cache";
        let secret = Secret::parse("arn:s", &format!(r#"{{"replication_group_arn":"{arn}","password":"p"}}"#));
        let group = ElastiCacheReplicationGroup::parse(&secret).unwrap();
        assert_eq!((group.arn(), group.region.as_str(), group.id.as_str()), (arn, "eu-west-1", "app-cache"));
        for bad in ["arn:aws:elasticache:eu-west-1:123456789012:user:app", "app-cache"] {
            let secret = Secret::parse("arn:s", &format!(r#"{{"replication_group_arn":"{bad}"}}"#));
            let error = ElastiCacheReplicationGroup::parse(&secret).unwrap_err().to_string();
            assert!(error.contains("`replication_group_arn` must be"), "{bad}: {error}");
        }
    }
}
