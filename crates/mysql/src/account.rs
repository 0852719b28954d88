//! A MySQL account: `'user'@'host'`, as the server names it.

use mysql_async::Value;

/// A user and the host part of its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The user name.
    pub user: String,
    /// The host part (`%`, `10.0.%`, `localhost`, ...).
    pub host: String,
}

impl Account {
    /// Parses `CURRENT_USER()`'s answer, `user@host` (the user may itself hold an `@`).
    pub fn parse(current_user: &str) -> Option<Self> {
        let (user, host) = current_user.rsplit_once('@')?;
        Some(Self { user: user.to_owned(), host: host.to_owned() })
    }

    /// The same host part with another user.
    pub fn with_user(&self, user: &str) -> Self {
        Self { user: user.to_owned(), host: self.host.clone() }
    }

    /// `'user'@'host'`, both quoted as string literals with the driver's escaping.
    pub fn to_sql(&self) -> String {
        format!("{}@{}", literal(&self.user), literal(&self.host))
    }

    /// `` `user`@`host` ``, as `SHOW GRANTS` writes the grantee.
    pub fn as_grantee(&self) -> String {
        format!("`{}`@`{}`", self.user.replace('`', "``"), self.host.replace('`', "``"))
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
        let account = Account::parse("we'ird@x@10.0.%").unwrap();
        assert_eq!(account, Account { user: "we'ird@x".into(), host: "10.0.%".into() });
        assert_eq!(account.to_sql(), r"'we\'ird@x'@'10.0.%'");
        assert_eq!(account.with_user("a`b").as_grantee(), "`a``b`@`10.0.%`");
        assert!(Account::parse("nohost").is_none());
    }
}
