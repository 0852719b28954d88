//! The few DocumentDB calls a master password rotation makes, in the RDS API's Query protocol (DocumentDB is managed
//! through it), over one real MongoDB-wire server that stands in for DocumentDB: `CreateDBCluster` (Engine `docdb`)
//! to declare a cluster, `DescribeDBClusters`, and `ModifyDBCluster` of `MasterUserPassword`. Any other RDS action
//! is refused: RDS's own calls are not served here (the tests point them at moto with `AWS_ENDPOINT_URL_RDS`).
//!
//! As the service does, a modified cluster answers at once (`modifying`, the password pending), its new password
//! reaches the stand-in a moment later (`--documentdb-modify-ms`), and only then is it `available` again; meanwhile
//! it refuses another change (`InvalidDBClusterStateFault`). A created cluster has its master created now (in
//! `admin`, role `root`), and is gone again if the stand-in refuses it; a master name the stand-in already has is
//! refused, so the endpoint never takes over a user it did not create. Every cluster's endpoint is `localhost` at the
//! stand-in's port.
//!
//! A password goes no further than the call that carries it and the one command that gives it to the stand-in: it is
//! neither kept, logged nor quoted in a fault. The clusters live in memory only (names, statuses, whether a change
//! is pending): a restarted endpoint knows none, and so changes no password on the stand-in it created before.

mod clusters;
mod query;
mod rules;
mod stand_in;

pub use stand_in::DocumentDbConfig;

use std::sync::{Arc, Mutex};

use axum::response::Response;
use chrono::{DateTime, Utc};

use self::clusters::{Clusters, create_db_cluster, describe_db_clusters, make_available, modify_db_cluster};
use self::query::{DOCUMENTDB, not_served};
use self::stand_in::{Change, Refusal};
use crate::clock::Clock;
use crate::identity::Identity;
use crate::query::{Fault, Request};
use crate::store::Store;

/// What every call answers when the endpoint was started without a stand-in.
const NOT_CONFIGURED: &str =
    "the local endpoint serves DocumentDB calls only when started with --documentdb-mongodb (its stand-in)";

/// Whether a Query-protocol body is an RDS call, DocumentDB's among them: its `Version` is the RDS API's.
pub fn is_documentdb_query(body: &[u8]) -> bool {
    Request::parse(body).get("Version") == Some(query::VERSION)
}

/// The DocumentDB service: the stand-in its calls manage, if the endpoint was started with one, and its clusters.
#[derive(Debug, Default)]
pub struct DocumentDb {
    config: Option<DocumentDbConfig>,
    clusters: Arc<Mutex<Clusters>>,
}

impl DocumentDb {
    /// The service over `config`'s stand-in; `None`: every call is refused, naming the option that starts one.
    pub fn new(config: Option<DocumentDbConfig>) -> Self {
        Self { config, clusters: Arc::default() }
    }

    /// One call (the Query protocol), recorded in `store`'s audit log: answered from the clusters, its change applied
    /// to the stand-in now (a created cluster, undone if the stand-in refuses it) or after the modify delay (a
    /// modified cluster, then `available` again).
    pub async fn dispatch(&self, store: &Store, clock: &Clock, identity: &Identity, body: &[u8]) -> Response {
        let request = Request::parse(body);
        let result = async {
            let config = self.config.as_ref().ok_or_else(|| DOCUMENTDB.not_configured())?;
            let (xml, change) = call(&mut self.clusters(), identity, config, &request, clock.now())?;
            self.carry_out(config, change).await?;
            Ok::<_, Fault>(xml)
        }
        .await;
        DOCUMENTDB.respond(store, clock.now(), &request, result)
    }

    /// The clusters, locked: never across an `await`.
    fn clusters(&self) -> std::sync::MutexGuard<'_, Clusters> {
        lock(&self.clusters)
    }

    /// Applies a call's change to the stand-in: a creation now (the cluster removed again, and the call failed, if
    /// the stand-in refuses it), a modification after the modify delay (then `available` again, whatever the
    /// stand-in said: the service too ends a change it could not apply).
    async fn carry_out(&self, config: &DocumentDbConfig, change: Change) -> Result<(), Fault> {
        match change {
            Change::Nothing => Ok(()),
            Change::Create { id, master } => {
                let created = match &master {
                    Some(master) => stand_in::create_master(config, master).await,
                    None => Ok(()),
                };
                let mut clusters = self.clusters();
                match created {
                    Ok(()) => {
                        make_available(&mut clusters, &id);
                        Ok(())
                    }
                    Err(refusal) => {
                        clusters.remove(&id);
                        let message = format!("The server standing in for DocumentDB refused cluster {id}: {refusal}");
                        Err(match refusal {
                            Refusal::UserExists(_) => Fault::invalid(message),
                            Refusal::Failed(_) => Fault::internal(message),
                        })
                    }
                }
            }
            Change::Modify { id, master } => {
                let (clusters, config) = (Arc::clone(&self.clusters), config.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(config.modify_delay).await;
                    if let Err(refusal) = stand_in::set_password(&config, &master).await {
                        tracing::error!(cluster = %id, error = %refusal, "the DocumentDB stand-in refused a new master password");
                    }
                    make_available(&mut lock(&clusters), &id);
                });
                Ok(())
            }
        }
    }
}

/// The clusters, locked; a panic while they were locked left them as consistent as any call does.
fn lock(clusters: &Mutex<Clusters>) -> std::sync::MutexGuard<'_, Clusters> {
    clusters.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs one call on the clusters at `now`, by its `Action`: the XML answer, and what to change on the stand-in.
fn call(
    clusters: &mut Clusters,
    identity: &Identity,
    config: &DocumentDbConfig,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<(String, Change), Fault> {
    let action = request.action();
    let (result, change) = match action {
        "CreateDBCluster" => create_db_cluster(clusters, identity, config, request, now)?,
        "DescribeDBClusters" => (describe_db_clusters(clusters, identity, config, request)?, Change::Nothing),
        "ModifyDBCluster" => modify_db_cluster(clusters, identity, config, request)?,
        other => return Err(not_served(other)),
    };
    Ok((DOCUMENTDB.answer(action, &result), change))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const FIRST: &str = "First-Passw0rd";
    const SECOND: &str = "Second-Passw0rd";
    const ARN: &str = "arn:aws:rds:us-east-1:123456789012:cluster:app-docdb";

    fn now() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn identity() -> Identity {
        Identity { region: "us-east-1".into(), account: "123456789012".into() }
    }

    fn config() -> DocumentDbConfig {
        DocumentDbConfig::new("mongodb://root:root-secret@localhost:27999/?authSource=admin", Duration::ZERO).unwrap()
    }

    fn request(pairs: &[(&str, &str)]) -> Request {
        let mut pairs = pairs.to_vec();
        pairs.push(("Version", query::VERSION));
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        assert!(is_documentdb_query(body.as_bytes()));
        Request::parse(body.as_bytes())
    }

    fn create(id: &str, more: &[(&str, &str)]) -> Request {
        let mut pairs = vec![
            ("Action", "CreateDBCluster"),
            ("DBClusterIdentifier", id),
            ("Engine", "docdb"),
            ("MasterUsername", "appMaster"),
        ];
        pairs.extend_from_slice(more);
        request(&pairs)
    }

    fn modify(id: &str, password: &str) -> Request {
        request(&[
            ("Action", "ModifyDBCluster"),
            ("DBClusterIdentifier", id),
            ("MasterUserPassword", password),
            ("ApplyImmediately", "true"),
        ])
    }

    fn run(clusters: &mut Clusters, request: &Request) -> Result<(String, Change), Fault> {
        call(clusters, &identity(), &config(), request, now())
    }

    #[test]
    fn rds_calls_are_told_apart_by_the_rds_api_version() {
        assert!(is_documentdb_query(b"Action=DescribeDBClusters&Version=2014-10-31"));
        assert!(!is_documentdb_query(b"Action=DescribeClusters&Version=2012-12-01"));
        assert!(!is_documentdb_query(b"Action=DescribeUsers&Version=2015-02-02"));
    }

    #[test]
    fn a_modified_cluster_is_busy_until_its_password_applies_and_never_keeps_it() {
        let mut clusters = Clusters::new();
        let (xml, change) =
            run(&mut clusters, &create("App-DocDB", &[("MasterUserPassword", FIRST), ("Port", "27999")])).unwrap();
        assert!(xml.starts_with("<CreateDBClusterResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><CreateDBClusterResult><DBCluster><DBClusterIdentifier>app-docdb</DBClusterIdentifier><Status>available</Status>"), "{xml}");
        let Change::Create { id, master: Some(master) } = change else {
            panic!("a created cluster creates its master")
        };
        assert_eq!((id.as_str(), master.user.as_str()), ("app-docdb", "appMaster"));
        let describe = request(&[("Action", "DescribeDBClusters"), ("DBClusterIdentifier", "app-docdb")]);
        assert!(
            run(&mut clusters, &describe).unwrap().0.contains("<Status>creating</Status>"),
            "until its master exists"
        );
        assert_eq!(run(&mut clusters, &modify("app-docdb", SECOND)).unwrap_err().code, "InvalidDBClusterStateFault");
        make_available(&mut clusters, "app-docdb");

        let (xml, _) = run(&mut clusters, &describe).unwrap();
        let cluster = "<DBClusterIdentifier>app-docdb</DBClusterIdentifier><Status>available</Status><Endpoint>localhost</Endpoint><ReaderEndpoint>localhost</ReaderEndpoint><MultiAZ>false</MultiAZ><Engine>docdb</Engine><EngineVersion>5.0.0</EngineVersion><Port>27999</Port><MasterUsername>appMaster</MasterUsername><StorageEncrypted>true</StorageEncrypted><DbClusterResourceId>cluster-";
        assert!(xml.contains(&format!("<DescribeDBClustersResult><DBClusters><DBCluster>{cluster}")), "{xml}");
        assert!(
            xml.contains(&format!(
                "<DBClusterArn>{ARN}</DBClusterArn><ClusterCreateTime>2026-01-01T00:00:00.000Z</ClusterCreateTime>"
            )),
            "{xml}"
        );
        assert!(!xml.contains("PendingModifiedValues") && !xml.contains("MasterUserSecret"), "{xml}");
        let by_arn = request(&[("Action", "DescribeDBClusters"), ("DBClusterIdentifier", ARN)]);
        assert_eq!(run(&mut clusters, &by_arn).unwrap().0.matches("<DBCluster>").count(), 1);

        let (xml, change) = run(&mut clusters, &modify(ARN, SECOND)).unwrap();
        assert!(xml.starts_with("<ModifyDBClusterResponse") && xml.contains("<Status>modifying</Status>"), "{xml}");
        assert!(
            xml.contains(
                "<PendingModifiedValues><MasterUserPassword>****</MasterUserPassword></PendingModifiedValues>"
            ),
            "{xml}"
        );
        let Change::Modify { id, master } = change else { panic!("a modified cluster applies later") };
        assert_eq!((id.as_str(), master.user.as_str()), ("app-docdb", "appMaster"));
        let busy = run(&mut clusters, &modify("app-docdb", FIRST)).unwrap_err();
        assert_eq!((busy.code, busy.status), ("InvalidDBClusterStateFault", 400));
        assert!(run(&mut clusters, &describe).unwrap().0.contains("<MasterUserPassword>****</MasterUserPassword>"));

        make_available(&mut clusters, "app-docdb");
        let (xml, _) = run(&mut clusters, &describe).unwrap();
        assert!(xml.contains("<Status>available</Status>") && !xml.contains("PendingModifiedValues"), "{xml}");
        assert!(run(&mut clusters, &modify("app-docdb", FIRST)).is_ok(), "available again");
        let kept = format!("{clusters:?}");
        assert!(!kept.contains("Passw0rd"), "{kept}");
        assert!(!format!("{:?}", modify("app-docdb", SECOND)).contains(SECOND));
    }

    #[test]
    fn calls_keep_the_services_rules_and_faults() {
        let mut clusters = Clusters::new();
        let missing = request(&[("Action", "DescribeDBClusters"), ("DBClusterIdentifier", "nobody")]);
        let fault = run(&mut clusters, &missing).unwrap_err();
        assert_eq!((fault.code, fault.status), ("DBClusterNotFoundFault", 404));
        let xml = fault.to_xml(DOCUMENTDB.namespace);
        assert!(xml.starts_with("<ErrorResponse xmlns=\"http://rds.amazonaws.com/doc/2014-10-31/\"><Error><Type>Sender</Type><Code>DBClusterNotFoundFault</Code><Message>DBCluster nobody not found.</Message>"), "{xml}");
        assert_eq!(run(&mut clusters, &modify("nobody", SECOND)).unwrap_err().code, "DBClusterNotFoundFault");
        let elsewhere = request(&[
            ("Action", "DescribeDBClusters"),
            ("DBClusterIdentifier", "arn:aws:rds:eu-west-1:123456789012:cluster:app"),
        ]);

        run(&mut clusters, &create("app", &[("MasterUserPassword", FIRST)])).unwrap();
        make_available(&mut clusters, "app");
        assert_eq!(run(&mut clusters, &elsewhere).unwrap_err().code, "DBClusterNotFoundFault", "another Region's");
        assert_eq!(
            run(&mut clusters, &create("app", &[("MasterUserPassword", FIRST)])).unwrap_err().code,
            "DBClusterAlreadyExistsFault"
        );
        for (more, code) in [
            (vec![], "MissingParameter"),
            (vec![("MasterUserPassword", "Short-1")], "InvalidParameterValue"),
            (vec![("MasterUserPassword", FIRST), ("Port", "27017")], "InvalidParameterValue"),
            (vec![("MasterUserPassword", FIRST), ("ManageMasterUserPassword", "true")], "InvalidParameterCombination"),
        ] {
            assert_eq!(run(&mut clusters, &create("other", &more)).unwrap_err().code, code, "{more:?}");
        }
        let mysql = request(&[
            ("Action", "CreateDBCluster"),
            ("DBClusterIdentifier", "db"),
            ("Engine", "aurora-mysql"),
            ("MasterUsername", "admin"),
            ("MasterUserPassword", FIRST),
        ]);
        assert!(run(&mut clusters, &mysql).unwrap_err().message.contains("DocumentDB clusters only"));
        let root = request(&[
            ("Action", "CreateDBCluster"),
            ("DBClusterIdentifier", "mine"),
            ("Engine", "docdb"),
            ("MasterUsername", "root"),
            ("MasterUserPassword", FIRST),
        ]);
        assert!(run(&mut clusters, &root).unwrap_err().message.contains("own user"));

        let weak = run(&mut clusters, &modify("app", "has/slash-0123")).unwrap_err();
        assert!(weak.code == "InvalidParameterValue" && !weak.message.contains("slash"), "{}", weak.message);
        let later =
            request(&[("Action", "ModifyDBCluster"), ("DBClusterIdentifier", "app"), ("MasterUserPassword", SECOND)]);
        assert!(run(&mut clusters, &later).unwrap_err().message.contains("ApplyImmediately=true"));
        let rename =
            request(&[("Action", "ModifyDBCluster"), ("DBClusterIdentifier", "app"), ("NewDBClusterIdentifier", "b")]);
        assert_eq!(run(&mut clusters, &rename).unwrap_err().code, "InvalidParameterValue");
        let other = run(&mut clusters, &request(&[("Action", "DescribeDBInstances")])).unwrap_err();
        assert!(other.code == "InvalidAction" && other.message.contains("AWS_ENDPOINT_URL_RDS"), "{}", other.message);
    }

    #[test]
    fn a_managed_master_password_is_reported_and_never_set() {
        let mut clusters = Clusters::new();
        let (xml, change) = run(&mut clusters, &create("managed", &[("ManageMasterUserPassword", "true")])).unwrap();
        assert!(matches!(change, Change::Create { master: None, .. }), "no password a caller knows: no master created");
        assert!(
            xml.contains(
                "<MasterUserSecret><SecretArn>arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-"
            ),
            "{xml}"
        );
        assert!(xml.contains("<SecretStatus>active</SecretStatus><KmsKeyId>arn:aws:kms:us-east-1:123456789012:alias/aws/secretsmanager</KmsKeyId></MasterUserSecret>"), "{xml}");
        make_available(&mut clusters, "managed");
        let refused = run(&mut clusters, &modify("managed", SECOND)).unwrap_err();
        assert_eq!(refused.code, "InvalidParameterCombination");
        assert!(refused.message.contains("managed by Secrets Manager"), "{}", refused.message);
    }

    #[test]
    fn clusters_are_listed_by_the_filters_a_documentdb_caller_sends() {
        let mut clusters = Clusters::new();
        for id in ["one", "two"] {
            run(&mut clusters, &create(id, &[("MasterUserPassword", FIRST)])).unwrap();
        }
        let list = |clusters: &mut Clusters, pairs: &[(&str, &str)]| {
            let mut all = vec![("Action", "DescribeDBClusters")];
            all.extend_from_slice(pairs);
            run(clusters, &request(&all)).map(|(xml, _)| xml.matches("<DBCluster>").count())
        };
        assert_eq!(list(&mut clusters, &[]), Ok(2));
        assert_eq!(
            list(&mut clusters, &[("Filters.Filter.1.Name", "engine"), ("Filters.Filter.1.Values.Value.1", "docdb")]),
            Ok(2)
        );
        assert_eq!(
            list(
                &mut clusters,
                &[("Filters.Filter.1.Name", "engine"), ("Filters.Filter.1.Values.Value.1", "aurora-postgresql")]
            ),
            Ok(0)
        );
        let by_id = [
            ("Filters.Filter.1.Name", "engine"),
            ("Filters.Filter.1.Values.Value.1", "docdb"),
            ("Filters.Filter.2.Name", "db-cluster-id"),
            ("Filters.Filter.2.Values.Value.1", "arn:aws:rds:us-east-1:123456789012:cluster:two"),
        ];
        assert_eq!(list(&mut clusters, &by_id), Ok(1));
        let unknown =
            list(&mut clusters, &[("Filters.Filter.1.Name", "domain"), ("Filters.Filter.1.Values.Value.1", "x")]);
        assert_eq!(unknown.unwrap_err().code, "InvalidParameterValue");
    }

    #[tokio::test]
    async fn without_a_stand_in_every_call_is_refused_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("Action", "DescribeDBClusters"),
                ("Version", query::VERSION),
                ("DBClusterIdentifier", "app"),
            ])
            .finish();
        let clock = Clock::System;
        let response = DocumentDb::new(None).dispatch(&store, &clock, &identity(), body.as_bytes()).await;
        assert_eq!(response.status(), 400);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let xml = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            xml.contains("<Code>InvalidParameterCombination</Code>") && xml.contains("--documentdb-mongodb"),
            "{xml}"
        );
        let audit = std::fs::read_to_string(store.audit_path()).unwrap();
        assert!(
            audit.contains("\"operation\":\"DescribeDBClusters\"") && audit.contains("\"secret\":\"app\""),
            "{audit}"
        );
    }
}
