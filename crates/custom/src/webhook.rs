//! The webhook target: the user's HTTPS endpoints set and test the credential (and may mint it).
//!
//! Each request is `POST` JSON `{"secret_arn", "step", "token"}` (plus `"pending"`, the new value, on the set
//! request only), signed: `X-Rotor-Timestamp: <unix seconds>`, `X-Rotor-Key-Id: <id>` and
//! `X-Rotor-Signature: v2=<hex HMAC-SHA256(key, "v2\n<method>\n<host>\n<path and query>\n<timestamp>\n<body>")>`,
//! the key read from a separate secret (its `key_id` field, or the secret's name, is the key id), so a signed
//! request cannot be replayed to another host or path.
//! A 2xx answer is success; anything else fails the step with the status and a short excerpt of the answer (the
//! pending value cut out). A mint endpoint answers `{"value": "<new credential>"}`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use rotation_core::{
    AWSCURRENT, Backoff, CreateContext, Env, Password, RotationError, Secret, SecretsManager, Selector, SetContext,
    Target, TargetErrorKind, TestContext,
};
use rustls_pki_types::CertificateDer;
use serde_json::{Value, json};

use crate::generated::GeneratedSecret;

/// The endpoints of one secret's rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrls {
    /// The set endpoint (setSecret).
    pub set: String,
    /// The test endpoint (testSecret).
    pub test: String,
    /// The mint endpoint (createSecret), when the service issues credentials itself.
    pub mint: Option<String>,
}

impl WebhookUrls {
    /// Every URL, for checks that reach each one.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        [Some(self.set.as_str()), Some(self.test.as_str()), self.mint.as_deref()].into_iter().flatten()
    }
}

/// Where the endpoint URLs come from (`WEBHOOK_URLS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlSource {
    /// `WEBHOOK_SET_URL`, `WEBHOOK_TEST_URL` and optionally `WEBHOOK_MINT_URL` (the default).
    Environment(WebhookUrls),
    /// Each secret's own `webhook_set_url`, `webhook_test_url` and optional `webhook_mint_url` fields, on hosts
    /// of `WEBHOOK_ALLOWED_HOSTS` only; the pending secret must name the same URLs as the current one.
    Secret {
        /// The host names a secret's URLs may name (lower case).
        allowed_hosts: Vec<String>,
    },
}

/// The fields of [`UrlSource::Secret`], with their endpoints.
const URL_FIELDS: [&str; 3] = ["webhook_set_url", "webhook_test_url", "webhook_mint_url"];

/// The webhook target's configuration, from the environment.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Where the URLs come from.
    pub urls: UrlSource,
    /// `WEBHOOK_SIGNING_SECRET_ARN`: the secret whose value (or `signing_key` field) signs requests.
    pub signing_secret: String,
    /// `WEBHOOK_TIMEOUT_SECONDS` (default 5): one request's time-out.
    pub timeout: Duration,
    /// `WEBHOOK_ATTEMPTS` (default 3): tries per request, with backoff, on network errors and 5xx.
    pub backoff: Backoff,
}

fn https(variable: &'static str, url: String) -> Result<String, RotationError> {
    if url.starts_with("https://") {
        Ok(url)
    } else {
        Err(RotationError::Config { variable, reason: "must be an https:// URL (rotor verifies TLS)".into() })
    }
}

impl WebhookConfig {
    /// A secret's endpoints: the environment's, or the secret's own fields (set and test required, mint
    /// optional), each an `https://` URL on a host of `WEBHOOK_ALLOWED_HOSTS`.
    pub fn urls(&self, secret: &Secret) -> Result<WebhookUrls, RotationError> {
        let allowed_hosts = match &self.urls {
            UrlSource::Environment(urls) => return Ok(urls.clone()),
            UrlSource::Secret { allowed_hosts } => allowed_hosts,
        };
        let checked = |field: &str, url: &str| {
            if !url.starts_with("https://") {
                return Err(secret.invalid(field, "must be an https:// URL"));
            }
            let authority = host_of(url);
            let host = match authority.rsplit_once(':') {
                Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
                _ => authority.as_str(),
            }
            .to_ascii_lowercase();
            if allowed_hosts.contains(&host) {
                Ok(url.to_owned())
            } else {
                Err(secret.invalid(field, format!("names host {host:?}, which WEBHOOK_ALLOWED_HOSTS does not list")))
            }
        };
        let [set, test, mint] = URL_FIELDS;
        Ok(WebhookUrls {
            set: checked(set, secret.require_str(set)?)?,
            test: checked(test, secret.require_str(test)?)?,
            mint: secret.optional_str(mint)?.map(|url| checked(mint, url)).transpose()?,
        })
    }

    /// Reads and validates the environment; errors name the variable.
    pub fn from_env(env: &Env) -> Result<Self, RotationError> {
        let required = |variable: &'static str| {
            env.get(variable).ok_or(RotationError::Config { variable, reason: "is required".into() })
        };
        let urls = match env.get("WEBHOOK_URLS").as_deref() {
            None | Some("env") => UrlSource::Environment(WebhookUrls {
                set: https("WEBHOOK_SET_URL", required("WEBHOOK_SET_URL")?)?,
                test: https("WEBHOOK_TEST_URL", required("WEBHOOK_TEST_URL")?)?,
                mint: env.get("WEBHOOK_MINT_URL").map(|u| https("WEBHOOK_MINT_URL", u)).transpose()?,
            }),
            Some("secret") => {
                let allowed_hosts: Vec<String> = required("WEBHOOK_ALLOWED_HOSTS")
                    .map_err(|_| RotationError::Config {
                        variable: "WEBHOOK_ALLOWED_HOSTS",
                        reason: "is required with WEBHOOK_URLS=secret: list the host names a secret's URLs may name"
                            .into(),
                    })?
                    .split(',')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect();
                UrlSource::Secret { allowed_hosts }
            }
            Some(_) => {
                return Err(RotationError::Config { variable: "WEBHOOK_URLS", reason: "must be env or secret".into() });
            }
        };
        Ok(Self {
            urls,
            signing_secret: required("WEBHOOK_SIGNING_SECRET_ARN")?,
            timeout: Duration::from_secs(env.number("WEBHOOK_TIMEOUT_SECONDS", 5, 1..=60)? as u64),
            backoff: Backoff {
                attempts: env.number("WEBHOOK_ATTEMPTS", 3, 1..=10)? as u32,
                initial_delay: Duration::from_millis(300),
                max_delay: Duration::from_secs(2),
            },
        })
    }
}

/// Rotates a credential that the user's service sets and tests through signed HTTPS requests.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    config: WebhookConfig,
    values: GeneratedSecret,
    http: reqwest::Client,
    secrets: SecretsManager,
}

impl WebhookTarget {
    /// A target with its configuration, the value generator (key, format, policy), the Secrets Manager client
    /// that reads the signing key, and `TLS_CA_BUNDLE`'s certificates trusted on top of the system's roots.
    pub fn new(
        config: WebhookConfig,
        values: GeneratedSecret,
        secrets: SecretsManager,
        ca_bundle: &[CertificateDer<'static>],
    ) -> Result<Self, RotationError> {
        // No redirects: a 307/308 would re-POST the body carrying the pending credential to wherever it points.
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none());
        // The system roots rotor reads (the bundle alone, not a scan of /etc/ssl/certs as reqwest's platform
        // verifier would), and the bundle.
        let certificates: Vec<reqwest::Certificate> = rotation_core::system_root_certificates()
            .iter()
            .chain(ca_bundle)
            .map(|der| reqwest::Certificate::from_der(der))
            .collect::<Result<_, _>>()
            .map_err(|e| RotationError::Config { variable: "TLS_CA_BUNDLE", reason: e.to_string() })?;
        builder = builder.tls_certs_only(certificates);
        let http =
            builder.build().map_err(|e| RotationError::Config { variable: "TLS_CA_BUNDLE", reason: e.to_string() })?;
        Ok(Self { config, values, http, secrets })
    }

    /// The signing key and its id.
    async fn signing_key(&self) -> Result<(hmac::Key, String), RotationError> {
        let arn = &self.config.signing_secret;
        let value = self.secrets.get(arn, Selector::Stage(AWSCURRENT)).await?.ok_or_else(|| {
            RotationError::invalid_secret(
                arn.as_str(),
                "SecretString",
                "has no AWSCURRENT value; check WEBHOOK_SIGNING_SECRET_ARN",
            )
        })?;
        let secret = Secret::parse(arn.as_str(), &value);
        let (key, id) = match secret.as_plain() {
            Some(plain) => (plain.to_owned(), None),
            None => (secret.require_str("signing_key")?.to_owned(), secret.optional_str("key_id")?.map(str::to_owned)),
        };
        let id = id.unwrap_or_else(|| arn.rsplit(':').next().unwrap_or(arn).to_owned());
        Ok((hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()), id))
    }

    /// POSTs a signed request, retrying network errors and 5xx with backoff; returns the 2xx answer's body.
    async fn call(&self, url: &str, body: &Value, pending: Option<&str>) -> Result<String, RotationError> {
        let (key, key_id) = self.signing_key().await?;
        let body = body.to_string();
        let (host, path) = signed_target(url);
        self.config
            .backoff
            .retry(|| async {
                let timestamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs().to_string();
                let signed = format!("v2\nPOST\n{host}\n{path}\n{timestamp}\n{body}");
                let signature = hmac::sign(&key, signed.as_bytes());
                let hex: String = signature.as_ref().iter().map(|b| format!("{b:02x}")).collect();
                let response = self
                    .http
                    .post(url)
                    .header("content-type", "application/json")
                    .header("x-rotor-timestamp", &timestamp)
                    .header("x-rotor-key-id", &key_id)
                    .header("x-rotor-signature", format!("v2={hex}"))
                    .body(body.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        let what = if e.is_timeout() {
                            format!("no answer within {:?}", self.config.timeout)
                        } else {
                            "the request failed".to_owned()
                        };
                        RotationError::Target {
                            kind: if e.is_connect() && rotation_core::is_tls_error(&e) {
                                TargetErrorKind::Tls
                            } else {
                                TargetErrorKind::Unreachable
                            },
                            target: host_of(url),
                            message: format!(
                                "{what}; check the URL, the receiver, and TLS_CA_BUNDLE for its certificate"
                            ),
                            // The URL (its query may carry a token) never reaches an error or a log.
                            source: Some(Box::new(e.without_url())),
                        }
                    })?;
                let status = response.status();
                let (text, complete) = read_capped(response).await;
                if status.is_success() && complete {
                    return Ok(text);
                }
                if status.is_success() {
                    return Err(RotationError::target(
                        TargetErrorKind::Rejected,
                        host_of(url),
                        format!("the webhook's answer is over {} KiB; rotor reads no more", MAX_ANSWER_BYTES / 1024),
                    ));
                }
                if status.is_redirection() {
                    return Err(RotationError::target(
                        TargetErrorKind::Rejected,
                        host_of(url),
                        format!(
                            "the webhook answered {status}, a redirect; rotor never follows one (it would send the credential elsewhere): configure the final URL"
                        ),
                    ));
                }
                let excerpt = excerpt(&text, pending);
                Err(RotationError::target(
                    if status.is_server_error() { TargetErrorKind::Unreachable } else { TargetErrorKind::Rejected },
                    host_of(url),
                    format!("the webhook answered {status}: {excerpt}"),
                ))
            })
            .await
    }

    fn body(step: &str, secret_id: &str, token: &str) -> Value {
        json!({"secret_arn": secret_id, "step": step, "token": token})
    }
}

/// The most of an answer rotor reads: a receiver cannot exhaust the function's memory.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The answer's body, read up to [`MAX_ANSWER_BYTES`]; `false` when there was more (or the read failed).
async fn read_capped(mut response: reqwest::Response) -> (String, bool) {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() <= MAX_ANSWER_BYTES => body.extend_from_slice(&chunk),
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk[..MAX_ANSWER_BYTES - body.len()]);
                return (String::from_utf8_lossy(&body).into_owned(), false);
            }
            Ok(None) => return (String::from_utf8_lossy(&body).into_owned(), true),
            Err(_) => return (String::from_utf8_lossy(&body).into_owned(), false),
        }
    }
}

/// At most 200 characters of an answer, with the pending value cut out wherever it appears.
fn excerpt(text: &str, pending: Option<&str>) -> String {
    let mut text = text.to_owned();
    if let Some(pending) = pending.filter(|p| !p.is_empty()) {
        text = text.replace(pending, "<redacted>");
    }
    let short: String = text.chars().take(200).collect();
    if short.is_empty() { "(empty body)".into() } else { short }
}

/// What the signature covers of a URL: the `Host` header's value (`host[:port]`) and the path with its query.
fn signed_target(url: &str) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (_, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let host = host_of(url).to_ascii_lowercase();
    // Clients leave the default port out of the Host header.
    let host = host.strip_suffix(":443").map(str::to_owned).unwrap_or(host);
    (host, format!("/{path}"))
}

/// `host:port` of a URL, without any user information: what errors name.
fn host_of(url: &str) -> String {
    let authority = url.split('/').nth(2).unwrap_or_default();
    authority.rsplit('@').next().unwrap_or_default().to_owned()
}

impl Target for WebhookTarget {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        self.values.next_secret(current, password)
    }

    async fn create(
        &self,
        ctx: &CreateContext<'_>,
        current: &Secret,
        password: Password,
    ) -> Result<Secret, RotationError> {
        let Some(url) = self.config.urls(current)?.mint else { return self.next_secret(current, password) };
        // Minting changes the system: only for the rotation that owns AWSPENDING.
        ctx.still_pending().await?;
        let answer = self.call(&url, &Self::body("createSecret", ctx.secret_id, ctx.token), None).await?;
        let minted = serde_json::from_str::<Value>(&answer)
            .ok()
            .and_then(|v| v.get("value").and_then(Value::as_str).map(str::to_owned))
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                RotationError::target(
                    TargetErrorKind::Rejected,
                    host_of(&url),
                    "the mint endpoint's answer has no \"value\" string; answer {\"value\": \"<credential>\"}",
                )
            })?;
        self.values.with_value(current, minted)
    }

    async fn set(&self, ctx: &SetContext<'_>) -> Result<(), RotationError> {
        // The URLs are the target, never rotated: a pending secret naming others would send the credential there.
        if let UrlSource::Secret { .. } = self.config.urls
            && let Some(field) =
                URL_FIELDS.iter().find(|f| ctx.pending.optional_str(f).ok() != ctx.current.optional_str(f).ok())
        {
            return Err(RotationError::target(
                TargetErrorKind::ConfusedDeputy,
                ctx.secret_id,
                format!(
                    "the pending secret's {field} differs from the current one's; the URLs are the target and are never rotated"
                ),
            ));
        }
        let url = self.config.urls(ctx.pending)?.set;
        let value = self.values.value_of(ctx.pending)?;
        let mut body = Self::body("setSecret", ctx.secret_id, ctx.pending.version().unwrap_or_default());
        body["pending"] = Value::String(value.to_owned());
        self.call(&url, &body, Some(value)).await.map(|_| ())
    }

    async fn test(&self, ctx: &TestContext<'_>) -> Result<(), RotationError> {
        let pending = ctx.pending;
        let url = self.config.urls(pending)?.test;
        let value = self.values.value_of(pending)?;
        // The receiver proves the pending credential without being sent it again: it knows it from the set
        // request, and the fingerprint says which one is meant.
        let mut body = Self::body("testSecret", pending.origin(), pending.version().unwrap_or_default());
        body["fingerprint"] = Value::String(fingerprint(value));
        self.call(&url, &body, Some(value)).await.map(|_| ())
    }
}

/// The first 16 hex digits of SHA-256 of the value: lets the receiver check which credential is meant without
/// the value being sent again.
pub fn fingerprint(value: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, value.as_bytes());
    digest.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_is_validated_by_variable() {
        let env = |pairs: &[(&str, &str)]| Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let ok = WebhookConfig::from_env(&env(&[
            ("WEBHOOK_SET_URL", "https://h/set"),
            ("WEBHOOK_TEST_URL", "https://h/test"),
            ("WEBHOOK_SIGNING_SECRET_ARN", "arn:key"),
        ]))
        .unwrap();
        assert!(matches!(ok.urls, UrlSource::Environment(WebhookUrls { mint: None, .. })));
        for (pairs, expect) in [
            (
                vec![("WEBHOOK_TEST_URL", "https://h/t"), ("WEBHOOK_SIGNING_SECRET_ARN", "a")],
                "WEBHOOK_SET_URL is required",
            ),
            (
                vec![
                    ("WEBHOOK_SET_URL", "http://h/s"),
                    ("WEBHOOK_TEST_URL", "https://h/t"),
                    ("WEBHOOK_SIGNING_SECRET_ARN", "a"),
                ],
                "WEBHOOK_SET_URL must be an https:// URL",
            ),
            (vec![("WEBHOOK_URLS", "secret")], "WEBHOOK_ALLOWED_HOSTS is required with WEBHOOK_URLS=secret"),
            (vec![("WEBHOOK_URLS", "dns")], "WEBHOOK_URLS must be env or secret"),
        ] {
            assert!(WebhookConfig::from_env(&env(&pairs)).unwrap_err().to_string().contains(expect), "{expect}");
        }
    }

    #[test]
    fn urls_can_come_from_the_secret_itself() {
        let config = WebhookConfig {
            urls: UrlSource::Secret { allowed_hosts: vec!["h".into()] },
            signing_secret: "key".into(),
            timeout: Duration::from_secs(1),
            backoff: Backoff::default(),
        };
        let good = Secret::parse(
            "s",
            r#"{"api_key":"k","webhook_set_url":"https://h/set","webhook_test_url":"https://h:8443/test"}"#,
        );
        let urls = config.urls(&good).unwrap();
        assert_eq!((urls.set.as_str(), urls.test.as_str(), urls.mint), ("https://h/set", "https://h:8443/test", None));
        let plain = Secret::parse(
            "s",
            r#"{"api_key":"k","webhook_set_url":"https://h/set","webhook_test_url":"http://h/test"}"#,
        );
        let error = config.urls(&plain).unwrap_err().to_string();
        assert!(error.contains("field `webhook_test_url` must be an https:// URL"), "{error}");
        let elsewhere = Secret::parse("s", r#"{"api_key":"k","webhook_set_url":"https://evil.example:443/set"}"#);
        let error = config.urls(&elsewhere).unwrap_err().to_string();
        assert!(error.contains("names host \"evil.example\", which WEBHOOK_ALLOWED_HOSTS does not list"), "{error}");
        let missing = Secret::parse("s", r#"{"api_key":"k"}"#);
        assert!(config.urls(&missing).unwrap_err().to_string().contains("`webhook_set_url` is missing"));
    }

    #[test]
    fn the_signature_covers_host_and_path() {
        assert_eq!(
            signed_target("https://Hooks.example:8443/set?x=1"),
            ("hooks.example:8443".into(), "/set?x=1".into())
        );
        assert_eq!(signed_target("https://hooks.example"), ("hooks.example".into(), "/".into()));
        assert_eq!(signed_target("https://hooks.example:443/s"), ("hooks.example".into(), "/s".into()));
    }

    #[test]
    fn errors_name_the_host_only() {
        assert_eq!(host_of("https://user:pw@hooks.example:8443/set?token=abc"), "hooks.example:8443");
        assert_eq!(host_of("https://hooks.example/set"), "hooks.example");
    }

    #[test]
    fn excerpts_never_carry_the_pending_value() {
        assert_eq!(excerpt("bad key abc123 rejected", Some("abc123")), "bad key <redacted> rejected");
        assert_eq!(excerpt("", None), "(empty body)");
        assert_eq!(excerpt(&"x".repeat(500), None).len(), 200);
        assert_eq!(fingerprint("a").len(), 16);
    }
}
