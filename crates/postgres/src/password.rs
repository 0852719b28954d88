//! Setting a password without sending it: a SCRAM-SHA-256 verifier computed here.

use postgres_protocol::escape::{escape_identifier, escape_literal};

/// `ALTER ROLE <role> WITH PASSWORD '<SCRAM-SHA-256 verifier>'`.
///
/// PostgreSQL stores a verifier it is given as is, so the cleartext password never reaches the server: not its
/// logs (`log_statement = 'all'`), not `pg_stat_statements`. The role name and the verifier are escaped with
/// postgres-protocol's escaping. `extra` adds role options (`LOGIN`, ...) that the caller built from keywords.
pub fn password_statement(role: &str, password: &str, extra: &str) -> String {
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    format!("ALTER ROLE {} WITH {extra} PASSWORD {}", escape_identifier(role), escape_literal(&verifier))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_holds_a_verifier_not_the_password() {
        let statement = password_statement("we\"ird; role", "s3cret-Pa55word", "LOGIN");
        assert!(statement.starts_with("ALTER ROLE \"we\"\"ird; role\" WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:"));
        assert!(!statement.contains("s3cret-Pa55word"));
        assert_ne!(statement, password_statement("we\"ird; role", "s3cret-Pa55word", "LOGIN"), "salted");
    }
}
