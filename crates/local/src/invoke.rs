//! Invoking a rotation function through the Lambda Invoke API (`cargo lambda watch`, or any Invoke endpoint).

use std::time::Duration;

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
}

impl Invoker {
    /// A client of the Invoke API at `endpoint` (`http://127.0.0.1:9000`), waiting at most `timeout` per call.
    pub fn new(endpoint: &str, timeout: Duration) -> Self {
        let http = reqwest::Client::builder().timeout(timeout).build().expect("HTTP client");
        Self { http, endpoint: endpoint.trim_end_matches('/').to_owned() }
    }

    /// Invokes `function` (a name or a Lambda ARN) synchronously (`RequestResponse`) with `event`. A function
    /// error arrives either as `X-Amz-Function-Error` on a 200 (AWS) or as an error status with the same body
    /// (cargo-lambda's emulator).
    pub async fn invoke(&self, function: &str, event: &Value) -> Result<(), InvokeFailure> {
        let url = format!("{}/2015-03-31/functions/{}/invocations", self.endpoint, function_name(function));
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

    #[test]
    fn function_names_from_arns() {
        assert_eq!(function_name("arn:aws:lambda:us-east-1:123456789012:function:rotate-custom"), "rotate-custom");
        assert_eq!(function_name("arn:aws:lambda:us-east-1:123456789012:function:rotate-pg:live"), "rotate-pg");
        assert_eq!(function_name("rotate-custom"), "rotate-custom");
    }
}
