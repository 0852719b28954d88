//! The stores a credential lives in, in the domain's words: Secrets Manager (a secret's versions and staging
//! labels, and the guard's reads) and Parameter Store (a SecureString's versions and labels, and a rotation's lock),
//! and the store-neutral handle the step contexts hold.

pub(crate) mod handle;
pub(crate) mod kind;
pub(crate) mod parameter_lock;
pub(crate) mod parameter_store;
pub(crate) mod secrets_manager;
