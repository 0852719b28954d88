//! MongoDB driver errors, classified by the driver's error kind and the server's error code into what a person
//! must fix and what a retry may fix. Only fixed server texts reach a message: a server's `errmsg` may quote a
//! command's fields.

use mongodb::error::{Error, ErrorKind};
use rotation_core::{RotationError, TargetErrorKind};
use rotation_database::{CONNECTION_FAILED, LoginFields, TlsMode, tls_failed};

/// What testSecret's command is called in errors.
pub(crate) const PROBE: &str = "the test command (TEST_QUERY)";

/// MongoDB's error codes rotor tells apart (`src/mongo/base/error_codes.yml`).
pub(crate) mod code {
    /// `Unauthorized`: the user lacks the action.
    pub const UNAUTHORIZED: i32 = 13;
    /// `AuthenticationFailed`.
    pub const AUTHENTICATION_FAILED: i32 = 18;
    /// `BadValue`.
    pub const BAD_VALUE: i32 = 2;
    /// `FailedToParse`.
    pub const FAILED_TO_PARSE: i32 = 9;
    /// `IDLUnknownField`: a field the command does not take.
    pub const UNKNOWN_FIELD: i32 = 40415;
    /// `NotWritablePrimary`.
    pub const NOT_WRITABLE_PRIMARY: i32 = 10107;
    /// `NotPrimaryNoSecondaryOk`.
    pub const NOT_PRIMARY_NO_SECONDARY_OK: i32 = 13435;
}

/// The server's code of a command error, if the error is one.
pub(crate) fn command_code(error: &Error) -> Option<i32> {
    match error.kind.as_ref() {
        ErrorKind::Command(command) => Some(command.code),
        _ => None,
    }
}

/// Whether the driver's text says the TLS layer failed (the driver reports a handshake that failed while it
/// selected the server as text only).
fn says_tls(text: &str) -> bool {
    let text = text.to_ascii_lowercase();
    [
        "certificate",
        "tls",
        "handshake",
        "invalidcontenttype",
        "corrupt message",
        "unknownissuer",
        "peer sent",
        "peer is incompatible",
        "peerincompatible",
    ]
    .iter()
    .any(|word| text.contains(word))
}

/// Whether the driver's I/O error comes from rustls.
fn io_is_tls(error: &std::io::Error) -> bool {
    rotation_core::is_tls_error(error) || error.get_ref().is_some_and(|inner| says_tls(&inner.to_string()))
}

/// Classifies a driver error of `what` as `connection.username`; the message names the cause and the fix.
pub(crate) fn classify(error: Error, connection: &LoginFields, mode: TlsMode, what: &str) -> RotationError {
    let user = &connection.username;
    let db = connection.dbname.as_deref().unwrap_or(crate::DEFAULT_DBNAME);
    let (kind, message) = match error.kind.as_ref() {
        ErrorKind::Authentication { .. } => (
            TargetErrorKind::AuthenticationFailed,
            format!(
                "user {user:?} (authentication database {db:?}) was refused: a wrong password, no such user, or the secret's dbname is not the user's authentication database"
            ),
        ),
        ErrorKind::Command(command) => match command.code {
            code::AUTHENTICATION_FAILED => (
                TargetErrorKind::AuthenticationFailed,
                format!("user {user:?} (authentication database {db:?}) was refused: a wrong password, or no such user"),
            ),
            code::UNAUTHORIZED if what == PROBE => (
                TargetErrorKind::PermissionDenied,
                format!("user {user:?} may not run {what}; grant it, or set TEST_QUERY to a command it may run"),
            ),
            code::UNAUTHORIZED => (
                TargetErrorKind::PermissionDenied,
                format!(
                    "user {user:?} may not run {what} ({}); a single user needs a role with the changeOwnPassword action on its database, the admin userAdminAnyDatabase (or userAdmin on the users' database)",
                    unauthorized_action(&command.message).unwrap_or("an action it lacks")
                ),
            ),
            code::NOT_WRITABLE_PRIMARY | code::NOT_PRIMARY_NO_SECONDARY_OK => (
                TargetErrorKind::Rejected,
                "the server is not the primary; point the secret's host at the cluster endpoint (DocumentDB) or the primary".to_owned(),
            ),
            code => (TargetErrorKind::Rejected, format!("{what} was refused by the server: {} (code {code})", command.code_name)),
        },
        // The text names the address: a host called `tls-...` must not read as a failed handshake.
        ErrorKind::ServerSelection { message, .. } if says_tls(&message.replace(&connection.host, "")) => {
            (TargetErrorKind::Tls, tls_failed(mode))
        }
        ErrorKind::ServerSelection { .. } => (
            TargetErrorKind::Unreachable,
            format!("no MongoDB server answered within the connect time-out (CONNECT_TIMEOUT_SECONDS); {CONNECTION_FAILED}"),
        ),
        ErrorKind::Io(io) if io_is_tls(io) => (TargetErrorKind::Tls, tls_failed(mode)),
        ErrorKind::Io(_) | ErrorKind::ConnectionPoolCleared { .. } => (
            TargetErrorKind::Unreachable,
            format!("the connection broke during {what}; check the host, the port and the network"),
        ),
        ErrorKind::DnsResolve { .. } => (TargetErrorKind::Unreachable, format!("the host name does not resolve; {CONNECTION_FAILED}")),
        ErrorKind::InvalidTlsConfig { .. } => (TargetErrorKind::Tls, tls_failed(mode)),
        ErrorKind::IncompatibleServer { .. } => (
            TargetErrorKind::Rejected,
            "the server's wire version is older than the MongoDB driver supports (MongoDB 4.0, DocumentDB 3.6 and later)".to_owned(),
        ),
        _ => (TargetErrorKind::Rejected, format!("{what} failed ({})", kind_name(&error))),
    };
    // The driver's own text of a server's answer (an authentication or command error) holds the server's message
    // and its whole reply: only the code and name above are kept. Failures below the protocol (the network, TLS,
    // server selection) keep the driver's error as their cause.
    let source: Option<Box<dyn std::error::Error + Send + Sync>> = match error.kind.as_ref() {
        ErrorKind::Authentication { .. } | ErrorKind::Command(_) => None,
        _ => Some(Box::new(error)),
    };
    RotationError::Target { kind, target: connection.address(), message, source }
}

/// The action a fixed `not authorized ... (action: X)` text names, when it names one.
fn unauthorized_action(errmsg: &str) -> Option<&str> {
    let start = errmsg.find("(action: ")? + "(action: ".len();
    let action = &errmsg[start..];
    let action = &action[..action.find(')')?];
    action.chars().all(|c| c.is_ascii_alphanumeric()).then_some(action)
}

/// A short name of the driver's error kind, for the errors rotor has no better word for.
fn kind_name(error: &Error) -> &'static str {
    match error.kind.as_ref() {
        ErrorKind::InvalidArgument { .. } => "an invalid argument",
        ErrorKind::InvalidResponse { .. } => "an invalid response",
        ErrorKind::Internal { .. } => "an internal driver error",
        ErrorKind::Shutdown => "the client shut down",
        _ => "a driver error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_is_read_from_the_fixed_text_only() {
        let text = "not authorized on admin to execute command (action: changeOwnPassword)";
        assert_eq!(unauthorized_action(text), Some("changeOwnPassword"));
        assert_eq!(unauthorized_action("not authorized (action: x\"; pwd)"), None);
        assert_eq!(unauthorized_action("not authorized"), None);
    }

    #[test]
    fn tls_failures_are_recognised_in_the_drivers_text() {
        assert!(says_tls("Server selection timeout: ... invalid peer certificate: UnknownIssuer"));
        assert!(says_tls("received corrupt message of type InvalidContentType"));
        assert!(!says_tls("Connection refused (os error 111)"));
    }
}
