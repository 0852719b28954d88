//! rotation-database: what rotor's database targets share: the secret's connection fields, the rotation strategy,
//! the TLS mode and the RDS roots, the confused-deputy check, the function's configuration, admin loading and
//! pinning, RDS lookup, the single-user and testSecret flows, and `rotatectl doctor`'s checks.

mod admin;
mod alternating;
mod config;
mod doctor;
mod engine;
mod login;
mod managed;
mod pending;
mod rds;
mod strategy;
mod target;
mod tls;
mod tls_mode;

pub use admin::{Admin, check_admin_allowed, check_same_server, load_admin, refuse_privileged};
pub use alternating::{CLONE_SUFFIX, base_username, other_username};
pub use config::{AdminSecrets, ArnPatterns, DatabaseConfig, TlsPolicy};
pub use doctor::doctor_checks;
pub use engine::{Engine, Purpose, Session, fmt_session, proven_by_engine_login, proven_by_login};
pub use login::{CONNECTION_FAILED, LoginFields, no_answer, tls_failed};
pub use managed::{AdminEndpoint, MAX_WAIT_VARIABLE, ManagedLogin, password_of};
pub use pending::{check_same_target, next_secret};
pub use rds::{Rds, RdsEndpoint};
pub use strategy::Strategy;
pub use target::DatabaseTarget;
pub use tls::{RDS_CA_BUNDLE, TlsRoots, rds_roots};
pub use tls_mode::TlsMode;
