//! PostgreSQL errors, classified by SQLSTATE into what a person must fix and what a retry may fix.

use rotation_core::{RotationError, TargetErrorKind};
use rotation_database::{CONNECTION_FAILED, LoginFields, TlsMode, tls_failed};
use tokio_postgres::error::SqlState;

/// Classifies an error of a connection as `connection.username`; the message names the cause and the fix.
pub fn classify(error: tokio_postgres::Error, connection: &LoginFields, mode: TlsMode) -> RotationError {
    let (kind, message) = match error.code() {
        Some(code) => by_code(code, &db_message(&error), &connection.username),
        // The cause itself travels as the error's source, which the Lambda error message chains after this.
        None if is_tls(&error) => (TargetErrorKind::Tls, tls_failed(mode)),
        None => (TargetErrorKind::Unreachable, CONNECTION_FAILED.to_owned()),
    };
    RotationError::Target { kind, target: connection.address(), message, source: Some(Box::new(error)) }
}

/// What a server's refusal with SQLSTATE `code` and its `message` is, as `user`: its kind, and a message that names
/// the cause and the fix. Apart from [`classify`] because the driver's `DbError` cannot be built outside it, and
/// the codes are what the tests pin.
fn by_code(code: &SqlState, message: &str, user: &str) -> (TargetErrorKind, String) {
    match code {
        _ if *code == SqlState::INVALID_PASSWORD || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION => (
            TargetErrorKind::AuthenticationFailed,
            format!("user {user:?} was refused ({}): a wrong password, or pg_hba.conf does not let it in", code.code()),
        ),
        _ if *code == SqlState::INSUFFICIENT_PRIVILEGE => (
            TargetErrorKind::PermissionDenied,
            format!("user {user:?} lacks a privilege: {message}; grant it (for the admin: CREATEROLE)"),
        ),
        _ if *code == SqlState::INVALID_CATALOG_NAME => {
            (TargetErrorKind::Rejected, format!("{message}; check the secret's dbname"))
        }
        _ if *code == SqlState::LOCK_NOT_AVAILABLE => (
            TargetErrorKind::Unreachable,
            format!(
                "{message} ({}): another session holds a lock the statement needs, often an open transaction that changed the same role (rotor waits half its statement time-out for a lock); retrying later may succeed, and if it does not, end that session (see pg_stat_activity and pg_locks)",
                code.code()
            ),
        ),
        _ if [
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::TOO_MANY_CONNECTIONS,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::QUERY_CANCELED,
        ]
        .contains(code) =>
        {
            (TargetErrorKind::Unreachable, format!("{message} ({}); retrying later may succeed", code.code()))
        }
        _ => (TargetErrorKind::Rejected, format!("{message} ({})", code.code())),
    }
}

/// A GRANT (01007) or REVOKE (01006) the server skipped in part or whole (the warning's SQLSTATE `code` and
/// `message`), named with the fix.
pub fn not_applied(
    connection: &LoginFields,
    code: &SqlState,
    message: &str,
    more: usize,
    changing: Option<&str>,
) -> RotationError {
    let admin = &connection.username;
    let granting = *code == SqlState::WARNING_PRIVILEGE_NOT_GRANTED;
    let verb = if granting { "grant" } else { "revoke" };
    let what = changing.map_or_else(|| format!("a privilege (a {verb})"), str::to_owned);
    let more = if more > 0 { format!(" (and {more} more warnings like it)") } else { String::new() };
    let by_hand = if granting { "" } else { ", or revoke it by hand" };
    RotationError::target(
        TargetErrorKind::PermissionDenied,
        connection.address(),
        format!(
            "{admin:?} could not {verb} {what}: PostgreSQL answered with a warning, {:?} ({}){more}, as it does for a privilege held without the right to pass it on; rotor does not take it as done: grant the privilege to {admin:?} WITH GRANT OPTION (as the object's owner or a superuser){by_hand}, then retry",
            message,
            code.code()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The test connection's password, which no message may hold.
    const PASSWORD: &str = "s3cret-Pa55word";

    fn connection() -> LoginFields {
        let secret = rotation_core::Secret::parse(
            "arn:test",
            &format!(r#"{{"engine":"postgres","host":"db.example","username":"app","password":"{PASSWORD}"}}"#),
        );
        LoginFields::parse(&secret, crate::ENGINES, crate::DEFAULT_PORT, Some(crate::DEFAULT_DBNAME)).unwrap()
    }

    /// Checks that `error` is a target error of `kind` whose message names `cause`, and that neither the message
    /// nor any cause chained after it holds the password.
    fn assert_target(error: &RotationError, kind: TargetErrorKind, cause: &str) {
        let text = rotation_core::with_causes(error);
        let RotationError::Target { kind: got, message, .. } = error else { panic!("not a target error: {text}") };
        assert_eq!((*got, message.contains(cause)), (kind, true), "{cause:?} in {text}");
        assert!(!text.contains(PASSWORD), "the password in {text}");
    }

    #[test]
    fn server_errors_are_classified_by_their_sqlstate() {
        use TargetErrorKind::*;
        let table = [
            ("28P01", AuthenticationFailed, "user \"app\" was refused (28P01): a wrong password"),
            ("28000", AuthenticationFailed, "user \"app\" was refused (28000): a wrong password"),
            ("42501", PermissionDenied, "user \"app\" lacks a privilege: the server's words; grant it"),
            ("3D000", Rejected, "the server's words; check the secret's dbname"),
            ("55P03", Unreachable, "the server's words (55P03): another session holds a lock"),
            ("57P03", Unreachable, "the server's words (57P03); retrying later may succeed"),
            ("53300", Unreachable, "the server's words (53300); retrying later may succeed"),
            ("57P01", Unreachable, "the server's words (57P01); retrying later may succeed"),
            ("57P02", Unreachable, "the server's words (57P02); retrying later may succeed"),
            ("57014", Unreachable, "the server's words (57014); retrying later may succeed"),
            // duplicate_object, a code rotor does not tell apart, and a code the driver does not know: refused,
            // with the server's words and the code.
            ("42710", Rejected, "the server's words (42710)"),
            ("ZZ999", Rejected, "the server's words (ZZ999)"),
        ];
        for (code, kind, cause) in table {
            let (got, message) = by_code(&SqlState::from_code(code), "the server's words", "app");
            assert_eq!((got, message.contains(cause)), (kind, true), "{code}: {cause:?} in {message}");
            assert!(!message.contains(PASSWORD), "{message}");
        }
    }

    #[test]
    fn a_driver_error_without_a_sqlstate_is_a_connection_failure() {
        let error = "port=not-a-number".parse::<tokio_postgres::Config>().unwrap_err();
        assert_eq!(error.code(), None);
        let error = classify(error, &connection(), TlsMode::VerifyFull);
        assert_target(&error, TargetErrorKind::Unreachable, CONNECTION_FAILED);
    }

    #[test]
    fn a_grant_or_revoke_answered_with_a_warning_is_refused_naming_the_fix() {
        let what = "SELECT ON TABLE public.t to \"app\"";
        let table = [
            ("01007", Some(what), 0, "could not grant SELECT ON TABLE public.t to \"app\""),
            (
                "01007",
                None,
                2,
                "could not grant a privilege (a grant): PostgreSQL answered with a warning, \"the server's words\" (01007) (and 2 more warnings like it)",
            ),
            ("01006", Some(what), 0, "could not revoke SELECT ON TABLE public.t to \"app\""),
            (
                "01006",
                None,
                0,
                "WITH GRANT OPTION (as the object's owner or a superuser), or revoke it by hand, then retry",
            ),
        ];
        for (code, changing, more, cause) in table {
            let error = not_applied(&connection(), &SqlState::from_code(code), "the server's words", more, changing);
            assert_target(&error, TargetErrorKind::PermissionDenied, cause);
        }
    }
}
