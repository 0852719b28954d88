//! EventBridge: `PutEvents` on a bus (the functions' "rotated" events, `X-Amz-Target: AWSEvents.<operation>`),
//! dispatched by name, and EventBridge Scheduler's schedules that rotate parameters.

mod put_events;
mod schedules;

pub use schedules::Scheduler;

use chrono::{DateTime, Utc};
use serde_json::Value;

use self::put_events::put_events;
use crate::error::Error;
use crate::store::Store;

/// Runs one EventBridge call, named by its whole target (`AWSEvents.PutEvents`), at `now`.
pub fn dispatch(store: &Store, now: DateTime<Utc>, operation: &str, body: &Value) -> Result<Value, Error> {
    match operation {
        "AWSEvents.PutEvents" => store.write(|s| put_events(s, now, body)),
        other => Err(Error::unknown_operation(other)),
    }
}
