//! testSecret's retries, the same for every database.

use std::future::Future;
use std::time::{Duration, Instant};

use rotation_core::{Backoff, RotationError};

/// testSecret: runs `probe` (log in with the pending credential and run the test query) until it succeeds, with
/// backoff. A refused password is retried too: a new password may take a moment to reach every node (replicas,
/// proxies). No try starts that could not end (`attempt_bound`) before `deadline`: the last error is returned
/// instead, while there is time to report it.
pub async fn test_with_retries<P, Fut>(
    backoff: &Backoff,
    attempt_bound: Duration,
    deadline: Option<Instant>,
    mut probe: P,
) -> Result<(), RotationError>
where
    P: FnMut() -> Fut,
    Fut: Future<Output = Result<(), RotationError>>,
{
    let mut delay = backoff.initial_delay;
    let mut attempt = 1;
    loop {
        match probe().await {
            Err(error) if (error.is_retryable() || error.is_authentication_failure()) && attempt < backoff.attempts => {
                if deadline.is_some_and(|deadline| Instant::now() + delay + attempt_bound > deadline) {
                    tracing::warn!(attempt, "testSecret stops retrying: another try would not end before the deadline");
                    return Err(error);
                }
                tracing::warn!(attempt, error_type = error.error_type(), "testSecret retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(backoff.max_delay);
                attempt += 1;
            }
            other => return other,
        }
    }
}
