//! What the Redis and Valkey engine accepts in a secret, and its defaults.

/// The engines this target accepts in the secret's `engine` field.
pub const ENGINES: &[&str] = &["redis", "valkey"];
/// Redis's default port.
pub const DEFAULT_PORT: u16 = 6379;
/// testSecret's default probe.
pub const DEFAULT_TEST_COMMAND: &str = "PING";
