//! Provisioned clusters: `CreateCluster`, `DescribeClusters`, `ModifyCluster` (the master password only), and a
//! modified cluster made `available` again. A cluster is the stand-in under another name: its endpoint is the
//! stand-in's address, its master user a user of the stand-in.

use chrono::{DateTime, SecondsFormat, Utc};

use super::query::cluster_not_found;
use super::rules;
use super::stand_in::{Change, Master, RedshiftConfig, Subject};
use crate::identity::Identity;
use crate::query::{Fault, Request, escape};
use crate::state::{RedshiftCluster, RedshiftState};

/// The parameters `ModifyCluster` takes here: it changes the master password and nothing else.
const MODIFY_PARAMETERS: [&str; 4] = ["Action", "Version", "ClusterIdentifier", "MasterUserPassword"];

/// `CreateCluster`: the cluster is `available` at once, its database created on the stand-in if missing and its
/// master user given the password now (created if missing); without `MasterUserPassword` the user is left as it is.
pub(super) fn create_cluster(
    state: &mut RedshiftState,
    identity: &Identity,
    config: &RedshiftConfig,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<(String, Change), Fault> {
    let id = cluster_id(request.require("ClusterIdentifier")?)?;
    let node_type = request.require("NodeType")?;
    let master_username = request.require("MasterUsername")?;
    if let Some(problem) = rules::username_problem(master_username, config.superuser()) {
        return Err(Fault::invalid(format!("MasterUsername {problem}.")));
    }
    if state.clusters.contains_key(&id) {
        return Err(Fault::new("ClusterAlreadyExists", 400, format!("Cluster {id} already exists.")));
    }
    if request.get("ManageMasterPassword") == Some("true") {
        return Err(Fault::combination(
            "The local endpoint does not emulate a master password Secrets Manager manages: give MasterUserPassword.",
        ));
    }
    let master = request.get("MasterUserPassword").map(|password| master(master_username, password)).transpose()?;
    let db_name = request.get("DBName").unwrap_or("dev");
    if let Some(problem) = rules::database_problem(db_name) {
        return Err(Fault::invalid(format!("DBName {problem}.")));
    }
    let number_of_nodes = match request.get("NumberOfNodes") {
        None => 1,
        Some(n) => n
            .parse()
            .ok()
            .filter(|n| (1..=128).contains(n))
            .ok_or_else(|| Fault::invalid("NumberOfNodes must be a number from 1 to 128."))?,
    };
    let cluster = RedshiftCluster {
        node_type: node_type.to_owned(),
        number_of_nodes,
        master_username: master_username.to_owned(),
        db_name: db_name.to_owned(),
        namespace_id: uuid::Uuid::new_v4().to_string(),
        status: "available".into(),
        password_pending: false,
        created: now,
    };
    let xml = format!("<Cluster>{}</Cluster>", cluster_xml(identity, config, &id, &cluster));
    state.clusters.insert(id.clone(), cluster);
    let change = Change::Now { created: Subject::Cluster(id), database: db_name.to_owned(), master };
    Ok((xml, change))
}

/// `DescribeClusters`: the one named, or all.
pub(super) fn describe_clusters(
    state: &RedshiftState,
    identity: &Identity,
    config: &RedshiftConfig,
    request: &Request,
) -> Result<String, Fault> {
    let members: String = match request.get("ClusterIdentifier").map(str::to_ascii_lowercase) {
        Some(id) => {
            let cluster = state.clusters.get(&id).ok_or_else(|| cluster_not_found(&id))?;
            format!("<Cluster>{}</Cluster>", cluster_xml(identity, config, &id, cluster))
        }
        None => state
            .clusters
            .iter()
            .map(|(id, cluster)| format!("<Cluster>{}</Cluster>", cluster_xml(identity, config, id, cluster)))
            .collect(),
    };
    Ok(format!("<Clusters>{members}</Clusters>"))
}

/// `ModifyCluster` of the master password: answered at once with the cluster `modifying` and the password pending,
/// applied to the stand-in after the modify delay, then `available` again. A cluster that is not `available`
/// refuses it (`InvalidClusterState`).
pub(super) fn modify_cluster(
    state: &mut RedshiftState,
    identity: &Identity,
    config: &RedshiftConfig,
    request: &Request,
) -> Result<(String, Change), Fault> {
    let id = request.require("ClusterIdentifier")?.to_ascii_lowercase();
    if let Some(other) = request.names().find(|name| !MODIFY_PARAMETERS.contains(name)) {
        return Err(Fault::invalid(format!(
            "The local endpoint changes only the master password with ModifyCluster, not {other}."
        )));
    }
    let cluster = state.clusters.get_mut(&id).ok_or_else(|| cluster_not_found(&id))?;
    let password = request.get("MasterUserPassword").ok_or_else(|| {
        Fault::combination(
            "The local endpoint changes the master password with ModifyCluster: give MasterUserPassword.",
        )
    })?;
    if cluster.status != "available" {
        return Err(Fault::new(
            "InvalidClusterState",
            400,
            format!("The cluster {id} is not in the available state: it is {}.", cluster.status),
        ));
    }
    let master = master(&cluster.master_username, password)?;
    cluster.status = "modifying".into();
    cluster.password_pending = true;
    let xml = format!("<Cluster>{}</Cluster>", cluster_xml(identity, config, &id, cluster));
    Ok((xml, Change::Later { subject: Subject::Cluster(id), master }))
}

/// Makes a cluster `available` again once its new master password applied.
pub fn make_available(state: &mut RedshiftState, id: &str) {
    if let Some(cluster) = state.clusters.get_mut(id) {
        cluster.status = "available".into();
        cluster.password_pending = false;
    }
}

/// The master user with its new password, which must keep Redshift's rules.
fn master(user: &str, password: &str) -> Result<Master, Fault> {
    match rules::password_problem(password) {
        Some(problem) => {
            Err(Fault::invalid(format!("The parameter MasterUserPassword is not a valid password: it {problem}.")))
        }
        None => Ok(Master::new(user, password)),
    }
}

/// The service's rules for an id, stored in lower case.
fn cluster_id(id: &str) -> Result<String, Fault> {
    rules::identifier(id, 1, 63, true).map_err(|problem| Fault::invalid(format!("ClusterIdentifier {problem}.")))
}

fn cluster_xml(identity: &Identity, config: &RedshiftConfig, id: &str, cluster: &RedshiftCluster) -> String {
    let (host, port) = config.endpoint();
    let modifying = cluster.status == "modifying";
    let pending = if cluster.password_pending { "<MasterUserPassword>****</MasterUserPassword>" } else { "" };
    format!(
        "<ClusterIdentifier>{}</ClusterIdentifier><NodeType>{}</NodeType><ClusterStatus>{}</ClusterStatus><ClusterAvailabilityStatus>{}</ClusterAvailabilityStatus><MasterUsername>{}</MasterUsername><DBName>{}</DBName><Endpoint><Address>{}</Address><Port>{port}</Port></Endpoint><ClusterCreateTime>{}</ClusterCreateTime><PendingModifiedValues>{pending}</PendingModifiedValues><NumberOfNodes>{}</NumberOfNodes><PubliclyAccessible>false</PubliclyAccessible><Encrypted>true</Encrypted><ClusterNamespaceArn>{}</ClusterNamespaceArn>",
        escape(id),
        escape(&cluster.node_type),
        cluster.status,
        if modifying { "Modifying" } else { "Available" },
        escape(&cluster.master_username),
        escape(&cluster.db_name),
        escape(host),
        cluster.created.to_rfc3339_opts(SecondsFormat::Millis, true),
        cluster.number_of_nodes,
        escape(&format!(
            "arn:aws:redshift:{}:{}:namespace:{}",
            identity.region, identity.account, cluster.namespace_id
        )),
    )
}
