//! Setting a password without sending it: a SCRAM-SHA-256 verifier computed here.

use std::num::NonZeroU32;

use aws_lc_rs::{digest, hmac, pbkdf2};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use postgres_protocol::escape::{escape_identifier, escape_literal};

/// PostgreSQL's default (`scram_iterations`), and what its own clients use.
const ITERATIONS: NonZeroU32 = NonZeroU32::new(4096).expect("non-zero");
/// PostgreSQL's salt length for SCRAM-SHA-256.
const SALT_LEN: usize = 16;

/// `ALTER ROLE <role> WITH PASSWORD '<SCRAM-SHA-256 verifier>'`.
///
/// PostgreSQL stores a verifier it is given as is, so the cleartext password never reaches the server: not its
/// logs (`log_statement = 'all'`), not `pg_stat_statements`. The role name and the verifier are escaped with
/// postgres-protocol's escaping. `extra` adds role options (`LOGIN`, ...) that the caller built from keywords.
pub fn password_statement(role: &str, password: &str, extra: &str) -> String {
    let mut salt = [0u8; SALT_LEN];
    aws_lc_rs::rand::fill(&mut salt).expect("the system random generator works");
    let verifier = scram_sha_256(password, &salt);
    format!("ALTER ROLE {} WITH {extra} PASSWORD {}", escape_identifier(role), escape_literal(&verifier))
}

/// The verifier PostgreSQL stores (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, RFC 5802 and
/// 7677), as `PQencryptPasswordConn` makes it: the password SASLprep-ed when it can be, else its bytes as they
/// are. aws-lc's PBKDF2 keeps the HMAC key state across iterations: about half the work of postgres-protocol's,
/// which sets the key up again on each of the 4096.
fn scram_sha_256(password: &str, salt: &[u8]) -> String {
    let prepared = stringprep::saslprep(password).unwrap_or(std::borrow::Cow::Borrowed(password));
    let mut salted = [0u8; digest::SHA256_OUTPUT_LEN];
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, ITERATIONS, salt, prepared.as_bytes(), &mut salted);
    let key = hmac::Key::new(hmac::HMAC_SHA256, &salted);
    let client_key = hmac::sign(&key, b"Client Key");
    let stored_key = digest::digest(&digest::SHA256, client_key.as_ref());
    let server_key = hmac::sign(&key, b"Server Key");
    format!(
        "SCRAM-SHA-256${ITERATIONS}:{}${}:{}",
        BASE64.encode(salt),
        BASE64.encode(stored_key.as_ref()),
        BASE64.encode(server_key.as_ref())
    )
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

    /// Known answers from an independent implementation (Python's hashlib and hmac over OpenSSL).
    #[test]
    fn the_verifier_is_the_one_postgresql_derives() {
        let salt: Vec<u8> = (0..16).collect();
        assert_eq!(
            scram_sha_256("s3cret-Pa55word", &salt),
            "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$bxzmYRCFM6JYDzKIxIDMfsz2pqLw4cTnCxxQVfgakOw=:JczkPYAp92DItDeLLRuxZum+6LTmj15Snbi1oe1Y27A="
        );
        // SASLprep maps a no-break space to a space, as PostgreSQL's own verifier does.
        assert_eq!(scram_sha_256("pass\u{a0}word", &salt), scram_sha_256("pass word", &salt));
    }
}
