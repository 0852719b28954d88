//! IAM's own clock, read from the `Date` header of its answers: the creation dates of a user's keys are in that
//! clock, so an attempt's record is timed by it rather than by the function's (which SigV4 lets drift 5 minutes).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use aws_sdk_iam::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_iam::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_iam::primitives::{DateTime, DateTimeFormat};

/// An interceptor for one request that keeps the `Date` of its last answer (the SDK's outputs carry no headers).
#[derive(Debug, Clone, Default)]
pub struct AnswerDate(Arc<Mutex<Option<SystemTime>>>);

impl AnswerDate {
    /// The `Date` of the last answer, if it had a readable one.
    pub fn get(&self) -> Option<SystemTime> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Intercept for AnswerDate {
    fn name(&self) -> &'static str {
        "AnswerDate"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) =
            context.response().headers().get("date").and_then(parse);
        Ok(())
    }
}

/// An HTTP date (`Thu, 01 Jan 2026 00:00:00 GMT`).
fn parse(date: &str) -> Option<SystemTime> {
    DateTime::from_str(date, DateTimeFormat::HttpDate).ok().and_then(|d| SystemTime::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn an_http_date_is_read_and_anything_else_is_no_date() {
        assert_eq!(parse("Thu, 01 Jan 2026 00:00:00 GMT"), Some(UNIX_EPOCH + Duration::from_secs(1_767_225_600)));
        assert_eq!(parse("2026-01-01T00:00:00Z"), None);
        assert_eq!(parse(""), None);
    }
}
