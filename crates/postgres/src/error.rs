//! PostgreSQL errors, classified by SQLSTATE into what a person must fix and what a retry may fix.

use rotation_core::{RotationError, TargetErrorKind};
use rotation_database::{CONNECTION_FAILED, Connection, TlsMode, tls_failed};
use tokio_postgres::error::{DbError, SqlState};

/// Classifies an error of a connection as `connection.username`; the message names the cause and the fix.
pub fn classify(error: tokio_postgres::Error, connection: &Connection, mode: TlsMode) -> RotationError {
    let target = connection.address();
    let user = &connection.username;
    let (kind, message) = match error.code() {
        Some(code) if *code == SqlState::INVALID_PASSWORD || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
            (
                TargetErrorKind::AuthenticationFailed,
                format!(
                    "user {user:?} was refused ({}): a wrong password, or pg_hba.conf does not let it in",
                    code.code()
                ),
            )
        }
        Some(code) if *code == SqlState::INSUFFICIENT_PRIVILEGE => (
            TargetErrorKind::PermissionDenied,
            format!("user {user:?} lacks a privilege: {}; grant it (for the admin: CREATEROLE)", db_message(&error)),
        ),
        Some(code) if *code == SqlState::INVALID_CATALOG_NAME => {
            (TargetErrorKind::Rejected, format!("{}; check the secret's dbname", db_message(&error)))
        }
        Some(code) if *code == SqlState::LOCK_NOT_AVAILABLE => (
            TargetErrorKind::Unreachable,
            format!(
                "{} ({}): another session holds a lock the statement needs, often an open transaction that changed the same role (rotor waits half its statement time-out for a lock); retrying later may succeed, and if it does not, end that session (see pg_stat_activity and pg_locks)",
                db_message(&error),
                code.code()
            ),
        ),
        Some(code)
            if [
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::TOO_MANY_CONNECTIONS,
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::QUERY_CANCELED,
            ]
            .contains(code) =>
        {
            (
                TargetErrorKind::Unreachable,
                format!("{} ({}); retrying later may succeed", db_message(&error), code.code()),
            )
        }
        Some(code) => (TargetErrorKind::Rejected, format!("{} ({})", db_message(&error), code.code())),
        // The cause itself travels as the error's source, which the Lambda error message chains after this.
        None if is_tls(&error) => (TargetErrorKind::Tls, tls_failed(mode)),
        None => (TargetErrorKind::Unreachable, CONNECTION_FAILED.to_owned()),
    };
    RotationError::Target { kind, target, message, source: Some(Box::new(error)) }
}

/// A GRANT (01007) or REVOKE (01006) the server skipped in part or whole, named with the fix.
pub fn not_applied(connection: &Connection, first: &DbError, more: usize, changing: Option<&str>) -> RotationError {
    let admin = &connection.username;
    let granting = *first.code() == SqlState::WARNING_PRIVILEGE_NOT_GRANTED;
    let verb = if granting { "grant" } else { "revoke" };
    let what = changing.map_or_else(|| format!("a privilege (a {verb})"), str::to_owned);
    let more = if more > 0 { format!(" (and {more} more warnings like it)") } else { String::new() };
    let by_hand = if granting { "" } else { ", or revoke it by hand" };
    RotationError::target(
        TargetErrorKind::PermissionDenied,
        connection.address(),
        format!(
            "{admin:?} could not {verb} {what}: PostgreSQL answered with a warning, {:?} ({}){more}, as it does for a privilege held without the right to pass it on; rotor does not take it as done: grant the privilege to {admin:?} WITH GRANT OPTION (as the object's owner or a superuser){by_hand}, then retry",
            first.message(),
            first.code().code()
        ),
    )
}

fn db_message(error: &tokio_postgres::Error) -> String {
    error.as_db_error().map(|db| db.message().to_owned()).unwrap_or_else(|| error.to_string())
}

/// A TLS failure: rustls's error in the chain, or the driver's own TLS refusal ("server does not support TLS"),
/// which tokio-postgres reports with no cause and no public kind, only its `Display`.
fn is_tls(error: &tokio_postgres::Error) -> bool {
    rotation_core::is_tls_error(error) || error.to_string().starts_with("error performing TLS handshake")
}
