//! The Secrets Manager (and Parameter Store) operations, with AWS's semantics, over the endpoint's state.
//!
//! Each operation takes the request's JSON and answers JSON or an [`Error`] with AWS's code and message.
//! Rotation (`RotateSecret`) is in [`crate::orchestrator`]; these are the synchronous parts.

mod events;
mod identity;
mod parameters;
mod password;
mod replicas;
mod request;
mod secrets;
mod tags;
mod versions;

pub use events::put_events;
pub use identity::Identity;
pub use parameters::{
    add_tags_to_resource, delete_parameter, describe_parameters, get_parameter, get_parameter_history, get_parameters,
    label_parameter_version, list_tags_for_resource, put_parameter, remove_tags_from_resource,
    unlabel_parameter_version,
};
pub use password::get_random_password;
pub use replicas::{
    READ_OPERATIONS, remove_regions_from_replication, replicate_secret_to_regions, signed_region, to_primary,
    to_replica,
};
pub use request::input;
pub use secrets::{
    create_secret, delete_secret, describe, describe_secret, list_secrets, restore_secret, update_secret,
};
pub use tags::{tag_resource, untag_resource};
pub use versions::{get_secret_value, list_secret_version_ids, put_secret_value, update_secret_version_stage};
