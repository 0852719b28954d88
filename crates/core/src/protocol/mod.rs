//! The two rotation protocols, drivers above the step contexts: Secrets Manager's (one step per invocation, the
//! guard, the repair) and Parameter Store's (the four steps in one invocation, under a lock), and the rotator that
//! enters them.

pub(crate) mod parameter_store;
pub(crate) mod rotator;
pub(crate) mod secrets_manager;
pub(crate) mod shared;
