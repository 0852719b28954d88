//! The minting record: a tag an attempt of createSecret writes on the user before it changes any key, so that a
//! retry of the same rotation recognises the key that attempt minted but never stored (IAM shows a secret access
//! key once; an attempt that dies after `CreateAccessKey` leaves a key nobody holds).
//!
//! Only IAM administrators and the function's role (for `rotor-minting:*` keys only) may tag the users, so a
//! secret's writer cannot forge a record. Each secret naming a user has a record of its own (its key hashes the
//! secret's ARN), overwritten by that secret's next attempt and never removed: a key created while another
//! secret's attempt was minting is that secret's as much as this one's, and is then nobody's to delete.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The prefix of every record's tag key (the role may write these tags only).
pub const RECORD_PREFIX: &str = "rotor-minting:";

/// How far a key's creation date (IAM's clock) may lie from its record's time (the function's clock) for the key
/// to count as that attempt's: SigV4 refuses requests signed more than 5 minutes off AWS's clock, so the function's
/// clock is within 5 minutes of IAM's, and the attempt calls `CreateAccessKey` within a minute of writing the record.
pub const WINDOW: Duration = Duration::from_secs(6 * 60);

/// One attempt's record, as its tag holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The tag's key: [`RECORD_PREFIX`] and a hash of the secret's ARN.
    pub key: String,
    /// A hash of the rotation's token (tokens may hold characters a tag value may not).
    attempt: String,
    /// When the attempt wrote it, by the function's clock.
    pub at: SystemTime,
    /// The `AWSPREVIOUS` key the attempt proved and was about to delete: a retry may still delete it once it is
    /// inactive (an inactive key signs nothing, so it can no longer be proven).
    pub retiring: Option<String>,
}

impl Record {
    /// The record of rotation `token` of `secret_id` (its ARN), written at `at`.
    pub fn new(secret_id: &str, token: &str, at: SystemTime, retiring: Option<String>) -> Self {
        Self { key: Self::tag_key(secret_id), attempt: short_hash(token), at, retiring }
    }

    /// The tag key of `secret_id`'s record.
    pub fn tag_key(secret_id: &str) -> String {
        format!("{RECORD_PREFIX}{}", short_hash(secret_id))
    }

    /// The tag's value: `<token hash>_<unix seconds>_<retiring key id or ->`, characters a tag value allows and no
    /// form encoding changes (moto, for one, checks signatures over a body it re-encodes).
    pub fn value(&self) -> String {
        let seconds = self.at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        format!("{}_{seconds}_{}", self.attempt, self.retiring.as_deref().unwrap_or("-"))
    }

    /// Every record among a user's tags; a tag that does not parse (an administrator's edit) is no record.
    pub fn all(tags: &[(String, String)]) -> Vec<Self> {
        tags.iter().filter(|(key, _)| key.starts_with(RECORD_PREFIX)).filter_map(|(k, v)| Self::parse(k, v)).collect()
    }

    fn parse(key: &str, value: &str) -> Option<Self> {
        let mut fields = value.split('_');
        let attempt = fields.next().filter(|a| !a.is_empty())?.to_owned();
        let at = UNIX_EPOCH + Duration::from_secs(fields.next()?.parse().ok()?);
        let retiring = match fields.next()? {
            "-" => None,
            id => Some(id.to_owned()),
        };
        Some(Self { key: key.to_owned(), attempt, at, retiring })
    }

    /// Whether this is the record of an attempt of rotation `token` of `secret_id`.
    pub fn is_attempt_of(&self, secret_id: &str, token: &str) -> bool {
        self.key == Self::tag_key(secret_id) && self.attempt == short_hash(token)
    }

    /// Whether a key created at `created` may have been minted by this attempt.
    pub fn covers(&self, created: SystemTime) -> bool {
        let apart = created.duration_since(self.at).unwrap_or_else(|early| early.duration());
        apart <= WINDOW
    }
}

/// FNV-1a (64 bits) in hex: stable across builds and releases, which a tag written by one version and read by the
/// next needs (std's hasher promises neither). Not a defence: only administrators and the role write the tags.
fn short_hash(text: &str) -> String {
    let hash = text
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3));
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ci-AbCdEf";
    const TOKEN: &str = "5f1e1fd4-5c0b-4c9a-9d3c-0d52cbe8a2e1";

    #[test]
    fn a_record_round_trips_through_its_tag_and_names_its_secret_and_attempt() {
        let at = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let record = Record::new(SECRET, TOKEN, at, Some("AKIAPREVIOUS".into()));
        assert_eq!(short_hash(""), "cbf29ce484222325", "FNV-1a's offset basis: the hash is the published one");
        assert!(record.key.starts_with(RECORD_PREFIX) && record.key.len() == RECORD_PREFIX.len() + 16);
        assert!(record.value().ends_with("_1767225600_AKIAPREVIOUS"), "{}", record.value());
        let tags = [
            (record.key.clone(), record.value()),
            ("team".to_owned(), "platform".to_owned()),
            (format!("{RECORD_PREFIX}0000000000000000"), "garbage".to_owned()),
        ];
        assert_eq!(Record::all(&tags), std::slice::from_ref(&record));
        assert!(record.is_attempt_of(SECRET, TOKEN));
        assert!(!record.is_attempt_of(SECRET, "another-token-of-the-same-secret-0001"));
        assert!(!record.is_attempt_of("arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf", TOKEN));
        let none = Record::new(SECRET, TOKEN, at, None);
        assert_eq!(Record::all(&[(none.key.clone(), none.value())])[0].retiring, None);
    }

    #[test]
    fn a_record_covers_keys_created_within_the_clock_skew_either_side() {
        let at = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        let record = Record::new(SECRET, TOKEN, at, None);
        assert!(record.covers(at));
        assert!(record.covers(at + WINDOW) && record.covers(at - WINDOW), "IAM's clock may be ahead or behind");
        assert!(!record.covers(at + WINDOW + Duration::from_secs(1)));
        assert!(!record.covers(at - WINDOW - Duration::from_secs(1)));
    }
}
