//! rotation-database: what rotor's database targets share: the secret's connection fields, the rotation strategy,
//! the TLS mode and the RDS roots, the confused-deputy check, the function's configuration, admin loading and
//! pinning, RDS lookup, and the single-user and testSecret flows.

mod admin;
mod config;
mod engine;
mod rds;
mod target;
mod tls;

pub use admin::{Admin, check_admin_allowed, check_same_server, load_admin, refuse_privileged};
pub use config::{AdminSecrets, ArnPatterns, DatabaseConfig, TlsPolicy};
pub use engine::{Engine, Purpose, Session, fmt_session, proven_by_login};
pub use rds::{Rds, RdsEndpoint};
pub use target::DatabaseTarget;
pub use tls::TlsRoots;

use serde_json::Value;

use rotation_core::{Env, Password, RotationError, Secret, TargetErrorKind};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// The Amazon RDS root CAs (PEM), trusted by the database functions besides the system's roots and
/// `TLS_CA_BUNDLE`, so `verify-full` against RDS works without configuration. Where they come from, and how to
/// refresh them, is at the top of the file.
pub const RDS_CA_BUNDLE: &[u8] = include_bytes!("rds-ca-bundle.pem");

/// [`RDS_CA_BUNDLE`]'s certificates, decoded once per process (its comment header skipped), for every engine's
/// trusted roots.
pub fn rds_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: std::sync::OnceLock<Vec<CertificateDer<'static>>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(|| CertificateDer::pem_slice_iter(RDS_CA_BUNDLE).filter_map(Result::ok).collect())
}

/// The suffix of the second user in the alternating-users strategy, as in AWS's functions.
pub const CLONE_SUFFIX: &str = "_clone";

/// How a database credential is rotated (`ROTATION_STRATEGY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// `single-user`: the user changes its own password (AWS's SingleUser functions).
    SingleUser,
    /// `admin`: the admin secret named by `masterarn` changes the user's password, for users that may not.
    Admin,
    /// `alternating-users`: the admin keeps `<username>` and `<username>_clone` alike and sets the password of
    /// the one not in use (AWS's MultiUser functions); one of the two always works.
    AlternatingUsers,
}

impl Strategy {
    /// Reads `ROTATION_STRATEGY` (default `single-user`).
    pub fn from_env(env: &Env) -> Result<Self, RotationError> {
        match env.get("ROTATION_STRATEGY") {
            None => Ok(Self::SingleUser),
            Some(name) => Self::parse(&name).ok_or_else(|| RotationError::Config {
                variable: "ROTATION_STRATEGY",
                reason: "must be single-user, admin or alternating-users".into(),
            }),
        }
    }

    /// Parses a strategy's name (AWS's `singleuser`/`multiuser` too), in any case.
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "single-user" | "singleuser" => Some(Self::SingleUser),
            "admin" => Some(Self::Admin),
            "alternating-users" | "multiuser" | "multi-user" => Some(Self::AlternatingUsers),
            _ => None,
        }
    }

    /// The strategy's name in `ROTATION_STRATEGY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SingleUser => "single-user",
            Self::Admin => "admin",
            Self::AlternatingUsers => "alternating-users",
        }
    }

    /// Whether the strategy needs the admin secret (`masterarn`).
    pub fn needs_admin(self) -> bool {
        !matches!(self, Self::SingleUser)
    }
}

/// How to use TLS towards the database, weakest first: the order is the one [`TlsPolicy`]'s floor compares by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsMode {
    /// Plaintext; only when explicitly asked, and logged as a warning at every connection.
    Disable,
    /// Encrypted, the server's certificate not verified.
    Require,
    /// Encrypted, the certificate chain verified, the host name not.
    VerifyCa,
    /// Encrypted, chain and host name verified (the default).
    VerifyFull,
}

impl TlsMode {
    /// Parses `disable`, `require`, `verify-ca`, `verify-full`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "disable" => Some(Self::Disable),
            "require" => Some(Self::Require),
            "verify-ca" => Some(Self::VerifyCa),
            "verify-full" => Some(Self::VerifyFull),
            _ => None,
        }
    }

    /// The mode's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// Reads `TLS_MODE` (default `verify-full`).
    pub fn from_env(env: &Env) -> Result<Self, RotationError> {
        match env.get("TLS_MODE") {
            None => Ok(Self::VerifyFull),
            Some(value) => Self::parse(&value).ok_or(RotationError::Config {
                variable: "TLS_MODE",
                reason: "must be disable, require, verify-ca or verify-full".into(),
            }),
        }
    }

    /// What one secret's `ssl` field asks for: a mode name, or `true`/`false` as AWS's functions write it
    /// (`true` means "at least `default`, and never plaintext"); `None` when the field is absent.
    /// [`TlsPolicy::for_secret`] applies the function's floor to it.
    pub fn requested_by(secret: &Secret, default: TlsMode) -> Result<Option<Self>, RotationError> {
        match secret.get("ssl") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(true)) if default == Self::Disable => Ok(Some(Self::VerifyFull)),
            Some(Value::Bool(true)) => Ok(Some(default)),
            Some(Value::Bool(false)) => Ok(Some(Self::Disable)),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" => Self::requested_by(&secret.with_field("ssl", true)?, default),
                "false" => Ok(Some(Self::Disable)),
                other => Self::parse(other).map(Some).ok_or_else(|| {
                    secret.invalid("ssl", "must be true, false, disable, require, verify-ca or verify-full")
                }),
            },
            Some(_) => Err(secret.invalid("ssl", "must be true, false, or a TLS mode name")),
        }
    }
}

/// The connection fields of a database secret (CONTRACT section 5), validated; errors name the field.
///
/// `Debug` redacts the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
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
    /// For an engine whose users are managed through an API, the user's resource (ElastiCache's `user_arn`);
    /// `None` for servers the admin logs in to.
    pub resource: Option<String>,
}

impl Connection {
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
            resource: None,
        })
    }

    /// `host:port`, for messages; an API-managed user without a host is named by its resource.
    pub fn address(&self) -> String {
        match (&self.resource, self.host.is_empty()) {
            (Some(resource), true) => resource.clone(),
            _ => format!("{}:{}", self.host, self.port),
        }
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
pub fn no_answer(connection: &Connection, what: &str, limit: std::time::Duration) -> RotationError {
    RotationError::target(
        TargetErrorKind::Unreachable,
        connection.address(),
        format!(
            "{what} got no answer within {limit:?}; check the host, the port, the security group, that the function runs in the database's VPC, and the server's load"
        ),
    )
}

/// The base user of an alternating pair: `app` for both `app` and `app_clone`.
pub fn base_username(username: &str) -> &str {
    username.strip_suffix(CLONE_SUFFIX).unwrap_or(username)
}

/// The other user of an alternating pair.
pub fn other_username(username: &str) -> String {
    match username.strip_suffix(CLONE_SUFFIX) {
        Some(base) => base.to_owned(),
        None => format!("{username}{CLONE_SUFFIX}"),
    }
}

/// The pending secret of a database: every field kept, the password replaced, and for alternating users the
/// other user of the pair. `masterarn` must be there for the strategies that use an admin secret.
pub fn next_secret(
    current: &Secret,
    connection: &Connection,
    strategy: Strategy,
    password: Password,
) -> Result<Secret, RotationError> {
    if strategy.needs_admin() && connection.resource.is_none() {
        current.require_str("masterarn")?;
    }
    // The store holds the value itself: this is where the new password leaves its wrapper.
    let next = current.with_field("password", password.into_inner())?;
    match strategy {
        Strategy::AlternatingUsers => next.with_field("username", other_username(&connection.username)),
        _ => Ok(next),
    }
}

/// Refuses a pending secret that points the rotation somewhere else than the current one ("confused deputy"):
/// another host, port, database or engine, or a user outside the current user's pair.
pub fn check_same_target(current: &Connection, pending: &Connection, strategy: Strategy) -> Result<(), RotationError> {
    let refuse = |what: &str| {
        Err(RotationError::target(
            TargetErrorKind::ConfusedDeputy,
            current.address(),
            format!(
                "the pending secret names another {what} than the current one; rotate only the credential, never the target"
            ),
        ))
    };
    if !current.host.eq_ignore_ascii_case(&pending.host) {
        return refuse("host");
    }
    if current.port != pending.port {
        return refuse("port");
    }
    if current.dbname != pending.dbname {
        return refuse("database");
    }
    if current.engine.is_some() && pending.engine.is_some() && current.engine != pending.engine {
        return refuse("engine");
    }
    if current.resource != pending.resource {
        return refuse("user resource");
    }
    let same_user = match strategy {
        Strategy::AlternatingUsers => base_username(&current.username) == base_username(&pending.username),
        _ => current.username == pending.username,
    };
    if !same_user {
        return refuse("user");
    }
    Ok(())
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
            Connection::parse(&secret(r#"{"host":"db","username":"app","password":"s3cret-pw"}"#), PG, 5432, None)
                .unwrap()
        );
        assert!(shown.contains("\"app\"") && shown.contains("\"db\""), "{shown}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
    }

    #[test]
    fn connection_fields_are_validated_by_name() {
        let ok = Connection::parse(
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
            let error = Connection::parse(&secret(json), PG, 5432, None).unwrap_err().to_string();
            assert!(error.contains(field), "{json}: {error}");
        }
    }

    #[test]
    fn strategies_and_tls_modes_parse_with_named_errors() {
        let env = |k: &str, v: &str| Env::from_pairs([(k.to_string(), v.to_string())]);
        assert_eq!(Strategy::from_env(&Env::default()).unwrap(), Strategy::SingleUser);
        assert_eq!(
            Strategy::from_env(&env("ROTATION_STRATEGY", "alternating-users")).unwrap(),
            Strategy::AlternatingUsers
        );
        assert!(
            Strategy::from_env(&env("ROTATION_STRATEGY", "both"))
                .unwrap_err()
                .to_string()
                .contains("ROTATION_STRATEGY must be")
        );
        assert_eq!(TlsMode::from_env(&Env::default()).unwrap(), TlsMode::VerifyFull);
        assert!(TlsMode::from_env(&env("TLS_MODE", "prefer")).unwrap_err().to_string().contains("TLS_MODE must be"));

        let full = TlsMode::VerifyFull;
        assert_eq!(TlsMode::requested_by(&secret("{}"), full).unwrap(), None);
        assert_eq!(TlsMode::requested_by(&secret(r#"{"ssl":true}"#), TlsMode::Disable).unwrap(), Some(full));
        let verify_ca = TlsMode::VerifyCa;
        assert_eq!(TlsMode::requested_by(&secret(r#"{"ssl":true}"#), verify_ca).unwrap(), Some(verify_ca));
        assert_eq!(TlsMode::requested_by(&secret(r#"{"ssl":false}"#), full).unwrap(), Some(TlsMode::Disable));
        assert_eq!(TlsMode::requested_by(&secret(r#"{"ssl":"require"}"#), full).unwrap(), Some(TlsMode::Require));
        assert_eq!(TlsMode::requested_by(&secret(r#"{"ssl":"true"}"#), full).unwrap(), Some(full));
        assert!(
            TlsMode::requested_by(&secret(r#"{"ssl":"prefer"}"#), full)
                .unwrap_err()
                .to_string()
                .contains("`ssl` must be")
        );
        assert!(TlsMode::Disable < TlsMode::Require && TlsMode::Require < verify_ca && verify_ca < full);
    }

    #[test]
    fn confused_deputy_checks_every_target_field() {
        let base = r#"{"engine":"postgres","host":"db","port":5432,"dbname":"app","username":"app","password":"p"}"#;
        let current = Connection::parse(&secret(base), PG, 5432, None).unwrap();
        let variant = |field: &str, value: serde_json::Value| {
            let s = secret(base).with_field(field, value).unwrap();
            Connection::parse(&s, PG, 5432, None).unwrap()
        };
        assert!(check_same_target(&current, &variant("password", "new".into()), Strategy::SingleUser).is_ok());
        assert!(check_same_target(&current, &variant("host", "DB".into()), Strategy::SingleUser).is_ok());
        for (field, value, what) in [
            ("host", "evil".into(), "host"),
            ("port", 5433.into(), "port"),
            ("dbname", "other".into(), "database"),
            ("engine", "aurora-postgresql".into(), "engine"),
            ("username", "app_clone".into(), "user"),
        ] {
            let error = check_same_target(&current, &variant(field, value), Strategy::SingleUser).unwrap_err();
            assert_eq!(error.error_type(), "ConfusedDeputy");
            assert!(error.to_string().contains(&format!("another {what}")), "{error}");
        }
        assert!(
            check_same_target(&current, &variant("username", "app_clone".into()), Strategy::AlternatingUsers).is_ok()
        );
        assert!(check_same_target(&current, &variant("username", "root".into()), Strategy::AlternatingUsers).is_err());
        assert_eq!(other_username("app"), "app_clone");
        assert_eq!(other_username("app_clone"), "app");
    }
}
