//! The minting record: a tag each secret naming a user keeps on that user, written by createSecret before it
//! changes any key and again once `CreateAccessKey` answers. It names the keys rotor holds for that secret (so a
//! later rotation deletes only keys rotor minted for this secret, and never a key another secret's record names)
//! and when the attempt may have minted (so a retry of the same rotation recognises the key an attempt minted but
//! never stored: IAM shows a secret access key once, and an attempt that dies after `CreateAccessKey` leaves a key
//! nobody holds).
//!
//! Only IAM administrators and the function's role (for `rotor-minting:*` keys only) may tag the users, so a
//! secret's writer cannot forge a record. Each secret naming a user has a record of its own (its key hashes the
//! secret's ARN), overwritten by that secret's next attempt and never removed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The prefix of every record's tag key (the role may write these tags only).
pub const RECORD_PREFIX: &str = "rotor-minting:";

/// How long an attempt may take from IAM's listing of the user's keys to `CreateAccessKey`'s answer: the attempt
/// gives up past it, so a key created later is not this attempt's. The calls in between (a signature check, the
/// record, at most one key deactivated and deleted, the key created, with the SDK's retries) take seconds.
pub const MINTING_BOUND: Duration = Duration::from_secs(60);

/// How far IAM's clocks may disagree with each other and with the second-truncated `Date` of IAM's answer, and how
/// long a request IAM accepted before the attempt gave up may take to be carried out.
const IAM_SKEW: Duration = Duration::from_secs(5);

/// How far the function's clock may be from IAM's: SigV4 refuses requests signed more than 5 minutes off.
const FUNCTION_SKEW: Duration = Duration::from_secs(5 * 60);

/// The window a record written by the version before this one had: its time by the function's clock, 6 minutes
/// either side.
const LEGACY_WINDOW: Duration = Duration::from_secs(6 * 60);

/// IAM's limit on a tag's value.
const VALUE_LIMIT: usize = 256;

/// When an attempt began: IAM's answer to its listing of the user's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The `Date` of IAM's answer: IAM's clock, the one its keys' creation dates are in.
    Iam(SystemTime),
    /// The function's clock, when IAM's answer had no `Date` (up to SigV4's 5 minutes off IAM's).
    Function(SystemTime),
}

impl Start {
    /// The time, by whichever clock.
    pub fn at(self) -> SystemTime {
        match self {
            Self::Iam(at) | Self::Function(at) => at,
        }
    }

    /// The creation dates (IAM's clock) a key this attempt mints may carry.
    fn window(self) -> (SystemTime, SystemTime) {
        let (at, skew) = match self {
            Self::Iam(at) => (at, IAM_SKEW),
            Self::Function(at) => (at, IAM_SKEW + FUNCTION_SKEW),
        };
        (at.checked_sub(skew).unwrap_or(UNIX_EPOCH), at + MINTING_BOUND + skew)
    }
}

/// One attempt's record, as its tag holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The tag's key: [`RECORD_PREFIX`] and a hash of the secret's ARN.
    pub key: String,
    /// A hash of the rotation's token (tokens may hold characters a tag value may not).
    attempt: String,
    /// The earliest and latest creation dates (IAM's clock) of a key the attempt may have minted.
    window: (SystemTime, SystemTime),
    /// The key the attempt was about to delete (`AWSPREVIOUS`'s, mostly): a retry of the same rotation may still
    /// delete it, even once it is inactive (an inactive key signs nothing, so it can no longer be proven).
    pub retiring: Option<String>,
    /// `AWSCURRENT`'s key as the attempt began, when rotor minted it for this secret (or this secret's first
    /// rotation took it as the secret's): the key the next rotation finds in `AWSPREVIOUS`.
    pub kept: Option<String>,
    /// The key the attempt minted, once `CreateAccessKey` answered.
    pub minted: Option<String>,
    /// Written by the version before this one, which recorded no keys and timed the attempt by its own clock.
    pub legacy: bool,
}

impl Record {
    /// The record of rotation `token` of `secret_id` (its ARN), begun at `start`, before it mints.
    pub fn new(secret_id: &str, token: &str, start: Start, retiring: Option<String>, kept: Option<String>) -> Self {
        Self {
            key: Self::tag_key(secret_id),
            attempt: short_hash(token),
            window: start.window(),
            retiring,
            kept,
            minted: None,
            legacy: false,
        }
    }

    /// The same record, naming the key the attempt minted.
    pub fn with_minted(self, access_key_id: &str) -> Self {
        Self { minted: Some(access_key_id.to_owned()), ..self }
    }

    /// The tag key of `secret_id`'s record.
    pub fn tag_key(secret_id: &str) -> String {
        format!("{RECORD_PREFIX}{}", short_hash(secret_id))
    }

    /// The tag's value, `<token hash>_<from>_<to>_<retiring>_<kept>_<minted>` (times in unix seconds, `-` for no
    /// key): characters a tag value allows and no form encoding changes (moto, for one, checks signatures over a
    /// body it re-encodes). An error when a key id would not read back (IAM's ids are letters and digits) or the
    /// value would be over IAM's 256 characters.
    pub fn value(&self) -> Result<String, String> {
        let seconds = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let mut fields =
            vec![self.attempt.clone(), seconds(self.window.0).to_string(), seconds(self.window.1).to_string()];
        for id in [&self.retiring, &self.kept, &self.minted] {
            match id.as_deref() {
                None => fields.push("-".to_owned()),
                Some(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                    fields.push(id.to_owned())
                }
                Some(id) => return Err(format!("the access key id {id:?} is not letters and digits only")),
            }
        }
        let value = fields.join("_");
        if value.len() > VALUE_LIMIT {
            return Err(format!("it would be {} characters, over IAM's {VALUE_LIMIT} for a tag's value", value.len()));
        }
        Ok(value)
    }

    /// Every record among a user's tags; a tag that does not parse (an administrator's edit) is no record.
    pub fn all(tags: &[(String, String)]) -> Vec<Self> {
        tags.iter().filter(|(key, _)| key.starts_with(RECORD_PREFIX)).filter_map(|(k, v)| Self::parse(k, v)).collect()
    }

    fn parse(key: &str, value: &str) -> Option<Self> {
        let id = |field: &str| (field != "-").then(|| field.to_owned());
        let time = |field: &str| field.parse().ok().map(|s| UNIX_EPOCH + Duration::from_secs(s));
        let fields: Vec<&str> = value.split('_').collect();
        let (attempt, window, retiring, kept, minted, legacy) = match fields[..] {
            [attempt, from, to, retiring, kept, minted] => {
                (attempt, (time(from)?, time(to)?), id(retiring), id(kept), id(minted), false)
            }
            [attempt, at, retiring] => {
                let at: SystemTime = time(at)?;
                let from = at.checked_sub(LEGACY_WINDOW).unwrap_or(UNIX_EPOCH);
                (attempt, (from, at + LEGACY_WINDOW), id(retiring), None, None, true)
            }
            _ => return None,
        };
        if attempt.is_empty() {
            return None;
        }
        Some(Self { key: key.to_owned(), attempt: attempt.to_owned(), window, retiring, kept, minted, legacy })
    }

    /// Whether this is the record of an attempt of rotation `token` of `secret_id`.
    pub fn is_attempt_of(&self, secret_id: &str, token: &str) -> bool {
        self.key == Self::tag_key(secret_id) && self.attempt == short_hash(token)
    }

    /// Whether the record names `access_key_id` as its secret's: a key rotor minted or kept for it, or one it was
    /// deleting.
    pub fn names(&self, access_key_id: &str) -> bool {
        [&self.retiring, &self.kept, &self.minted].into_iter().any(|id| id.as_deref() == Some(access_key_id))
    }

    /// Whether rotor has taken any key as this record's secret's yet (none: the secret's first rotation by this
    /// version is still to come).
    pub fn holds_keys(&self) -> bool {
        self.kept.is_some() || self.minted.is_some()
    }

    /// Whether a key created at `created` (IAM's clock) may have been minted by this attempt.
    pub fn covers(&self, created: SystemTime) -> bool {
        (self.window.0..=self.window.1).contains(&created)
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

    fn at() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_767_225_600)
    }

    #[test]
    fn a_record_round_trips_through_its_tag_and_names_its_secret_attempt_and_keys() {
        let record =
            Record::new(SECRET, TOKEN, Start::Iam(at()), Some("AKIAPREVIOUS".into()), Some("AKIACURRENT".into()));
        assert_eq!(short_hash(""), "cbf29ce484222325", "FNV-1a's offset basis: the hash is the published one");
        assert!(record.key.starts_with(RECORD_PREFIX) && record.key.len() == RECORD_PREFIX.len() + 16);
        let value = record.value().unwrap();
        assert!(value.ends_with("_1767225595_1767225665_AKIAPREVIOUS_AKIACURRENT_-"), "{value}");
        let minted = record.clone().with_minted("AKIANEW");
        let tags = [
            (minted.key.clone(), minted.value().unwrap()),
            ("team".to_owned(), "platform".to_owned()),
            (format!("{RECORD_PREFIX}0000000000000000"), "garbage".to_owned()),
            (format!("{RECORD_PREFIX}0000000000000001"), "a_1_2_3".to_owned()),
        ];
        assert_eq!(Record::all(&tags), std::slice::from_ref(&minted));
        assert!(minted.is_attempt_of(SECRET, TOKEN));
        assert!(!minted.is_attempt_of(SECRET, "another-token-of-the-same-secret-0001"));
        assert!(!minted.is_attempt_of("arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf", TOKEN));
        for id in ["AKIAPREVIOUS", "AKIACURRENT", "AKIANEW"] {
            assert!(minted.names(id), "{id}");
        }
        assert!(!minted.names("AKIAOTHER") && !record.names("AKIANEW"));
        assert!(minted.holds_keys() && !minted.legacy);
        let none = Record::new(SECRET, TOKEN, Start::Iam(at()), None, None);
        let parsed = &Record::all(&[(none.key.clone(), none.value().unwrap())])[0];
        assert_eq!((&parsed.retiring, &parsed.kept, &parsed.minted), (&None, &None, &None));
        assert!(!parsed.holds_keys(), "a record naming no key leaves the secret's first rotation to come");
    }

    #[test]
    fn a_key_id_that_would_not_read_back_or_overflow_the_tag_is_refused() {
        let record = |id: &str| Record::new(SECRET, TOKEN, Start::Iam(at()), None, Some(id.to_owned()));
        assert!(record("AKIA_UNDERSCORE").value().unwrap_err().contains("letters and digits"));
        assert!(record(&"A".repeat(128)).with_minted(&"B".repeat(128)).value().unwrap_err().contains("over IAM's 256"));
        assert!(record(&"A".repeat(20)).with_minted(&"B".repeat(20)).value().is_ok());
    }

    #[test]
    fn by_iams_clock_a_record_covers_only_keys_created_from_its_start_to_the_attempts_bound() {
        let record = Record::new(SECRET, TOKEN, Start::Iam(at()), None, None);
        assert!(record.covers(at()) && record.covers(at() + MINTING_BOUND));
        assert!(record.covers(at() - IAM_SKEW) && record.covers(at() + MINTING_BOUND + IAM_SKEW));
        // A key made by hand a minute before the attempt, or two minutes after it began, is not its.
        assert!(!record.covers(at() - IAM_SKEW - Duration::from_secs(1)));
        assert!(!record.covers(at() - Duration::from_secs(60)));
        assert!(!record.covers(at() + MINTING_BOUND + IAM_SKEW + Duration::from_secs(1)));
        assert!(!record.covers(at() + Duration::from_secs(120)));
    }

    #[test]
    fn by_the_functions_clock_a_record_allows_sigv4s_skew_either_side() {
        let record = Record::new(SECRET, TOKEN, Start::Function(at()), None, None);
        assert!(record.covers(at() - FUNCTION_SKEW) && record.covers(at() + MINTING_BOUND + FUNCTION_SKEW));
        assert!(!record.covers(at() - FUNCTION_SKEW - IAM_SKEW - Duration::from_secs(1)));
        assert!(!record.covers(at() + MINTING_BOUND + FUNCTION_SKEW + IAM_SKEW + Duration::from_secs(1)));
    }

    #[test]
    fn a_record_of_the_version_before_names_its_retiring_key_keeps_its_window_and_holds_no_keys() {
        let key = Record::tag_key(SECRET);
        let legacy = &Record::all(&[(key.clone(), format!("{}_1767225600_AKIAPREVIOUS", short_hash(TOKEN)))])[0];
        assert!(legacy.legacy && legacy.is_attempt_of(SECRET, TOKEN) && legacy.names("AKIAPREVIOUS"));
        assert!(!legacy.holds_keys());
        assert!(legacy.covers(at() - LEGACY_WINDOW) && legacy.covers(at() + LEGACY_WINDOW));
        assert!(!legacy.covers(at() + LEGACY_WINDOW + Duration::from_secs(1)));
        let none = &Record::all(&[(key, format!("{}_1767225600_-", short_hash(TOKEN)))])[0];
        assert_eq!(none.retiring, None);
    }
}
