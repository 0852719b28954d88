//! MySQL/MariaDB errors, classified by the server's error number into what a person must fix and what a retry
//! may fix; a server message that echoes a statement loses its credentials first.

use rotation_core::{RotationError, TargetErrorKind};
use rotation_database::{Connection, TlsMode};

/// Server error codes rotor tells apart.
pub mod codes {
    /// `ER_ACCESS_DENIED_ERROR`: wrong user or password.
    pub const ACCESS_DENIED: u16 = 1045;
    /// `ER_DBACCESS_DENIED_ERROR`: no access to the database.
    pub const DB_ACCESS_DENIED: u16 = 1044;
    /// `ER_SPECIFIC_ACCESS_DENIED_ERROR`: a missing privilege (CREATE USER, ...).
    pub const SPECIFIC_ACCESS_DENIED: u16 = 1227;
    /// `ER_TABLEACCESS_DENIED_ERROR`.
    pub const TABLE_ACCESS_DENIED: u16 = 1142;
    /// `ER_PARSE_ERROR`: the server does not know a statement (MySQL 8 syntax on MariaDB).
    pub const PARSE_ERROR: u16 = 1064;
    /// `ER_BAD_DB_ERROR`: unknown database.
    pub const BAD_DB: u16 = 1049;
    /// `ER_CON_COUNT_ERROR`: too many connections.
    pub const TOO_MANY_CONNECTIONS: u16 = 1040;
    /// `ER_SERVER_SHUTDOWN`.
    pub const SHUTDOWN: u16 = 1053;
    /// `ER_PASSWORD_ANONYMOUS_USER`, `ER_PASSWORD_NOT_ALLOWED`: own password changes refused.
    pub const PASSWORD_NOT_ALLOWED: u16 = 1132;
    /// MySQL's `ER_ACCOUNT_HAS_BEEN_LOCKED`: the account is locked (`ACCOUNT LOCK`).
    pub const ACCOUNT_LOCKED: u16 = 3118;
    /// MariaDB's `ER_ACCOUNT_HAS_BEEN_LOCKED`.
    pub const ACCOUNT_LOCKED_MARIADB: u16 = 4151;
}

/// What rotor says of a locked account (`ACCOUNT LOCK`), wherever it meets one: it never re-enables it.
pub const LOCKED_FIX: &str = "rotor does not re-enable an account an operator locked: unlock it (ALTER USER ... ACCOUNT UNLOCK) or turn rotation off for this secret";

/// The error with every one of `secrets` cut out of a server message.
pub(crate) fn redact(error: mysql_async::Error, secrets: &[String]) -> mysql_async::Error {
    match error {
        mysql_async::Error::Server(mut server) => {
            for secret in secrets.iter().filter(|s| !s.is_empty()) {
                server.message = server.message.replace(secret.as_str(), "<redacted>");
            }
            // A parse error quotes the statement from where it failed: nothing after "near" is rotor's to show.
            if server.code == codes::PARSE_ERROR
                && let Some(at) = server.message.find(" near ")
            {
                server.message.truncate(at);
                server.message.push_str(" near <statement redacted>");
            }
            mysql_async::Error::Server(server)
        }
        other => other,
    }
}

/// Classifies an error of a connection as `connection.username`; the message names the cause and the fix.
pub fn classify(error: mysql_async::Error, connection: &Connection, mode: TlsMode) -> RotationError {
    let user = &connection.username;
    let (kind, message) = match &error {
        mysql_async::Error::Server(server) => match server.code {
            codes::ACCESS_DENIED => (
                TargetErrorKind::AuthenticationFailed,
                format!(
                    "user {user:?} was refused ({}): a wrong password, or no account for this client's host",
                    server.code
                ),
            ),
            codes::DB_ACCESS_DENIED
            | codes::SPECIFIC_ACCESS_DENIED
            | codes::TABLE_ACCESS_DENIED
            | codes::PASSWORD_NOT_ALLOWED => (
                TargetErrorKind::PermissionDenied,
                format!(
                    "user {user:?} lacks a privilege ({}): {}; grant it (for the admin: CREATE USER, GRANT OPTION, and SELECT on the grant tables in mysql.*)",
                    server.code, server.message
                ),
            ),
            codes::ACCOUNT_LOCKED | codes::ACCOUNT_LOCKED_MARIADB => {
                (TargetErrorKind::Rejected, format!("user {user:?} is locked ({}); {}", server.code, LOCKED_FIX))
            }
            codes::BAD_DB => {
                (TargetErrorKind::Rejected, format!("{} ({}); check the secret's dbname", server.message, server.code))
            }
            codes::TOO_MANY_CONNECTIONS | codes::SHUTDOWN => (
                TargetErrorKind::Unreachable,
                format!("{} ({}); retrying later may succeed", server.message, server.code),
            ),
            code => (TargetErrorKind::Rejected, format!("{} ({code})", server.message)),
        },
        error
            if matches!(error, mysql_async::Error::Io(mysql_async::IoError::Tls(_)))
                || rotation_core::is_tls_error(error) =>
        {
            (TargetErrorKind::Tls, rotation_database::tls_failed(mode))
        }
        mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer) => (
            TargetErrorKind::Tls,
            format!(
                "the server does not offer TLS and the mode is {}; enable TLS on the server, or set ssl=false in the secret to send credentials in the clear (rotor never falls back to plaintext)",
                mode.as_str()
            ),
        ),
        mysql_async::Error::Io(_) => (TargetErrorKind::Unreachable, rotation_database::CONNECTION_FAILED.to_owned()),
        // Driver errors can hold row values in their Debug form: only their Display reaches the message.
        other => (TargetErrorKind::Rejected, other.to_string()),
    };
    RotationError::Target { kind, target: connection.address(), message, source: Some(Box::new(error)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_lose_every_credential_text_and_the_echoed_statement() {
        let secrets = crate::statements::credential_texts("s3cret'pw");
        let echo = format!(
            "You have an error in your SQL syntax; check the manual near '{}' RETAIN CURRENT PASSWORD' at line 1",
            secrets[1]
        );
        let error = mysql_async::Error::Server(mysql_async::ServerError {
            code: codes::PARSE_ERROR,
            message: echo,
            state: "42000".into(),
        });
        let redacted = redact(error, &secrets).to_string();
        assert!(!redacted.contains("s3cret") && !redacted.contains(&secrets[1][1..]), "{redacted}");
        assert!(redacted.contains("near <statement redacted>"), "{redacted}");

        let other = mysql_async::Error::Server(mysql_async::ServerError {
            code: 1396,
            message: "Operation ALTER USER failed for 'app'@'%' with s3cret'pw".into(),
            state: "HY000".into(),
        });
        assert!(!redact(other, &secrets).to_string().contains("s3cret"));
    }
}
