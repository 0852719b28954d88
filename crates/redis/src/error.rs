//! Redis errors, classified by the driver's error kind and the server's error code into what a person must fix
//! and what a retry may fix.

use redis::{ErrorKind, RedisError, ServerErrorKind};
use rotation_core::{RotationError, TargetErrorKind};
use rotation_database::{Connection, TlsMode, tls_failed};

/// What testSecret's command is called in errors.
pub(crate) const PROBE: &str = "the test command (TEST_QUERY)";

pub(crate) fn tls_failure(error: std::io::Error, connection: &Connection, mode: TlsMode) -> RotationError {
    let tls = rotation_core::is_tls_error(&error);
    RotationError::Target {
        kind: if tls { TargetErrorKind::Tls } else { TargetErrorKind::Unreachable },
        target: connection.address(),
        message: if tls {
            tls_failed(mode)
        } else {
            format!(
                "the TLS handshake in mode {} did not complete: is TLS on at this port (tls-port)? rotor never falls back to plaintext",
                mode.as_str()
            )
        },
        source: Some(Box::new(error)),
    }
}

/// Classifies a Redis error of `what` as `connection.username`; the message names the cause and the fix. The
/// driver's error never holds a command's arguments, only the server's answer.
pub fn classify(error: RedisError, connection: &Connection, mode: TlsMode, what: &str) -> RotationError {
    let user = &connection.username;
    let detail = error.detail().unwrap_or_default().to_owned();
    let (kind, message) = match (error.kind(), error.code()) {
        (ErrorKind::AuthenticationFailed, _) | (_, Some("WRONGPASS")) => (
            TargetErrorKind::AuthenticationFailed,
            format!("user {user:?} was refused: a wrong password, or no such user, or the user is off"),
        ),
        (_, Some("NOPERM")) => (
            TargetErrorKind::PermissionDenied,
            if what == PROBE {
                format!("user {user:?} may not run {what} ({detail}); allow it in the user's ACL rules, or set TEST_QUERY to a command it may run")
            } else {
                format!(
                    "user {user:?} may not run {what} ({detail}); allow it in its ACL rules (the admin needs +acl, a single user +acl|setuser)"
                )
            },
        ),
        (_, Some("ERR"))
            if detail.contains("wrong number of arguments for 'auth'")
                || detail.contains("without any password configured")
                || detail.contains("no password is set") =>
        {
            (
                TargetErrorKind::Rejected,
                "the server has no ACL users (Redis before 6, or requirepass only): rotor rotates ACL users; upgrade to Redis 6 or later and create the user with ACL SETUSER".to_owned(),
            )
        }
        (ErrorKind::Server(ServerErrorKind::BusyLoading | ServerErrorKind::TryAgain | ServerErrorKind::MasterDown), _) => {
            (TargetErrorKind::Unreachable, format!("{what} failed ({detail}); retrying later may succeed"))
        }
        (ErrorKind::Server(ServerErrorKind::ReadOnly), _) => (
            TargetErrorKind::Rejected,
            "the server is a read-only replica; point the secret's host at the primary".to_owned(),
        ),
        (ErrorKind::Io, _) if rotation_core::is_tls_error(&error) => (TargetErrorKind::Tls, tls_failed(mode)),
        (ErrorKind::Io, _) => (
            TargetErrorKind::Unreachable,
            format!("the connection broke during {what}; check the host, the port and the network"),
        ),
        (_, Some(code)) => (TargetErrorKind::Rejected, format!("{what} was refused: {code} {detail}")),
        _ => (TargetErrorKind::Rejected, format!("{what} failed: {}", error.category())),
    };
    RotationError::Target { kind, target: connection.address(), message, source: Some(Box::new(error)) }
}
