//! IAM access keys rotated by `rotate-iam-access-key`, against moto's IAM and STS with request signing checked
//! (moto's `INITIAL_NO_AUTH_ACTION_COUNT`): testSecret's `GetCallerIdentity` succeeds only with the right secret
//! access key, and the function acts only with its own user's policy. What moto cannot prove: IAM's propagation
//! delay (a new key works at once there; testSecret's bounded retries cover it in AWS), resource-level policy
//! scoping (moto evaluates actions against `*`; the template test checks the role's resource ARN), and key
//! status at sign-in (moto accepts an inactive key's signature; the function checks status itself in setSecret).

use aws_sdk_iam::Client as Iam;
use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use serde_json::{Value, json};

use crate::harness::{Function, Harness, unique};
use crate::moto::Moto;

/// The function's own IAM actions (moto evaluates them against every resource).
pub const FUNCTION_ACTIONS: &[&str] = &[
    "iam:GetUser",
    "iam:ListAccessKeys",
    "iam:CreateAccessKey",
    "iam:UpdateAccessKey",
    "iam:DeleteAccessKey",
    "iam:TagUser",
];

fn iam_client(url: &str, id: &str, secret: &str) -> Iam {
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(Credentials::new(id, secret, None, None, "test"))
        .build();
    Iam::from_conf(config)
}

pub struct IamCase {
    pub h: Harness,
    pub moto: Moto,
    /// moto's IAM as the test's administrator.
    pub iam: Iam,
    pub user: String,
    pub arn: String,
    admin: (String, String),
    function: (String, String),
}

/// moto with signing enforced after the first three calls (the test administrator, its policy, its key); a
/// function user whose policy allows `actions`; an application user under `path` with one key, in a secret
/// `rotate-iam-access-key` rotates.
pub async fn setup(path: &str, actions: &[&str], extra_env: Vec<(String, String)>) -> IamCase {
    let moto = Moto::start_with_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", "3")]);
    let open = iam_client(&moto.url, "AKIDUNSIGNEDSETUP", "unsigned-setup");
    open.create_user().user_name("test-admin").send().await.unwrap();
    let everything =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
    open.put_user_policy()
        .user_name("test-admin")
        .policy_name("all")
        .policy_document(everything.to_string())
        .send()
        .await
        .unwrap();
    let admin_key = open.create_access_key().user_name("test-admin").send().await.unwrap().access_key.unwrap();
    let iam = iam_client(&moto.url, admin_key.access_key_id(), admin_key.secret_access_key());

    iam.create_user().user_name("rotor-function").send().await.unwrap();
    let policy =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]});
    iam.put_user_policy()
        .user_name("rotor-function")
        .policy_name("rotor")
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
    let function_key = iam.create_access_key().user_name("rotor-function").send().await.unwrap().access_key.unwrap();

    let user = unique("ci-deployer");
    iam.create_user().user_name(&user).path(path).send().await.unwrap();
    let key = iam.create_access_key().user_name(&user).send().await.unwrap().access_key.unwrap();

    let mut env = vec![
        ("AWS_ENDPOINT_URL_IAM".to_string(), moto.url.clone()),
        ("AWS_ENDPOINT_URL_STS".to_string(), moto.url.clone()),
        ("AWS_ACCESS_KEY_ID".to_string(), function_key.access_key_id().to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_string(), function_key.secret_access_key().to_owned()),
        ("IAM_USER_PATH".to_string(), "/rotor/".to_string()),
        ("TEST_ATTEMPTS".to_string(), "2".to_string()),
    ];
    env.extend(extra_env);
    let h = Harness::start(vec![Function { name: "rotate-iam-access-key", env }]).await;
    let secret = json!({
        "type": "aws-iam-access-key", "user_name": user, "access_key_id": key.access_key_id(),
        "secret_access_key": key.secret_access_key(), "team": "platform",
    });
    let arn = h.create_secret(&unique("iam/ci-deployer"), &secret.to_string()).await;
    let admin = (admin_key.access_key_id().to_owned(), admin_key.secret_access_key().to_owned());
    let function = (function_key.access_key_id().to_owned(), function_key.secret_access_key().to_owned());
    IamCase { h, moto, iam, user, arn, admin, function }
}

impl IamCase {
    pub async fn secret(&self, stage: &str) -> Value {
        self.secret_of(&self.arn, stage).await
    }

    /// The value `stage` holds in secret `arn` (another secret for the same user).
    pub async fn secret_of(&self, arn: &str, stage: &str) -> Value {
        serde_json::from_str(&self.h.value(arn, stage).await).unwrap()
    }

    /// Writes `value` as secret `arn`'s new `AWSCURRENT`, as any writer of the secret may (the old one becomes
    /// `AWSPREVIOUS`; a rotation left pending is abandoned).
    pub async fn put(&self, arn: &str, value: &Value) {
        self.h.client.put_secret_value().secret_id(arn).secret_string(value.to_string()).send().await.unwrap();
    }

    /// The user's keys: (id, active).
    pub async fn keys(&self) -> Vec<(String, bool)> {
        self.keys_of(&self.user).await
    }

    /// `user`'s keys: (id, active).
    pub async fn keys_of(&self, user: &str) -> Vec<(String, bool)> {
        let out = self.iam.list_access_keys().user_name(user).send().await.unwrap();
        let mut keys: Vec<_> = out
            .access_key_metadata()
            .iter()
            .map(|k| (k.access_key_id().unwrap().to_owned(), k.status().map(|s| s.as_str()) == Some("Active")))
            .collect();
        keys.sort();
        keys
    }

    /// Whether the secret's key signs in (moto checks the signature) as the user.
    pub async fn signs_in(&self, secret: &Value) -> bool {
        self.signs_in_as(secret, &self.user).await
    }

    /// Whether the secret's key signs in as `user`.
    pub async fn signs_in_as(&self, secret: &Value, user: &str) -> bool {
        let config = aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.moto.url)
            .credentials_provider(Credentials::new(
                secret["access_key_id"].as_str().unwrap(),
                secret["secret_access_key"].as_str().unwrap(),
                None,
                None,
                "test",
            ))
            .build();
        match aws_sdk_sts::Client::from_conf(config).get_caller_identity().send().await {
            Ok(out) => out.arn().unwrap_or_default().ends_with(&format!("/{user}")),
            Err(_) => false,
        }
    }

    /// `rotatectl doctor --function iam-access-key` as an operator (the test's administrator) would run it.
    pub fn doctor(&self) -> (bool, String) {
        self.doctor_as(&self.admin)
    }

    /// `rotatectl doctor` with `credentials` (the function's, to check its permissions).
    pub fn doctor_as(&self, credentials: &(String, String)) -> (bool, String) {
        let out = std::process::Command::new(crate::harness::binary("rotatectl"))
            .args(["doctor", &self.arn, "--function", "iam-access-key", "--env", "IAM_USER_PATH=/rotor/"])
            .env_clear()
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &self.h.endpoint_url)
            .env("AWS_ENDPOINT_URL_IAM", &self.moto.url)
            .env("AWS_ENDPOINT_URL_STS", &self.moto.url)
            .env("AWS_ACCESS_KEY_ID", &credentials.0)
            .env("AWS_SECRET_ACCESS_KEY", &credentials.1)
            .output()
            .unwrap();
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    }

    pub async fn rotate(&self) -> Value {
        self.h.client.rotate_secret().secret_id(&self.arn).send().await.unwrap();
        self.h.wait_rotation(&self.arn).await
    }

    /// Invokes one step of rotation `token` of the secret, as the service does (and does again on a retry).
    pub async fn step(&self, step: &str, token: &str) -> Result<(), (String, String)> {
        let event = json!({"Step": step, "SecretId": self.arn, "ClientRequestToken": token});
        self.h.invoke("rotate-iam-access-key", &event).await
    }

    /// A new key of the user, made by hand by the test's administrator: (id, secret access key).
    pub async fn key_by_hand(&self, user: &str) -> (String, String) {
        let key = self.iam.create_access_key().user_name(user).send().await.unwrap().access_key.unwrap();
        (key.access_key_id().to_owned(), key.secret_access_key().to_owned())
    }

    /// No secret access key of any version (nor a whole secret value) in any log line; user names and key ids
    /// are not secret (CloudTrail records them) and are logged.
    pub async fn assert_no_leaks(&self) {
        self.assert_no_leaks_of(&[&self.arn]).await;
    }

    /// The same, for the values of every secret in `arns` (the test's other secrets for the user too).
    pub async fn assert_no_leaks_of(&self, arns: &[&str]) {
        let mut secrets = Vec::new();
        for arn in arns {
            for whole in self.h.all_values(arn).await.into_iter().filter(|v| v.starts_with('{')) {
                let parsed: Value = serde_json::from_str(&whole).unwrap();
                if let Some(key) = parsed["secret_access_key"].as_str() {
                    secrets.push(key.to_owned());
                }
                secrets.push(whole);
            }
        }
        assert!(secrets.len() >= 2, "the check has secret access keys to look for");
        self.h.assert_no_leaks(&secrets);
    }
}

async fn configured(case: &IamCase) {
    let record = case.h.configure_rotation(&case.arn, "rotate-iam-access-key").await;
    assert_eq!(record["state"], "succeeded", "the configuration test signs in with AWSCURRENT's key: {record}");
}

#[tokio::test]
async fn five_rotations_keep_the_previous_key_until_the_next_and_never_a_third() {
    let case = setup("/rotor/", FUNCTION_ACTIONS, vec![]).await;
    configured(&case).await;
    let mut previous: Option<Value> = None;
    for round in 1..=5 {
        let old = case.secret("AWSCURRENT").await;
        let record = case.rotate().await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}");
        let current = case.secret("AWSCURRENT").await;
        assert_ne!(current["access_key_id"], old["access_key_id"], "round {round}");
        assert_eq!(current["team"], "platform");
        assert!(case.signs_in(&current).await, "round {round}: AWSCURRENT's key signs in");
        let mut tampered = current.clone();
        tampered["secret_access_key"] = json!(format!("{}x", &current["secret_access_key"].as_str().unwrap()[1..]));
        assert!(!case.signs_in(&tampered).await, "moto checks the signature: a wrong secret access key fails");
        assert!(case.signs_in(&old).await, "round {round}: the previous key still works until the next rotation");
        let keys = case.keys().await;
        assert_eq!(keys.len(), 2, "round {round}: two keys at most: {keys:?}");
        assert!(keys.iter().all(|(_, active)| *active));
        if let Some(before) = &previous {
            let id = before["access_key_id"].as_str().unwrap();
            assert!(!keys.iter().any(|(k, _)| k == id), "round {round}: the key before the previous is deleted");
        }
        previous = Some(old);
    }
    let log = case.h.all_logs();
    assert!(log.contains("deactivating the access key before deleting it"), "the old key is deactivated first");
    let (ok, out) = case.doctor();
    assert!(ok, "{out}");
    assert!(
        out.contains("PASS  AWSCURRENT's key signs in as the user") && out.contains("the next rotation deletes"),
        "{out}"
    );
    for value in case.h.all_values(&case.arn).await.iter().filter(|v| v.len() >= 30) {
        assert!(!out.contains(value.as_str()), "doctor prints no secret");
    }
    case.assert_no_leaks().await;
}

#[tokio::test]
async fn a_secret_rotated_before_rotor_recorded_its_keys_gives_up_its_previous_key_once() {
    let case = setup("/rotor/", FUNCTION_ACTIONS, vec![]).await;
    configured(&case).await;
    // As a rotation by a version that recorded no keys leaves it: a second key in AWSCURRENT, the key the secret
    // was created with in AWSPREVIOUS, and no record on the user naming either.
    let first = case.secret("AWSCURRENT").await;
    let (id, secret) = case.key_by_hand(&case.user).await;
    let mut second = first.clone();
    second["access_key_id"] = json!(id);
    second["secret_access_key"] = json!(secret);
    case.put(&case.arn, &second).await;
    // The first rotation takes AWSPREVIOUS's key as the secret's (it signs with it, and no other secret's record
    // names it) and records AWSCURRENT's; the second deletes that one as the secret's own.
    for (round, retired) in [(1, &first), (2, &second)] {
        let record = case.rotate().await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}");
        let keys = case.keys().await;
        assert_eq!(keys.len(), 2, "round {round}: {keys:?}");
        assert!(!keys.iter().any(|(k, _)| *k == retired["access_key_id"]), "round {round}: {keys:?}");
    }
    assert!(case.signs_in(&case.secret("AWSCURRENT").await).await);
    assert!(case.signs_in(&case.secret("AWSPREVIOUS").await).await);
    case.assert_no_leaks().await;
}

/// Plays the service: the four steps of `token`, each twice (retries change nothing).
async fn steps_twice(case: &IamCase, token: &str) {
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        for attempt in 0..2 {
            case.step(step, token).await.unwrap_or_else(|e| panic!("{step} #{attempt}: {e:?}"));
        }
    }
}

#[tokio::test]
async fn a_repeated_create_secret_mints_no_other_key() {
    let case = setup("/rotor/", FUNCTION_ACTIONS, vec![]).await;
    configured(&case).await;
    let current = case.secret("AWSCURRENT").await;
    // A rotation whose function is not invoked leaves the service's placeholder; play the service's steps, each
    // twice: the second createSecret returns the key the first stored instead of minting a third.
    let token = case.h.rotate(&case.arn, "rotate-not-deployed").await;
    case.h.wait_rotation(&case.arn).await;
    steps_twice(&case, &token).await;
    let new = case.secret("AWSCURRENT").await;
    assert_eq!(case.h.holding(&case.arn, "AWSCURRENT").await.as_deref(), Some(token.as_str()));
    let keys: Vec<String> = case.keys().await.into_iter().map(|(id, _)| id).collect();
    let mut expected =
        vec![current["access_key_id"].as_str().unwrap().to_owned(), new["access_key_id"].as_str().unwrap().to_owned()];
    expected.sort();
    assert_eq!(keys, expected, "AWSCURRENT's old key kept, one new key");
    assert!(case.signs_in(&new).await && case.signs_in(&current).await);
    case.assert_no_leaks().await;
}

#[tokio::test]
async fn within_the_grace_the_previous_key_is_kept_and_the_rotation_refused() {
    let grace = vec![("PREVIOUS_KEY_GRACE_HOURS".to_string(), "24".to_string())];
    let case = setup("/rotor/", FUNCTION_ACTIONS, grace).await;
    configured(&case).await;
    assert_eq!(case.rotate().await["state"], "succeeded", "the first rotation has a free slot");
    let current = case.secret("AWSCURRENT").await;
    let previous = case.secret("AWSPREVIOUS").await;
    let keys = case.keys().await;
    let record = case.rotate().await;
    assert_eq!((&record["state"], &record["step"]), (&json!("failed"), &json!("createSecret")), "{record}");
    let message = record["error_message"].as_str().unwrap();
    assert!(
        message.contains("PREVIOUS_KEY_GRACE_HOURS") && message.contains(previous["access_key_id"].as_str().unwrap()),
        "{message}"
    );
    assert_eq!(case.keys().await, keys, "no key deactivated, deleted or created");
    assert!(case.signs_in(&current).await && case.signs_in(&previous).await);
    case.assert_no_leaks().await;
}

#[tokio::test]
async fn refusals_change_no_key_and_the_current_key_still_signs_in() {
    // A user outside the function's path.
    let case = setup("/other/", FUNCTION_ACTIONS, vec![]).await;
    let keys = case.keys().await;
    let record = case.h.configure_rotation(&case.arn, "rotate-iam-access-key").await;
    assert_eq!(record["state"], "succeeded", "testing the current key changes nothing: {record}");
    let record = case.rotate().await;
    assert_eq!(record["error_type"], "ConfusedDeputy", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("not under IAM_USER_PATH /rotor/"), "{record}");
    let (ok, out) = case.doctor();
    assert!(!ok && out.contains("FAIL  IAM user") && out.contains("not under IAM_USER_PATH"), "{out}");
    assert_eq!(case.keys().await, keys);
    assert!(case.signs_in(&case.secret("AWSCURRENT").await).await);

    // A function without iam:CreateAccessKey.
    let actions: Vec<&str> = FUNCTION_ACTIONS.iter().copied().filter(|a| *a != "iam:CreateAccessKey").collect();
    let case = setup("/rotor/", &actions, vec![]).await;
    configured(&case).await;
    // Run as the function, doctor checks what it can probe without changing anything: this function lacks only
    // iam:CreateAccessKey, which IAM offers no dry run for.
    let (ok, out) = case.doctor_as(&case.function);
    assert!(ok, "{out}");
    let keys = case.keys().await;
    let record = case.rotate().await;
    assert_eq!(record["error_type"], "TargetPermissionDenied", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("iam:CreateAccessKey"), "{record}");
    assert_eq!(case.keys().await, keys);
    assert!(case.signs_in(&case.secret("AWSCURRENT").await).await);

    let actions: Vec<&str> = FUNCTION_ACTIONS.iter().copied().filter(|a| *a != "iam:DeleteAccessKey").collect();
    let no_delete = setup("/rotor/", &actions, vec![]).await;
    let (ok, out) = no_delete.doctor_as(&no_delete.function);
    assert!(!ok && out.contains("FAIL  the caller may iam:DeleteAccessKey"), "{out}");
    assert!(out.contains("may not iam:DeleteAccessKey"), "{out}");

    // A secret naming a user that does not exist.
    let missing = json!({"user_name": "no-such-user", "access_key_id": "AKIAEXAMPLEEXAMPLE01", "secret_access_key": "x".repeat(40)});
    case.h.client.put_secret_value().secret_id(&case.arn).secret_string(missing.to_string()).send().await.unwrap();
    let record = case.rotate().await;
    assert_eq!(record["error_type"], "TargetRejected", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("does not exist"), "{record}");
    case.assert_no_leaks().await;
}
