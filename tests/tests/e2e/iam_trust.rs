//! The trust model for IAM access keys, against moto's IAM and STS with signing enforced: a secret cannot choose
//! whose keys rotor mints or deletes (the user is pinned by an administrator's `rotor:user` tag or proven by the
//! secret's own key signing as it), and rotor deletes only a key it minted for the secret (`AWSPREVIOUS`'s, its
//! secret access key signing with it and the secret's record on the user naming it) or a key an interrupted attempt
//! of the same rotation minted; never a key another secret's record names, even one the writer holds. Every refusal
//! leaves the user's keys as they were and `AWSCURRENT` working.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};

use crate::harness::unique;
use crate::iam::{FUNCTION_ACTIONS, IamCase, setup};

const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

async fn configured(case: &IamCase) {
    let record = case.h.configure_rotation(&case.arn, "rotate-iam-access-key").await;
    assert_eq!(record["state"], "succeeded", "the configuration test signs in with AWSCURRENT's key: {record}");
}

/// The failed rotation's message, asserting it failed in createSecret with `error_type`.
fn failed_create(record: &Value, error_type: &str) -> String {
    assert_eq!(record["state"], "failed", "{record}");
    assert_eq!((&record["step"], &record["error_type"]), (&json!("createSecret"), &json!(error_type)), "{record}");
    record["error_message"].as_str().unwrap().to_owned()
}

/// Plays the service's retry of the rotation left pending: its four steps, once each.
async fn retry_pending(case: &IamCase) {
    let token = case.h.holding(&case.arn, "AWSPENDING").await.expect("a rotation is pending");
    for step in STEPS {
        case.step(step, &token).await.unwrap_or_else(|e| panic!("{step}: {e:?}\n{}", case.h.all_logs()));
    }
    assert_eq!(case.h.holding(&case.arn, "AWSCURRENT").await, Some(token));
}

fn ids(keys: &[(String, bool)]) -> Vec<&str> {
    keys.iter().map(|(id, _)| id.as_str()).collect()
}

#[tokio::test]
async fn a_secret_naming_another_user_is_refused_before_any_key_of_theirs_changes_unless_an_administrator_tags_it() {
    let case = setup("/rotor/", FUNCTION_ACTIONS, vec![]).await;
    configured(&case).await;
    let own = case.secret("AWSCURRENT").await;
    let victim = unique("victim");
    case.iam.create_user().user_name(&victim).path("/rotor/").send().await.unwrap();
    let (victim_key, victim_secret) = case.key_by_hand(&victim).await;
    let victim_keys = case.keys_of(&victim).await;
    let own_keys = case.keys().await;
    // The writer of this secret (and of nothing else) names the victim, keeping its own key, or giving the
    // victim's key id (ids are no secret: CloudTrail logs them) with a made-up secret access key.
    let made_up = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYMADEUPKEY1".to_owned();
    for (id, secret) in [
        (own["access_key_id"].as_str().unwrap().to_owned(), own["secret_access_key"].clone()),
        (victim_key.clone(), json!(made_up)),
    ] {
        let mut forged = own.clone();
        forged["user_name"] = json!(victim);
        forged["access_key_id"] = json!(id);
        forged["secret_access_key"] = secret;
        case.put(&case.arn, &forged).await;
        let message = failed_create(&case.rotate().await, "IdentityNotBound");
        for expected in [format!("IAM user \"{victim}\""), format!("rotor:user={victim}"), "AWSCURRENT".to_owned()] {
            assert!(message.contains(&expected), "{expected}: {message}");
        }
        assert_eq!(case.keys_of(&victim).await, victim_keys, "no key of the victim deleted, deactivated or minted");
        assert_eq!(case.keys().await, own_keys, "nor of the writer's own user");
    }
    let victims = json!({"access_key_id": victim_key, "secret_access_key": victim_secret});
    assert!(case.signs_in_as(&victims, &victim).await, "the victim's key still works");

    // An administrator binds the secret to the user (the tag guard keeps rotor:* tags to administrators): the
    // rotation left pending, retried, mints the user's new key into this secret.
    let tag = aws_sdk_secretsmanager::types::Tag::builder().key("rotor:user").value(&victim).build();
    case.h.client.tag_resource().secret_id(&case.arn).tags(tag).send().await.unwrap();
    retry_pending(&case).await;
    let current = case.secret("AWSCURRENT").await;
    assert_eq!(current["user_name"], json!(victim));
    assert!(case.signs_in_as(&current, &victim).await, "the new key is the tagged user's");
    let keys = case.keys_of(&victim).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys.contains(&(victim_key.clone(), true)), "the key the secret named is kept: {keys:?}");
    assert_eq!(case.keys().await, own_keys);
    case.assert_no_leaks().await;
}

#[tokio::test]
async fn a_key_the_secret_does_not_hold_stops_the_rotation_unless_the_function_opts_in() {
    let case = setup("/rotor/", FUNCTION_ACTIONS, vec![]).await;
    configured(&case).await;
    let current = case.secret("AWSCURRENT").await;
    let (break_glass, _) = case.key_by_hand(&case.user).await;
    let keys = case.keys().await;
    let message = failed_create(&case.rotate().await, "TargetRejected");
    for expected in [
        format!("access key {break_glass} is not this secret's to delete"),
        "break-glass".to_owned(),
        format!("aws iam delete-access-key --user-name {} --access-key-id {break_glass}", case.user),
        "DELETE_UNKNOWN_KEYS=true".to_owned(),
    ] {
        assert!(message.contains(&expected), "{expected}: {message}");
    }
    assert_eq!(case.keys().await, keys, "no key deactivated, deleted or created");
    assert!(case.signs_in(&current).await);

    // A writer points AWSPREVIOUS at that key (its id is no secret) with a made-up secret access key: AWSPREVIOUS
    // does not prove it holds the key, which is kept.
    let mut forged = current.clone();
    forged["access_key_id"] = json!(break_glass);
    forged["secret_access_key"] = json!("wJalrXUtnFEMI/K7MDENG/bPxRfiCYMADEUPKEY2");
    case.put(&case.arn, &forged).await;
    case.put(&case.arn, &current).await;
    assert_eq!(case.secret("AWSPREVIOUS").await["access_key_id"], json!(break_glass));
    let message = failed_create(&case.rotate().await, "TargetRejected");
    assert!(message.contains(&break_glass) && message.contains("does not sign as the user"), "{message}");
    assert_eq!(case.keys().await, keys);
    assert!(case.signs_in(&current).await);
    case.assert_no_leaks().await;

    // The function opts in: the unknown key is deactivated, deleted and named in the log.
    let opted = setup("/rotor/", FUNCTION_ACTIONS, vec![("DELETE_UNKNOWN_KEYS".into(), "true".into())]).await;
    configured(&opted).await;
    let current = opted.secret("AWSCURRENT").await;
    let (break_glass, _) = opted.key_by_hand(&opted.user).await;
    assert_eq!(opted.rotate().await["state"], "succeeded");
    let new = opted.secret("AWSCURRENT").await;
    let mut expected = vec![current["access_key_id"].as_str().unwrap(), new["access_key_id"].as_str().unwrap()];
    expected.sort();
    assert_eq!(ids(&opted.keys().await), expected, "the unknown key is gone, AWSCURRENT's kept");
    let log = opted.h.all_logs();
    assert!(log.contains(&break_glass) && log.contains("DELETE_UNKNOWN_KEYS=true"), "the deletion is logged");
    opted.assert_no_leaks().await;
}

/// A second secret for the test's user, holding a key made by hand (a second consumer's), its rotation configured:
/// (its ARN, its value).
async fn second_secret(case: &IamCase) -> (String, Value) {
    let (id, secret) = case.key_by_hand(&case.user).await;
    let value = json!({
        "type": "aws-iam-access-key", "user_name": case.user, "access_key_id": id, "secret_access_key": secret,
    });
    let arn = case.h.create_secret(&unique("iam/second-consumer"), &value.to_string()).await;
    let record = case.h.configure_rotation(&arn, "rotate-iam-access-key").await;
    assert_eq!(record["state"], "succeeded", "{record}");
    (arn, value)
}

/// Rotates secret `arn` (not necessarily the case's own), asserting it fails in createSecret with `error_type`:
/// its message.
async fn rotate_failing(case: &IamCase, arn: &str, error_type: &str) -> String {
    case.h.client.rotate_secret().secret_id(arn).send().await.unwrap();
    failed_create(&case.h.wait_rotation(arn).await, error_type)
}

#[tokio::test]
async fn two_secrets_for_one_user_never_revoke_each_others_current_key() {
    let case = setup("/rotor/", FUNCTION_ACTIONS, vec![]).await;
    configured(&case).await;
    let first = case.secret("AWSCURRENT").await;
    let (second, second_value) = second_secret(&case).await;
    let keys = case.keys().await;
    assert!(keys.iter().all(|(_, active)| *active));
    // Each rotation finds the other secret's key in the second of the user's two slots: it stops, naming it.
    for (arn, others) in [(&case.arn, &second_value), (&second, &first)] {
        let message = rotate_failing(&case, arn, "TargetRejected").await;
        let others = others["access_key_id"].as_str().unwrap();
        assert!(message.contains(&format!("access key {others} is not this secret's to delete")), "{message}");
        assert_eq!(case.keys().await, keys, "neither key deactivated nor deleted, no key created");
    }
    assert!(case.signs_in(&first).await && case.signs_in(&second_value).await, "both secrets still work");
    case.assert_no_leaks_of(&[&case.arn, &second]).await;
}

#[tokio::test]
async fn a_writer_cannot_make_its_rotation_delete_a_key_rotor_minted_for_another_secret_not_even_with_the_opt_in() {
    for env in [vec![], vec![("DELETE_UNKNOWN_KEYS".to_owned(), "true".to_owned())]] {
        // Secret B (the case's own) rotates: rotor mints B's key and records it on the user.
        let b = setup("/rotor/", FUNCTION_ACTIONS, env).await;
        configured(&b).await;
        assert_eq!(b.rotate().await["state"], "succeeded");
        let b_key = b.secret("AWSCURRENT").await;
        let b_id = b_key["access_key_id"].as_str().unwrap().to_owned();
        // The key B was created with is retired by hand, and a second secret A gets a key of the same user.
        let created_with = b.secret("AWSPREVIOUS").await;
        let created_with = created_with["access_key_id"].as_str().unwrap();
        b.iam.delete_access_key().user_name(&b.user).access_key_id(created_with).send().await.unwrap();
        let (a, a_value) = second_secret(&b).await;
        // A's writer, also one of B's consumers, puts B's key into A and then A's own back: B's key is A's
        // AWSPREVIOUS, and AWSPREVIOUS's secret access key signs with it.
        b.put(&a, &b_key).await;
        b.put(&a, &a_value).await;
        assert_eq!(b.secret_of(&a, "AWSPREVIOUS").await["access_key_id"], json!(b_id));
        let keys = b.keys().await;
        let message = rotate_failing(&b, &a, "TargetRejected").await;
        for expected in [
            format!("access key {b_id} is another secret's"),
            "rotor-minting:".to_owned(),
            "never deletes it, not even with DELETE_UNKNOWN_KEYS=true".to_owned(),
        ] {
            assert!(message.contains(&expected), "{expected}: {message}");
        }
        assert_eq!(b.keys().await, keys, "B's key neither deactivated nor deleted, and no key created");
        assert!(b.signs_in(&b_key).await, "B still works");
        assert!(b.signs_in(&a_value).await, "A still works");
        b.assert_no_leaks_of(&[&b.arn, &a]).await;
    }
}

#[tokio::test]
async fn once_a_secret_has_rotated_a_key_its_writer_puts_into_awsprevious_is_never_deleted() {
    let case = setup("/rotor/", FUNCTION_ACTIONS, vec![]).await;
    configured(&case).await;
    assert_eq!(case.rotate().await["state"], "succeeded");
    let current = case.secret("AWSCURRENT").await;
    // The key the secret was created with is retired by hand; a second consumer gets a key made by hand, which no
    // rotation has recorded (its secret never rotated).
    let created_with = case.secret("AWSPREVIOUS").await;
    let created_with = created_with["access_key_id"].as_str().unwrap();
    case.iam.delete_access_key().user_name(&case.user).access_key_id(created_with).send().await.unwrap();
    let (other, other_value) = second_secret(&case).await;
    let other_id = other_value["access_key_id"].as_str().unwrap();
    // This secret's writer, also one of that consumer's, makes its key this secret's AWSPREVIOUS, which signs with
    // it.
    case.put(&case.arn, &other_value).await;
    case.put(&case.arn, &current).await;
    let keys = case.keys().await;
    let message = failed_create(&case.rotate().await, "TargetRejected");
    for expected in [
        format!("access key {other_id} is not this secret's to delete"),
        "rotor did not mint it for this secret".to_owned(),
        format!("--access-key-id {other_id}"),
    ] {
        assert!(message.contains(&expected), "{expected}: {message}");
    }
    assert_eq!(case.keys().await, keys, "the consumer's key neither deactivated nor deleted, and no key created");
    assert!(case.signs_in(&other_value).await && case.signs_in(&current).await, "both still work");
    case.assert_no_leaks_of(&[&case.arn, &other]).await;
}

#[tokio::test]
async fn a_current_key_missing_from_the_user_stops_the_rotation_with_nothing_deleted() {
    let case = setup("/rotor/", FUNCTION_ACTIONS, vec![]).await;
    configured(&case).await;
    assert_eq!(case.rotate().await["state"], "succeeded");
    let current = case.secret("AWSCURRENT").await;
    let previous = case.secret("AWSPREVIOUS").await;
    // AWSCURRENT's key is revoked by hand, and a break-glass key made; AWSPREVIOUS's key still binds the user.
    let id = current["access_key_id"].as_str().unwrap();
    case.iam.delete_access_key().user_name(&case.user).access_key_id(id).send().await.unwrap();
    case.key_by_hand(&case.user).await;
    let keys = case.keys().await;
    let message = failed_create(&case.rotate().await, "TargetRejected");
    assert!(message.contains(&format!("AWSCURRENT's access key {id} is not among the user's keys")), "{message}");
    assert!(message.contains("deletes and creates nothing") && message.contains("PutSecretValue"), "{message}");
    assert_eq!(case.keys().await, keys, "both remaining keys kept, active, and no key created");
    assert!(keys.iter().all(|(_, active)| *active));
    assert!(case.signs_in(&previous).await);
    case.assert_no_leaks().await;
}

/// A front to moto's IAM for the function: it forwards every call, but once armed, the next `CreateAccessKey`
/// reaches moto (the key is minted) and its answer is replaced by a 500, as when IAM fails after committing or
/// the answer is lost on the way: the function never learns the key's secret access key.
struct IamFront {
    url: String,
    upstream: Arc<OnceLock<String>>,
    armed: Arc<AtomicBool>,
    faulted: Arc<AtomicUsize>,
}

impl IamFront {
    async fn start() -> Self {
        use axum::body::{Body, to_bytes};
        use axum::extract::Request;
        use axum::http::Response;
        use axum::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};

        let upstream: Arc<OnceLock<String>> = Arc::default();
        let armed: Arc<AtomicBool> = Arc::default();
        let faulted: Arc<AtomicUsize> = Arc::default();
        let client = reqwest::Client::new();
        let (to, fault, count) = (Arc::clone(&upstream), Arc::clone(&armed), Arc::clone(&faulted));
        let forward = move |request: Request| {
            let (client, to, fault, count) = (client.clone(), Arc::clone(&to), Arc::clone(&fault), Arc::clone(&count));
            async move {
                let (parts, body) = request.into_parts();
                let body = to_bytes(body, usize::MAX).await.unwrap();
                let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                let mut outbound =
                    client.request(parts.method, format!("{}{path}", to.get().unwrap())).body(body.clone());
                // The Host header too: moto checks the signature, which covers it.
                for (name, value) in &parts.headers {
                    outbound = outbound.header(name, value);
                }
                let answer = outbound.send().await.unwrap();
                let creates = String::from_utf8_lossy(&body).contains("Action=CreateAccessKey");
                if creates && answer.status().is_success() && fault.swap(false, Ordering::SeqCst) {
                    count.fetch_add(1, Ordering::SeqCst);
                    let error = "<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceFailure</Code><Message>injected after the key was created</Message></Error></ErrorResponse>";
                    return Response::builder().status(500).body(Body::from(error)).unwrap();
                }
                let mut response = Response::builder().status(answer.status());
                for (name, value) in answer.headers() {
                    if name != CONTENT_LENGTH && name != TRANSFER_ENCODING {
                        response = response.header(name, value);
                    }
                }
                response.body(Body::from(answer.bytes().await.unwrap())).unwrap()
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(forward)).await });
        Self { url, upstream, armed, faulted }
    }
}

#[tokio::test]
async fn a_key_minted_by_an_interrupted_create_secret_is_deleted_by_its_retry() {
    let front = IamFront::start().await;
    let case = setup("/rotor/", FUNCTION_ACTIONS, vec![("AWS_ENDPOINT_URL_IAM".into(), front.url.clone())]).await;
    front.upstream.set(case.moto.url.clone()).unwrap();
    configured(&case).await;
    assert_eq!(case.rotate().await["state"], "succeeded");
    let current = case.secret("AWSCURRENT").await;
    let current_id = current["access_key_id"].as_str().unwrap();

    // createSecret deletes AWSPREVIOUS's key, mints a key, and never hears back: the SDK's retry finds the user's
    // two slots taken (LimitExceeded), and the step fails before anything is stored.
    front.armed.store(true, Ordering::SeqCst);
    let record = case.rotate().await;
    assert_eq!(front.faulted.load(Ordering::SeqCst), 1, "the fault was injected: {record}");
    assert_eq!((&record["state"], &record["step"]), (&json!("failed"), &json!("createSecret")), "{record}");
    let keys = case.keys().await;
    let orphan: Vec<&str> = ids(&keys).into_iter().filter(|id| *id != current_id).collect();
    assert_eq!(orphan.len(), 1, "AWSCURRENT's key and the key nobody holds: {keys:?}");
    let orphan = orphan[0].to_owned();
    assert!(
        !case.h.all_values(&case.arn).await.iter().any(|v| v.contains(&orphan)),
        "no version of the secret holds the minted key"
    );

    // The service retries the same rotation: its createSecret recognises the key as its own attempt's (recorded on
    // the user before minting), deletes it, and mints the one it stores.
    retry_pending(&case).await;
    let new = case.secret("AWSCURRENT").await;
    let mut expected = vec![current_id, new["access_key_id"].as_str().unwrap()];
    expected.sort();
    assert_eq!(ids(&case.keys().await), expected, "the orphan is gone, AWSCURRENT's old key kept as AWSPREVIOUS");
    assert!(case.signs_in(&new).await && case.signs_in(&case.secret("AWSPREVIOUS").await).await);
    let log = case.h.all_logs();
    assert!(log.contains("minted by an interrupted attempt of this rotation") && log.contains(&orphan), "{log}");
    assert!(log.contains("timed by IAM's clock"), "the record's window is in IAM's clock, as the key's date: {log}");
    case.assert_no_leaks().await;
}
