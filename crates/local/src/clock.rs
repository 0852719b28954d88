//! The endpoint's clock: the system's, or a manual one that tests and the demo move forward.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

/// Where "now" comes from.
#[derive(Debug, Clone)]
pub enum Clock {
    /// The system clock.
    System,
    /// A clock that only moves when told to (`POST /_rotor/clock`).
    Manual(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    /// A manual clock starting at `start`.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self::Manual(Arc::new(Mutex::new(start)))
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Self::System => Utc::now(),
            Self::Manual(now) => *now.lock().expect("clock lock"),
        }
    }

    /// Moves a manual clock forward; `None` for the system clock, which cannot be moved.
    pub fn advance(&self, by: Duration) -> Option<DateTime<Utc>> {
        match self {
            Self::System => None,
            Self::Manual(now) => {
                let mut now = now.lock().expect("clock lock");
                *now += by;
                Some(*now)
            }
        }
    }
}

/// Seconds since the epoch, as the JSON protocol writes timestamps.
pub fn epoch_seconds(time: DateTime<Utc>) -> f64 {
    time.timestamp_millis() as f64 / 1000.0
}
