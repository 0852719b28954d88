//! Redis errors, classified by the driver's error kind and the server's error code into what a person must fix
//! and what a retry may fix.

use std::error::Error as _;
use std::sync::Arc;

use redis::{ErrorKind, RedisError, ServerErrorKind};
use rotation_core::{RotationError, TargetErrorKind};
use rotation_database::{LoginFields, TlsMode, tls_failed};

/// What testSecret's command is called in errors.
pub(crate) const PROBE: &str = "the test command (TEST_QUERY)";

/// Classifies a failed TLS handshake: rustls refused the server, or the port does not speak TLS.
pub(crate) fn tls_failure(error: std::io::Error, connection: &LoginFields, mode: TlsMode) -> RotationError {
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
pub fn classify(error: RedisError, connection: &LoginFields, mode: TlsMode, what: &str) -> RotationError {
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
        (ErrorKind::Io, _) if is_tls(&error) => (TargetErrorKind::Tls, tls_failed(mode)),
        (ErrorKind::Io, _) => (
            TargetErrorKind::Unreachable,
            format!("the connection broke during {what}; check the host, the port and the network"),
        ),
        (_, Some(code)) => (TargetErrorKind::Rejected, format!("{what} was refused: {code} {detail}")),
        _ => (TargetErrorKind::Rejected, format!("{what} failed: {}", error.category())),
    };
    RotationError::Target { kind, target: connection.address(), message, source: Some(Box::new(error)) }
}

/// Whether a driver error comes from the TLS layer. The driver keeps an I/O error behind an `Arc<dyn Error>`, which
/// stands in the source chain in the I/O error's place and hides its type from [`rotation_core::is_tls_error`]:
/// the error behind the `Arc` is looked at too.
fn is_tls(error: &RedisError) -> bool {
    let shared = error.source().and_then(|cause| cause.downcast_ref::<Arc<dyn std::error::Error + Send + Sync>>());
    rotation_core::is_tls_error(error) || shared.is_some_and(|inner| rotation_core::is_tls_error(&**inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test connection's password, which no message may hold.
    const PASSWORD: &str = "s3cret-Pa55word";

    fn connection() -> LoginFields {
        let secret = rotation_core::Secret::parse(
            "arn:test",
            &format!(r#"{{"engine":"redis","host":"cache.example","username":"app","password":"{PASSWORD}"}}"#),
        );
        LoginFields::parse(&secret, crate::defaults::ENGINES, crate::defaults::DEFAULT_PORT, None).unwrap()
    }

    /// The server's error answer `line`, read by the driver as it reads one off the wire.
    fn server(line: &str) -> RedisError {
        let value = redis::parse_redis_value(format!("-{line}\r\n").as_bytes()).expect("an error answer");
        value.extract_error().expect_err("an error answer")
    }

    /// Checks that `error` is a target error of `kind` whose message names `cause`, and that neither the message
    /// nor any cause chained after it holds the password.
    fn assert_target(error: &RotationError, kind: TargetErrorKind, cause: &str) {
        let text = rotation_core::with_causes(error);
        let RotationError::Target { kind: got, message, .. } = error else { panic!("not a target error: {text}") };
        assert_eq!((*got, message.contains(cause)), (kind, true), "{cause:?} in {text}");
        assert!(!text.contains(PASSWORD), "the password in {text}");
    }

    fn tls() -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        )
    }

    #[test]
    fn errors_are_classified_by_the_drivers_kind_and_the_servers_code() {
        use TargetErrorKind::*;
        let setuser = "ACL SETUSER (its own passwords)";
        let no_acl = "the server has no ACL users (Redis before 6, or requirepass only)";
        let table = [
            (
                RedisError::from((ErrorKind::AuthenticationFailed, "refused")),
                setuser,
                AuthenticationFailed,
                "user \"app\" was refused: a wrong password",
            ),
            (
                server("WRONGPASS invalid username-password pair or user is disabled."),
                "the login",
                AuthenticationFailed,
                "user \"app\" was refused: a wrong password",
            ),
            (
                server("NOPERM User app has no permissions to run the 'acl|setuser' command"),
                setuser,
                PermissionDenied,
                "user \"app\" may not run ACL SETUSER (its own passwords) (User app has no permissions to run the 'acl|setuser' command); allow it in its ACL rules",
            ),
            (
                server("NOPERM User app has no permissions to run the 'get' command"),
                PROBE,
                PermissionDenied,
                "or set TEST_QUERY to a command it may run",
            ),
            (server("ERR wrong number of arguments for 'auth' command"), "the login", Rejected, no_acl),
            (
                server("ERR AUTH <password> called without any password configured for the default user."),
                "the login",
                Rejected,
                no_acl,
            ),
            (server("ERR Client sent AUTH, but no password is set"), "the login", Rejected, no_acl),
            (
                server("ERR unknown command 'ACL', with args beginning with: 'GETUSER'"),
                "ACL GETUSER",
                Rejected,
                "ACL GETUSER was refused: ERR unknown command 'ACL'",
            ),
            (
                server("LOADING Redis is loading the dataset in memory"),
                setuser,
                Unreachable,
                "ACL SETUSER (its own passwords) failed (Redis is loading the dataset in memory); retrying later may succeed",
            ),
            (
                server("TRYAGAIN Multiple keys request during rehashing of slot"),
                setuser,
                Unreachable,
                "retrying later may succeed",
            ),
            (
                server("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."),
                setuser,
                Unreachable,
                "retrying later may succeed",
            ),
            (
                server("READONLY You can't write against a read only replica."),
                setuser,
                Rejected,
                "the server is a read-only replica; point the secret's host at the primary",
            ),
            (RedisError::from(tls()), "the login", Tls, "TLS in mode verify-full failed"),
            (
                RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
                setuser,
                Unreachable,
                "the connection broke during ACL SETUSER (its own passwords)",
            ),
            // A code neither the driver nor rotor tells apart: refused, with the server's code and words.
            (
                server("BUSYKEY Target key name already exists."),
                setuser,
                Rejected,
                "ACL SETUSER (its own passwords) was refused: BUSYKEY Target key name already exists.",
            ),
            (
                RedisError::from((ErrorKind::Client, "a client error")),
                setuser,
                Rejected,
                "ACL SETUSER (its own passwords) failed: client error",
            ),
        ];
        for (error, what, kind, cause) in table {
            assert_target(&classify(error, &connection(), TlsMode::VerifyFull, what), kind, cause);
        }
    }

    #[test]
    fn a_failed_tls_handshake_is_told_from_a_port_that_does_not_speak_tls() {
        let failed = tls_failure(tls(), &connection(), TlsMode::VerifyFull);
        assert_target(&failed, TargetErrorKind::Tls, "TLS in mode verify-full failed");
        let plaintext = tls_failure(std::io::ErrorKind::UnexpectedEof.into(), &connection(), TlsMode::VerifyFull);
        assert_target(&plaintext, TargetErrorKind::Unreachable, "is TLS on at this port (tls-port)?");
    }
}
