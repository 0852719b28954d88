//! DocumentDB's words in the Query protocol ([`crate::query`]): the RDS API's version (DocumentDB is managed through
//! the RDS API: the same version, the same `rds` signing name), its namespace, the parameter that names a call's
//! subject, and its own fault codes.

use crate::query::{Fault, Service};

/// The API version every RDS call carries, DocumentDB's among them.
pub const VERSION: &str = "2014-10-31";

/// DocumentDB's part of the protocol.
pub(super) const DOCUMENTDB: Service = Service {
    namespace: "http://rds.amazonaws.com/doc/2014-10-31/",
    not_configured: super::NOT_CONFIGURED,
    subjects: &["DBClusterIdentifier"],
};

/// `DBClusterNotFoundFault`.
pub(super) fn cluster_not_found(id: &str) -> Fault {
    Fault::new("DBClusterNotFoundFault", 404, format!("DBCluster {id} not found."))
}

/// `DBClusterAlreadyExistsFault`.
pub(super) fn cluster_exists(id: &str) -> Fault {
    Fault::new("DBClusterAlreadyExistsFault", 400, format!("DB Cluster {id} already exists."))
}

/// `InvalidDBClusterStateFault`: the cluster is not `available`.
pub(super) fn not_available(id: &str, status: &str) -> Fault {
    Fault::new("InvalidDBClusterStateFault", 400, format!("DB cluster {id} is not available: it is {status}."))
}

/// An RDS action the endpoint does not serve: it serves DocumentDB's cluster calls only.
pub(super) fn not_served(action: &str) -> Fault {
    Fault::new(
        "InvalidAction",
        400,
        format!(
            "The local endpoint serves DocumentDB's CreateDBCluster, DescribeDBClusters and ModifyDBCluster of the \
             RDS API only, not {action}: point other RDS calls elsewhere (AWS_ENDPOINT_URL_RDS)."
        ),
    )
}
