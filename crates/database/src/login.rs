//! A login to a database: the secret's connection fields it needs, and what a failed one says.

use rotation_core::{Password, RotationError, Secret, TargetErrorKind};

use crate::tls_mode::TlsMode;

/// The login fields of a database secret (CONTRACT section 5: engine, host, port, username, password, dbname),
/// validated; errors name the field. Fields, not a live connection: a session ([`Session`](crate::Session)) is that.
///
/// `Debug` redacts the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFields {
    /// `engine`, when present.
    pub engine: Option<String>,
    /// `host`.
    pub host: String,
    /// `port` (a number or a numeric string).
    pub port: u16,
    /// `dbname`, or the engine's default.
    pub dbname: Option<String>,
    /// `username`.
    pub username: String,
    /// `password`, redacted in `Debug`; exposed only at the driver call that needs it.
    pub password: Password,
}

impl LoginFields {
    /// Reads the fields. `engines` lists the accepted `engine` values (the field may be absent);
    /// `default_dbname` applies when `dbname` is absent.
    pub fn parse(
        secret: &Secret,
        engines: &[&str],
        default_port: u16,
        default_dbname: Option<&str>,
    ) -> Result<Self, RotationError> {
        let engine = secret.optional_str("engine")?.map(str::to_owned);
        if let Some(engine) = &engine
            && !engines.contains(&engine.as_str())
        {
            return Err(
                secret.invalid("engine", format!("is {engine:?}; this function rotates {}", engines.join(", ")))
            );
        }
        Ok(Self {
            engine,
            host: secret.require_str("host")?.to_owned(),
            port: secret.port("port", default_port)?,
            dbname: secret.optional_str("dbname")?.map(str::to_owned).or(default_dbname.map(str::to_owned)),
            username: secret.require_str("username")?.to_owned(),
            password: Password::new(secret.require_str("password")?.to_owned()),
        })
    }

    /// `host:port`, for messages.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// What a login whose TLS handshake failed in `mode` says, for every engine: the fix, and that rotor never falls
/// back to plaintext.
pub fn tls_failed(mode: TlsMode) -> String {
    format!(
        "TLS in mode {} failed; trust the server's CA with TLS_CA_BUNDLE, or choose the mode with TLS_MODE or the secret's ssl field (rotor never falls back to plaintext)",
        mode.as_str()
    )
}

/// What a connection that failed below TLS (refused, reset, no route) says, for every engine.
pub const CONNECTION_FAILED: &str = "the connection failed; check the host, the port, the security group, and that the function runs in the database's VPC";

/// The error of a database call that got no answer within its bound; names the host and what timed out.
pub fn no_answer(connection: &LoginFields, what: &str, limit: std::time::Duration) -> RotationError {
    RotationError::target(
        TargetErrorKind::Unreachable,
        connection.address(),
        format!(
            "{what} got no answer within {limit:?}; check the host, the port, the security group, that the function runs in the database's VPC, and the server's load"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(json: &str) -> Secret {
        Secret::parse("arn:s", json)
    }

    const PG: &[&str] = &["postgres", "aurora-postgresql"];

    #[test]
    fn a_connection_shows_everything_but_its_password() {
        let shown = format!(
            "{:?}",
            LoginFields::parse(&secret(r#"{"host":"db","username":"app","password":"s3cret-pw"}"#), PG, 5432, None)
                .unwrap()
        );
        assert!(shown.contains("\"app\"") && shown.contains("\"db\""), "{shown}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
    }

    #[test]
    fn connection_fields_are_validated_by_name() {
        let ok = LoginFields::parse(
            &secret(r#"{"host":"db","port":"5433","username":"app","password":"p"}"#),
            PG,
            5432,
            Some("postgres"),
        )
        .unwrap();
        assert_eq!((ok.port, ok.dbname.as_deref()), (5433, Some("postgres")));
        assert!(!format!("{ok:?}").contains("\"p\""));
        for (json, field) in [
            (r#"{"port":5432,"username":"app","password":"p"}"#, "`host` is missing"),
            (r#"{"host":"db","password":"p"}"#, "`username` is missing"),
            (r#"{"host":"db","username":"app"}"#, "`password` is missing"),
            (r#"{"host":"db","port":"x","username":"app","password":"p"}"#, "`port` must be a port number"),
            (
                r#"{"engine":"mysql","host":"db","username":"app","password":"p"}"#,
                "`engine` is \"mysql\"; this function rotates postgres",
            ),
        ] {
            let error = LoginFields::parse(&secret(json), PG, 5432, None).unwrap_err().to_string();
            assert!(error.contains(field), "{json}: {error}");
        }
    }
}
