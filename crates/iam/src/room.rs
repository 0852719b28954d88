//! Making room for a new key (IAM allows two per user) without destroying a key this secret does not own: only
//! `AWSPREVIOUS`'s key, once its secret access key proved it, or a key an interrupted attempt of this same rotation
//! minted; any other key stops the rotation, named, unless the function opts in to deleting unknown keys.

use std::time::{Duration, SystemTime};

use aws_sdk_iam::types::{AccessKeyMetadata, StatusType};

use crate::record::Record;

/// One access key of the user, as `ListAccessKeys` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The access key id.
    pub id: String,
    /// Whether it is active.
    pub active: bool,
    /// When IAM created it.
    pub created: Option<SystemTime>,
}

impl From<&AccessKeyMetadata> for Key {
    fn from(key: &AccessKeyMetadata) -> Self {
        Self {
            id: key.access_key_id().unwrap_or_default().to_owned(),
            active: key.status() == Some(&StatusType::Active),
            created: key.create_date().and_then(|d| SystemTime::try_from(*d).ok()),
        }
    }
}

/// What the secret and this rotation know of the user's keys.
#[derive(Debug, Clone, Copy)]
pub struct Holdings<'a> {
    /// The secret's ARN (whose record is its own).
    pub secret_id: &'a str,
    /// The rotation's token.
    pub token: &'a str,
    /// `AWSCURRENT`'s key id.
    pub current: &'a str,
    /// `AWSPREVIOUS`'s key id, and whether its secret access key signs as the user (an inactive key signs nothing).
    pub previous: Option<(&'a str, bool)>,
}

/// The function's rules for deleting keys.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// `DELETE_UNKNOWN_KEYS`: also delete keys the secret cannot prove are its own.
    pub delete_unknown: bool,
    /// `PREVIOUS_KEY_GRACE_HOURS`.
    pub grace: Duration,
}

/// The keys to delete before minting, each with why (for the log), and the `AWSPREVIOUS` key among them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The keys, in the order to delete them.
    pub deletions: Vec<(Key, &'static str)>,
    /// `AWSPREVIOUS`'s key, when it is one of them (the record names it).
    pub retiring: Option<String>,
}

/// The keys this rotation may delete to make room, or, when a key stands in the way that it may not delete, why
/// and the fix (nothing is deleted then). `AWSCURRENT`'s key is never deleted; when the user has no such key,
/// rotor cannot tell this secret's keys from anyone else's, and refuses.
pub fn plan(
    user: &str,
    keys: &[Key],
    holdings: &Holdings<'_>,
    records: &[Record],
    rules: Rules,
    now: SystemTime,
) -> Result<Plan, String> {
    let current = holdings.current;
    let Some(current_key) = keys.iter().find(|k| k.id == current) else {
        let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
        return Err(format!(
            "AWSCURRENT's access key {current} is not among the user's keys ({}): rotor cannot tell this secret's keys from anyone else's, so it deletes and creates nothing; put a working key of the user into AWSCURRENT (PutSecretValue), or, if the key was revoked on purpose, create a new key for the user by hand and put that in",
            if ids.is_empty() { "none".to_owned() } else { ids.join(", ") }
        ));
    };
    // One record per secret: this secret's, of this rotation or of an earlier one; and other secrets' records.
    let mine = Record::tag_key(holdings.secret_id);
    let (this_secret, other_secrets): (Vec<&Record>, Vec<&Record>) = records.iter().partition(|r| r.key == mine);
    let earlier = this_secret.first().copied();
    let own = earlier.filter(|r| r.is_attempt_of(holdings.secret_id, holdings.token));
    let mut plan = Plan::default();
    let mut refusals = Vec::new();
    for key in keys.iter().filter(|k| k.id != current) {
        let previous = holdings.previous.filter(|(id, _)| *id == key.id);
        let retired_by_this_rotation = own.is_some_and(|r| r.retiring.as_deref() == Some(key.id.as_str()));
        if previous.is_some_and(|(_, proven)| proven) || (previous.is_some() && retired_by_this_rotation) {
            if let Some(refusal) = within_grace(key, current_key, rules.grace, now) {
                return Err(refusal);
            }
            plan.retiring = Some(key.id.clone());
            plan.deletions.push((key.clone(), "AWSPREVIOUS's key: IAM allows two keys per user and its grace is over"));
            continue;
        }
        let minting = |r: &Record| key.created.is_some_and(|created| r.covers(created));
        if let Some(other) = other_secrets.iter().find(|r| minting(r)) {
            refusals.push(format!(
                "{} was created while rotor minted a key for another secret naming this user (its record, the user's tag {}): it may be that secret's, and rotor never deletes it; finish or cancel that rotation, and delete the key by hand if nothing uses it",
                key.id, other.key
            ));
            continue;
        }
        if own.is_some_and(minting) {
            plan.deletions.push((key.clone(), "minted by an interrupted attempt of this rotation and never stored"));
            continue;
        }
        if rules.delete_unknown {
            plan.deletions.push((key.clone(), "no version of this secret holds it, and DELETE_UNKNOWN_KEYS=true"));
            continue;
        }
        let why = match previous {
            Some(_) if !key.active => {
                "AWSPREVIOUS names it, but it is inactive, so AWSPREVIOUS's secret access key cannot prove it is that key"
            }
            Some(_) => "AWSPREVIOUS names it, but AWSPREVIOUS's secret access key does not sign as the user with it",
            None if own.is_none() && earlier.is_some_and(minting) => {
                "an earlier rotation of this secret, abandoned since, minted it: only a retry of that same rotation deletes it by itself"
            }
            None => {
                "no version of this secret holds it, and no interrupted attempt of this rotation minted it: a key made by hand (break-glass), a second consumer's, or another secret's AWSCURRENT"
            }
        };
        refusals.push(format!(
            "{} is not this secret's to delete: {why}; delete it yourself once nothing uses it (aws iam delete-access-key --user-name {user} --access-key-id {}), or set DELETE_UNKNOWN_KEYS=true on the function to let rotor delete the keys it cannot prove are this secret's (never when a second secret or consumer uses the user)",
            key.id, key.id
        ));
    }
    if refusals.is_empty() {
        Ok(plan)
    } else {
        Err(format!(
            "IAM allows two access keys per user and rotor deletes only what this secret holds or minted, so nothing was changed: the user's access key {}",
            refusals.join("; the user's access key ")
        ))
    }
}

/// Why `previous` must be kept a while longer (`PREVIOUS_KEY_GRACE_HOURS`), if it must: consumers may still use an
/// active previous key until its grace, counted from the current key's creation, is over.
fn within_grace(previous: &Key, current: &Key, grace: Duration, now: SystemTime) -> Option<String> {
    if !previous.active || grace.is_zero() {
        return None;
    }
    let held = current.created.and_then(|t| now.duration_since(t).ok()).unwrap_or(Duration::MAX);
    (held < grace).then(|| {
        format!(
            "AWSPREVIOUS's access key {} is still within PREVIOUS_KEY_GRACE_HOURS ({} h of {} h): consumers may still use it; rotate again once the grace is over",
            previous.id,
            held.as_secs() / 3600,
            grace.as_secs() / 3600
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf";
    const OTHER: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:b-AbCdEf";
    const TOKEN: &str = "token-of-this-rotation-0000000000001";

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
    }

    fn key(id: &str, active: bool, minutes_ago: u64) -> Key {
        Key { id: id.into(), active, created: Some(now() - Duration::from_secs(minutes_ago * 60)) }
    }

    fn holdings(previous: Option<(&'static str, bool)>) -> Holdings<'static> {
        Holdings { secret_id: SECRET, token: TOKEN, current: "CURRENT", previous }
    }

    const STRICT: Rules = Rules { delete_unknown: false, grace: Duration::ZERO };

    fn ids(plan: &Plan) -> Vec<&str> {
        plan.deletions.iter().map(|(k, _)| k.id.as_str()).collect()
    }

    #[test]
    fn only_a_proven_previous_key_is_deleted() {
        let keys = [key("CURRENT", true, 60), key("PREVIOUS", true, 600)];
        let plan = plan("u", &keys, &holdings(Some(("PREVIOUS", true))), &[], STRICT, now()).unwrap();
        assert_eq!((ids(&plan), plan.retiring.as_deref()), (vec!["PREVIOUS"], Some("PREVIOUS")));
        // AWSPREVIOUS pointed at a key whose secret access key it does not hold (another consumer's).
        let error = super::plan("u", &keys, &holdings(Some(("PREVIOUS", false))), &[], STRICT, now()).unwrap_err();
        assert!(
            error.contains("PREVIOUS is not this secret's to delete") && error.contains("does not sign"),
            "{error}"
        );
        assert!(error.contains("--access-key-id PREVIOUS") && error.contains("DELETE_UNKNOWN_KEYS=true"), "{error}");
        let inactive = [key("CURRENT", true, 60), key("PREVIOUS", false, 600)];
        let error = super::plan("u", &inactive, &holdings(Some(("PREVIOUS", false))), &[], STRICT, now()).unwrap_err();
        assert!(error.contains("it is inactive"), "{error}");
    }

    #[test]
    fn an_unknown_key_stops_the_rotation_unless_the_function_opts_in() {
        let keys = [key("CURRENT", true, 60), key("BREAKGLASS", true, 5)];
        let error = plan("u", &keys, &holdings(None), &[], STRICT, now()).unwrap_err();
        for expected in ["BREAKGLASS is not this secret's", "break-glass", "nothing was changed", "--user-name u"] {
            assert!(error.contains(expected), "{expected}: {error}");
        }
        let opted = Rules { delete_unknown: true, ..STRICT };
        assert_eq!(ids(&plan("u", &keys, &holdings(None), &[], opted, now()).unwrap()), ["BREAKGLASS"]);
    }

    #[test]
    fn a_missing_current_key_deletes_nothing() {
        let keys = [key("PREVIOUS", true, 600), key("OTHER", true, 5)];
        let opted = Rules { delete_unknown: true, ..STRICT };
        let error = plan("u", &keys, &holdings(Some(("PREVIOUS", true))), &[], opted, now()).unwrap_err();
        assert!(error.contains("AWSCURRENT's access key CURRENT is not among the user's keys (PREVIOUS, OTHER)"));
    }

    #[test]
    fn a_key_minted_by_an_interrupted_attempt_of_this_rotation_is_recognised_and_no_other() {
        let record = |secret: &str, token: &str, minutes_ago: u64| {
            Record::new(secret, token, now() - Duration::from_secs(minutes_ago * 60), None)
        };
        let keys = [key("CURRENT", true, 600), key("MINTED", true, 10)];
        let own = [record(SECRET, TOKEN, 10)];
        assert_eq!(ids(&plan("u", &keys, &holdings(None), &own, STRICT, now()).unwrap()), ["MINTED"]);
        // Another rotation of this secret, or an attempt long before the key: not this attempt's.
        let earlier = [record(SECRET, "an-earlier-rotation-of-this-secret-01", 10)];
        let error = plan("u", &keys, &holdings(None), &earlier, STRICT, now()).unwrap_err();
        assert!(error.contains("an earlier rotation of this secret, abandoned since, minted it"), "{error}");
        let error = plan("u", &keys, &holdings(None), &[record(SECRET, TOKEN, 30)], STRICT, now()).unwrap_err();
        assert!(error.contains("break-glass"), "{error}");
        // Another secret's attempt minted at the same time: the key may be its, and is never deleted.
        let both = [record(SECRET, TOKEN, 10), record(OTHER, "the-other-secrets-rotation-00000001", 11)];
        let opted = Rules { delete_unknown: true, ..STRICT };
        let error = plan("u", &keys, &holdings(None), &both, opted, now()).unwrap_err();
        assert!(error.contains("another secret naming this user") && error.contains(&both[1].key), "{error}");
    }

    #[test]
    fn a_previous_key_this_rotation_deactivated_before_it_was_interrupted_is_still_deleted() {
        let keys = [key("CURRENT", true, 600), key("PREVIOUS", false, 6000)];
        let record = Record::new(SECRET, TOKEN, now(), Some("PREVIOUS".into()));
        let plan = plan("u", &keys, &holdings(Some(("PREVIOUS", false))), &[record], STRICT, now()).unwrap();
        assert_eq!(ids(&plan), ["PREVIOUS"]);
    }

    #[test]
    fn an_active_previous_key_within_its_grace_is_kept() {
        let keys = [key("CURRENT", true, 60), key("PREVIOUS", true, 600)];
        let grace = Rules { grace: Duration::from_secs(24 * 3600), ..STRICT };
        let error = plan("u", &keys, &holdings(Some(("PREVIOUS", true))), &[], grace, now()).unwrap_err();
        assert!(error.contains("PREVIOUS_KEY_GRACE_HOURS (1 h of 24 h)"), "{error}");
        let over = [key("CURRENT", true, 25 * 60), key("PREVIOUS", true, 600 * 60)];
        assert!(plan("u", &over, &holdings(Some(("PREVIOUS", true))), &[], grace, now()).is_ok());
    }
}
