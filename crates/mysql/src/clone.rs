//! Alternating users: the clone gets the active user's host part, grants and TLS requirements, on every
//! rotation.

use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use rotation_core::database::{Connection, DatabaseConfig, TlsMode};
use rotation_core::{RotationError, TargetErrorKind};

use crate::account::{Account, literal};
use crate::connect::bounded;

/// The `REQUIRE ...` clause of `SHOW CREATE USER`, or `NONE`.
pub fn require_clause(show_create_user: &str) -> String {
    let Some(start) = show_create_user.find(" REQUIRE ") else { return "NONE".into() };
    let rest = &show_create_user[start + " REQUIRE ".len()..];
    let end = [" WITH ", " PASSWORD ", " ACCOUNT ", " FAILED_LOGIN_ATTEMPTS", " COMMENT ", " ATTRIBUTE "]
        .iter()
        .filter_map(|marker| rest.find(marker))
        .min()
        .unwrap_or(rest.len());
    rest[..end].trim().to_owned()
}

/// A `SHOW GRANTS` line for `from`, rewritten for `to`; `None` for lines that grant nothing to copy.
pub fn grant_for(line: &str, from: &Account, to: &Account) -> Option<String> {
    let grantee = format!(" TO {}", from.as_grantee());
    let at = line.find(&grantee)?;
    let mut rewritten = format!("{} TO {}", &line[..at], to.as_grantee());
    let tail = &line[at + grantee.len()..];
    // MariaDB appends the password hash to the USAGE line; the clone has its own password.
    let tail = match tail.find(" IDENTIFIED ") {
        Some(i) => {
            let after = &tail[i + " IDENTIFIED ".len()..];
            after.find(" WITH ").map(|w| &after[w..]).unwrap_or("")
        }
        None => tail,
    };
    rewritten.push_str(tail);
    Some(rewritten)
}

/// Creates the inactive account when missing, sets its password and TLS requirement to the active one's, and
/// grants it everything the active account holds. Idempotent.
pub async fn sync_and_set_password(
    admin: &mut Conn,
    admin_connection: &Connection,
    mode: TlsMode,
    config: &DatabaseConfig,
    active: &Account,
    inactive: &Account,
    password: &str,
) -> Result<(), RotationError> {
    let limit = config.statement_timeout;
    let max: Option<u64> = bounded(
        limit,
        admin_connection,
        mode,
        admin.query_first(
            "SELECT MAX(CHARACTER_MAXIMUM_LENGTH) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME IN ('user', 'global_priv') AND COLUMN_NAME = 'User'",
        ),
    )
    .await?;
    if let Some(max) = max
        && inactive.user.chars().count() as u64 > max
    {
        return Err(RotationError::target(
            TargetErrorKind::Rejected,
            admin_connection.address(),
            format!(
                "the clone's name {:?} is over this server's {max}-character limit on user names; use a shorter username",
                inactive.user
            ),
        ));
    }
    let show: Option<String> =
        bounded(limit, admin_connection, mode, admin.query_first(format!("SHOW CREATE USER {}", active.to_sql())))
            .await?;
    let require = require_clause(show.as_deref().unwrap_or_default());
    let statements = [
        format!("CREATE USER IF NOT EXISTS {} IDENTIFIED BY {}", inactive.to_sql(), literal(password)),
        format!("ALTER USER {} IDENTIFIED BY {} REQUIRE {require}", inactive.to_sql(), literal(password)),
    ];
    for statement in statements {
        bounded(limit, admin_connection, mode, admin.query_drop(statement)).await?;
    }
    let grants: Vec<String> =
        bounded(limit, admin_connection, mode, admin.query(format!("SHOW GRANTS FOR {}", active.to_sql()))).await?;
    for grant in grants.iter().filter_map(|line| grant_for(line, active, inactive)) {
        bounded(limit, admin_connection, mode, admin.query_drop(grant)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn require_clauses_are_found() {
        assert_eq!(require_clause("CREATE USER `a`@`%` IDENTIFIED BY PASSWORD '*AB' REQUIRE SSL"), "SSL");
        assert_eq!(
            require_clause(
                "CREATE USER 'a'@'%' REQUIRE SUBJECT '/CN=app' AND ISSUER '/CN=ca' PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK"
            ),
            "SUBJECT '/CN=app' AND ISSUER '/CN=ca'"
        );
        assert_eq!(require_clause("CREATE USER `a`@`%` IDENTIFIED BY PASSWORD '*AB'"), "NONE");
    }

    #[test]
    fn grants_are_rewritten_for_the_clone() {
        let from = Account { user: "app".into(), host: "10.%".into() };
        let to = from.with_user("app_clone");
        assert_eq!(
            grant_for("GRANT SELECT, INSERT ON `shop`.* TO `app`@`10.%` WITH GRANT OPTION", &from, &to).unwrap(),
            "GRANT SELECT, INSERT ON `shop`.* TO `app_clone`@`10.%` WITH GRANT OPTION"
        );
        assert_eq!(
            grant_for(
                "GRANT USAGE ON *.* TO `app`@`10.%` IDENTIFIED BY PASSWORD '*4ACFE3202A5FF5CF467898FC58AAB1D615029441'",
                &from,
                &to
            )
            .unwrap(),
            "GRANT USAGE ON *.* TO `app_clone`@`10.%`"
        );
        assert_eq!(
            grant_for("GRANT `reporting` TO `app`@`10.%`", &from, &to).unwrap(),
            "GRANT `reporting` TO `app_clone`@`10.%`"
        );
        assert!(grant_for("GRANT SELECT ON *.* TO `other`@`%`", &from, &to).is_none());
    }
}
