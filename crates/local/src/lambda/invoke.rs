//! Invoking a rotation function through the Lambda Invoke API (`cargo lambda watch`, or any Invoke endpoint).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use serde_json::Value;

/// A step the function failed, as the Invoke API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeFailure {
    /// The function's `errorType`, or `InvokeFailed` when the call itself failed.
    pub error_type: String,
    /// The function's `errorMessage`, or why the call failed.
    pub message: String,
}

/// The function name in a Lambda ARN (`arn:aws:lambda:region:account:function:name[:qualifier]`); anything that
/// is not such an ARN is taken as the name itself.
pub fn function_name(lambda_arn: &str) -> &str {
    let parts: Vec<&str> = lambda_arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name, ..] => name,
        _ => lambda_arn,
    }
}

/// A client of the Lambda Invoke API.
#[derive(Debug, Clone)]
pub struct Invoker {
    http: reqwest::Client,
    endpoint: String,
    concurrency: Option<Arc<Semaphore>>,
}

impl Invoker {
    /// A client of the Invoke API at `endpoint` (`http://127.0.0.1:9000`), waiting at most `timeout` per call.
    pub fn new(endpoint: &str, timeout: Duration) -> Self {
        let http = reqwest::Client::builder().timeout(timeout).build().expect("HTTP client");
        Self { http, endpoint: endpoint.trim_end_matches('/').to_owned(), concurrency: None }
    }

    /// The same client, with at most `limit` invocations running at once, as Lambda's concurrency limit allows;
    /// the others wait their turn, as a caller retrying Lambda's throttled invocations would.
    pub fn with_concurrency(self, limit: Option<usize>) -> Self {
        Self { concurrency: limit.map(|n| Arc::new(Semaphore::new(n.max(1)))), ..self }
    }

    /// Invokes `function` (a name or a Lambda ARN) synchronously (`RequestResponse`) with `event`. A function
    /// error arrives either as `X-Amz-Function-Error` on a 200 (AWS) or as an error status with the same body
    /// (cargo-lambda's emulator).
    pub async fn invoke(&self, function: &str, event: &Value) -> Result<(), InvokeFailure> {
        let url = format!("{}/2015-03-31/functions/{}/invocations", self.endpoint, function_name(function));
        let _permit = match &self.concurrency {
            Some(limit) => Some(limit.acquire().await.expect("the semaphore is never closed")),
            None => None,
        };
        let response = self
            .http
            .post(&url)
            .header("X-Amz-Invocation-Type", "RequestResponse")
            .json(event)
            .send()
            .await
            .map_err(|e| InvokeFailure { error_type: "InvokeFailed".into(), message: format!("{url}: {e}") })?;
        let status = response.status();
        let function_error = response.headers().contains_key("x-amz-function-error");
        if status.is_success() && !function_error {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        let parsed: Option<Value> = serde_json::from_str(&body).ok();
        let field = |name: &str| parsed.as_ref().and_then(|v| v.get(name)).and_then(Value::as_str).map(str::to_owned);
        Err(InvokeFailure {
            error_type: field("errorType").unwrap_or_else(|| format!("HTTP{}", status.as_u16())),
            message: field("errorMessage").unwrap_or_else(|| body.chars().take(500).collect()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_more_invocations_run_at_once_than_the_limit() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (r, p) = (Arc::clone(&running), Arc::clone(&peak));
        let app = axum::Router::new().route(
            "/2015-03-31/functions/{function}/invocations",
            axum::routing::post(move || {
                let (running, peak) = (Arc::clone(&r), Arc::clone(&p));
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    "null"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let invoker = Invoker::new(&url, Duration::from_secs(5)).with_concurrency(Some(3));
        let calls: Vec<_> = (0..12)
            .map(|_| {
                let invoker = invoker.clone();
                tokio::spawn(async move { invoker.invoke("rotate-custom", &serde_json::json!({})).await })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3, "three at once, never more");
    }

    #[test]
    fn function_names_from_arns() {
        assert_eq!(function_name("arn:aws:lambda:us-east-1:123456789012:function:rotate-custom"), "rotate-custom");
        assert_eq!(function_name("arn:aws:lambda:us-east-1:123456789012:function:rotate-pg:live"), "rotate-pg");
        assert_eq!(function_name("rotate-custom"), "rotate-custom");
    }
}
