//! The password statements, including MySQL 8's dual passwords.

use crate::account::{Account, literal};

/// How a password is changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// `ALTER USER ... IDENTIFIED BY ...`: the old password stops working at once.
    Replace,
    /// MySQL 8.0.14+: `... RETAIN CURRENT PASSWORD`, so clients still holding AWSCURRENT keep logging in until
    /// finishSecret discards it; this narrows the single-user outage window to nothing.
    RetainCurrent,
}

/// `ALTER USER 'user'@'host' IDENTIFIED BY '...'` (with `RETAIN CURRENT PASSWORD` for dual passwords).
///
/// The password travels in the statement (MySQL has no client-computed verifier that every server accepts);
/// it is escaped by the driver, and MySQL and MariaDB mask it in their logs.
pub fn alter_password(account: &Account, password: &str, change: PasswordChange) -> String {
    let retain = match change {
        PasswordChange::Replace => "",
        PasswordChange::RetainCurrent => " RETAIN CURRENT PASSWORD",
    };
    format!("ALTER USER {} IDENTIFIED BY {}{retain}", account.to_sql(), literal(password))
}

/// MariaDB's way for a user without ALTER USER rights to change its own password.
pub fn set_password(account: &Account, password: &str) -> String {
    format!("SET PASSWORD FOR {} = PASSWORD({})", account.to_sql(), literal(password))
}

/// MySQL 8: ends the dual-password window at finishSecret.
pub fn discard_old_password(account: &Account) -> String {
    format!("ALTER USER {} DISCARD OLD PASSWORD", account.to_sql())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_8_dual_password_statements() {
        let account = Account { user: "app".into(), host: "10.%".into() };
        assert_eq!(
            alter_password(&account, "p'w\\d", PasswordChange::RetainCurrent),
            r"ALTER USER 'app'@'10.%' IDENTIFIED BY 'p\'w\\d' RETAIN CURRENT PASSWORD"
        );
        assert_eq!(
            alter_password(&account, "pw", PasswordChange::Replace),
            "ALTER USER 'app'@'10.%' IDENTIFIED BY 'pw'"
        );
        assert_eq!(discard_old_password(&account), "ALTER USER 'app'@'10.%' DISCARD OLD PASSWORD");
        assert_eq!(set_password(&account, "pw"), "SET PASSWORD FOR 'app'@'10.%' = PASSWORD('pw')");
    }
}
