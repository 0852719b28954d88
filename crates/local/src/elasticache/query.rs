//! ElastiCache's words in the Query protocol ([`crate::query`]): its namespace, the parameters that name a call's
//! subject, and its own fault codes.

use crate::identity::Identity;
use crate::query::{Fault, Service, escape};

/// ElastiCache's part of the protocol.
pub(super) const ELASTICACHE: Service = Service {
    namespace: "http://elasticache.amazonaws.com/doc/2015-02-02/",
    not_configured: "the local endpoint serves ElastiCache calls only when started with --elasticache-redis",
    subjects: &["UserId", "UserGroupId", "ReplicationGroupId"],
};

/// `UserNotFound`.
pub(super) fn user_not_found(id: &str) -> Fault {
    Fault::new("UserNotFound", 404, format!("User {id} not found."))
}

/// `ReplicationGroupNotFoundFault`.
pub(super) fn replication_group_not_found(id: &str) -> Fault {
    Fault::new("ReplicationGroupNotFoundFault", 404, format!("ReplicationGroup {id} not found."))
}

/// The ARN of the `kind` (`user`, `usergroup`, `replicationgroup`) `id`, escaped for an XML answer.
pub(super) fn arn(identity: &Identity, kind: &str, id: &str) -> String {
    escape(&format!("arn:aws:elasticache:{}:{}:{kind}:{id}", identity.region, identity.account))
}
