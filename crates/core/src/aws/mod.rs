//! What every AWS client of the core shares: how its failures read.

pub(crate) mod arn;
pub(crate) mod config;
pub(crate) mod failure;
