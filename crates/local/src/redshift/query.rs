//! Provisioned Redshift's words in the Query protocol ([`crate::query`]): its API version (which tells its calls
//! from ElastiCache's), its namespace, the parameter that names a call's subject, and its own fault codes.

use crate::query::{Fault, Service};

/// The API version every provisioned Redshift call carries.
pub const VERSION: &str = "2012-12-01";

/// Provisioned Redshift's part of the protocol.
pub(super) const REDSHIFT: Service = Service {
    namespace: "http://redshift.amazonaws.com/doc/2012-12-01/",
    not_configured: super::NOT_CONFIGURED,
    subjects: &["ClusterIdentifier"],
};

/// `ClusterNotFound`.
pub(super) fn cluster_not_found(id: &str) -> Fault {
    Fault::new("ClusterNotFound", 404, format!("Cluster {id} not found."))
}
