//! The webhook target: the user's HTTPS endpoints set and test the credential (and may mint it).
//!
//! Each request is `POST` JSON `{"secret_arn", "step", "token"}` (plus `"pending"`, the new value, on the set
//! request only), signed: `X-Rotor-Timestamp: <unix seconds>`, `X-Rotor-Key-Id: <id>` and
//! `X-Rotor-Signature: v2=<hex HMAC-SHA256(key, "v2\n<method>\n<host>\n<path and query>\n<timestamp>\n<body>")>`,
//! the key read from a separate secret (its `key_id` field, or the secret's name, is the key id), so a signed
//! request cannot be replayed to another host or path.
//! Every URL is parsed once, by the parser reqwest sends the request with ([`Url`]): the host rotor checks
//! against `WEBHOOK_ALLOWED_HOSTS` and signs is the host the request goes to, whatever a `?@`, `#@` or `\@` in
//! the text suggests to a reader (or to a hand-written parser).
//! A 2xx answer is success; anything else fails the step with the status and a short excerpt of the answer (the
//! pending value cut out). A mint endpoint answers `{"value": "<new credential>"}`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use reqwest::Url;
use rotation_core::{
    AWSCURRENT, Backoff, Check, CreateContext, Env, Password, RotationError, Secret, SecretsManager, Selector,
    SetContext, Target, TargetErrorKind, TestContext,
};
use rustls_pki_types::CertificateDer;
use serde_json::{Value, json};

use crate::generated::GeneratedSecret;

/// The endpoints of one secret's rotation, each parsed once by the parser that sends the request: `https`, no
/// user information, no fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrls {
    /// The set endpoint (setSecret).
    pub set: Url,
    /// The test endpoint (testSecret).
    pub test: Url,
    /// The mint endpoint (createSecret), when the service issues credentials itself.
    pub mint: Option<Url>,
}

impl WebhookUrls {
    /// Every URL, for checks that reach each one.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        [Some(&self.set), Some(&self.test), self.mint.as_ref()].into_iter().flatten().map(Url::as_str)
    }
}

/// Where the endpoint URLs come from (`WEBHOOK_URLS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlSource {
    /// `WEBHOOK_SET_URL`, `WEBHOOK_TEST_URL` and optionally `WEBHOOK_MINT_URL` (the default).
    Environment(Box<WebhookUrls>),
    /// Each secret's own `webhook_set_url`, `webhook_test_url` and optional `webhook_mint_url` fields, on hosts
    /// of `WEBHOOK_ALLOWED_HOSTS` only; the pending secret must name the same URLs as the current one.
    Secret {
        /// The hosts a secret's URLs may reach, as [`Url::host_str`] spells them (lower case, IDNA ASCII, an
        /// IPv6 address in brackets).
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

/// Parses a webhook URL with the parser that sends the request, so what rotor checks and signs is where the
/// request goes: `https` (rotor verifies TLS), no user information (the client would send it as credentials of
/// its own, and it is what makes a URL's text read as another host), a host of `allowed_hosts` when given, and no
/// fragment (never sent, so never what the writer meant). The reason never quotes the URL, whose query may carry
/// a token.
fn parse_url(text: &str, allowed_hosts: Option<&[String]>) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("is not a URL ({e})"))?;
    if url.scheme() != "https" {
        return Err("must be an https:// URL (rotor verifies TLS)".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("carries user information (`user@` or `user:password@`), which rotor refuses: the request's \
                    signature authenticates rotor, and a password in a URL ends up in logs; remove it"
            .into());
    }
    let host = url.host_str().unwrap_or_default();
    if let Some(allowed) = allowed_hosts
        && !allowed.iter().any(|h| h == host)
    {
        // Userinfo is refused above, so an `@` left in the text sits in the path, query or fragment, where it
        // only makes the text read as if another host followed.
        let hint =
            if text.contains('@') { " (an `@` after `/`, `?`, `#` or `\\` does not start the host)" } else { "" };
        return Err(format!("reaches host {host:?}, which WEBHOOK_ALLOWED_HOSTS does not list{hint}"));
    }
    if url.fragment().is_some() {
        return Err("has a fragment (`#...`), which is never sent; remove it".into());
    }
    Ok(url)
}

/// An environment variable's URL, parsed by [`parse_url`]; an error names the variable.
fn env_url(variable: &'static str, text: String) -> Result<Url, RotationError> {
    parse_url(&text, None).map_err(|reason| RotationError::Config { variable, reason })
}

/// One `WEBHOOK_ALLOWED_HOSTS` entry, spelled as [`Url::host_str`] spells a URL's host, so the comparison in
/// [`parse_url`] is between two outputs of the same parser.
fn allowed_host(entry: &str) -> Result<String, RotationError> {
    let invalid = || RotationError::Config {
        variable: "WEBHOOK_ALLOWED_HOSTS",
        reason: format!("entry {entry:?} is not a host name; list host names only, without scheme, port or path"),
    };
    // Only a host: a port, path or user information would be read as such by the parser, and dropped here.
    let bracketed = entry.starts_with('[') && entry.ends_with(']');
    let bare = !entry.contains(['/', '?', '#', '@', '\\']) && (bracketed || !entry.contains(':'));
    let url = Url::parse(&format!("https://{entry}/")).ok().filter(|_| bare).ok_or_else(invalid)?;
    url.host_str().map(str::to_owned).ok_or_else(invalid)
}

impl WebhookConfig {
    /// A secret's endpoints: the environment's, or the secret's own fields (set and test required, mint
    /// optional), each parsed once by the parser that sends the request, `https://`, without user information,
    /// and reaching a host of `WEBHOOK_ALLOWED_HOSTS`.
    pub fn urls(&self, secret: &Secret) -> Result<WebhookUrls, RotationError> {
        let allowed_hosts = match &self.urls {
            UrlSource::Environment(urls) => return Ok(WebhookUrls::clone(urls)),
            UrlSource::Secret { allowed_hosts } => allowed_hosts,
        };
        let checked = |field: &str, url: &str| {
            parse_url(url, Some(allowed_hosts)).map_err(|reason| secret.invalid(field, reason))
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
            None | Some("env") => UrlSource::Environment(Box::new(WebhookUrls {
                set: env_url("WEBHOOK_SET_URL", required("WEBHOOK_SET_URL")?)?,
                test: env_url("WEBHOOK_TEST_URL", required("WEBHOOK_TEST_URL")?)?,
                mint: env.get("WEBHOOK_MINT_URL").map(|u| env_url("WEBHOOK_MINT_URL", u)).transpose()?,
            })),
            Some("secret") => {
                let allowed_hosts = required("WEBHOOK_ALLOWED_HOSTS")
                    .map_err(|_| RotationError::Config {
                        variable: "WEBHOOK_ALLOWED_HOSTS",
                        reason: "is required with WEBHOOK_URLS=secret: list the host names a secret's URLs may name"
                            .into(),
                    })?
                    .split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .map(allowed_host)
                    .collect::<Result<Vec<_>, _>>()?;
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
                ..Backoff::default()
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
    async fn call(&self, url: &Url, body: &Value, pending: Option<&str>) -> Result<String, RotationError> {
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
                    .post(url.clone())
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
                            target: host.clone(),
                            message: format!(
                                "{what}; check the URL, the receiver, and TLS_CA_BUNDLE for its certificate"
                            ),
                            // The URL (its query may carry a token) never reaches an error or a log.
                            source: Some(Box::new(e.without_url())),
                        }
                    })?;
                let status = response.status();
                let (text, complete) = read_capped(response, &host).await?;
                if status.is_success() && complete {
                    return Ok(text);
                }
                if status.is_success() {
                    return Err(RotationError::target(
                        TargetErrorKind::Rejected,
                        host.clone(),
                        format!("the webhook's answer is over {} KiB; rotor reads no more", MAX_ANSWER_BYTES / 1024),
                    ));
                }
                if status.is_redirection() {
                    return Err(RotationError::target(
                        TargetErrorKind::Rejected,
                        host.clone(),
                        format!(
                            "the webhook answered {status}, a redirect; rotor never follows one (it would send the credential elsewhere): configure the final URL"
                        ),
                    ));
                }
                let excerpt = excerpt(&text, pending);
                Err(RotationError::target(
                    if status.is_server_error() { TargetErrorKind::Unreachable } else { TargetErrorKind::Rejected },
                    host.clone(),
                    format!("the webhook answered {status}: {excerpt}"),
                ))
            })
            .await
    }

    fn body(step: &str, secret_id: &str, token: &str) -> Value {
        json!({"secret_arn": secret_id, "step": step, "token": token})
    }
}

impl WebhookTarget {
    /// `rotatectl doctor`'s checks of `current`, changing nothing: it has the key to replace, its endpoints (the
    /// environment's, or its own fields) parse, and each answers a `GET` over verified TLS through the client a
    /// rotation uses. Any HTTP answer passes: an unsigned request is refused, which still proves the network path
    /// and the certificate.
    pub async fn checks(&self, current: &Secret) -> Vec<Check> {
        let mut checks = vec![self.values.check(current)];
        let urls = match self.config.urls(current) {
            Ok(urls) => urls,
            Err(error) => {
                checks.push(Check::new("the secret's webhook URLs", Err(error)));
                return checks;
            }
        };
        for url in urls.all() {
            let reached = self.http.get(url).send().await.map(drop).map_err(|error| {
                format!(
                    "{}; check the URL, the network path, and TLS_CA_BUNDLE for the receiver's CA",
                    rotation_core::with_causes(&error.without_url())
                )
            });
            checks.push(Check::with_problem(format!("{url} answers over verified TLS"), reached));
        }
        checks
    }
}

/// The most of an answer rotor reads: a receiver cannot exhaust the function's memory.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The answer's body, read up to [`MAX_ANSWER_BYTES`]; `false` when there was more. A body that cannot be read
/// (the connection dropped, a malformed chunk) is a read error of its own, never mistaken for an oversized answer.
async fn read_capped(mut response: reqwest::Response, host: &str) -> Result<(String, bool), RotationError> {
    let status = response.status();
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() <= MAX_ANSWER_BYTES => body.extend_from_slice(&chunk),
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk[..MAX_ANSWER_BYTES - body.len()]);
                return Ok((String::from_utf8_lossy(&body).into_owned(), false));
            }
            Ok(None) => return Ok((String::from_utf8_lossy(&body).into_owned(), true)),
            Err(e) => {
                return Err(RotationError::Target {
                    kind: TargetErrorKind::Unreachable,
                    target: host.to_owned(),
                    message: format!(
                        "the webhook answered {status} but reading its answer failed after {} bytes (the connection ended or the body was malformed); check the receiver",
                        body.len()
                    ),
                    // The URL (its query may carry a token) never reaches an error or a log.
                    source: Some(Box::new(e.without_url())),
                });
            }
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

/// What the signature covers of a URL: the `Host` header's value (`host[:port]`) and the path with its query,
/// as the client sends them.
fn signed_target(url: &Url) -> (String, String) {
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    (authority(url), path)
}

/// `host[:port]` of a URL, the port left out when it is the scheme's default, as clients write the `Host` header:
/// what the signature covers and what errors name (never the path, query or user information).
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
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
                    authority(&url),
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
        assert!(matches!(ok.urls, UrlSource::Environment(ref urls) if urls.mint.is_none()));
        fn with(set: &str) -> Vec<(&str, &str)> {
            vec![("WEBHOOK_SET_URL", set), ("WEBHOOK_TEST_URL", "https://h/t"), ("WEBHOOK_SIGNING_SECRET_ARN", "a")]
        }
        for (pairs, expect) in [
            (
                vec![("WEBHOOK_TEST_URL", "https://h/t"), ("WEBHOOK_SIGNING_SECRET_ARN", "a")],
                "WEBHOOK_SET_URL is required",
            ),
            (with("http://h/s"), "WEBHOOK_SET_URL must be an https:// URL"),
            (with("https://hook:pw-1234@h/s"), "WEBHOOK_SET_URL carries user information"),
            (with("https://hook@h/s"), "WEBHOOK_SET_URL carries user information"),
            (with("https://h/s#part"), "WEBHOOK_SET_URL has a fragment"),
            (with("h/s"), "WEBHOOK_SET_URL is not a URL"),
            (vec![("WEBHOOK_URLS", "secret")], "WEBHOOK_ALLOWED_HOSTS is required with WEBHOOK_URLS=secret"),
            (
                vec![("WEBHOOK_URLS", "secret"), ("WEBHOOK_ALLOWED_HOSTS", "h, h:8443")],
                "WEBHOOK_ALLOWED_HOSTS entry \"h:8443\" is not a host name",
            ),
            (vec![("WEBHOOK_URLS", "dns")], "WEBHOOK_URLS must be env or secret"),
        ] {
            let error = WebhookConfig::from_env(&env(&pairs)).unwrap_err().to_string();
            assert!(error.contains(expect), "{expect}: {error}");
            assert!(!error.contains("pw-1234"), "{error}");
        }
        let hosts = WebhookConfig::from_env(&env(&[
            ("WEBHOOK_URLS", "secret"),
            ("WEBHOOK_ALLOWED_HOSTS", "Hooks.Example, [::1],127.0.0.1,"),
            ("WEBHOOK_SIGNING_SECRET_ARN", "a"),
        ]))
        .unwrap();
        let UrlSource::Secret { allowed_hosts } = hosts.urls else { panic!("secret URLs") };
        assert_eq!(allowed_hosts, ["hooks.example", "[::1]", "127.0.0.1"], "spelled as the URL parser spells hosts");
    }

    fn secret_urls(allowed: &[&str]) -> WebhookConfig {
        WebhookConfig {
            urls: UrlSource::Secret { allowed_hosts: allowed.iter().map(|h| h.to_string()).collect() },
            signing_secret: "key".into(),
            timeout: Duration::from_secs(1),
            backoff: Backoff::default(),
        }
    }

    fn with_set_url(url: &str) -> Secret {
        let value = json!({"api_key": "k", "webhook_set_url": url, "webhook_test_url": "https://h/test"});
        Secret::parse("s", &value.to_string())
    }

    #[test]
    fn urls_can_come_from_the_secret_itself() {
        let config = secret_urls(&["h"]);
        let good = Secret::parse(
            "s",
            r#"{"api_key":"k","webhook_set_url":"https://h/set","webhook_test_url":"https://h:8443/test"}"#,
        );
        let urls = config.urls(&good).unwrap();
        assert_eq!(urls.all().collect::<Vec<_>>(), ["https://h/set", "https://h:8443/test"]);
        let plain = Secret::parse(
            "s",
            r#"{"api_key":"k","webhook_set_url":"https://h/set","webhook_test_url":"http://h/test"}"#,
        );
        let error = config.urls(&plain).unwrap_err().to_string();
        assert!(error.contains("field `webhook_test_url` must be an https:// URL"), "{error}");
        let error = config.urls(&with_set_url("https://evil.example:443/set")).unwrap_err().to_string();
        assert!(error.contains("reaches host \"evil.example\", which WEBHOOK_ALLOWED_HOSTS does not list"), "{error}");
        let missing = Secret::parse("s", r#"{"api_key":"k"}"#);
        assert!(config.urls(&missing).unwrap_err().to_string().contains("`webhook_set_url` is missing"));
    }

    #[test]
    fn the_host_checked_is_the_host_the_request_goes_to() {
        let config = secret_urls(&["allowed.example", "h"]);
        // Each reads as allowed.example to a parser that takes the text after the last `@`; the client sends
        // each to evil.example.
        for url in [
            "https://evil.example?@allowed.example/set",
            "https://evil.example#@allowed.example/set",
            "https://evil.example\\@allowed.example/set",
        ] {
            let error = config.urls(&with_set_url(url)).unwrap_err().to_string();
            assert!(
                error.contains(
                    "`webhook_set_url` reaches host \"evil.example\", which WEBHOOK_ALLOWED_HOSTS does not list"
                ) && error.contains("an `@` after"),
                "{url}: {error}"
            );
        }
        for (url, expect) in [
            ("https://allowed.example@evil.example/set", "carries user information"),
            ("https://evil.example%2F@allowed.example/set", "carries user information"),
            ("https://allowed.example.evil.example/set", "reaches host \"allowed.example.evil.example\""),
            ("https://allowed.example/set#@evil.example", "has a fragment"),
        ] {
            let error = config.urls(&with_set_url(url)).unwrap_err().to_string();
            assert!(error.contains(expect), "{url}: {error}");
        }
        let urls = config.urls(&with_set_url("https://Allowed.Example/a/../set?x=@y")).unwrap();
        assert_eq!(urls.set.as_str(), "https://allowed.example/set?x=@y");
    }

    #[test]
    fn the_signature_covers_the_host_and_path_the_request_goes_to() {
        let target = |url: &str| signed_target(&Url::parse(url).unwrap());
        assert_eq!(target("https://Hooks.example:8443/set?x=1"), ("hooks.example:8443".into(), "/set?x=1".into()));
        assert_eq!(target("https://hooks.example"), ("hooks.example".into(), "/".into()));
        assert_eq!(target("https://hooks.example:443/s"), ("hooks.example".into(), "/s".into()));
        assert_eq!(
            target("https://evil.example?@allowed.example/set"),
            ("evil.example".into(), "/?@allowed.example/set".into())
        );
        assert_eq!(
            target("https://evil.example\\@allowed.example/set"),
            ("evil.example".into(), "/@allowed.example/set".into())
        );
        assert_eq!(target("https://[::1]:8443/a/./b/../c"), ("[::1]:8443".into(), "/a/c".into()));
    }

    #[test]
    fn excerpts_never_carry_the_pending_value() {
        assert_eq!(excerpt("bad key abc123 rejected", Some("abc123")), "bad key <redacted> rejected");
        assert_eq!(excerpt("", None), "(empty body)");
        assert_eq!(excerpt(&"x".repeat(500), None).len(), 200);
        assert_eq!(fingerprint("a").len(), 16);
    }

    /// A receiver that promises 100 bytes, sends 5 and hangs up: the step must say the read failed, not that the
    /// answer was too long (the message an operator would chase in the wrong place).
    #[tokio::test]
    async fn an_answer_cut_short_is_reported_as_a_read_error_not_as_oversized() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await.unwrap();
            socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort").await.unwrap();
        });
        let response = reqwest::Client::new().get(format!("http://{address}/")).send().await.unwrap();
        let error = read_capped(response, "receiver.example").await.unwrap_err();
        let message = error.to_string();
        assert!(message.contains("reading its answer failed after 5 bytes"), "{message}");
        assert!(!message.contains("KiB"), "{message}");
        assert!(matches!(error, RotationError::Target { kind: TargetErrorKind::Unreachable, .. }), "{error:?}");
    }
}
