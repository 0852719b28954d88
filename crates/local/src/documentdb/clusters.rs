//! DocumentDB clusters: `CreateDBCluster`, `DescribeDBClusters`, `ModifyDBCluster` (the master password only), and a
//! cluster made `available` again. A cluster is the stand-in under another name: its endpoint is `localhost` at the
//! stand-in's port, its master user a user of the stand-in's `admin` database.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};

use super::query::{cluster_exists, cluster_not_found, not_available};
use super::rules;
use super::stand_in::{Change, DocumentDbConfig, ENDPOINT_HOST, Master};
use crate::identity::Identity;
use crate::query::{Fault, Request, escape};

/// The only engine the endpoint serves.
const ENGINE: &str = "docdb";

/// The engine version a cluster reports when `CreateDBCluster` names none.
const ENGINE_VERSION: &str = "5.0.0";

/// The parameters `ModifyDBCluster` takes here: it changes the master password and nothing else.
const MODIFY_PARAMETERS: [&str; 5] =
    ["Action", "Version", "DBClusterIdentifier", "MasterUserPassword", "ApplyImmediately"];

/// The clusters, by `DBClusterIdentifier` (lower case).
pub type Clusters = BTreeMap<String, Cluster>;

/// A cluster as the endpoint keeps it: names, status and whether a change is pending, never a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The master user's name.
    pub master_username: String,
    /// `EngineVersion`.
    pub engine_version: String,
    /// `DbClusterResourceId`.
    pub resource_id: String,
    /// Where it is in its life.
    pub status: Status,
    /// Whether a new master password is pending (`PendingModifiedValues`).
    pub password_pending: bool,
    /// The secret Secrets Manager keeps the master's password in, when created with `ManageMasterUserPassword`.
    pub master_user_secret: Option<MasterUserSecret>,
    /// `ClusterCreateTime`.
    pub created: DateTime<Utc>,
}

/// A cluster's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Its master is being created on the stand-in: `CreateDBCluster` has not answered yet.
    Creating,
    /// It takes a change.
    Available,
    /// A new master password is on its way to the stand-in.
    Modifying,
}

impl Status {
    /// The service's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::Available => "available",
            Self::Modifying => "modifying",
        }
    }
}

/// `MasterUserSecret`: where Secrets Manager keeps a managed master password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterUserSecret {
    /// `SecretArn` (`...:secret:rds!cluster-<uuid>-<suffix>`, as RDS names it).
    pub arn: String,
    /// `KmsKeyId`.
    pub kms_key_id: String,
}

/// `CreateDBCluster` of Engine `docdb`: answered `available` once its master exists on the stand-in (`creating`
/// meanwhile, so nothing modifies it first). With `MasterUserPassword` the master is created with it; with
/// `ManageMasterUserPassword=true` nothing is created (Secrets Manager would hold a password no caller knows) and the
/// cluster reports its `MasterUserSecret`.
pub(super) fn create_db_cluster(
    clusters: &mut Clusters,
    identity: &Identity,
    config: &DocumentDbConfig,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<(String, Change), Fault> {
    let id = rules::cluster_id(request.require("DBClusterIdentifier")?)
        .map_err(|problem| Fault::invalid(format!("DBClusterIdentifier {problem}.")))?;
    let engine = request.require("Engine")?;
    if engine != ENGINE {
        return Err(Fault::invalid(format!(
            "The local endpoint serves DocumentDB clusters only (Engine {ENGINE}), not Engine {engine}."
        )));
    }
    let master_username = request.require("MasterUsername")?;
    if let Some(problem) = rules::username_problem(master_username, config.root()) {
        return Err(Fault::invalid(format!("MasterUsername {problem}.")));
    }
    if let Some(port) = request.get("Port")
        && port.parse() != Ok(config.port())
    {
        return Err(Fault::invalid(format!(
            "Port must be {}: the local endpoint's clusters listen where the server standing in for DocumentDB does.",
            config.port()
        )));
    }
    let managed = request.get("ManageMasterUserPassword") == Some("true");
    let (master, master_user_secret) = match (managed, request.get("MasterUserPassword")) {
        (true, Some(_)) => {
            return Err(Fault::combination(
                "MasterUserPassword cannot be given when ManageMasterUserPassword is true.",
            ));
        }
        (true, None) => (None, Some(managed_secret(identity, request))),
        (false, _) => (Some(master(master_username, request.require("MasterUserPassword")?)?), None),
    };
    if clusters.contains_key(&id) {
        return Err(cluster_exists(&id));
    }
    let cluster = Cluster {
        master_username: master_username.to_owned(),
        engine_version: request.get("EngineVersion").unwrap_or(ENGINE_VERSION).to_owned(),
        resource_id: format!("cluster-{}", &uuid::Uuid::new_v4().simple().to_string().to_ascii_uppercase()[..26]),
        status: Status::Available,
        password_pending: false,
        master_user_secret,
        created: now,
    };
    // The answer is sent once the master exists, when the cluster is available: so it says.
    let xml = format!("<DBCluster>{}</DBCluster>", cluster_xml(identity, config, &id, &cluster));
    clusters.insert(id.clone(), Cluster { status: Status::Creating, ..cluster });
    Ok((xml, Change::Create { id, master }))
}

/// `DescribeDBClusters`: the one named (by identifier or ARN), or all that pass the `engine` and `db-cluster-id`
/// filters.
pub(super) fn describe_db_clusters(
    clusters: &Clusters,
    identity: &Identity,
    config: &DocumentDbConfig,
    request: &Request,
) -> Result<String, Fault> {
    let shown =
        |id: &str, cluster: &Cluster| format!("<DBCluster>{}</DBCluster>", cluster_xml(identity, config, id, cluster));
    let members: String = match request.get("DBClusterIdentifier") {
        Some(named) => {
            let (id, cluster) = find(clusters, identity, named)?;
            shown(id, cluster)
        }
        None => {
            let filters = filters(request)?;
            clusters
                .iter()
                .filter(|(id, _)| {
                    filters.iter().all(|(name, values)| match *name {
                        "engine" => values.contains(&ENGINE),
                        _ => values.iter().any(|named| resolve(identity, named).as_deref() == Some(id.as_str())),
                    })
                })
                .map(|(id, cluster)| shown(id, cluster))
                .collect()
        }
    };
    Ok(format!("<DBClusters>{members}</DBClusters>"))
}

/// `ModifyDBCluster` of the master password, with `ApplyImmediately=true`: answered at once with the cluster
/// `modifying` and the password pending, applied to the stand-in after the modify delay, then `available` again.
/// Refused while the cluster is not `available` (`InvalidDBClusterStateFault`), and on a cluster whose master
/// password Secrets Manager manages.
pub(super) fn modify_db_cluster(
    clusters: &mut Clusters,
    identity: &Identity,
    config: &DocumentDbConfig,
    request: &Request,
) -> Result<(String, Change), Fault> {
    let named = request.require("DBClusterIdentifier")?;
    if let Some(other) = request.names().find(|name| !MODIFY_PARAMETERS.contains(name)) {
        return Err(Fault::invalid(format!(
            "The local endpoint changes only the master password with ModifyDBCluster, not {other}."
        )));
    }
    let id = find(clusters, identity, named)?.0.to_owned();
    let cluster = clusters.get_mut(&id).ok_or_else(|| cluster_not_found(&id))?;
    let password = request.get("MasterUserPassword").ok_or_else(|| {
        Fault::combination(
            "The local endpoint changes the master password with ModifyDBCluster: give MasterUserPassword.",
        )
    })?;
    if cluster.master_user_secret.is_some() {
        return Err(Fault::combination(format!(
            "The master password of DB cluster {id} is managed by Secrets Manager (ManageMasterUserPassword): \
             MasterUserPassword cannot be set."
        )));
    }
    // Without it DocumentDB keeps the new password for the next maintenance window, which never comes here.
    if request.get("ApplyImmediately") != Some("true") {
        return Err(Fault::combination(
            "The local endpoint applies a new master password immediately only: give ApplyImmediately=true \
             (without it DocumentDB waits for the maintenance window).",
        ));
    }
    if cluster.status != Status::Available {
        return Err(not_available(&id, cluster.status.as_str()));
    }
    let master = master(&cluster.master_username, password)?;
    cluster.status = Status::Modifying;
    cluster.password_pending = true;
    let xml = format!("<DBCluster>{}</DBCluster>", cluster_xml(identity, config, &id, cluster));
    Ok((xml, Change::Modify { id, master }))
}

/// Makes a cluster `available` once its master exists or its new password applied.
pub fn make_available(clusters: &mut Clusters, id: &str) {
    if let Some(cluster) = clusters.get_mut(id) {
        cluster.status = Status::Available;
        cluster.password_pending = false;
    }
}

/// The cluster a `DBClusterIdentifier` names (an identifier, or the cluster's ARN in this Region and account).
fn find<'a>(clusters: &'a Clusters, identity: &Identity, named: &str) -> Result<(&'a str, &'a Cluster), Fault> {
    resolve(identity, named)
        .and_then(|id| clusters.get_key_value(&id))
        .map(|(id, cluster)| (id.as_str(), cluster))
        .ok_or_else(|| cluster_not_found(named))
}

/// The identifier a name or ARN stands for; `None` for another Region's, account's or kind's ARN.
fn resolve(identity: &Identity, named: &str) -> Option<String> {
    match named.strip_prefix("arn:") {
        None => Some(named.to_ascii_lowercase()),
        Some(_) => named
            .strip_prefix(&format!("arn:aws:rds:{}:{}:cluster:", identity.region, identity.account))
            .map(str::to_ascii_lowercase),
    }
}

/// The `Filters` of `DescribeDBClusters` (`Filters.Filter.N.Name`, `Filters.Filter.N.Values.Value.M`): `engine` and
/// `db-cluster-id`, the ones a caller looking for a DocumentDB cluster uses.
fn filters(request: &Request) -> Result<Vec<(&str, Vec<&str>)>, Fault> {
    (1..)
        .map_while(|n| request.get(&format!("Filters.Filter.{n}.Name")).map(|name| (n, name)))
        .map(|(n, name)| {
            if !matches!(name, "engine" | "db-cluster-id") {
                return Err(Fault::invalid(format!(
                    "The local endpoint filters DB clusters by engine and db-cluster-id only, not {name}."
                )));
            }
            let values = (1..).map_while(|m| request.get(&format!("Filters.Filter.{n}.Values.Value.{m}"))).collect();
            Ok((name, values))
        })
        .collect()
}

/// The master user with its new password, which must keep DocumentDB's rules.
fn master(user: &str, password: &str) -> Result<Master, Fault> {
    match rules::password_problem(password) {
        Some(problem) => {
            Err(Fault::invalid(format!("The parameter MasterUserPassword is not a valid password: it {problem}.")))
        }
        None => Ok(Master::new(user, password)),
    }
}

/// The secret RDS would create for a managed master password: named as RDS names it, in Secrets Manager's ARN form.
fn managed_secret(identity: &Identity, request: &Request) -> MasterUserSecret {
    let suffix: String = uuid::Uuid::new_v4().simple().to_string().chars().take(6).collect();
    MasterUserSecret {
        arn: format!(
            "arn:aws:secretsmanager:{}:{}:secret:rds!cluster-{}-{suffix}",
            identity.region,
            identity.account,
            uuid::Uuid::new_v4()
        ),
        kms_key_id: request.get("MasterUserSecretKmsKeyId").map_or_else(
            || format!("arn:aws:kms:{}:{}:alias/aws/secretsmanager", identity.region, identity.account),
            str::to_owned,
        ),
    }
}

fn cluster_xml(identity: &Identity, config: &DocumentDbConfig, id: &str, cluster: &Cluster) -> String {
    let pending = if cluster.password_pending {
        "<PendingModifiedValues><MasterUserPassword>****</MasterUserPassword></PendingModifiedValues>"
    } else {
        ""
    };
    let secret = cluster.master_user_secret.as_ref().map_or_else(String::new, |secret| {
        format!(
            "<MasterUserSecret><SecretArn>{}</SecretArn><SecretStatus>active</SecretStatus><KmsKeyId>{}</KmsKeyId></MasterUserSecret>",
            escape(&secret.arn),
            escape(&secret.kms_key_id)
        )
    });
    format!(
        "<DBClusterIdentifier>{}</DBClusterIdentifier><Status>{}</Status><Endpoint>{ENDPOINT_HOST}</Endpoint><ReaderEndpoint>{ENDPOINT_HOST}</ReaderEndpoint><MultiAZ>false</MultiAZ><Engine>{ENGINE}</Engine><EngineVersion>{}</EngineVersion><Port>{}</Port><MasterUsername>{}</MasterUsername>{pending}<StorageEncrypted>true</StorageEncrypted><DbClusterResourceId>{}</DbClusterResourceId><DBClusterArn>{}</DBClusterArn><ClusterCreateTime>{}</ClusterCreateTime><DeletionProtection>false</DeletionProtection>{secret}",
        escape(id),
        cluster.status.as_str(),
        escape(&cluster.engine_version),
        config.port(),
        escape(&cluster.master_username),
        cluster.resource_id,
        escape(&format!("arn:aws:rds:{}:{}:cluster:{id}", identity.region, identity.account)),
        cluster.created.to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}
