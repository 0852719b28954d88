//! The same Secrets Manager call sequences against rotor's local endpoint and moto's server must agree, except
//! where moto is known to be wrong: those cases assert AWS's documented behaviour against the local endpoint.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};

use crate::harness::Harness;
use crate::moto::Moto;

/// One observation per call: what a caller would rely on, free of server-specific ids and times.
fn seen<T, E: ProvideErrorMetadata>(call: &str, result: Result<T, E>, what: impl FnOnce(T) -> String) -> String {
    match result {
        Ok(out) => format!("{call} -> {}", what(out)),
        Err(e) => format!("{call} -> error {}", e.code().unwrap_or("?")),
    }
}

/// [`seen`], with an error's message too: for an answer a caller tells apart from others by its words.
fn seen_in_full<T, E: ProvideErrorMetadata>(
    call: &str,
    result: Result<T, E>,
    what: impl FnOnce(T) -> String,
) -> String {
    match result {
        Err(e) => format!("{call} -> error {}: {}", e.code().unwrap_or("?"), e.message().unwrap_or("?")),
        answer => seen(call, answer, what),
    }
}

fn token(n: u8) -> String {
    format!("{n:02}000000-0000-4000-8000-000000000000")
}

async fn versions_and_labels(c: &Client, name: &str) -> Vec<String> {
    let mut log = Vec::new();
    let r = c.create_secret().name(name).client_request_token(token(1)).secret_string("one").send().await;
    log.push(seen("CreateSecret", r, |o| format!("{:?} {:?}", o.name(), o.version_id())));
    let r = c.get_secret_value().secret_id(name).send().await;
    log.push(seen("GetSecretValue", r, |o| {
        format!("{:?} {:?} {:?}", o.secret_string(), o.version_id(), o.version_stages())
    }));
    let r = c.put_secret_value().secret_id(name).client_request_token(token(2)).secret_string("two").send().await;
    log.push(seen("PutSecretValue", r, |o| format!("{:?} {:?}", o.version_id(), o.version_stages())));
    let r = c.put_secret_value().secret_id(name).client_request_token(token(2)).secret_string("two").send().await;
    log.push(seen("PutSecretValue same token, same value", r, |o| format!("{:?}", o.version_id())));
    let r = c.put_secret_value().secret_id(name).client_request_token(token(2)).secret_string("other").send().await;
    log.push(seen("PutSecretValue same token, other value", r, |o| format!("{:?}", o.version_id())));
    for stage in ["AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"] {
        let r = c.get_secret_value().secret_id(name).version_stage(stage).send().await;
        log.push(seen(&format!("GetSecretValue {stage}"), r, |o| {
            format!("{:?} {:?}", o.secret_string(), o.version_id())
        }));
    }
    let r = c
        .put_secret_value()
        .secret_id(name)
        .client_request_token(token(3))
        .secret_string("three")
        .version_stages("AWSPENDING")
        .send()
        .await;
    log.push(seen("PutSecretValue AWSPENDING", r, |o| format!("{:?}", o.version_stages())));
    let r = c.get_secret_value().secret_id(name).version_id(token(3)).version_stage("AWSPENDING").send().await;
    log.push(seen("GetSecretValue pending by id and stage", r, |o| format!("{:?}", o.secret_string())));
    let r = c
        .update_secret_version_stage()
        .secret_id(name)
        .version_stage("AWSCURRENT")
        .move_to_version_id(token(3))
        .remove_from_version_id(token(2))
        .send()
        .await;
    log.push(seen("UpdateSecretVersionStage promote", r, |o| format!("{:?}", o.name())));
    let r = c
        .update_secret_version_stage()
        .secret_id(name)
        .version_stage("AWSPENDING")
        .remove_from_version_id(token(3))
        .send()
        .await;
    log.push(seen("UpdateSecretVersionStage remove AWSPENDING", r, |o| format!("{:?}", o.name())));
    // A version asked for a stage it does not carry: a finished rotation's token for AWSPENDING (what a replayed
    // step reads first), the previous version for AWSCURRENT.
    for (version, stage) in [(token(3), "AWSPENDING"), (token(2), "AWSCURRENT")] {
        let r = c.get_secret_value().secret_id(name).version_id(&version).version_stage(stage).send().await;
        log.push(seen_in_full(&format!("GetSecretValue {version} without {stage}"), r, |o| {
            format!("{:?}", o.secret_string())
        }));
    }
    let r = c.describe_secret().secret_id(name).send().await;
    log.push(seen("DescribeSecret", r, |o| {
        // Known moto difference 3: it lists versions without labels; AWS leaves them out (asserted below).
        let mut stages: Vec<_> =
            o.version_ids_to_stages().cloned().unwrap_or_default().into_iter().filter(|(_, s)| !s.is_empty()).collect();
        stages.sort();
        format!("{:?} {:?}", o.name(), stages)
    }));
    let r = c.list_secret_version_ids().secret_id(name).send().await;
    log.push(seen("ListSecretVersionIds", r, |o| {
        let mut ids: Vec<_> = o
            .versions()
            .iter()
            .filter(|v| !v.version_stages().is_empty())
            .map(|v| (v.version_id().unwrap_or("").to_owned(), v.version_stages().to_vec()))
            .collect();
        ids.sort();
        format!("{ids:?}")
    }));
    let r = c.update_secret().secret_id(name).description("described").send().await;
    log.push(seen("UpdateSecret description", r, |o| format!("{:?}", o.name())));
    let r = c.describe_secret().secret_id(name).send().await;
    log.push(seen("DescribeSecret description", r, |o| format!("{:?}", o.description())));
    log
}

async fn errors(c: &Client, name: &str) -> Vec<String> {
    let mut log = Vec::new();
    let r = c.get_secret_value().secret_id(format!("{name}-missing")).send().await;
    log.push(seen("GetSecretValue missing secret", r, |_| "ok".into()));
    let r = c.describe_secret().secret_id(format!("{name}-missing")).send().await;
    log.push(seen("DescribeSecret missing secret", r, |_| "ok".into()));
    let r = c.create_secret().name(name).secret_string("x").send().await;
    log.push(seen("CreateSecret", r, |_| "ok".into()));
    let r = c.create_secret().name(name).secret_string("x").send().await;
    log.push(seen("CreateSecret again", r, |_| "ok".into()));
    let r = c.get_secret_value().secret_id(name).version_stage("AWSPENDING").send().await;
    log.push(seen("GetSecretValue absent stage", r, |_| "ok".into()));
    let r = c.get_secret_value().secret_id(name).version_id(token(9)).send().await;
    log.push(seen("GetSecretValue absent version", r, |_| "ok".into()));
    let r = c.get_secret_value().secret_id(name).version_id(token(9)).version_stage("AWSCURRENT").send().await;
    log.push(seen("GetSecretValue absent version with a stage", r, |_| "ok".into()));
    let r =
        c.delete_secret().secret_id(name).recovery_window_in_days(7).force_delete_without_recovery(true).send().await;
    log.push(seen("DeleteSecret window and force", r, |_| "ok".into()));
    log
}

async fn deletion_tags_and_listing(c: &Client, prefix: &str) -> Vec<String> {
    let mut log = Vec::new();
    for i in 0..3 {
        let r = c
            .create_secret()
            .name(format!("{prefix}-{i}"))
            .secret_string("x")
            .tags(Tag::builder().key("team").value(format!("t{i}")).build())
            .send()
            .await;
        log.push(seen("CreateSecret", r, |o| format!("{:?}", o.name())));
    }
    let first = format!("{prefix}-0");
    let r = c.tag_resource().secret_id(&first).tags(Tag::builder().key("env").value("dev").build()).send().await;
    log.push(seen("TagResource", r, |_| "ok".into()));
    let r = c.untag_resource().secret_id(&first).tag_keys("team").send().await;
    log.push(seen("UntagResource", r, |_| "ok".into()));
    let r = c.describe_secret().secret_id(&first).send().await;
    log.push(seen("DescribeSecret tags", r, |o| {
        format!("{:?}", o.tags().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>())
    }));
    let filter = Filter::builder().key(FilterNameStringType::Name).values(prefix).build();
    let r = c.list_secrets().filters(filter.clone()).send().await;
    log.push(seen("ListSecrets by name", r, |o| {
        let mut names: Vec<_> = o.secret_list().iter().map(|s| s.name().unwrap_or("").to_owned()).collect();
        names.sort();
        format!("{names:?}")
    }));
    let r = c.delete_secret().secret_id(&first).recovery_window_in_days(7).send().await;
    log.push(seen("DeleteSecret", r, |o| format!("{:?} deletion date set: {}", o.name(), o.deletion_date().is_some())));
    let r = c.get_secret_value().secret_id(&first).send().await;
    log.push(seen("GetSecretValue deleted", r, |_| "ok".into()));
    let r = c.describe_secret().secret_id(&first).send().await;
    log.push(seen("DescribeSecret deleted", r, |o| format!("deleted date set: {}", o.deleted_date().is_some())));
    let r = c.list_secrets().filters(filter.clone()).send().await;
    log.push(seen("ListSecrets without deleted", r, |o| format!("{}", o.secret_list().len())));
    let r = c.restore_secret().secret_id(&first).send().await;
    log.push(seen("RestoreSecret", r, |o| format!("{:?}", o.name())));
    let r = c.get_secret_value().secret_id(&first).send().await;
    log.push(seen("GetSecretValue restored", r, |o| format!("{:?}", o.secret_string())));
    let r = c.delete_secret().secret_id(&first).force_delete_without_recovery(true).send().await;
    log.push(seen("DeleteSecret force", r, |o| format!("{:?}", o.name())));
    let r = c.describe_secret().secret_id(&first).send().await;
    log.push(seen("DescribeSecret force-deleted", r, |_| "ok".into()));
    let r = c.get_random_password().password_length(24).exclude_punctuation(true).send().await;
    log.push(seen("GetRandomPassword", r, |o| {
        let p = o.random_password().unwrap_or("");
        format!("length {} alphanumeric {}", p.len(), p.chars().all(|c| c.is_ascii_alphanumeric()))
    }));
    log
}

#[tokio::test]
async fn the_local_endpoint_agrees_with_moto_on_ordinary_calls() {
    let moto = Moto::start();
    let h = Harness::start(vec![]).await;
    let name = crate::harness::unique("cross");
    let local = versions_and_labels(&h.client, &name).await;
    let theirs = versions_and_labels(&moto.client, &name).await;
    assert_eq!(local, theirs);
    // Agreeing is not enough: both must give AWS's answer, which rotation functions read as "not pending".
    let mismatch = |l: &&String| {
        l.contains("-> error InvalidRequestException: ")
            && l.ends_with("You provided a VersionStage that is not associated to the provided VersionId.")
    };
    assert_eq!(local.iter().filter(mismatch).count(), 2, "{local:#?}");
    let local = errors(&h.client, &format!("{name}-e")).await;
    let theirs = errors(&moto.client, &format!("{name}-e")).await;
    assert_eq!(local, theirs);
    let local = deletion_tags_and_listing(&h.client, &format!("{name}-d")).await;
    let theirs = deletion_tags_and_listing(&moto.client, &format!("{name}-d")).await;
    assert_eq!(local, theirs);
}

/// Where moto is known to differ from AWS's documented behaviour; each is asserted against the local endpoint.
///
/// 1. `RotateSecret`: AWS creates a value-less `AWSPENDING` placeholder, invokes the function's four steps and
///    removes `AWSPENDING` only on success; moto cannot run a rotation function outside its own Lambda (which
///    needs Docker) and refuses a function it does not host.
/// 2. Versions without staging labels: AWS leaves them out of `DescribeSecret.VersionIdsToStages` and of
///    `ListSecretVersionIds` unless `IncludeDeprecated`; moto lists them.
///
/// (A token reused with another value, which older moto overwrote, now agrees: `ResourceExistsException` in
/// both, checked in the sequences above.)
#[tokio::test]
async fn where_moto_is_wrong_the_local_endpoint_does_what_aws_documents() {
    let moto = Moto::start();
    let h = Harness::start(vec![]).await;
    let name = crate::harness::unique("aws-only");
    for c in [&h.client, &moto.client] {
        c.create_secret().name(&name).client_request_token(token(1)).secret_string("one").send().await.unwrap();
        c.put_secret_value().secret_id(&name).client_request_token(token(2)).secret_string("two").send().await.unwrap();
        c.put_secret_value()
            .secret_id(&name)
            .client_request_token(token(3))
            .secret_string("three")
            .send()
            .await
            .unwrap();
    }

    // 2. The unlabelled version (token 1) is not listed.
    let described = h.client.describe_secret().secret_id(&name).send().await.unwrap();
    assert!(!described.version_ids_to_stages().unwrap().contains_key(&token(1)));
    let listed = h.client.list_secret_version_ids().secret_id(&name).send().await.unwrap();
    assert!(listed.versions().iter().all(|v| v.version_id() != Some(token(1).as_str())));
    let with_deprecated =
        h.client.list_secret_version_ids().secret_id(&name).include_deprecated(true).send().await.unwrap();
    assert!(with_deprecated.versions().iter().any(|v| v.version_id() == Some(token(1).as_str())));
    let theirs = moto.client.describe_secret().secret_id(&name).send().await.unwrap();
    assert!(theirs.version_ids_to_stages().unwrap().contains_key(&token(1)), "moto lists unlabelled versions");

    // 1. RotateSecret: the placeholder has no value and AWSCURRENT does not move until finishSecret.
    let rotation = h
        .client
        .rotate_secret()
        .secret_id(&name)
        .rotation_lambda_arn(crate::harness::lambda_arn("rotate-not-deployed"))
        .client_request_token(token(4))
        .send()
        .await
        .unwrap();
    assert_eq!(rotation.version_id(), Some(token(4).as_str()));
    h.wait_rotation(&name).await;
    assert_eq!(h.holding(&name, "AWSPENDING").await, Some(token(4)));
    assert_eq!(h.value(&name, "AWSCURRENT").await, "three");
    let placeholder = h.client.get_secret_value().secret_id(&name).version_stage("AWSPENDING").send().await;
    assert_eq!(placeholder.unwrap_err().code(), Some("ResourceNotFoundException"));
    let theirs = moto
        .client
        .rotate_secret()
        .secret_id(&name)
        .rotation_lambda_arn(crate::harness::lambda_arn("rotate-not-deployed"))
        .client_request_token(token(4))
        .send()
        .await;
    assert!(theirs.is_err(), "moto refuses a function it does not host");
}

/// The Parameter Store calls a parameter rotation makes, in its order, with the answers a caller relies on.
async fn parameter_rotation_calls(c: &aws_sdk_ssm::Client, name: &str) -> Vec<String> {
    use aws_sdk_ssm::types::{ParameterStringFilter, ParameterTier, ParameterType, ResourceTypeForTagging, Tag};
    let companion = format!("{name}.rotor-pending");
    let mut log = Vec::new();
    // Created tagged rotor:function (Parameter Store takes tags only on creation), as rotor creates its companion.
    let put = |value: &str, overwrite: bool, target: &str| {
        let tag = Tag::builder().key("rotor:function").value("custom").build().unwrap();
        c.put_parameter()
            .name(target)
            .value(value)
            .r#type(ParameterType::SecureString)
            .tier(ParameterTier::Standard)
            .overwrite(overwrite)
            .set_tags((!overwrite).then(|| vec![tag]))
            .send()
    };
    log.push(seen("PutParameter", put("one", false, name).await, |o| format!("{}", o.version())));
    let r = c.get_parameters().names(name).names(&companion).with_decryption(true).send().await;
    log.push(seen("GetParameters", r, |o| {
        let found: Vec<String> =
            o.parameters().iter().map(|p| format!("{:?} {:?} {}", p.name(), p.value(), p.version())).collect();
        format!("{found:?} invalid {:?}", o.invalid_parameters())
    }));
    let filter = ParameterStringFilter::builder().key("Name").option("Equals").values(name).build().unwrap();
    let r = c.describe_parameters().parameter_filters(filter).send().await;
    log.push(seen("DescribeParameters", r, |o| {
        let found: Vec<String> =
            o.parameters().iter().map(|p| format!("{:?} {:?} {:?}", p.name(), p.r#type(), p.tier())).collect();
        format!("{found:?}")
    }));
    log.push(seen("PutParameter companion", put("lock", false, &companion).await, |o| format!("{}", o.version())));
    log.push(seen("PutParameter companion again", put("other", false, &companion).await, |o| {
        format!("{}", o.version())
    }));
    log.push(seen("PutParameter overwrite", put("two", true, name).await, |o| format!("{}", o.version())));
    for (what, target) in
        [("parameter", name.to_owned()), ("companion", companion.clone()), ("missing", format!("{name}-none"))]
    {
        let r = c
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(&target)
            .send()
            .await;
        log.push(seen(&format!("ListTagsForResource {what}"), r, |o| {
            format!("{:?}", o.tag_list().iter().map(|t| (t.key(), t.value())).collect::<Vec<_>>())
        }));
    }
    let r = c
        .label_parameter_version()
        .name(name)
        .parameter_version(2)
        .labels("current")
        .labels("rotation-r1")
        .send()
        .await;
    log.push(seen("LabelParameterVersion", r, |o| format!("{:?} {}", o.invalid_labels(), o.parameter_version())));
    let r = c.label_parameter_version().name(name).parameter_version(1).labels("previous").send().await;
    log.push(seen("LabelParameterVersion previous", r, |o| format!("{:?}", o.invalid_labels())));
    for selector in ["current", "previous", "rotation-r1", "1", "missing"] {
        let r = c.get_parameter().name(format!("{name}:{selector}")).with_decryption(true).send().await;
        log.push(seen(&format!("GetParameter :{selector}"), r, |o| {
            let p = o.parameter().unwrap();
            format!("{:?} {}", p.value(), p.version())
        }));
    }
    // The label moves: a label names one version.
    let r = c.label_parameter_version().name(name).parameter_version(1).labels("current").send().await;
    log.push(seen("LabelParameterVersion moves current", r, |o| format!("{:?}", o.invalid_labels())));
    let r = c.get_parameter().name(format!("{name}:current")).with_decryption(true).send().await;
    log.push(seen("GetParameter :current after the move", r, |o| format!("{}", o.parameter().unwrap().version())));
    let r = c.get_parameter_history().name(name).with_decryption(true).send().await;
    log.push(seen("GetParameterHistory", r, |o| {
        let versions: Vec<String> =
            o.parameters().iter().map(|p| format!("{} {:?} {:?}", p.version(), p.value(), p.labels())).collect();
        format!("{versions:?}")
    }));
    log.push(seen("DeleteParameter companion", c.delete_parameter().name(&companion).send().await, |_| "ok".into()));
    log.push(seen("DeleteParameter again", c.delete_parameter().name(&companion).send().await, |_| "ok".into()));
    let r = c.get_parameter().name(&companion).send().await;
    log.push(seen("GetParameter deleted", r, |_| "found".into()));
    log
}

#[tokio::test]
async fn parameter_store_calls_agree_with_moto() {
    let moto = Moto::start();
    let h = Harness::start(vec![]).await;
    let client = |url: &str| {
        let config = aws_sdk_ssm::Config::builder()
            .behavior_version(aws_sdk_ssm::config::BehaviorVersion::latest())
            .region(aws_sdk_ssm::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_ssm::config::Credentials::new("AKID", "not-a-secret", None, None, "tests"))
            .endpoint_url(url)
            .build();
        aws_sdk_ssm::Client::from_conf(config)
    };
    let name = format!("/rotor/{}/db", crate::harness::unique("x"));
    let local = parameter_rotation_calls(&client(&h.endpoint_url), &name).await;
    let theirs = parameter_rotation_calls(&client(&moto.url), &name).await;
    assert_eq!(local, theirs);
    assert!(local.iter().any(|l| l.starts_with("PutParameter companion again -> error ParameterAlreadyExists")));

    // Where moto differs from AWS: labels beginning with aws or ssm are refused in any case (moto takes
    // AWSCURRENT and SSM-x), as AWS documents; the local endpoint does what AWS does.
    let aws_prefixed = |c: aws_sdk_ssm::Client| {
        let name = name.clone();
        async move {
            let out = c.label_parameter_version().name(name).parameter_version(2).labels("AWSCURRENT").labels("SSM-x");
            out.send().await.unwrap()
        }
    };
    let ours = aws_prefixed(client(&h.endpoint_url)).await;
    assert_eq!(ours.invalid_labels(), ["AWSCURRENT", "SSM-x"]);
    let theirs = aws_prefixed(client(&moto.url)).await;
    assert!(theirs.invalid_labels().is_empty(), "moto takes labels AWS refuses");
}
