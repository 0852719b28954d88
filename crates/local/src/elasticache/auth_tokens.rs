//! The AUTH token's rules, as the service documents them: which tokens it takes, the update strategies, what each
//! does to the tokens a replication group accepts (at most two, oldest first), and what that means on Redis, where
//! the tokens are the passwords of the `default` user. A token is never echoed: a fault names the rule it broke.

use super::cache::password_hash;
use crate::query::Fault;

/// `AuthTokenUpdateStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Add the token, keeping the newest one the group has (both work).
    Rotate,
    /// Keep only the token the last `ROTATE` added.
    Set,
    /// Drop the tokens: only when moving to user groups (RBAC).
    Delete,
}

impl Strategy {
    /// The parameter's value; `ROTATE` when absent, as the service defaults it.
    pub fn parse(value: Option<&str>) -> Result<Self, Fault> {
        match value {
            None | Some("ROTATE") => Ok(Self::Rotate),
            Some("SET") => Ok(Self::Set),
            Some("DELETE") => Ok(Self::Delete),
            Some(other) => Err(Fault::invalid(format!(
                "Invalid AuthTokenUpdateStrategy {:?}: it must be ROTATE, SET or DELETE.",
                other.chars().take(16).collect::<String>()
            ))),
        }
    }

    /// `PendingModifiedValues.AuthTokenStatus` while the change applies.
    pub fn pending_status(self) -> &'static str {
        match self {
            Self::Set => "SETTING",
            Self::Rotate | Self::Delete => "ROTATING",
        }
    }
}

/// The service's rules for a token (the stricter of its two documented lists, so that what passes here passes
/// there): 16 to 128 characters, letters, digits and `! & # $ ^ < > -` only.
pub fn check(token: &str) -> Result<(), Fault> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "!&#$^<>-".contains(c);
    if (16..=128).contains(&token.len()) && token.chars().all(allowed) {
        Ok(())
    } else {
        Err(Fault::invalid(
            "Invalid AuthToken: it must be 16 to 128 characters, letters, digits and the special characters \
             !, &, #, $, ^, <, >, - only.",
        ))
    }
}

/// The tokens a group accepts once `strategy` applies `token` to `current` (oldest first, in the ACL's form).
/// `ROTATE` adds the token beside the newest one before it (of two, the oldest goes); `SET` keeps only the token,
/// which must be the one the last `ROTATE` added while two tokens are accepted.
pub fn update(current: &[String], strategy: Strategy, token: &str) -> Result<Vec<String>, Fault> {
    let hash = password_hash(token);
    match strategy {
        Strategy::Rotate => {
            // The service drops the oldest of two tokens whatever the new one is: a repeated ROTATE with the token
            // it just added leaves that token alone, and the previous one stops working (read pessimistically, so
            // that a retry that would cut clients off on the service does here too).
            let mut next: Vec<String> = current.last().filter(|h| **h != hash).cloned().into_iter().collect();
            next.push(hash);
            Ok(next)
        }
        Strategy::Set if current.len() < 2 => Err(Fault::invalid(
            "AuthTokenUpdateStrategy SET is allowed only after ROTATE: the replication group accepts a single AUTH \
             token.",
        )),
        Strategy::Set if current.last() != Some(&hash) => {
            Err(Fault::invalid("AuthTokenUpdateStrategy SET takes the AUTH token the last ROTATE added."))
        }
        Strategy::Set => Ok(vec![hash]),
        Strategy::Delete => Err(Fault::combination(
            "AuthTokenUpdateStrategy DELETE is allowed only when moving the replication group to user groups \
             (UserGroupIdsToAdd), which the local endpoint does not emulate.",
        )),
    }
}

/// `ACL SETUSER` arguments that make `tokens` the passwords of the `default` user; `created` also grants it what
/// the service's default user may do: every key and channel, every command but the administrative ones the service
/// restricts too (so that a token cannot reach the endpoint's own administrative user), `ACL WHOAMI` kept for
/// proving a login (Redis 6.2 counts all of `ACL` as administrative).
pub fn default_user(tokens: &[String], created: bool) -> Vec<String> {
    let mut args = vec!["default".to_owned()];
    args.extend(if created { ["reset", "on"] } else { ["on", "resetpass"] }.map(str::to_owned));
    args.extend(tokens.iter().cloned());
    if created {
        args.extend(["~*", "&*", "+@all", "-@admin", "+acl|whoami"].map(str::to_owned));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: &str = "first-token-0123456789";
    const SECOND: &str = "second-token-0123456789";
    const THIRD: &str = "third-token-0123456789";

    #[test]
    fn tokens_follow_the_documented_rules_and_are_never_echoed() {
        assert!(check(FIRST).is_ok());
        assert!(check(&"a".repeat(128)).is_ok());
        assert!(check("Aa0!&#$^<>-Aa0!&#").is_ok());
        for bad in [
            "short-0123456",
            "has/a/slash-0123456",
            "has@an-at-0123456789",
            "has a space 0123456",
            "has%pct-0123456789",
        ] {
            let fault = check(bad).unwrap_err();
            assert_eq!(fault.code, "InvalidParameterValue");
            assert!(!fault.message.contains(bad), "{}", fault.message);
        }
        assert!(check(&"a".repeat(129)).is_err());
        assert!(check("quote\"d-0123456789").is_err());
        assert!(check("non-ascii-é-0123456789").is_err());
    }

    #[test]
    fn the_strategy_defaults_to_rotate_and_is_upper_case() {
        assert_eq!(Strategy::parse(None).unwrap(), Strategy::Rotate);
        assert_eq!(Strategy::parse(Some("SET")).unwrap(), Strategy::Set);
        assert_eq!(Strategy::parse(Some("DELETE")).unwrap(), Strategy::Delete);
        assert_eq!(Strategy::parse(Some("rotate")).unwrap_err().code, "InvalidParameterValue");
    }

    #[test]
    fn rotate_keeps_the_two_newest_and_set_keeps_only_the_last_rotated() {
        let one = vec![password_hash(FIRST)];
        let two = update(&one, Strategy::Rotate, SECOND).unwrap();
        assert_eq!(two, [password_hash(FIRST), password_hash(SECOND)]);
        // A third token drops the oldest: the group accepts at most the two most recent.
        let rotated_again = update(&two, Strategy::Rotate, THIRD).unwrap();
        assert_eq!(rotated_again, [password_hash(SECOND), password_hash(THIRD)]);
        // Of two tokens the oldest goes whatever the new one is: a repeated ROTATE leaves only its token.
        assert_eq!(update(&two, Strategy::Rotate, SECOND).unwrap(), [password_hash(SECOND)]);
        assert_eq!(update(&two, Strategy::Rotate, FIRST).unwrap(), [password_hash(SECOND), password_hash(FIRST)]);
        assert_eq!(update(&one, Strategy::Rotate, FIRST).unwrap(), one, "never twice");

        assert_eq!(update(&two, Strategy::Set, SECOND).unwrap(), [password_hash(SECOND)]);
        assert_eq!(update(&two, Strategy::Set, FIRST).unwrap_err().code, "InvalidParameterValue");
        assert_eq!(update(&two, Strategy::Set, THIRD).unwrap_err().code, "InvalidParameterValue");
        // SET only follows ROTATE: a second SET (a retried finish) is refused, as the service refuses it.
        assert_eq!(update(&one, Strategy::Set, FIRST).unwrap_err().code, "InvalidParameterValue");
        assert_eq!(update(&two, Strategy::Delete, FIRST).unwrap_err().code, "InvalidParameterCombination");
    }

    #[test]
    fn the_default_user_gets_the_hashes_only() {
        let tokens = [password_hash(FIRST), password_hash(SECOND)];
        let modified = default_user(&tokens, false);
        assert_eq!(modified[..3], ["default", "on", "resetpass"]);
        assert_eq!(modified[3..], tokens);
        let created = default_user(&tokens[..1], true);
        assert_eq!(created, ["default", "reset", "on", &tokens[0], "~*", "&*", "+@all", "-@admin", "+acl|whoami"]);
        assert!(!format!("{modified:?}{created:?}").contains("token-0123456789"));
    }
}
