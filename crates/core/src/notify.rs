//! "Rotated" notifications: after a successful promotion, one EventBridge event per rotation (opt-in with
//! `ROTATION_EVENT_BUS`), so consumers refresh the credential they cache. The event names the secret (or parameter),
//! the new version, the target and the time, never a value.

use std::sync::{Arc, OnceLock};

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::json;

use crate::config::Env;

/// The event's `source`.
pub const EVENT_SOURCE: &str = "rotor";
/// The event's `detail-type`.
pub const DETAIL_TYPE: &str = "Secret Rotated";

/// What rotated: a secret's new version, or a parameter's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated<'a> {
    /// `secretsmanager` or `ssm`.
    pub store: &'static str,
    /// The secret's ARN or the parameter's name.
    pub id: &'a str,
    /// The new current version (the token, or the parameter's version number).
    pub version: String,
    /// The target's name.
    pub target: &'static str,
}

/// Publishes "rotated" events to one bus; built from `ROTATION_EVENT_BUS` (a bus name or ARN), its client on the
/// first event.
#[derive(Debug, Clone)]
pub struct Notifier {
    bus: String,
    sdk_config: aws_config::SdkConfig,
    client: Arc<OnceLock<Client>>,
}

impl Notifier {
    /// The notifier `ROTATION_EVENT_BUS` asks for; `None` when it is unset.
    pub fn from_env(env: &Env, sdk_config: &aws_config::SdkConfig) -> Option<Self> {
        let bus = env.get("ROTATION_EVENT_BUS")?;
        Some(Self { bus, sdk_config: sdk_config.clone(), client: Arc::default() })
    }

    /// The bus events go to.
    pub fn bus(&self) -> &str {
        &self.bus
    }

    /// Publishes one event. A failure is logged, never returned: the rotation has already succeeded, and the
    /// credential consumers read is the new one either way.
    pub async fn rotated(&self, what: &Rotated<'_>) {
        let client = self.client.get_or_init(|| Client::new(&self.sdk_config));
        let detail = json!({
            "store": what.store,
            "id": what.id,
            "version": what.version,
            "target": what.target,
            "time": chrono_now(),
        });
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(EVENT_SOURCE)
            .detail_type(DETAIL_TYPE)
            .resources(what.id)
            .detail(detail.to_string())
            .build();
        match client.put_events().entries(entry).send().await {
            Ok(out) if out.failed_entry_count() == 0 => {
                tracing::info!(bus = %self.bus, id = %what.id, "published the rotated event")
            }
            Ok(out) => {
                let code = out.entries().first().and_then(|e| e.error_code()).unwrap_or("unknown").to_owned();
                tracing::warn!(bus = %self.bus, id = %what.id, code, "EventBridge refused the rotated event")
            }
            Err(error) => tracing::warn!(
                bus = %self.bus,
                id = %what.id,
                error = %aws_sdk_eventbridge::error::DisplayErrorContext(&error),
                "the rotated event could not be published; check events:PutEvents on the bus and the network path"
            ),
        }
    }
}

/// Now, RFC 3339 in UTC.
fn chrono_now() -> String {
    use aws_sdk_eventbridge::primitives::{DateTime, DateTimeFormat};
    DateTime::from(std::time::SystemTime::now()).fmt(DateTimeFormat::DateTime).unwrap_or_default()
}
