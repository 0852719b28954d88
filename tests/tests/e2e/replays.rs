//! A step invoked again after its rotation finished, or with the token of the version that is `AWSCURRENT`, succeeds
//! and writes nothing, whatever Secrets Manager answers the step's read of the token's `AWSPENDING` value: AWS (and
//! moto and LocalStack, which copied it) answers `InvalidRequestException` ("You provided a VersionStage that is not
//! associated to the provided VersionId."), never `ResourceNotFoundException`. Each case runs `rotate-custom` (a
//! generated secret: no database) against moto's Secrets Manager and against the local endpoint.

use aws_sdk_secretsmanager::Client;
use serde_json::{Value, json};

use crate::harness::{Function, Harness, unique};
use crate::moto::Moto;

/// A value the default password policy admits (32 characters, every character type), so testSecret of the
/// `AWSCURRENT` version passes on its merits.
const COMPLIANT: &str = r#"{"password":"aB3!aB3!aB3!aB3!aB3!aB3!aB3!aB3!","owner":"team-payments"}"#;
/// The value a rotation played against moto stores as pending, as createSecret would.
const NEXT: &str = r#"{"password":"xY7#xY7#xY7#xY7#xY7#xY7#xY7#xY7#","owner":"team-payments"}"#;
const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

/// `rotate-custom` with its Secrets Manager: the local endpoint, or moto's server.
struct Replay {
    h: Harness,
    /// A client of the function's Secrets Manager.
    secrets: Client,
    moto: Option<Moto>,
}

impl Replay {
    async fn on_the_local_endpoint() -> Self {
        let h = Harness::start(vec![Function::new("rotate-custom")]).await;
        Self { secrets: h.client.clone(), h, moto: None }
    }

    async fn on_moto() -> Self {
        let moto = Moto::start();
        let env = vec![("AWS_ENDPOINT_URL_SECRETS_MANAGER".to_owned(), moto.url.clone())];
        let h = Harness::start(vec![Function { name: "rotate-custom", env }]).await;
        Self { secrets: moto.client.clone(), h, moto: Some(moto) }
    }

    async fn create_secret(&self, value: &str) -> String {
        let out = self.secrets.create_secret().name(unique("replay")).secret_string(value).send().await.unwrap();
        out.arn().unwrap().to_owned()
    }

    /// Rotates the secret to its end, as the service does; returns the rotation's token. The local endpoint runs
    /// RotateSecret. moto cannot invoke a function it does not host, so the test plays the service there: the
    /// pending version (the value createSecret would store), the four steps, then `AWSPENDING` removed.
    async fn finished_rotation(&self, arn: &str) -> String {
        if self.moto.is_none() {
            let token = self.h.rotate(arn, "rotate-custom").await;
            let record = self.h.wait_rotation(arn).await;
            assert_eq!(record["state"], "succeeded", "{record}");
            return token;
        }
        let token = uuid::Uuid::new_v4().to_string();
        let put = self.secrets.put_secret_value().secret_id(arn).client_request_token(&token).secret_string(NEXT);
        put.version_stages("AWSPENDING").send().await.unwrap();
        for step in STEPS {
            self.h.invoke("rotate-custom", &event(step, arn, &token)).await.unwrap_or_else(|e| panic!("{step}: {e:?}"));
        }
        let stage = self.secrets.update_secret_version_stage().secret_id(arn).version_stage("AWSPENDING");
        stage.remove_from_version_id(&token).send().await.unwrap();
        token
    }

    /// Invokes every step with `token`, each of which must succeed, change nothing, and say why it did nothing.
    async fn replay_every_step(&self, arn: &str, token: &str) {
        let before = written(&self.secrets, arn).await;
        assert!(before.iter().any(|(id, stages, _)| id == token && stages == &["AWSCURRENT"]), "{before:?}");
        let pending =
            self.secrets.get_secret_value().secret_id(arn).version_id(token).version_stage("AWSPENDING").send().await;
        let answer = pending.expect_err("the token does not carry AWSPENDING").into_service_error();
        assert!(answer.is_invalid_request_exception(), "the answer AWS gives: {answer:?}");

        for step in STEPS {
            let result = self.h.invoke("rotate-custom", &event(step, arn, token)).await;
            assert!(result.is_ok(), "{step} replayed with the AWSCURRENT token failed: {result:?}");
            assert_eq!(written(&self.secrets, arn).await, before, "{step} replayed wrote something");
            // testSecret proves AWSCURRENT still works (the configuration test); the others find nothing to do.
            let outcome = if step == "testSecret" { "done" } else { "already_current" };
            assert_eq!(self.last_outcome(), outcome, "{step}");
        }
    }

    /// The outcome of the function's last step.
    fn last_outcome(&self) -> String {
        let log = std::fs::read_to_string(self.h.dir.path().join("rotate-custom.log")).unwrap();
        let mut records = log.lines().rev().filter_map(|l| serde_json::from_str::<Value>(l).ok());
        let last = records.find(|r| r["message"] == "step succeeded").expect("a step succeeded");
        last["outcome"].as_str().unwrap_or_default().to_owned()
    }
}

fn event(step: &str, arn: &str, token: &str) -> Value {
    json!({"Step": step, "SecretId": arn, "ClientRequestToken": token})
}

/// Every version of the secret (unlabelled ones too), its labels and its value: what a step could write.
async fn written(secrets: &Client, arn: &str) -> Vec<(String, Vec<String>, Option<String>)> {
    let listed = secrets.list_secret_version_ids().secret_id(arn).include_deprecated(true).send().await.unwrap();
    let mut versions = Vec::new();
    for version in listed.versions() {
        let id = version.version_id().unwrap().to_owned();
        let mut stages = version.version_stages().to_vec();
        stages.sort();
        let value = secrets.get_secret_value().secret_id(arn).version_id(&id).send().await.unwrap();
        versions.push((id, stages, value.secret_string().map(str::to_owned)));
    }
    versions.sort();
    versions
}

async fn every_step_replayed_after_the_rotation_finished_does_nothing(replay: Replay) {
    let arn = replay.create_secret(COMPLIANT).await;
    let token = replay.finished_rotation(&arn).await;
    replay.replay_every_step(&arn, &token).await;
}

async fn every_step_with_the_awscurrent_token_does_nothing(replay: Replay) {
    let arn = replay.create_secret(COMPLIANT).await;
    let listed = replay.secrets.list_secret_version_ids().secret_id(&arn).send().await.unwrap();
    let current = listed.versions()[0].version_id().unwrap().to_owned();
    replay.replay_every_step(&arn, &current).await;
}

#[tokio::test]
async fn every_step_replayed_after_its_rotation_finished_does_nothing_on_moto() {
    every_step_replayed_after_the_rotation_finished_does_nothing(Replay::on_moto().await).await;
}

#[tokio::test]
async fn every_step_replayed_after_its_rotation_finished_does_nothing_on_the_local_endpoint() {
    every_step_replayed_after_the_rotation_finished_does_nothing(Replay::on_the_local_endpoint().await).await;
}

#[tokio::test]
async fn every_step_invoked_with_the_awscurrent_token_does_nothing_on_moto() {
    every_step_with_the_awscurrent_token_does_nothing(Replay::on_moto().await).await;
}

#[tokio::test]
async fn every_step_invoked_with_the_awscurrent_token_does_nothing_on_the_local_endpoint() {
    every_step_with_the_awscurrent_token_does_nothing(Replay::on_the_local_endpoint().await).await;
}
