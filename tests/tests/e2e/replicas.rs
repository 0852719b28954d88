//! Multi-Region secrets on the local endpoint: a secret replicated with `ReplicateSecretToRegions` is read from a
//! replica Region (a client configured for it, so its requests are signed for it) under the replica's ARN; a
//! rotation at the primary is what the replica reads afterwards, and the replica refuses every change.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::types::ReplicaRegionType;

use crate::harness::{Function, Harness, unique};

/// A Secrets Manager client of the endpoint in `region`.
fn client_in(url: &str, region: &'static str) -> Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(Credentials::new("AKIDROTORTEST", "rotor-test-not-a-secret", None, None, "rotor-tests"))
        .endpoint_url(url)
        .build();
    Client::from_conf(config)
}

#[tokio::test]
async fn a_rotation_at_the_primary_is_what_a_replica_reads_and_the_replica_refuses_changes() {
    let h = Harness::start(vec![Function::new("rotate-custom")]).await;
    let name = unique("multi");
    let arn = h.create_secret(&name, r#"{"password":"first"}"#).await;
    let region = ReplicaRegionType::builder().region("eu-west-1").build();
    h.client.replicate_secret_to_regions().secret_id(&arn).add_replica_regions(region).send().await.unwrap();
    let status = h.client.describe_secret().secret_id(&arn).send().await.unwrap();
    let replicated = &status.replication_status()[0];
    assert_eq!((replicated.region(), replicated.status().map(|s| s.as_str())), (Some("eu-west-1"), Some("InSync")));

    h.rotate(&arn, "rotate-custom").await;
    assert_eq!(h.wait_rotation(&arn).await["state"], "succeeded");
    let rotated = h.value(&arn, "AWSCURRENT").await;
    assert_ne!(rotated, r#"{"password":"first"}"#);

    let replica = client_in(&h.endpoint_url, "eu-west-1");
    let replica_arn = arn.replace(":us-east-1:", ":eu-west-1:");
    for id in [replica_arn.as_str(), name.as_str()] {
        let read = replica.get_secret_value().secret_id(id).send().await.unwrap();
        assert_eq!(read.secret_string(), Some(rotated.as_str()), "the replica reads the rotated value");
        assert_eq!(read.arn(), Some(replica_arn.as_str()));
    }
    let described = replica.describe_secret().secret_id(&replica_arn).send().await.unwrap();
    assert_eq!(described.primary_region(), Some("us-east-1"));
    assert!(described.rotation_lambda_arn().is_none(), "rotation runs at the primary only");
    let listed = replica.list_secrets().send().await.unwrap();
    let arns: Vec<&str> = listed.secret_list().iter().filter_map(|s| s.arn()).collect();
    assert_eq!(arns, [replica_arn.as_str()]);

    let refused = replica.put_secret_value().secret_id(&replica_arn).secret_string("x").send().await.unwrap_err();
    assert_eq!(refused.code(), Some("InvalidRequestException"));
    assert!(refused.message().unwrap().contains("primary Region (us-east-1)"), "{:?}", refused.message());
    let rotate = replica.rotate_secret().secret_id(&replica_arn).send().await.unwrap_err();
    assert_eq!(rotate.code(), Some("InvalidRequestException"));
    let elsewhere = client_in(&h.endpoint_url, "ap-south-1").get_secret_value().secret_id(&name).send().await;
    assert_eq!(elsewhere.unwrap_err().code(), Some("ResourceNotFoundException"), "no replica there");
    assert_eq!(h.value(&arn, "AWSCURRENT").await, rotated, "the primary is unchanged");

    // The fleet report shows where the secret is rotated and where it is read.
    let (_, out) = crate::rotatectl::rotatectl(&h, &["report", "--replicas", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let entry = report["entries"].as_array().unwrap().iter().find(|e| e["arn"] == arn.as_str()).unwrap().clone();
    assert_eq!(
        (&entry["primary_region"], &entry["replicas"]),
        (&serde_json::json!("us-east-1"), &serde_json::json!(["eu-west-1"]))
    );
    let (_, table) = crate::rotatectl::rotatectl(&h, &["report", "--replicas"]);
    assert!(table.contains("replicated to eu-west-1"), "{table}");
}
