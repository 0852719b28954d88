//! The two rotation protocols: Secrets Manager's (one step per invocation) and Parameter Store's (four in one).

pub(crate) mod parameter_store;
pub(crate) mod secrets_manager;
