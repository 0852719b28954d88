//! The local endpoint's Secrets Manager semantics through the Rust SDK, including what emulators get wrong.

use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};

use crate::harness::{Harness, unique};

#[tokio::test]
async fn versions_labels_and_token_reuse_follow_aws() {
    let h = Harness::start(vec![]).await;
    let name = unique("labels");
    let arn = h.create_secret(&name, "v1").await;
    let v1 = h.holding(&arn, "AWSCURRENT").await.unwrap();

    let token = uuid::Uuid::new_v4().to_string();
    let put = h
        .client
        .put_secret_value()
        .secret_id(&name)
        .client_request_token(&token)
        .secret_string("v2")
        .send()
        .await
        .unwrap();
    assert_eq!(put.version_stages(), ["AWSCURRENT"]);
    assert_eq!(h.holding(&arn, "AWSPREVIOUS").await, Some(v1.clone()), "moving AWSCURRENT moves AWSPREVIOUS");

    // The same token and value again: a no-op. Another value: ResourceExistsException (moto overwrites).
    h.client.put_secret_value().secret_id(&name).client_request_token(&token).secret_string("v2").send().await.unwrap();
    let error = h
        .client
        .put_secret_value()
        .secret_id(&name)
        .client_request_token(&token)
        .secret_string("v3")
        .send()
        .await
        .unwrap_err();
    assert!(error.into_service_error().is_resource_exists_exception());
    assert_eq!(h.value(&arn, "AWSCURRENT").await, "v2");

    // A pending version leaves AWSCURRENT alone; it is read by version and stage together.
    let pending = uuid::Uuid::new_v4().to_string();
    h.client
        .put_secret_value()
        .secret_id(&arn)
        .client_request_token(&pending)
        .secret_string("v3")
        .version_stages("AWSPENDING")
        .send()
        .await
        .unwrap();
    assert_eq!(h.value(&arn, "AWSCURRENT").await, "v2");
    let got = h
        .client
        .get_secret_value()
        .secret_id(&arn)
        .version_id(&pending)
        .version_stage("AWSPENDING")
        .send()
        .await
        .unwrap();
    assert_eq!(got.secret_string(), Some("v3"));
    let wrong = h
        .client
        .get_secret_value()
        .secret_id(&arn)
        .version_id(&pending)
        .version_stage("AWSCURRENT")
        .send()
        .await
        .unwrap_err();
    assert!(wrong.into_service_error().is_invalid_request_exception());

    // Promotion needs RemoveFromVersionId when AWSCURRENT is on another version.
    let error = h
        .client
        .update_secret_version_stage()
        .secret_id(&arn)
        .version_stage("AWSCURRENT")
        .move_to_version_id(&pending)
        .send()
        .await
        .unwrap_err();
    let service = error.into_service_error();
    assert!(service.is_invalid_parameter_exception());
    assert!(service.to_string().contains("RemoveFromVersionId"), "{service}");
    h.client
        .update_secret_version_stage()
        .secret_id(&arn)
        .version_stage("AWSCURRENT")
        .move_to_version_id(&pending)
        .remove_from_version_id(&token)
        .send()
        .await
        .unwrap();
    let labels = h.labels(&arn).await;
    assert!(labels.contains(&(pending.clone(), vec!["AWSCURRENT".into(), "AWSPENDING".into()])), "{labels:?}");
    assert!(labels.contains(&(token.clone(), vec!["AWSPREVIOUS".into()])), "{labels:?}");
    assert!(!labels.iter().any(|(v, _)| *v == v1), "a version without labels is no longer listed: {labels:?}");

    let versions = h.client.list_secret_version_ids().secret_id(&arn).include_deprecated(true).send().await.unwrap();
    assert_eq!(versions.versions().len(), 3);
    let versions = h.client.list_secret_version_ids().secret_id(&arn).send().await.unwrap();
    assert_eq!(versions.versions().len(), 2);

    let error = h.client.create_secret().name(&name).secret_string("again").send().await.unwrap_err();
    assert!(error.into_service_error().is_resource_exists_exception());
}

#[tokio::test]
async fn deletion_restore_tags_listing_and_random_passwords() {
    let h = Harness::start(vec![]).await;
    let prefix = unique("list");
    for i in 0..5 {
        h.client
            .create_secret()
            .name(format!("{prefix}-{i}"))
            .secret_string("x")
            .tags(Tag::builder().key("team").value(if i % 2 == 0 { "even" } else { "odd" }).build())
            .send()
            .await
            .unwrap();
    }
    let name_filter = Filter::builder().key(FilterNameStringType::Name).values(&prefix).build();
    let page = h.client.list_secrets().filters(name_filter.clone()).max_results(2).send().await.unwrap();
    assert_eq!(page.secret_list().len(), 2);
    let pages = h
        .client
        .list_secrets()
        .filters(name_filter.clone())
        .max_results(2)
        .into_paginator()
        .send()
        .collect::<Vec<_>>()
        .await;
    assert_eq!(pages.len(), 3);
    assert_eq!(pages.iter().map(|p| p.as_ref().unwrap().secret_list().len()).sum::<usize>(), 5);
    let odd = h
        .client
        .list_secrets()
        .filters(name_filter.clone())
        .filters(Filter::builder().key(FilterNameStringType::TagValue).values("odd").build())
        .send()
        .await
        .unwrap();
    assert_eq!(odd.secret_list().len(), 2);

    let first = format!("{prefix}-0");
    h.client
        .tag_resource()
        .secret_id(&first)
        .tags(Tag::builder().key("env").value("test").build())
        .send()
        .await
        .unwrap();
    h.client.untag_resource().secret_id(&first).tag_keys("team").send().await.unwrap();
    let tags = h.client.describe_secret().secret_id(&first).send().await.unwrap().tags().to_vec();
    assert_eq!(tags.iter().map(|t| t.key().unwrap()).collect::<Vec<_>>(), ["env"]);

    let error = h.client.delete_secret().secret_id(&first).recovery_window_in_days(3).send().await.unwrap_err();
    assert!(error.into_service_error().is_invalid_parameter_exception());
    let deleted = h.client.delete_secret().secret_id(&first).recovery_window_in_days(7).send().await.unwrap();
    assert!(deleted.deletion_date().is_some());
    let error = h.client.get_secret_value().secret_id(&first).send().await.unwrap_err();
    assert!(error.into_service_error().is_invalid_request_exception(), "a secret marked for deletion is not readable");
    assert!(h.client.describe_secret().secret_id(&first).send().await.unwrap().deleted_date().is_some());
    let listed = h.client.list_secrets().filters(name_filter.clone()).send().await.unwrap();
    assert_eq!(listed.secret_list().len(), 4);
    h.client.restore_secret().secret_id(&first).send().await.unwrap();
    assert_eq!(h.value(&first, "AWSCURRENT").await, "x");

    h.client.delete_secret().secret_id(&first).force_delete_without_recovery(true).send().await.unwrap();
    let error = h.client.describe_secret().secret_id(&first).send().await.unwrap_err();
    assert!(error.into_service_error().is_resource_not_found_exception());

    // The recovery window ends on the endpoint's clock: the secret is gone after 7 days.
    let second = format!("{prefix}-1");
    h.client.delete_secret().secret_id(&second).recovery_window_in_days(7).send().await.unwrap();
    h.advance_clock(7 * 24 * 3600 + 1).await;
    assert!(h.client.describe_secret().secret_id(&second).send().await.is_err());

    let password = h
        .client
        .get_random_password()
        .password_length(40)
        .exclude_punctuation(true)
        .exclude_characters("abc")
        .send()
        .await
        .unwrap();
    let password = password.random_password().unwrap();
    assert_eq!(password.len(), 40);
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric() && !"abc".contains(c)));
    h.assert_no_leaks(&[password.to_owned()]);
}

#[tokio::test]
async fn state_survives_a_restart_and_the_audit_log_holds_no_values() {
    let mut h = Harness::start(vec![]).await;
    let name = unique("restart");
    let value = "restart-survivor-value-8c1f";
    let arn = h.create_secret(&name, value).await;
    h.client.put_secret_value().secret_id(&arn).secret_string("second-value-9d2e-4f").send().await.unwrap();
    let labels = h.labels(&arn).await;

    h.start_endpoint();
    assert_eq!(h.labels(&arn).await, labels);
    assert_eq!(h.value(&arn, "AWSPREVIOUS").await, value);

    let audit = std::fs::read_to_string(h.dir.path().join("state/audit.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.iter().any(|l| l["operation"] == "CreateSecret" && l["outcome"] == "ok"));
    assert!(lines.iter().any(|l| l["operation"] == "PutSecretValue" && l["secret"] == arn.as_str()));
    assert!(lines.iter().all(|l| l["time"].is_string()));
    h.assert_no_leaks(&[value.to_owned(), "second-value-9d2e-4f".to_owned()]);
}

#[tokio::test]
async fn a_manual_put_abandons_a_stuck_rotation() {
    let h = Harness::start(vec![]).await;
    let arn = h.create_secret(&unique("abandon"), "v1").await;
    let token = h.rotate(&arn, "rotate-not-deployed").await;
    let record = h.wait_rotation(&arn).await;
    assert_eq!(record["state"], "failed");
    assert_eq!(record["step"], "createSecret");
    assert_eq!(h.holding(&arn, "AWSPENDING").await.as_deref(), Some(token.as_str()));

    h.client.put_secret_value().secret_id(&arn).secret_string("set-by-hand").send().await.unwrap();
    assert_eq!(h.holding(&arn, "AWSPENDING").await, None);
    assert_eq!(h.last_rotation(&arn).await["state"], "cancelled");
    assert_eq!(h.value(&arn, "AWSCURRENT").await, "set-by-hand");
}
