//! The Secrets Manager client of `status` and `rotate`, from the standard AWS configuration.

use aws_config::BehaviorVersion;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use rotation_core::Versions;
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

    /// The AWS configuration, `--endpoint-url` applied to every service.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        loader.load().await
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
