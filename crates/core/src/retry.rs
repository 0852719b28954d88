//! Bounded retries with exponential backoff: the one retry loop of the house, for targets that see propagation lag
//! and for the store writes a throttled account must send again.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::RotationError;

/// How many times to try and how long to wait between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Tries in all (at least 1).
    pub attempts: u32,
    /// The first wait; each later wait doubles, up to `max_delay`.
    pub initial_delay: Duration,
    /// The longest single wait.
    pub max_delay: Duration,
    /// Whether each wait grows by a random part of itself (up to double), so that rotations throttled together do
    /// not all try again at the same instant.
    pub jitter: bool,
}

impl Default for Backoff {
    /// Five tries over about 7.5 seconds: well inside a rotation function's time-out.
    fn default() -> Self {
        Self {
            attempts: 5,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(4),
            jitter: false,
        }
    }
}

impl Backoff {
    /// The sum of the waits between all tries.
    pub fn total_delay(&self) -> Duration {
        let mut delay = self.initial_delay;
        let mut total = Duration::ZERO;
        for _ in 1..self.attempts.max(1) {
            total += delay;
            delay = (delay * 2).min(self.max_delay);
        }
        total
    }

    /// Runs `attempt` until it succeeds, fails with an error that is not retryable, or the tries run out.
    pub async fn retry<T, F, Fut>(&self, attempt: F) -> Result<T, RotationError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RotationError>>,
    {
        self.retry_if(RotationError::is_retryable, None, attempt).await
    }

    /// Runs `attempt` until it succeeds, fails with an error `retry_on` refuses, or the tries run out. With a
    /// `deadline` (the instant, and how long one try may take), no try starts that could not end before it: the
    /// last error is returned instead, while there is time to report it.
    pub async fn retry_if<T, F, Fut>(
        &self,
        retry_on: impl Fn(&RotationError) -> bool,
        deadline: Option<(Instant, Duration)>,
        attempt: F,
    ) -> Result<T, RotationError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RotationError>>,
    {
        self.retry_when(retry_on, deadline, attempt, |error, tries, _| {
            tracing::warn!(attempt = tries, error_type = error.error_type(), error = %error, "retrying");
        })
        .await
    }

    /// [`Backoff::retry_if`] over any error (an AWS SDK's, before it becomes a [`RotationError`]), calling
    /// `before_retry` with the error, the tries so far and the wait before each new try.
    pub async fn retry_when<T, E, F, Fut>(
        &self,
        retry_on: impl Fn(&E) -> bool,
        deadline: Option<(Instant, Duration)>,
        mut attempt: F,
        before_retry: impl Fn(&E, u32, Duration),
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut delay = self.initial_delay;
        let mut tries = 1;
        loop {
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(error) if retry_on(&error) && tries < self.attempts.max(1) => {
                    let wait = if self.jitter { jittered(delay) } else { delay };
                    if deadline.is_some_and(|(deadline, bound)| Instant::now() + wait + bound > deadline) {
                        tracing::warn!(
                            attempt = tries,
                            "no more retries: another try would not end before the deadline"
                        );
                        return Err(error);
                    }
                    before_retry(&error, tries, wait);
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(self.max_delay);
                    tries += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }
}

/// `delay` and a random part of it (0 to 255/256 more).
fn jittered(delay: Duration) -> Duration {
    let part = crate::password::random_bytes(1).map_or(128, |b| u32::from(b[0]));
    delay + delay * part / 256
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TargetErrorKind;
    use std::cell::Cell;

    fn quick(attempts: u32) -> Backoff {
        Backoff {
            attempts,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            jitter: false,
        }
    }

    #[tokio::test]
    async fn retries_retryable_errors_until_success() {
        let tries = Cell::new(0);
        let result = quick(5)
            .retry(|| async {
                tries.set(tries.get() + 1);
                if tries.get() < 3 {
                    Err(RotationError::target(TargetErrorKind::Unreachable, "db", "down"))
                } else {
                    Ok(7)
                }
            })
            .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(tries.get(), 3);
    }

    #[tokio::test]
    async fn stops_at_the_bound_and_on_permanent_errors() {
        let tries = Cell::new(0);
        let result: Result<(), _> = quick(4)
            .retry(|| async {
                tries.set(tries.get() + 1);
                Err(RotationError::target(TargetErrorKind::Unreachable, "db", "down"))
            })
            .await;
        assert!(result.is_err());
        assert_eq!(tries.get(), 4);

        tries.set(0);
        let result: Result<(), _> = quick(4)
            .retry(|| async {
                tries.set(tries.get() + 1);
                Err(RotationError::target(TargetErrorKind::AuthenticationFailed, "db", "wrong password"))
            })
            .await;
        assert!(result.is_err());
        assert_eq!(tries.get(), 1);
    }

    #[tokio::test]
    async fn retry_if_retries_what_it_is_told_and_starts_no_try_past_the_deadline() {
        let refused = || RotationError::target(TargetErrorKind::AuthenticationFailed, "db", "refused");
        let tries = Cell::new(0);
        let result: Result<(), _> = quick(5)
            .retry_if(RotationError::is_authentication_failure, None, || async {
                tries.set(tries.get() + 1);
                Err(refused())
            })
            .await;
        assert!(result.is_err());
        assert_eq!(tries.get(), 5, "an authentication failure is retried when asked");

        tries.set(0);
        let soon = Instant::now() + Duration::from_millis(50);
        let result: Result<(), _> = quick(5)
            .retry_if(RotationError::is_authentication_failure, Some((soon, Duration::from_secs(5))), || async {
                tries.set(tries.get() + 1);
                Err(refused())
            })
            .await;
        assert!(result.is_err());
        assert_eq!(tries.get(), 1, "a try that could not end before the deadline is not started");
    }
}
