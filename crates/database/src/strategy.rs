//! How a database credential is rotated: the function's `ROTATION_STRATEGY`.

use rotation_core::{Env, RotationError};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_parse_with_named_errors() {
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
    }
}
