//! The replication group: `DescribeReplicationGroups`, answering the one group whose endpoint is the Redis server's
//! TLS address.

use super::cache::{CacheConfig, REPLICATION_GROUP};
use super::query::{Fault, Request, arn, escape};
use crate::identity::Identity;
use crate::state::CacheState;

pub(super) fn describe_replication_groups(
    state: &CacheState,
    identity: &Identity,
    config: &CacheConfig,
    request: &Request,
) -> Result<String, Fault> {
    if let Some(id) = request.get("ReplicationGroupId").filter(|id| *id != REPLICATION_GROUP) {
        return Err(Fault::new("ReplicationGroupNotFoundFault", 404, format!("ReplicationGroup {id} not found.")));
    }
    let (host, port) = &config.endpoint;
    let groups: String = state.user_groups.keys().map(|g| format!("<member>{}</member>", escape(g))).collect();
    Ok(format!(
        "<ReplicationGroups><ReplicationGroup><ReplicationGroupId>{REPLICATION_GROUP}</ReplicationGroupId><Status>available</Status><Engine>redis</Engine><ClusterEnabled>false</ClusterEnabled><TransitEncryptionEnabled>true</TransitEncryptionEnabled><NodeGroups><NodeGroup><NodeGroupId>0001</NodeGroupId><Status>available</Status><PrimaryEndpoint><Address>{}</Address><Port>{port}</Port></PrimaryEndpoint></NodeGroup></NodeGroups><UserGroupIds>{groups}</UserGroupIds><ARN>{}</ARN></ReplicationGroup></ReplicationGroups>",
        escape(host),
        arn(identity, "replicationgroup", REPLICATION_GROUP),
    ))
}
