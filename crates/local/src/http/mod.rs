//! The HTTP layer: the endpoint's routes, which hand each request to its service by its target, and the
//! perimeter every request passes first.

mod endpoint;
mod perimeter;
mod sigv4;

pub use endpoint::{Config, Endpoint};
