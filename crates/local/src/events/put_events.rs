//! EventBridge's `PutEvents`, enough for the functions' "rotated" events: entries are validated as EventBridge
//! does (1 to 10, `Source`, `DetailType` and a JSON-object `Detail` required, 256 KB at most) and kept (the last
//! 1,000) for `GET /_rotor/events`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::Error;
use crate::json::input;
use crate::state::{EventRecord, State};

/// How many events the endpoint keeps.
const KEPT: usize = 1000;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    source: Option<String>,
    detail_type: Option<String>,
    detail: Option<String>,
    event_bus_name: Option<String>,
    #[serde(default)]
    resources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutEventsInput {
    entries: Vec<Entry>,
}

/// `PutEvents`: each entry accepted or failed on its own, as EventBridge answers.
pub fn put_events(state: &mut State, now: DateTime<Utc>, body: &Value) -> Result<Value, Error> {
    let request: PutEventsInput = input(body)?;
    if request.entries.is_empty() || request.entries.len() > 10 {
        return Err(Error::parameter("ValidationException", "Entries must hold 1 to 10 entries."));
    }
    let mut answers = Vec::new();
    let mut failed = 0;
    for entry in request.entries {
        let detail = entry.detail.as_deref().and_then(|d| serde_json::from_str::<Value>(d).ok());
        let problem = match (&entry.source, &entry.detail_type, &detail) {
            (None, _, _) => Some("Parameter Source is not valid. Reason: Source is a required argument."),
            (_, None, _) => Some("Parameter DetailType is not valid. Reason: DetailType is a required argument."),
            (_, _, Some(Value::Object(_))) if entry.detail.as_ref().is_some_and(|d| d.len() <= 262_144) => None,
            _ => Some("Detail is malformed."),
        };
        if let Some(message) = problem {
            failed += 1;
            answers.push(json!({"ErrorCode": "InvalidArgument", "ErrorMessage": message}));
            continue;
        }
        let id = uuid::Uuid::new_v4().to_string();
        state.events.push(EventRecord {
            id: id.clone(),
            time: now,
            bus: entry.event_bus_name.unwrap_or_else(|| "default".into()),
            source: entry.source.unwrap_or_default(),
            detail_type: entry.detail_type.unwrap_or_default(),
            resources: entry.resources,
            detail: detail.unwrap_or_default(),
        });
        answers.push(json!({"EventId": id}));
    }
    let excess = state.events.len().saturating_sub(KEPT);
    state.events.drain(..excess);
    Ok(json!({"FailedEntryCount": failed, "Entries": answers}))
}
