//! The password statements: a client-computed hash where the server takes one, MySQL 8's dual passwords.

use sha1::{Digest, Sha1};

use crate::account::{Account, literal};
use crate::version::Flavor;

/// How a password is changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// `ALTER USER ... IDENTIFIED BY ...`: the old password stops working at once.
    Replace,
    /// MySQL 8.0.14+: `... RETAIN CURRENT PASSWORD`, so clients still holding AWSCURRENT keep logging in; the
    /// retained password is replaced by the next rotation's change, never discarded before the new version is
    /// AWSCURRENT.
    RetainCurrent,
}

/// The `mysql_native_password` hash of a password: `*` and the upper-case hex of SHA1(SHA1(password)). MariaDB
/// and MySQL 5.7 store it as given, so the password itself never reaches the server's logs.
pub fn native_hash(password: &str) -> String {
    let hash = Sha1::digest(Sha1::digest(password.as_bytes()));
    let mut text = String::with_capacity(41);
    text.push('*');
    for byte in hash {
        text.push_str(&format!("{byte:02X}"));
    }
    text
}

/// The clause that sets a password on a server: the hash on MariaDB, the password on MySQL.
pub fn identified_by(flavor: Flavor, password: &str) -> String {
    match flavor {
        Flavor::MariaDb => format!("IDENTIFIED BY PASSWORD {}", literal(&native_hash(password))),
        Flavor::Mysql => format!("IDENTIFIED BY {}", literal(password)),
    }
}

/// `ALTER USER 'user'@'host' <identified_by>` (with `RETAIN CURRENT PASSWORD` for MySQL's dual passwords).
pub fn alter_password(flavor: Flavor, account: &Account, password: &str, change: PasswordChange) -> String {
    let retain = match change {
        PasswordChange::Replace => "",
        PasswordChange::RetainCurrent => " RETAIN CURRENT PASSWORD",
    };
    format!("ALTER USER {} {}{retain}", account.to_sql(), identified_by(flavor, password))
}

/// MariaDB's way for a user without ALTER USER rights to change its own password: `SET PASSWORD` to the hash
/// (never `PASSWORD('...')`, which would carry the password).
pub fn set_password_hash(account: &Account, password: &str) -> String {
    format!("SET PASSWORD FOR {} = {}", account.to_sql(), literal(&native_hash(password)))
}

/// The texts a server message may echo from a statement that carries `password`: the password and its hash.
pub fn credential_texts(password: &str) -> [String; 2] {
    [password.to_owned(), native_hash(password)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_native_hash_is_mysqls() {
        // SELECT PASSWORD('password') on MariaDB and MySQL 5.7.
        assert_eq!(native_hash("password"), "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19");
        assert_eq!(native_hash(""), "*BE1BDEC0AA74B4DCB079943E70528096CCA985F8");
    }

    #[test]
    fn mariadb_statements_hold_the_hash_not_the_password() {
        let account = Account::new("app", "10.%").unwrap();
        let password = r#"p'w\d"x"#;
        for statement in [
            alter_password(Flavor::MariaDb, &account, password, PasswordChange::Replace),
            set_password_hash(&account, password),
        ] {
            assert!(!statement.contains(password), "{statement}");
            assert!(statement.contains(&native_hash(password)), "{statement}");
        }
        assert_eq!(
            set_password_hash(&account, "password"),
            "SET PASSWORD FOR 'app'@'10.%' = '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'"
        );
    }

    #[test]
    fn mysql_8_dual_password_statements() {
        let account = Account::new("app", "10.%").unwrap();
        assert_eq!(
            alter_password(Flavor::Mysql, &account, "p'w\\d", PasswordChange::RetainCurrent),
            r"ALTER USER 'app'@'10.%' IDENTIFIED BY 'p\'w\\d' RETAIN CURRENT PASSWORD"
        );
        assert_eq!(
            alter_password(Flavor::Mysql, &account, "pw", PasswordChange::Replace),
            "ALTER USER 'app'@'10.%' IDENTIFIED BY 'pw'"
        );
    }
}
