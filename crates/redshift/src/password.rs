//! Setting a password without sending it: the `md5` form Redshift documents for `CREATE USER` and `ALTER USER`.

use postgres_protocol::escape::{escape_identifier, escape_literal};

/// `ALTER USER <user> PASSWORD 'md5<hex of md5(password || user)>'` (Redshift's documented hash form; PostgreSQL
/// stores it verbatim too).
///
/// The password never reaches the server, so not its logs either; the user name salts the hash exactly as the
/// server stores it (Redshift keeps a quoted name's case), and `extra` adds user options built from keywords.
/// Redshift's other form, `sha256|...`, is not used: a user stored that way logs in only through Redshift's own
/// authentication method, which PostgreSQL drivers do not speak.
pub fn password_statement(user: &str, password: &str, extra: &str) -> String {
    let hash = postgres_protocol::password::md5(password.as_bytes(), user);
    format!("ALTER USER {} {extra} PASSWORD {}", escape_identifier(user), escape_literal(&hash))
}

/// `CREATE USER <user> PASSWORD 'md5...'`: the alternating users' clone, created with its password.
pub fn create_statement(user: &str, password: &str) -> String {
    let hash = postgres_protocol::password::md5(password.as_bytes(), user);
    format!("CREATE USER {} PASSWORD {}", escape_identifier(user), escape_literal(&hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of Redshift's CREATE USER documentation: password `ez`, user `user1`.
    #[test]
    fn the_hash_is_the_one_redshift_documents() {
        assert_eq!(
            password_statement("user1", "ez", ""),
            "ALTER USER \"user1\"  PASSWORD 'md5153c434b4b77c89e6b94f12c5393af5b'"
        );
        assert_eq!(
            create_statement("user1", "ez"),
            "CREATE USER \"user1\" PASSWORD 'md5153c434b4b77c89e6b94f12c5393af5b'"
        );
    }

    #[test]
    fn the_statement_holds_a_hash_not_the_password_and_quotes_the_name() {
        let statement = password_statement("we\"ird; User", "s3cret-Pa55word", "");
        assert!(statement.starts_with("ALTER USER \"we\"\"ird; User\""), "{statement}");
        assert!(!statement.contains("s3cret-Pa55word"));
    }
}
