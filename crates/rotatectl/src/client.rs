//! The AWS configuration of rotatectl's commands, from the core's one loader, and the Secrets Manager client of
//! `status`, `rotate` and `unstick`.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use rotation_core::{Timeouts, Versions};
use serde_json::Value;

/// The secret and, optionally, the endpoint to talk to.
#[derive(clap::Args)]
pub struct SecretArgs {
    /// The secret's name or ARN.
    pub secret_id: String,
    /// Secrets Manager endpoint (else AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL / real AWS).
    #[arg(long)]
    pub endpoint_url: Option<String>,
}

impl SecretArgs {
    /// A client honouring `--endpoint-url` and the standard AWS configuration.
    pub async fn client(&self) -> Client {
        Client::new(&self.sdk_config().await)
    }

    /// The AWS configuration, `--endpoint-url` applied to every service: [`sdk_config`].
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config(self.endpoint_url.as_deref()).await
    }

    /// The endpoint's URL when it is not AWS's (a local endpoint may answer rotor's `/_rotor/` routes).
    pub fn custom_endpoint(&self) -> Option<String> {
        self.endpoint_url
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").ok())
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .filter(|url| !url.is_empty())
    }

    /// The local endpoint's record of the secret's last rotation, when the endpoint is rotor's.
    pub async fn local_rotation(&self, arn: &str) -> Option<Value> {
        let base = self.custom_endpoint()?;
        let url = format!("{}/_rotor/rotations/{}", base.trim_end_matches('/'), arn);
        let response = reqwest::get(url).await.ok()?;
        response.status().is_success().then_some(())?;
        response.json::<Value>().await.ok()
    }
}

/// The AWS configuration of every command: the one a rotation function loads (region, credentials,
/// `AWS_ENDPOINT_URL*`, rotor's retries, time-outs and trusted roots), every service at `endpoint_url` when given.
pub async fn sdk_config(endpoint_url: Option<&str>) -> aws_config::SdkConfig {
    rotation_core::load_sdk_config_at(Timeouts::default(), endpoint_url).await
}

/// A described secret's versions and labels, for the core's label logic (current, pending, a stuck rotation).
pub fn versions_of(described: &aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput) -> Versions {
    Versions::new(described.version_ids_to_stages().cloned().unwrap_or_default())
}

/// An SDK error as one line: the service's code and message, or the transport failure.
pub fn describe_error<E: ProvideErrorMetadata + std::error::Error + 'static>(error: &E) -> String {
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => DisplayErrorContext(error).to_string(),
    }
}
