//! ElastiCache's resources as both of its credentials read them: an ARN's region and id, a replication group's
//! endpoint, the password a secret holds, a client of a resource's region.

use aws_sdk_elasticache::Client;
use aws_sdk_elasticache::config::{Builder as ClientConfig, Region};
use aws_sdk_elasticache::types::ReplicationGroup;
use rotation_core::{RotationError, Secret};
use rotation_database::{DatabaseConfig, Engine, LoginFields, Purpose, proven_by_engine_login};

use crate::engine::RedisEngine;

/// The region and id of an ElastiCache ARN naming a resource of `kind` (`user`, `replicationgroup`):
/// `arn:<partition>:elasticache:<region>:<account>:<kind>:<id>`.
pub(super) fn region_and_id(arn: &str, kind: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = arn.split(':').collect();
    let [_, partition, "elasticache", region, account, named, id] = parts[..] else { return None };
    let valid = named == kind && partition.starts_with("aws") && ![region, account, id].contains(&"");
    valid.then(|| (region.to_owned(), id.to_owned()))
}

/// Where clients reach a replication group, as the API names it: its configuration endpoint in cluster mode, else
/// its primary's.
pub(super) fn endpoint(group: &ReplicationGroup) -> Option<(String, u16)> {
    let endpoint = group
        .configuration_endpoint()
        .or_else(|| group.node_groups().first().and_then(|node_group| node_group.primary_endpoint()))?;
    Some((endpoint.address()?.to_owned(), u16::try_from(endpoint.port()?).ok()?))
}

/// The password a secret holds, when it holds one (a secret may have none before its first rotation).
pub(super) fn password_of(secret: &Secret) -> Option<&str> {
    secret.optional_str("password").ok().flatten().filter(|password| !password.is_empty())
}

/// A client of `config` in `region` (a resource ARN's, whatever the function's own).
pub(super) fn client(config: &ClientConfig, region: &str) -> Client {
    Client::from_conf(config.clone().region(Region::new(region.to_owned())).build())
}

/// Whether `secret`'s password logs in as `fields`' user where `fields` says (the API's endpoint, never a secret's
/// host), a random wrong password refused beside it: the proof of possession. `fields` carries the password.
pub(super) async fn proven_at(
    redis: &RedisEngine,
    login: &DatabaseConfig,
    fields: &LoginFields,
    secret: &Secret,
) -> Result<bool, RotationError> {
    let mode = login.tls.for_secret(secret)?;
    proven_by_engine_login(redis, login, fields, mode).await
}

/// testSecret's login as `fields` (where the API says) and its `TEST_QUERY` probe.
pub(super) async fn probe_at(
    redis: &RedisEngine,
    login: &DatabaseConfig,
    fields: &LoginFields,
    secret: &Secret,
) -> Result<(), RotationError> {
    let mode = login.tls.for_secret(secret)?;
    let mut session = redis.login(login, fields, mode, Purpose::Probe).await?;
    redis.probe(&mut session, &login.test_query).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_names_its_kind_region_and_id() {
        let user = "arn:aws:elasticache:eu-west-1:123456789012:user:app-user";
        assert_eq!(region_and_id(user, "user"), Some(("eu-west-1".into(), "app-user".into())));
        assert_eq!(region_and_id(user, "replicationgroup"), None);
        let group = "arn:aws-us-gov:elasticache:us-gov-west-1:123456789012:replicationgroup:cache";
        assert_eq!(region_and_id(group, "replicationgroup"), Some(("us-gov-west-1".into(), "cache".into())));
        for bad in ["cache", "arn:aws:elasticache::1:user:u", "arn:aws:rds:r:1:user:u", "arn:aws:elasticache:r:1:user:"]
        {
            assert_eq!(region_and_id(bad, "user"), None, "{bad}");
        }
    }
}
