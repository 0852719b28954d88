//! The one AWS configuration every client of a rotation function shares: region, credentials and
//! `AWS_ENDPOINT_URL*` as in every AWS tool, rotor's retries and time-outs, one HTTPS client.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;

/// Time-outs of Secrets Manager calls, far inside a Lambda time-out so a step fails with a clear error instead of
/// being killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Connecting: a VPC without a Secrets Manager endpoint or NAT fails here.
    pub connect: Duration,
    /// One HTTP attempt.
    pub attempt: Duration,
    /// One operation, retries included.
    pub operation: Duration,
}

impl Default for Timeouts {
    /// 3 s to connect, 5 s an attempt, 15 s an operation.
    fn default() -> Self {
        Self { connect: Duration::from_secs(3), attempt: Duration::from_secs(5), operation: Duration::from_secs(15) }
    }
}
/// Attempts per operation (standard retry mode: exponential backoff with jitter, throttling-aware).
pub const MAX_ATTEMPTS: u32 = 3;

/// The standard AWS configuration (region, credentials, `AWS_ENDPOINT_URL*`) with rotor's retries and time-outs,
/// shared by every AWS client a rotation function makes.
pub async fn load_sdk_config(timeouts: Timeouts) -> aws_config::SdkConfig {
    load_sdk_config_at(timeouts, None).await
}

/// [`load_sdk_config`], every service reached at `endpoint_url` when given (`rotatectl --endpoint-url`); without
/// one, `AWS_ENDPOINT_URL*` and AWS's own endpoints apply as in every AWS tool.
pub async fn load_sdk_config_at(timeouts: Timeouts, endpoint_url: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let config = loader
        .http_client(https_client())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeouts.connect)
                .operation_attempt_timeout(timeouts.attempt)
                .operation_timeout(timeouts.operation)
                .build(),
        )
        .load()
        .await;
    // The SDK reads FIPS endpoints from the environment and the shared config file's `use_fips_endpoint`: an
    // unanswered call's error names the FIPS endpoint whichever way it was chosen.
    crate::fips::note_fips_endpoints(config.use_fips() == Some(true));
    config
}

/// The SDK's default HTTPS client (rustls over aws-lc, `HTTPS_PROXY`/`NO_PROXY` from the environment, as
/// aws-config builds it for the latest behavior version), trusting the system roots rotor read
/// ([`system_roots`](crate::system_roots)) instead of reading and parsing them again for itself. Built the way
/// aws-smithy-runtime builds its default client (`build_with_connector_fn`), since the public HTTPS builder
/// takes no proxy configuration.
fn https_client() -> aws_sdk_secretsmanager::config::SharedHttpClient {
    // The FIPS build's client runs on AWS-LC's FIPS module, its cipher suites FIPS-approved.
    #[cfg(feature = "fips")]
    const CRYPTO_MODE: CryptoMode = CryptoMode::AwsLcFips;
    #[cfg(not(feature = "fips"))]
    const CRYPTO_MODE: CryptoMode = CryptoMode::AwsLc;
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(crate::tls::system_roots_pem());
    let context = TlsContext::builder().with_trust_store(trust).build().expect("a trust store alone is valid");
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CRYPTO_MODE)).tls_context(context.clone());
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}
