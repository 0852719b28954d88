//! Alternating users: the clone gets the active user's host part, grants and TLS requirement, both ways, on
//! every rotation.

use std::collections::BTreeSet;

use rotation_core::{RotationError, TargetErrorKind};

use crate::account::{Account, literal};
use crate::connect::MysqlSession;
use crate::error::LOCKED_FIX;
use crate::statements::{credential_texts, identified_by};
use crate::version::{Feature, Flavor};

/// One thing `SHOW GRANTS` says an account holds, in a form two accounts can be compared by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grant {
    /// A privilege (`SELECT`, `UPDATE (col)`, `ALL PRIVILEGES`, `PROXY`) on an object (`*.*`, `` `db`.* ``).
    Privilege {
        /// The object, as the server wrote it.
        on: String,
        /// The privilege, as the server wrote it.
        privilege: String,
    },
    /// `WITH GRANT OPTION` on an object.
    WithGrantOption {
        /// The object.
        on: String,
    },
    /// A role granted to the account, and whether with `ADMIN OPTION`.
    Role {
        /// The role, as the server wrote it.
        role: String,
        /// `WITH ADMIN OPTION`.
        admin: bool,
    },
    /// A MySQL 8 partial revoke: `REVOKE privilege ON object FROM account` under a global grant.
    PartialRevoke {
        /// The object.
        on: String,
        /// The privilege.
        privilege: String,
    },
    /// MariaDB's default role (`SET DEFAULT ROLE role FOR account`), enabled at every login. Last in the order,
    /// so the role is given before it becomes the default.
    DefaultRole {
        /// The role, as the server wrote it.
        role: String,
    },
}

impl Grant {
    /// The statement that gives `to` this grant.
    fn give(&self, to: &Account) -> String {
        let to = to.to_sql();
        match self {
            Self::Privilege { on, privilege } => format!("GRANT {privilege} ON {on} TO {to}"),
            Self::WithGrantOption { on } => format!("GRANT USAGE ON {on} TO {to} WITH GRANT OPTION"),
            Self::Role { role, admin: true } => format!("GRANT {role} TO {to} WITH ADMIN OPTION"),
            Self::Role { role, admin: false } => format!("GRANT {role} TO {to}"),
            Self::PartialRevoke { on, privilege } => format!("REVOKE {privilege} ON {on} FROM {to}"),
            Self::DefaultRole { role } => format!("SET DEFAULT ROLE {role} FOR {to}"),
        }
    }

    /// The statement that takes this grant from `from`.
    fn take(&self, from: &Account) -> String {
        let from = from.to_sql();
        match self {
            Self::Privilege { on, privilege } => format!("REVOKE {privilege} ON {on} FROM {from}"),
            Self::WithGrantOption { on } => format!("REVOKE GRANT OPTION ON {on} FROM {from}"),
            Self::Role { role, admin: true } => format!("REVOKE ADMIN OPTION FOR {role} FROM {from}"),
            Self::Role { role, admin: false } => format!("REVOKE {role} FROM {from}"),
            Self::PartialRevoke { on, privilege } => format!("GRANT {privilege} ON {on} TO {from}"),
            Self::DefaultRole { .. } => format!("SET DEFAULT ROLE NONE FOR {from}"),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Privilege { on, privilege } => format!("{privilege} ON {on}"),
            Self::WithGrantOption { on } => format!("GRANT OPTION ON {on}"),
            Self::Role { role, admin } => format!("role {role}{}", if *admin { " WITH ADMIN OPTION" } else { "" }),
            Self::PartialRevoke { on, privilege } => format!("partial revoke of {privilege} ON {on}"),
            Self::DefaultRole { role } => format!("default role {role}"),
        }
    }
}

/// Splits `text` at the first `keyword` that is outside quotes, backticks and parentheses.
pub(crate) fn split_outside<'a>(text: &'a str, keyword: &str) -> Option<(&'a str, &'a str)> {
    let (mut quote, mut depth) = (None, 0usize);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '`' | '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth = depth.saturating_sub(1),
            (None, _) if depth == 0 && text[i..].starts_with(keyword) => {
                return Some((&text[..i], &text[i + keyword.len()..]));
            }
            _ => {}
        }
    }
    None
}

/// Splits a list at the commas outside quotes and parentheses (`SELECT, UPDATE (a, b)`; `` `r1`@`%`,r2 ``).
pub(crate) fn split_list(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = list;
    while let Some((head, tail)) = split_outside(rest, ",") {
        out.push(head.trim().to_owned());
        rest = tail;
    }
    out.push(rest.trim().to_owned());
    out.retain(|p| !p.is_empty());
    out
}

/// Parses the `SHOW GRANTS` lines of `account` into comparable grants; a line rotor cannot mirror safely is an
/// error that names it.
pub fn parse_grants(lines: &[String], account: &Account) -> Result<BTreeSet<Grant>, String> {
    let grantee = account.as_grantee();
    let mut grants = BTreeSet::new();
    for line in lines {
        let unsupported = || format!("the grant {line:?} cannot be mirrored to the other user safely");
        if let Some(rest) = line.strip_prefix("SET DEFAULT ROLE ") {
            let (role, account) = split_outside(rest, " FOR ").ok_or_else(unsupported)?;
            if account.trim() != grantee {
                return Err(unsupported());
            }
            grants.insert(Grant::DefaultRole { role: role.trim().to_owned() });
            continue;
        }
        let (revoke, body) = match (line.strip_prefix("GRANT "), line.strip_prefix("REVOKE ")) {
            (Some(body), _) => (false, body),
            (_, Some(body)) => (true, body),
            _ => return Err(unsupported()),
        };
        let (what, tail) = split_outside(body, if revoke { " FROM " } else { " TO " }).ok_or_else(unsupported)?;
        let tail = tail.strip_prefix(&grantee).ok_or_else(unsupported)?;
        // MariaDB appends the account's password hash and TLS requirement to its global line; the clone has its
        // own password, and its REQUIRE clause is set from the active account's fields.
        let tail = match [" IDENTIFIED ", " REQUIRE "].iter().filter_map(|m| tail.find(m)).min() {
            Some(at) => tail[at..].find(" WITH ").map_or("", |w| &tail[at + w..]),
            None => tail,
        };
        let (grant_option, admin_option) = match tail.trim() {
            "" => (false, false),
            "WITH GRANT OPTION" => (true, false),
            "WITH ADMIN OPTION" => (false, true),
            _ => return Err(unsupported()),
        };
        match split_outside(what, " ON ") {
            Some((list, on)) => {
                let on = on.trim().to_owned();
                for privilege in split_list(list) {
                    if revoke {
                        grants.insert(Grant::PartialRevoke { on: on.clone(), privilege });
                    } else if privilege != "USAGE" {
                        grants.insert(Grant::Privilege { on: on.clone(), privilege });
                    }
                }
                if grant_option {
                    grants.insert(Grant::WithGrantOption { on });
                }
            }
            None if !revoke => {
                for role in split_list(what) {
                    grants.insert(Grant::Role { role, admin: admin_option });
                }
            }
            None => return Err(unsupported()),
        }
    }
    Ok(grants)
}

/// The `REQUIRE` clause of an account, rebuilt from `mysql.user`'s `ssl_type`, `ssl_cipher`, `x509_issuer` and
/// `x509_subject` fields (not cut out of `SHOW CREATE USER` text).
pub fn require_clause(ssl_type: &str, cipher: &str, issuer: &str, subject: &str) -> String {
    match ssl_type.to_ascii_uppercase().as_str() {
        "ANY" => "SSL".into(),
        "X509" => "X509".into(),
        "SPECIFIED" => {
            let parts: Vec<String> = [("ISSUER", issuer), ("SUBJECT", subject), ("CIPHER", cipher)]
                .into_iter()
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| format!("{name} {}", literal(value)))
                .collect();
            if parts.is_empty() { "SSL".into() } else { parts.join(" AND ") }
        }
        _ => "NONE".into(),
    }
}

async fn require_of(admin: &mut MysqlSession, account: &Account) -> Result<String, RotationError> {
    type Row = (Option<String>, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Row> = admin
        .exec(
            "SELECT ssl_type, ssl_cipher, x509_issuer, x509_subject FROM mysql.user WHERE User = ? AND Host = ?",
            (account.user.clone(), account.host.clone()),
        )
        .await?;
    let (ssl_type, cipher, issuer, subject) = rows.into_iter().next().unwrap_or_default();
    let text = |value: Option<String>| value.unwrap_or_default();
    Ok(require_clause(&text(ssl_type), &text(cipher), &text(issuer), &text(subject)))
}

async fn grants_of(admin: &mut MysqlSession, account: &Account) -> Result<BTreeSet<Grant>, RotationError> {
    let lines: Vec<String> = admin.query(format!("SHOW GRANTS FOR {}", account.to_sql())).await?;
    let address = admin.connection().address();
    parse_grants(&lines, account).map_err(|reason| {
        RotationError::target(TargetErrorKind::Rejected, address, format!("{reason}; mirror it by hand or remove it"))
    })
}

/// The longest user name the server takes, as its `mysql.user` (or `mysql.global_priv`) `User` column says.
pub async fn name_limit(admin: &mut MysqlSession) -> Result<Option<u64>, RotationError> {
    admin
        .first(
            "SELECT MAX(CHARACTER_MAXIMUM_LENGTH) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME IN ('user', 'global_priv') AND COLUMN_NAME = 'User'",
        )
        .await
        .map(Option::flatten)
}

/// Whether `account` is locked (`ACCOUNT LOCK`); `false` when it does not exist or the server has no locking.
async fn locked(admin: &mut MysqlSession, account: &Account) -> Result<bool, RotationError> {
    let version = admin.version().await?;
    if !version.has(Feature::AccountLock) {
        return Ok(false);
    }
    let sql = match version.flavor {
        Flavor::MariaDb => {
            "SELECT JSON_VALUE(Priv, '$.account_locked') FROM mysql.global_priv WHERE User = ? AND Host = ?"
        }
        Flavor::Mysql => "SELECT account_locked FROM mysql.user WHERE User = ? AND Host = ?",
    };
    let rows: Vec<Option<String>> = admin.exec(sql, (account.user.clone(), account.host.clone())).await?;
    Ok(rows.into_iter().flatten().any(|flag| locked_flag(&flag)))
}

/// Reads a lock flag: MariaDB's `JSON_VALUE` gives JSON's `true` as `1`; MySQL's column is `Y` or `N`.
fn locked_flag(flag: &str) -> bool {
    matches!(flag.trim().to_ascii_lowercase().as_str(), "1" | "true" | "y")
}

/// Refuses, before any change, a pair where either user is locked: the sync would give a locked inactive user a
/// working password, or make the clone of a locked active user an unlocked account with its grants.
async fn refuse_locked(admin: &mut MysqlSession, active: &Account, inactive: &Account) -> Result<(), RotationError> {
    for (which, account) in [("the active user", active), ("the other user", inactive)] {
        if locked(admin, account).await? {
            return Err(RotationError::target(
                TargetErrorKind::Rejected,
                admin.connection().address(),
                format!("{which} {} is locked (ACCOUNT LOCK); {LOCKED_FIX}", account.to_sql()),
            ));
        }
    }
    Ok(())
}

/// Creates the inactive account when missing, sets its password (the hash, on MariaDB) and TLS requirement to the
/// active one's, and gives it exactly the grants the active account holds: what it lacks is granted, what it
/// holds beyond them is revoked. Idempotent. Refuses before any change when either account is locked: rotor never
/// re-enables an account an operator locked.
pub async fn sync_and_set_password(
    admin: &mut MysqlSession,
    flavor: Flavor,
    active: &Account,
    inactive: &Account,
    password: &str,
) -> Result<(), RotationError> {
    refuse_locked(admin, active, inactive).await?;
    let require = require_of(admin, active).await?;
    let secrets = credential_texts(password);
    let identified = identified_by(flavor, password);
    let user = inactive.to_sql();
    admin.execute_credential(format!("CREATE USER IF NOT EXISTS {user} {identified}"), &secrets).await?;
    admin.execute_credential(format!("ALTER USER {user} {identified} REQUIRE {require}"), &secrets).await?;

    let wanted = grants_of(admin, active).await?;
    let present = grants_of(admin, inactive).await?;
    // A default role is unset before the role itself is taken.
    let mut taken: Vec<&Grant> = present.difference(&wanted).collect();
    taken.sort_by_key(|grant| !matches!(grant, Grant::DefaultRole { .. }));
    let mut statements: Vec<String> = taken.iter().map(|g| g.take(inactive)).collect();
    statements.extend(wanted.difference(&present).map(|g| g.give(inactive)));
    if statements.is_empty() {
        return Ok(());
    }
    for statement in statements {
        admin.execute(statement).await?;
    }
    let now = grants_of(admin, inactive).await?;
    let differences: Vec<String> = now.symmetric_difference(&wanted).map(Grant::describe).collect();
    if differences.is_empty() {
        return Ok(());
    }
    Err(RotationError::target(
        TargetErrorKind::Rejected,
        admin.connection().address(),
        format!(
            "{} and {} still differ after the sync ({}); the admin could not mirror these, so fix them by hand",
            active.to_sql(),
            inactive.to_sql(),
            differences.join("; ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lock_flags_read_as_each_server_writes_them() {
        for (flag, locked) in
            [("1", true), ("true", true), ("Y", true), ("y", true), ("0", false), ("N", false), ("", false)]
        {
            assert_eq!(locked_flag(flag), locked, "{flag:?}");
        }
    }

    #[test]
    fn require_clauses_are_rebuilt_from_fields() {
        assert_eq!(require_clause("", "", "", ""), "NONE");
        assert_eq!(require_clause("ANY", "", "", ""), "SSL");
        assert_eq!(require_clause("X509", "", "", ""), "X509");
        assert_eq!(
            require_clause("SPECIFIED", "", "/CN=ca", "/CN=app 'x'"),
            r"ISSUER '/CN=ca' AND SUBJECT '/CN=app \'x\''"
        );
    }

    #[test]
    fn grants_parse_into_comparable_items() {
        let app = Account::new("app", "10.%").unwrap();
        let grants = parse_grants(
            &lines(&[
                "GRANT USAGE ON *.* TO `app`@`10.%` IDENTIFIED BY PASSWORD '*4ACFE3202A5FF5CF467898FC58AAB1D615029441' REQUIRE SSL",
                "GRANT SELECT, UPDATE (`a`, `b`) ON `shop, TO x`.* TO `app`@`10.%` WITH GRANT OPTION",
                "GRANT `reporting` TO `app`@`10.%`",
                "REVOKE INSERT ON `mysql`.* FROM `app`@`10.%`",
            ]),
            &app,
        )
        .unwrap();
        let on = "`shop, TO x`.*".to_string();
        let expected: BTreeSet<Grant> = [
            Grant::Privilege { on: on.clone(), privilege: "SELECT".into() },
            Grant::Privilege { on: on.clone(), privilege: "UPDATE (`a`, `b`)".into() },
            Grant::WithGrantOption { on: on.clone() },
            Grant::Role { role: "`reporting`".into(), admin: false },
            Grant::PartialRevoke { on: "`mysql`.*".into(), privilege: "INSERT".into() },
        ]
        .into();
        assert_eq!(grants, expected);
        let clone = app.with_user("app_clone").unwrap();
        assert_eq!(
            Grant::PartialRevoke { on: "`mysql`.*".into(), privilege: "INSERT".into() }.give(&clone),
            "REVOKE INSERT ON `mysql`.* FROM 'app_clone'@'10.%'"
        );
        assert_eq!(
            Grant::WithGrantOption { on }.take(&clone),
            "REVOKE GRANT OPTION ON `shop, TO x`.* FROM 'app_clone'@'10.%'"
        );
        let default = parse_grants(
            &lines(&["GRANT `reporting` TO `app`@`10.%`", "SET DEFAULT ROLE `reporting` FOR `app`@`10.%`"]),
            &app,
        )
        .unwrap();
        let role = Grant::DefaultRole { role: "`reporting`".into() };
        assert!(default.contains(&role) && default.len() == 2, "{default:?}");
        assert_eq!(default.iter().last(), Some(&role), "the role is given before it becomes the default");
        assert_eq!(role.give(&clone), "SET DEFAULT ROLE `reporting` FOR 'app_clone'@'10.%'");
        assert_eq!(role.take(&clone), "SET DEFAULT ROLE NONE FOR 'app_clone'@'10.%'");
        for line in [
            "GRANT SELECT ON *.* TO `app`@`10.%` WITH MAX_QUERIES_PER_HOUR 10",
            "GRANT SELECT ON *.* TO `other`@`%`",
            "SET DEFAULT ROLE `reporting` FOR `other`@`%`",
        ] {
            assert!(parse_grants(&lines(&[line]), &app).unwrap_err().contains("cannot be mirrored"), "{line}");
        }
    }
}
