//! The few Redshift calls an admin password rotation makes, over one real PostgreSQL server that stands in for
//! Redshift (md5 authentication, as Redshift's `md5` passwords): provisioned clusters in the service's Query protocol
//! (`CreateCluster` to declare one, `DescribeClusters`, `ModifyCluster` of `MasterUserPassword`), and Redshift
//! Serverless's namespaces and workgroups in its JSON 1.1 protocol (`CreateNamespace`, `GetNamespace`,
//! `ListNamespaces`, `UpdateNamespace` of the admin's credentials, `CreateWorkgroup`, `GetWorkgroup`,
//! `ListWorkgroups`).
//!
//! As the services do, a modified cluster or namespace answers at once (`modifying` with the password pending,
//! `MODIFYING`), its new password reaches the stand-in a moment later (`--redshift-modify-ms`), and only then is it
//! `available` (`AVAILABLE`) again; meanwhile it refuses another change (`InvalidClusterState`,
//! `ConflictException`). A created one applies its password now, and is gone again if the stand-in refuses it.
//! Every cluster's and workgroup's endpoint is the stand-in's address.
//!
//! A password goes no further than the call that carries it: it reaches the stand-in only in Redshift's md5 form
//! (`'md5' || md5(password || user)`, computed here), and neither it nor that form is kept in the state, logged, or
//! quoted in a fault. The state keeps only the names, statuses and whether a change is pending.

mod clusters;
mod namespaces;
mod query;
mod rules;
mod serverless;
mod stand_in;
mod workgroups;

pub use stand_in::RedshiftConfig;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::Value;

use self::clusters::{create_cluster, describe_clusters, modify_cluster};
use self::namespaces::{create_namespace, get_namespace, list_namespaces, update_namespace};
use self::query::REDSHIFT;
use self::serverless::{Fault as JsonFault, Input, TARGET_PREFIX};
use self::stand_in::{Change, Subject};
use self::workgroups::{create_workgroup, get_workgroup, list_workgroups};
use crate::clock::Clock;
use crate::identity::Identity;
use crate::json;
use crate::query::{Fault as QueryFault, Request};
use crate::state::RedshiftState;
use crate::store::Store;

/// What every call answers when the endpoint was started without a stand-in.
const NOT_CONFIGURED: &str =
    "the local endpoint serves Redshift calls only when started with --redshift-postgres (its stand-in)";

/// Whether a Query-protocol body is a provisioned Redshift call: its `Version` is Redshift's API version
/// (ElastiCache's is another).
pub fn is_redshift_query(body: &[u8]) -> bool {
    Request::parse(body).get("Version") == Some(query::VERSION)
}

/// The Serverless operation an `X-Amz-Target` names (`RedshiftServerless.GetNamespace`), if it names one.
pub fn serverless_operation(target: &str) -> Option<&str> {
    target.strip_prefix(TARGET_PREFIX)
}

/// A provisioned Redshift call (the Query protocol): answered from the state, its change applied to the stand-in
/// now (a created cluster, undone if the stand-in refuses it) or after the modify delay (a modified cluster, then
/// `available` again). `config` is `None` when the endpoint was started without a stand-in: every call is refused.
pub async fn dispatch_query(
    store: &Arc<Store>,
    clock: &Clock,
    identity: &Identity,
    config: Option<&RedshiftConfig>,
    body: &[u8],
) -> Response {
    let request = Request::parse(body);
    let result = async {
        let config = config.ok_or_else(|| REDSHIFT.not_configured())?;
        let (xml, change) = store
            .write(|state| Ok(call_query(&mut state.redshift, identity, config, &request, clock.now())))
            .map_err(|error| QueryFault::internal(error.message))??;
        carry_out(store, config, change).await.map_err(QueryFault::internal)?;
        Ok::<_, QueryFault>(xml)
    }
    .await;
    REDSHIFT.respond(store, clock.now(), &request, result)
}

/// A Redshift Serverless call (JSON 1.1, `operation` without its target's prefix), as [`dispatch_query`]: a
/// created namespace applies now, a modified one after the modify delay.
pub async fn dispatch_serverless(
    store: &Arc<Store>,
    clock: &Clock,
    identity: &Identity,
    config: Option<&RedshiftConfig>,
    operation: &str,
    body: &[u8],
) -> Response {
    let input = Input::parse(body);
    let subject = input.as_ref().ok().and_then(|input| {
        input.string("namespaceName").ok().flatten().or_else(|| input.string("workgroupName").ok().flatten())
    });
    let result = async {
        let config = config.ok_or_else(JsonFault::not_configured)?;
        let input = input.as_ref().map_err(Clone::clone)?;
        let (answer, change) = store
            .write(|state| Ok(call_serverless(&mut state.redshift, identity, config, operation, input, clock.now())))
            .map_err(|error| JsonFault::internal(error.message))??;
        carry_out(store, config, change).await.map_err(JsonFault::internal)?;
        Ok::<_, JsonFault>(answer)
    }
    .await;
    let outcome = result.as_ref().map_or_else(|fault| fault.code, |_| "ok");
    store.audit(clock.now(), &format!("{TARGET_PREFIX}{operation}"), subject, outcome);
    let (status, body, error_type) = match result {
        Ok(answer) => (StatusCode::OK, answer, None),
        Err(fault) => {
            (StatusCode::from_u16(fault.status).unwrap_or(StatusCode::BAD_REQUEST), fault.to_json(), Some(fault.code))
        }
    };
    json::respond(status, &body, error_type)
}

/// Runs one provisioned call on the state at `now`, by its `Action`: the XML answer, and what to change on the
/// stand-in.
fn call_query(
    state: &mut RedshiftState,
    identity: &Identity,
    config: &RedshiftConfig,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<(String, Change), QueryFault> {
    let action = request.action();
    let (result, change) = match action {
        "CreateCluster" => create_cluster(state, identity, config, request, now)?,
        "DescribeClusters" => (describe_clusters(state, identity, config, request)?, Change::Nothing),
        "ModifyCluster" => modify_cluster(state, identity, config, request)?,
        other => return Err(QueryFault::invalid_action(other)),
    };
    Ok((REDSHIFT.answer(action, &result), change))
}

/// Runs one Serverless call on the state at `now`: the JSON answer, and what to change on the stand-in.
fn call_serverless(
    state: &mut RedshiftState,
    identity: &Identity,
    config: &RedshiftConfig,
    operation: &str,
    input: &Input,
    now: DateTime<Utc>,
) -> Result<(Value, Change), JsonFault> {
    Ok(match operation {
        "CreateNamespace" => create_namespace(state, identity, config, input, now)?,
        "GetNamespace" => (get_namespace(state, identity, input)?, Change::Nothing),
        "ListNamespaces" => (list_namespaces(state, identity), Change::Nothing),
        "UpdateNamespace" => update_namespace(state, identity, config, input)?,
        "CreateWorkgroup" => (create_workgroup(state, identity, config, input, now)?, Change::Nothing),
        "GetWorkgroup" => (get_workgroup(state, identity, config, input)?, Change::Nothing),
        "ListWorkgroups" => (list_workgroups(state, identity, config), Change::Nothing),
        other => return Err(JsonFault::unknown_operation(&format!("{TARGET_PREFIX}{other}"))),
    })
}

/// Applies a call's change to the stand-in: a creation now (undone in the state, and the call failed, if the
/// stand-in refuses it), a modification after the modify delay (then ready again, whatever the stand-in said: the
/// service too ends a change it could not apply).
async fn carry_out(store: &Arc<Store>, config: &RedshiftConfig, change: Change) -> Result<(), String> {
    match change {
        Change::Nothing => Ok(()),
        Change::Now { created, database, master } => {
            let Err(error) = stand_in::create(config, &database, master.as_ref()).await else { return Ok(()) };
            let _ = store.write(|state| {
                undo(&mut state.redshift, &created);
                Ok(())
            });
            Err(format!("the server standing in for Redshift refused the {created}: {error}"))
        }
        Change::Later { subject, master } => {
            let (store, config) = (Arc::clone(store), config.clone());
            tokio::spawn(async move {
                tokio::time::sleep(config.modify_delay).await;
                if let Err(error) = stand_in::set_password(&config, &master).await {
                    tracing::error!(%subject, %error, "the Redshift stand-in refused a new admin password");
                }
                let _ = store.write(|state| {
                    ready(&mut state.redshift, &subject);
                    Ok(())
                });
            });
            Ok(())
        }
    }
}

/// Removes what a call created, when the stand-in refused it.
fn undo(state: &mut RedshiftState, created: &Subject) {
    match created {
        Subject::Cluster(id) => {
            state.clusters.remove(id);
        }
        Subject::Namespace(name) => {
            state.namespaces.remove(name);
        }
    }
}

/// Makes what a call modified ready again once its change applied.
fn ready(state: &mut RedshiftState, subject: &Subject) {
    match subject {
        Subject::Cluster(id) => clusters::make_available(state, id),
        Subject::Namespace(name) => namespaces::make_available(state, name),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    const FIRST: &str = "First-Passw0rd";
    const SECOND: &str = "Second-Passw0rd";

    fn now() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    fn identity() -> Identity {
        Identity { region: "us-east-1".into(), account: "123456789012".into() }
    }

    fn config() -> RedshiftConfig {
        RedshiftConfig::new("postgres://postgres:superuser-secret@127.0.0.1:5439/postgres", Duration::ZERO).unwrap()
    }

    fn request(pairs: &[(&str, &str)]) -> Request {
        let mut pairs = pairs.to_vec();
        pairs.push(("Version", query::VERSION));
        let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        assert!(is_redshift_query(body.as_bytes()));
        Request::parse(body.as_bytes())
    }

    fn create_cluster(id: &str, password: Option<&str>) -> Request {
        let mut pairs = vec![
            ("Action", "CreateCluster"),
            ("ClusterIdentifier", id),
            ("NodeType", "ra3.xlplus"),
            ("MasterUsername", "app_admin"),
        ];
        pairs.extend(password.map(|p| ("MasterUserPassword", p)));
        request(&pairs)
    }

    fn modify_cluster(id: &str, password: &str) -> Request {
        request(&[("Action", "ModifyCluster"), ("ClusterIdentifier", id), ("MasterUserPassword", password)])
    }

    /// `app-ns`'s status, as `GetNamespace` answers it.
    fn status(state: &mut RedshiftState) -> Value {
        serverless(state, "GetNamespace", json!({"namespaceName": "app-ns"})).unwrap().0["namespace"]["status"].clone()
    }

    fn serverless(state: &mut RedshiftState, operation: &str, input: Value) -> Result<(Value, Change), JsonFault> {
        serverless_at(state, operation, input, now())
    }

    fn serverless_at(
        state: &mut RedshiftState,
        operation: &str,
        input: Value,
        at: DateTime<Utc>,
    ) -> Result<(Value, Change), JsonFault> {
        let input = Input::parse(input.to_string().as_bytes()).unwrap();
        call_serverless(state, &identity(), &config(), operation, &input, at)
    }

    #[test]
    fn the_query_protocol_is_told_apart_by_redshifts_version() {
        assert!(!is_redshift_query(b"Action=DescribeUsers&Version=2015-02-02"));
        assert!(is_redshift_query(b"Action=DescribeClusters&Version=2012-12-01"));
        assert_eq!(serverless_operation("RedshiftServerless.GetNamespace"), Some("GetNamespace"));
        assert_eq!(serverless_operation("secretsmanager.GetSecretValue"), None);
    }

    #[test]
    fn a_modified_cluster_is_busy_until_its_password_applies_and_never_keeps_it() {
        let mut state = RedshiftState::default();
        let (identity, config) = (identity(), config());
        let run = |state: &mut RedshiftState, request: &Request| call_query(state, &identity, &config, request, now());

        let (xml, change) = run(&mut state, &create_cluster("App-Cluster", Some(FIRST))).unwrap();
        assert!(xml.starts_with("<CreateClusterResponse xmlns=\"http://redshift.amazonaws.com/doc/2012-12-01/\"><CreateClusterResult><Cluster><ClusterIdentifier>app-cluster</ClusterIdentifier>"), "{xml}");
        let Change::Now { created, database, master: Some(master) } = change else {
            panic!("a created cluster applies now")
        };
        assert_eq!(
            (created, database.as_str(), master.user.as_str()),
            (Subject::Cluster("app-cluster".into()), "dev", "app_admin")
        );

        let describe = request(&[("Action", "DescribeClusters"), ("ClusterIdentifier", "app-cluster")]);
        let (xml, _) = run(&mut state, &describe).unwrap();
        let cluster = "<ClusterIdentifier>app-cluster</ClusterIdentifier><NodeType>ra3.xlplus</NodeType><ClusterStatus>available</ClusterStatus><ClusterAvailabilityStatus>Available</ClusterAvailabilityStatus><MasterUsername>app_admin</MasterUsername><DBName>dev</DBName><Endpoint><Address>127.0.0.1</Address><Port>5439</Port></Endpoint><ClusterCreateTime>2026-01-01T00:00:00.000Z</ClusterCreateTime><PendingModifiedValues></PendingModifiedValues><NumberOfNodes>1</NumberOfNodes>";
        assert!(xml.contains(&format!("<DescribeClustersResult><Clusters><Cluster>{cluster}")), "{xml}");
        assert!(xml.contains("<ClusterNamespaceArn>arn:aws:redshift:us-east-1:123456789012:namespace:"), "{xml}");

        let (xml, change) = run(&mut state, &modify_cluster("app-cluster", SECOND)).unwrap();
        assert!(xml.starts_with("<ModifyClusterResponse") && xml.contains("<ModifyClusterResult><Cluster>"), "{xml}");
        let modifying =
            "<ClusterStatus>modifying</ClusterStatus><ClusterAvailabilityStatus>Modifying</ClusterAvailabilityStatus>";
        assert!(xml.contains(modifying), "{xml}");
        assert!(
            xml.contains(
                "<PendingModifiedValues><MasterUserPassword>****</MasterUserPassword></PendingModifiedValues>"
            ),
            "{xml}"
        );
        let Change::Later { subject, master } = change else { panic!("a modified cluster applies later") };
        assert_eq!((&subject, master.user.as_str()), (&Subject::Cluster("app-cluster".into()), "app_admin"));
        let busy = run(&mut state, &modify_cluster("app-cluster", FIRST)).unwrap_err();
        assert_eq!((busy.code, busy.status), ("InvalidClusterState", 400));
        let (xml, _) = run(&mut state, &describe).unwrap();
        assert!(xml.contains("<MasterUserPassword>****</MasterUserPassword>"), "{xml}");

        ready(&mut state, &subject);
        let (xml, _) = run(&mut state, &describe).unwrap();
        assert!(
            xml.contains("<ClusterStatus>available</ClusterStatus>")
                && xml.contains("<PendingModifiedValues></PendingModifiedValues>"),
            "{xml}"
        );
        assert!(run(&mut state, &modify_cluster("app-cluster", FIRST)).is_ok(), "available again");

        let kept = serde_json::to_string(&state).unwrap();
        let md5_of_first = postgres_protocol::password::md5(FIRST.as_bytes(), "app_admin");
        assert!(!kept.contains("Passw0rd") && !kept.contains(&md5_of_first[3..]), "{kept}");
        assert!(!format!("{:?}", modify_cluster("app-cluster", SECOND)).contains(SECOND));
    }

    #[test]
    fn provisioned_calls_keep_the_services_rules_and_faults() {
        let mut state = RedshiftState::default();
        let (identity, config) = (identity(), config());
        let mut run = |request: &Request| call_query(&mut state, &identity, &config, request, now());

        let missing = run(&request(&[("Action", "DescribeClusters"), ("ClusterIdentifier", "nobody")])).unwrap_err();
        assert_eq!((missing.code, missing.status), ("ClusterNotFound", 404));
        let xml = missing.to_xml(REDSHIFT.namespace);
        assert!(xml.starts_with("<ErrorResponse xmlns=\"http://redshift.amazonaws.com/doc/2012-12-01/\"><Error><Type>Sender</Type><Code>ClusterNotFound</Code><Message>Cluster nobody not found.</Message></Error><RequestId>"), "{xml}");
        assert_eq!(run(&modify_cluster("nobody", SECOND)).unwrap_err().code, "ClusterNotFound");

        let (xml, change) = run(&create_cluster("declared", None)).unwrap();
        assert!(xml.contains("<ClusterStatus>available</ClusterStatus>"), "{xml}");
        assert!(matches!(change, Change::Now { master: None, .. }), "without a password the user is left alone");
        assert_eq!(run(&create_cluster("declared", Some(FIRST))).unwrap_err().code, "ClusterAlreadyExists");
        for bad in ["Sh0rt", "no-upper-case-0", "Has/Slash-0123", "Has@At-01234", "Has Space-0123"] {
            let fault = run(&modify_cluster("declared", bad)).unwrap_err();
            assert_eq!(fault.code, "InvalidParameterValue", "{bad}");
            assert!(!fault.message.contains(bad), "{}", fault.message);
        }
        let other =
            run(&request(&[("Action", "ModifyCluster"), ("ClusterIdentifier", "declared"), ("NodeType", "dc2.large")]));
        assert_eq!(other.unwrap_err().code, "InvalidParameterValue");
        let superuser = request(&[
            ("Action", "CreateCluster"),
            ("ClusterIdentifier", "mine"),
            ("NodeType", "dc2.large"),
            ("MasterUsername", "postgres"),
            ("MasterUserPassword", FIRST),
        ]);
        assert!(run(&superuser).unwrap_err().message.contains("own superuser"));
        assert_eq!(run(&create_cluster("two--hyphens", None)).unwrap_err().code, "InvalidParameterValue");
        assert_eq!(run(&request(&[("Action", "DeleteCluster")])).unwrap_err().code, "InvalidAction");

        let all = run(&request(&[("Action", "DescribeClusters")])).unwrap().0;
        assert_eq!(all.matches("<Cluster>").count(), 1, "{all}");
        undo(&mut state, &Subject::Cluster("declared".into()));
        assert!(state.clusters.is_empty(), "a cluster the stand-in refused is gone");
    }

    #[test]
    fn a_namespace_and_its_workgroup_answer_in_the_services_json() {
        let mut state = RedshiftState::default();
        let create = json!({
            "namespaceName": "app-ns", "adminUsername": "app_admin", "adminUserPassword": FIRST, "dbName": "analytics"
        });
        let (answer, change) = serverless(&mut state, "CreateNamespace", create.clone()).unwrap();
        let namespace = &answer["namespace"];
        let id = namespace["namespaceId"].as_str().unwrap().to_owned();
        assert_eq!(
            *namespace,
            json!({
                "namespaceName": "app-ns",
                "namespaceId": id,
                "namespaceArn": format!("arn:aws:redshift-serverless:us-east-1:123456789012:namespace/{id}"),
                "dbName": "analytics",
                "status": "AVAILABLE",
                "creationDate": "2026-01-01T00:00:00.000Z",
                "iamRoles": [],
                "logExports": [],
                "adminUsername": "app_admin",
            })
        );
        assert!(matches!(change, Change::Now { ref database, master: Some(_), .. } if database == "analytics"));
        assert_eq!(serverless(&mut state, "CreateNamespace", create).unwrap_err().code, "ConflictException");
        let first = namespace.clone();
        // Created later, though its name sorts first: listed after `app-ns`.
        let later = now() + chrono::Duration::seconds(1);
        let (answer, _) =
            serverless_at(&mut state, "CreateNamespace", json!({"namespaceName": "aaa-ns"}), later).unwrap();
        let second = answer["namespace"].clone();
        let (list, change) =
            serverless(&mut state, "ListNamespaces", json!({"maxResults": 1, "nextToken": "ignored"})).unwrap();
        assert!(matches!(change, Change::Nothing));
        assert_eq!(list, json!({"namespaces": [first, second]}), "every namespace, on one page, as created");

        let (answer, change) =
            serverless(&mut state, "CreateWorkgroup", json!({"workgroupName": "app-wg", "namespaceName": "app-ns"}))
                .unwrap();
        assert!(matches!(change, Change::Nothing));
        let workgroup = &answer["workgroup"];
        let id = workgroup["workgroupId"].as_str().unwrap().to_owned();
        let expected = json!({
            "workgroupName": "app-wg",
            "workgroupId": id,
            "workgroupArn": format!("arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/{id}"),
            "namespaceName": "app-ns",
            "status": "AVAILABLE",
            "baseCapacity": 128,
            "enhancedVpcRouting": false,
            "publiclyAccessible": false,
            "port": 5439,
            "endpoint": {"address": "127.0.0.1", "port": 5439, "vpcEndpoints": []},
            "creationDate": "2026-01-01T00:00:00.000Z",
        });
        assert_eq!(*workgroup, expected);
        assert_eq!(
            serverless(&mut state, "ListWorkgroups", json!({})).unwrap().0,
            json!({"workgroups": [expected.clone()]})
        );
        assert_eq!(
            serverless(&mut state, "GetWorkgroup", json!({"workgroupName": "app-wg"})).unwrap().0["workgroup"],
            expected
        );
        let second = json!({"workgroupName": "other-wg", "namespaceName": "app-ns"});
        assert_eq!(
            serverless(&mut state, "CreateWorkgroup", second).unwrap_err().code,
            "ConflictException",
            "one per namespace"
        );
        let orphan =
            serverless(&mut state, "CreateWorkgroup", json!({"workgroupName": "lost-wg", "namespaceName": "nowhere"}));
        assert_eq!(orphan.unwrap_err().to_json()["resourceName"], "nowhere");
    }

    #[test]
    fn an_updated_namespace_is_busy_until_its_password_applies_and_never_keeps_it() {
        let mut state = RedshiftState::default();
        serverless(&mut state, "CreateNamespace", json!({"namespaceName": "app-ns", "adminUsername": "app_admin"}))
            .unwrap();
        let update = json!({"namespaceName": "app-ns", "adminUsername": "app_admin", "adminUserPassword": SECOND});
        let (answer, change) = serverless(&mut state, "UpdateNamespace", update.clone()).unwrap();
        assert_eq!(answer["namespace"]["status"], "MODIFYING");
        let Change::Later { subject, master } = change else { panic!("an updated namespace applies later") };
        assert_eq!((&subject, master.user.as_str()), (&Subject::Namespace("app-ns".into()), "app_admin"));
        let busy = serverless(&mut state, "UpdateNamespace", update.clone()).unwrap_err();
        assert_eq!((busy.code, busy.status), ("ConflictException", 409));
        assert_eq!(status(&mut state), "MODIFYING");
        ready(&mut state, &subject);
        assert_eq!(status(&mut state), "AVAILABLE");

        let code = |state: &mut RedshiftState, operation: &str, input: Value| {
            serverless(state, operation, input).unwrap_err().code
        };
        let missing = serverless(&mut state, "GetNamespace", json!({"namespaceName": "nobody"})).unwrap_err();
        assert_eq!((missing.code, missing.status), ("ResourceNotFoundException", 404));
        assert_eq!(code(&mut state, "GetWorkgroup", json!({"workgroupName": "nobody"})), "ResourceNotFoundException");
        assert_eq!(
            code(&mut state, "UpdateNamespace", json!({"namespaceName": "app-ns", "adminUserPassword": SECOND})),
            "ValidationException"
        );
        let more = json!({
            "namespaceName": "app-ns", "adminUsername": "app_admin", "adminUserPassword": SECOND, "kmsKeyId": "k"
        });
        assert_eq!(code(&mut state, "UpdateNamespace", more), "ValidationException");
        let weak = serverless(
            &mut state,
            "UpdateNamespace",
            json!({"namespaceName": "app-ns", "adminUsername": "app_admin", "adminUserPassword": "weak"}),
        )
        .unwrap_err();
        assert!(weak.code == "ValidationException" && !weak.message.contains("weak"), "{}", weak.message);
        assert_eq!(
            code(
                &mut state,
                "UpdateNamespace",
                json!({"namespaceName": "app-ns", "adminUsername": "postgres", "adminUserPassword": SECOND})
            ),
            "ValidationException"
        );
        assert_eq!(code(&mut state, "CreateNamespace", json!({"namespaceName": "Upper-NS"})), "ValidationException");
        assert_eq!(
            code(&mut state, "CreateNamespace", json!({"namespaceName": "ns-2", "adminUserPassword": SECOND})),
            "ValidationException"
        );
        assert_eq!(
            code(&mut state, "DeleteNamespace", json!({"namespaceName": "app-ns"})),
            "UnknownOperationException"
        );

        let kept = serde_json::to_string(&state).unwrap();
        let md5_of_second = postgres_protocol::password::md5(SECOND.as_bytes(), "app_admin");
        assert!(!kept.contains("Passw0rd") && !kept.contains(&md5_of_second[3..]), "{kept}");
        undo(&mut state, &Subject::Namespace("app-ns".into()));
        assert!(state.namespaces.is_empty(), "a namespace the stand-in refused is gone");
    }
}
