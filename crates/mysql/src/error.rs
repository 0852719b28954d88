//! MySQL/MariaDB errors, classified by the server's error number into what a person must fix and what a retry
//! may fix; a server message that echoes a statement loses its credentials first.

use rotation_core::{RotationError, TargetErrorKind};
use rotation_database::{LoginFields, TlsMode};

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
pub fn classify(error: mysql_async::Error, connection: &LoginFields, mode: TlsMode) -> RotationError {
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
    use crate::statements::credential_texts;

    /// The test connection's password, which no message may hold.
    const PASSWORD: &str = "s3cret'pw";

    fn connection() -> LoginFields {
        let secret = rotation_core::Secret::parse(
            "arn:test",
            &format!(r#"{{"engine":"mysql","host":"db.example","username":"app","password":"{PASSWORD}"}}"#),
        );
        LoginFields::parse(&secret, crate::ENGINES, crate::DEFAULT_PORT, None).unwrap()
    }

    /// A server's refusal, as the driver reports it.
    fn server(code: u16, message: &str) -> mysql_async::Error {
        mysql_async::Error::Server(mysql_async::ServerError { code, message: message.into(), state: "HY000".into() })
    }

    /// Checks that `error` classifies as `kind` with a message naming `cause`, and that neither the message nor
    /// any cause chained after it holds a credential text.
    fn assert_classified(error: mysql_async::Error, kind: TargetErrorKind, cause: &str) {
        let error = classify(error, &connection(), TlsMode::VerifyFull);
        let text = rotation_core::with_causes(&error);
        let RotationError::Target { kind: got, message, .. } = &error else { panic!("not a target error: {text}") };
        assert_eq!((*got, message.contains(cause)), (kind, true), "{cause:?} in {text}");
        for secret in credential_texts(PASSWORD) {
            assert!(!text.contains(&secret) && !text.contains(&secret[1..]), "a credential in {text}");
        }
    }

    #[test]
    fn server_errors_are_classified_by_their_number() {
        use TargetErrorKind::*;
        let table = [
            (1045, AuthenticationFailed, "user \"app\" was refused (1045): a wrong password"),
            (1044, PermissionDenied, "user \"app\" lacks a privilege (1044)"),
            (1227, PermissionDenied, "user \"app\" lacks a privilege (1227)"),
            (1142, PermissionDenied, "user \"app\" lacks a privilege (1142)"),
            (1132, PermissionDenied, "user \"app\" lacks a privilege (1132)"),
            (3118, Rejected, "user \"app\" is locked (3118); rotor does not re-enable"),
            (4151, Rejected, "user \"app\" is locked (4151); rotor does not re-enable"),
            (1049, Rejected, "(1049); check the secret's dbname"),
            (1040, Unreachable, "(1040); retrying later may succeed"),
            (1053, Unreachable, "(1053); retrying later may succeed"),
            // ER_CANNOT_USER, a code rotor does not tell apart: refused, with the server's words and number.
            (1396, Rejected, "the server's words (1396)"),
        ];
        let secrets = credential_texts(PASSWORD);
        for (code, kind, cause) in table {
            assert_classified(server(code, "the server's words"), kind, cause);
            // A statement that carried the password: the server's message echoes it, and loses it before it is
            // classified (as `execute_credential` does).
            let echo = format!("the server's words, with '{}' and '{}'", secrets[0], secrets[1]);
            assert_classified(redact(server(code, &echo), &secrets), kind, &format!("({code})"));
        }
    }

    #[test]
    fn connection_failures_are_classified_by_the_drivers_kind() {
        use TargetErrorKind::*;
        let tls = || rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = |inner: std::io::Error| mysql_async::Error::Io(mysql_async::IoError::Io(inner));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let table = [
            (mysql_async::Error::from(tls()), Tls, "TLS in mode verify-full failed"),
            (io(std::io::Error::new(std::io::ErrorKind::InvalidData, tls())), Tls, "TLS in mode verify-full failed"),
            (
                mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer),
                Tls,
                "the server does not offer TLS and the mode is verify-full",
            ),
            (io(refused), Unreachable, rotation_database::CONNECTION_FAILED),
            (mysql_async::Error::Driver(mysql_async::DriverError::PoolDisconnected), Rejected, "disconnected"),
        ];
        for (error, kind, cause) in table {
            assert_classified(error, kind, cause);
        }
    }

    #[test]
    fn server_messages_lose_every_credential_text_and_the_echoed_statement() {
        let secrets = credential_texts(PASSWORD);
        let echo = format!(
            "You have an error in your SQL syntax; check the manual near '{}' RETAIN CURRENT PASSWORD' at line 1",
            secrets[1]
        );
        let redacted = redact(server(codes::PARSE_ERROR, &echo), &secrets).to_string();
        assert!(!redacted.contains("s3cret") && !redacted.contains(&secrets[1][1..]), "{redacted}");
        assert!(redacted.contains("near <statement redacted>"), "{redacted}");

        let other = server(1396, &format!("Operation ALTER USER failed for 'app'@'%' with {PASSWORD}"));
        assert!(!redact(other, &secrets).to_string().contains("s3cret"));
    }
}
