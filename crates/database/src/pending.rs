//! The pending secret of a database: how it is made from the current one, and the check that it still names the
//! current one's target ("confused deputy").

use rotation_core::{Password, RotationError, Secret, TargetErrorKind};

use crate::login::LoginFields;
use crate::strategy::Strategy;

/// The pending secret of a database: every field kept, the password replaced, and for alternating users the
/// other user of the pair. `masterarn` must be there for the strategies that use an admin secret.
pub fn next_secret(
    current: &Secret,
    connection: &LoginFields,
    strategy: Strategy,
    password: Password,
    other_of: impl FnOnce(&str) -> String,
) -> Result<Secret, RotationError> {
    if strategy.needs_admin() {
        current.require_str("masterarn")?;
    }
    // The store holds the value itself: this is where the new password leaves its wrapper.
    let next = current.with_field("password", password.into_inner())?;
    match strategy {
        Strategy::AlternatingUsers => next.with_field("username", other_of(&connection.username)),
        _ => Ok(next),
    }
}

/// Refuses a pending secret that points the rotation somewhere else than the current one ("confused deputy"):
/// another host, port, database or engine, or a user outside the current user's pair.
pub fn check_same_target(
    current: &LoginFields,
    pending: &LoginFields,
    strategy: Strategy,
    base_of: impl Fn(&str) -> String,
) -> Result<(), RotationError> {
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
    let same_user = match strategy {
        Strategy::AlternatingUsers => base_of(&current.username) == base_of(&pending.username),
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

    fn plain(username: &str) -> String {
        crate::base_username(username).to_owned()
    }

    #[test]
    fn confused_deputy_checks_every_target_field() {
        let base = r#"{"engine":"postgres","host":"db","port":5432,"dbname":"app","username":"app","password":"p"}"#;
        let current = LoginFields::parse(&secret(base), PG, 5432, None).unwrap();
        let variant = |field: &str, value: serde_json::Value| {
            let s = secret(base).with_field(field, value).unwrap();
            LoginFields::parse(&s, PG, 5432, None).unwrap()
        };
        assert!(check_same_target(&current, &variant("password", "new".into()), Strategy::SingleUser, plain).is_ok());
        assert!(check_same_target(&current, &variant("host", "DB".into()), Strategy::SingleUser, plain).is_ok());
        for (field, value, what) in [
            ("host", "evil".into(), "host"),
            ("port", 5433.into(), "port"),
            ("dbname", "other".into(), "database"),
            ("engine", "aurora-postgresql".into(), "engine"),
            ("username", "app_clone".into(), "user"),
        ] {
            let error = check_same_target(&current, &variant(field, value), Strategy::SingleUser, plain).unwrap_err();
            assert_eq!(error.error_type(), "ConfusedDeputy");
            assert!(error.to_string().contains(&format!("another {what}")), "{error}");
        }
        assert!(
            check_same_target(&current, &variant("username", "app_clone".into()), Strategy::AlternatingUsers, plain)
                .is_ok()
        );
        assert!(
            check_same_target(&current, &variant("username", "root".into()), Strategy::AlternatingUsers, plain)
                .is_err()
        );
    }
}
