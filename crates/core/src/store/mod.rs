//! The stores a credential lives in: Secrets Manager and Parameter Store.

pub(crate) mod parameter_store;
pub(crate) mod secrets_manager;
