//! A MySQL account: `'user'@'host'`, as the server names it.

use mysql_async::Value;

/// A user and the host part of its account. Neither holds a quote, a backslash or a control character, so
/// quoting them cannot go wrong under any `sql_mode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The user name.
    pub user: String,
    /// The host part (`%`, `10.0.%`, `localhost`, ...).
    pub host: String,
}

/// Why a user or host name is refused, or `None` when it is fine.
pub fn unsafe_name(name: &str) -> Option<&'static str> {
    if name.chars().any(|c| matches!(c, '\'' | '"' | '`')) {
        Some("holds a quote (' \" `)")
    } else if name.contains('\\') {
        Some("holds a backslash")
    } else if name.chars().any(char::is_control) {
        Some("holds a control character")
    } else {
        None
    }
}

impl Account {
    /// An account, or why its user or host part is refused.
    pub fn new(user: &str, host: &str) -> Result<Self, String> {
        for (what, name) in [("user name", user), ("host", host)] {
            if let Some(reason) = unsafe_name(name) {
                return Err(format!("the account's {what} {name:?} {reason}; rotor refuses such names"));
            }
        }
        Ok(Self { user: user.to_owned(), host: host.to_owned() })
    }

    /// Parses `CURRENT_USER()`'s answer, `user@host` (the user may itself hold an `@`).
    pub fn parse(current_user: &str) -> Result<Self, String> {
        let (user, host) =
            current_user.rsplit_once('@').ok_or_else(|| "CURRENT_USER() gave no user@host".to_owned())?;
        Self::new(user, host)
    }

    /// The same host part with another user.
    pub fn with_user(&self, user: &str) -> Result<Self, String> {
        Self::new(user, &self.host)
    }

    /// `'user'@'host'`, both quoted as string literals with the driver's escaping (the session's `sql_mode` is
    /// pinned at connect, so the escaping matches the server's).
    pub fn to_sql(&self) -> String {
        format!("{}@{}", literal(&self.user), literal(&self.host))
    }

    /// `` `user`@`host` ``, as `SHOW GRANTS` writes the grantee.
    pub fn as_grantee(&self) -> String {
        format!("`{}`@`{}`", self.user, self.host)
    }
}

/// A string literal escaped by the driver (mysql_common), for statements that take no parameters.
pub fn literal(value: &str) -> String {
    Value::from(value).as_sql(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_parse_and_quote() {
        let account = Account::parse("we ird; --@x@10.0.%").unwrap();
        assert_eq!(account, Account { user: "we ird; --@x".into(), host: "10.0.%".into() });
        assert_eq!(account.to_sql(), "'we ird; --@x'@'10.0.%'");
        assert_eq!(account.with_user("ü").unwrap().as_grantee(), "`ü`@`10.0.%`");
        assert!(Account::parse("nohost").is_err());
    }

    #[test]
    fn quotes_backslashes_and_control_characters_are_refused() {
        for (user, host, expect) in [
            ("we'ird", "%", "holds a quote"),
            ("a\"b", "%", "holds a quote"),
            ("a`b", "%", "holds a quote"),
            ("a\\b", "%", "holds a backslash"),
            ("a\nb", "%", "holds a control character"),
            ("app", "10.0.%'; DROP USER x; --", "host"),
        ] {
            let error = Account::new(user, host).unwrap_err();
            assert!(error.contains(expect), "{user:?}@{host:?}: {error}");
        }
    }
}
