//! Making room for a new key (IAM allows two per user) without destroying a key rotor did not mint for this secret:
//! only `AWSPREVIOUS`'s key, once its secret access key proved it and this secret's record names it, or a key an
//! interrupted attempt of this same rotation minted; never a key another secret's record names; any other key
//! stops the rotation, named, unless the function opts in to deleting unknown keys.

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
    /// When IAM created it (IAM's clock).
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
    /// `AWSCURRENT`'s key id, and whether its secret access key signs as the user: asked on the secret's
    /// [`first_rotation`] only, the one rotation that may take the key as the secret's by its signature.
    pub current: (&'a str, bool),
    /// `AWSPREVIOUS`'s key id, and whether its secret access key signs as the user (an inactive key signs nothing).
    pub previous: Option<(&'a str, bool)>,
}

/// The function's rules for deleting keys.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// `DELETE_UNKNOWN_KEYS`: also delete keys the secret cannot prove are its own (never one another secret's
    /// record names).
    pub delete_unknown: bool,
    /// `PREVIOUS_KEY_GRACE_HOURS`.
    pub grace: Duration,
}

/// The keys to delete before minting, each with why (for the log), and what this attempt's record names.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The keys, in the order to delete them (at most one: IAM allows two keys per user, and `AWSCURRENT`'s is
    /// never deleted).
    pub deletions: Vec<(Key, &'static str)>,
    /// The key being deleted, for the record: a retry of this rotation may finish deleting it.
    pub retiring: Option<String>,
    /// `AWSCURRENT`'s key, when it is this secret's (rotor minted it for this secret, or this secret's first
    /// rotation takes it): the record names it, so the next rotation may delete it as `AWSPREVIOUS`'s.
    pub kept: Option<String>,
}

/// Whether this is `secret_id`'s first rotation by this version: its record names no key rotor minted or took for
/// it (there is none yet, or the version before, which recorded no keys, wrote it). Only this rotation takes
/// `AWSCURRENT`'s and `AWSPREVIOUS`'s keys as the secret's on their signatures alone, and only keys no other
/// secret's record names: the keys a secret was created with, or that a version before this one minted.
pub fn first_rotation(records: &[Record], secret_id: &str) -> bool {
    let mine = Record::tag_key(secret_id);
    !records.iter().any(|r| r.key == mine && r.holds_keys())
}

/// The keys this rotation may delete to make room, or, when a key stands in the way that it may not delete, why
/// and the fix (nothing is deleted then). `AWSCURRENT`'s key is never deleted; when the user has no such key,
/// rotor cannot tell this secret's keys from anyone else's, and refuses. `now` is IAM's clock where known.
pub fn plan(
    user: &str,
    keys: &[Key],
    holdings: &Holdings<'_>,
    records: &[Record],
    rules: Rules,
    now: SystemTime,
) -> Result<Plan, String> {
    let (current, current_proven) = holdings.current;
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
    let first = first_rotation(records, holdings.secret_id);
    let ours = |id: &str| earlier.is_some_and(|r| r.names(id));
    let theirs = |id: &str| other_secrets.iter().copied().find(|r| r.names(id));
    // The key an interrupted attempt of this rotation minted but could not name (its answer was lost) is the one
    // key created within that attempt's window that no record names; with two, either may be an operator's.
    let unnamed_in_window: Vec<&str> = match own {
        Some(record) if record.minted.is_none() && !record.legacy => keys
            .iter()
            .filter(|k| k.id != current && !records.iter().any(|r| r.names(&k.id)))
            .filter(|k| k.created.is_some_and(|created| record.covers(created)))
            .map(|k| k.id.as_str())
            .collect(),
        _ => Vec::new(),
    };
    let mut plan = Plan {
        kept: (ours(current) || (first && current_proven && theirs(current).is_none())).then(|| current.to_owned()),
        ..Plan::default()
    };
    let mut refusals = Vec::new();
    for key in keys.iter().filter(|k| k.id != current) {
        let previous = holdings.previous.filter(|(id, _)| *id == key.id);
        if let Some(other) = theirs(&key.id) {
            let how = if previous.is_some() {
                "; this secret's AWSPREVIOUS holds it, so a writer of this secret put that secret's key there: put this secret's own key back (PutSecretValue)"
            } else {
                ""
            };
            refusals.push(format!(
                "{} is another secret's: that secret's record on the user (the tag {}) names it as a key rotor minted or holds for that secret, and rotor never deletes it, not even with DELETE_UNKNOWN_KEYS=true{how}; delete it by hand only once that secret and its consumers no longer use it, and if that secret no longer exists, remove its record (aws iam untag-user --user-name {user} --tag-keys {})",
                key.id, other.key, other.key
            ));
            continue;
        }
        let proven = previous.is_some_and(|(_, proven)| proven);
        let retired_by_this_rotation = own.is_some_and(|r| r.retiring.as_deref() == Some(key.id.as_str()));
        if (proven && ours(&key.id)) || retired_by_this_rotation {
            let why = if previous.is_some() {
                "AWSPREVIOUS's key, minted for this secret: IAM allows two keys per user and its grace is over"
            } else {
                "an interrupted attempt of this rotation was deleting it"
            };
            plan.deletions.push((previous_past_grace(key, previous, current_key, rules.grace, now)?, why));
            continue;
        }
        if own.is_some_and(|r| r.minted.as_deref() == Some(key.id.as_str())) {
            plan.deletions.push((
                key.clone(),
                "minted by an interrupted attempt of this rotation, which named it, and never stored",
            ));
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
        if proven && first {
            let why = "AWSPREVIOUS's key: this secret's first rotation by this version takes it as the secret's, since it signs with it and no other secret's record names it";
            plan.deletions.push((previous_past_grace(key, previous, current_key, rules.grace, now)?, why));
            continue;
        }
        if unnamed_in_window == [key.id.as_str()] {
            plan.deletions.push((key.clone(), "minted by an interrupted attempt of this rotation and never stored"));
            continue;
        }
        if rules.delete_unknown {
            plan.deletions.push((key.clone(), "no version of this secret holds it, and DELETE_UNKNOWN_KEYS=true"));
            continue;
        }
        let others_in_window: Vec<&str> = unnamed_in_window.iter().copied().filter(|id| *id != key.id).collect();
        let why = match previous {
            Some(_) if !key.active => {
                "AWSPREVIOUS names it, but it is inactive, so AWSPREVIOUS's secret access key cannot prove it is that key".to_owned()
            }
            Some(_) if proven => {
                "AWSPREVIOUS names it and its secret access key signs with it, but rotor did not mint it for this secret (this secret's record on the user does not name it): a key a writer of this secret put into AWSPREVIOUS, another consumer's, or one made by hand".to_owned()
            }
            Some(_) => "AWSPREVIOUS names it, but AWSPREVIOUS's secret access key does not sign as the user with it".to_owned(),
            None if !others_in_window.is_empty() => format!(
                "it was created while an interrupted attempt of this rotation was minting, but so was {}: rotor cannot tell which one the attempt minted and which one was made by hand",
                others_in_window.join(", ")
            ),
            None if own.is_none() && (ours(&key.id) || earlier.is_some_and(minting)) => {
                "an earlier rotation of this secret, abandoned since, minted it: only a retry of that same rotation deletes it by itself".to_owned()
            }
            None => {
                "no version of this secret holds it, and no interrupted attempt of this rotation minted it: a key made by hand (break-glass), a second consumer's, or another secret's AWSCURRENT".to_owned()
            }
        };
        refusals.push(format!(
            "{} is not this secret's to delete: {why}; delete it yourself once nothing uses it (aws iam delete-access-key --user-name {user} --access-key-id {}), or set DELETE_UNKNOWN_KEYS=true on the function to let rotor delete the keys it cannot prove are this secret's (never when a second secret or consumer uses the user)",
            key.id, key.id
        ));
    }
    if !refusals.is_empty() {
        return Err(format!(
            "IAM allows two access keys per user and rotor deletes only what it minted for this secret, so nothing was changed: the user's access key {}",
            refusals.join("; the user's access key ")
        ));
    }
    if let [(key, _)] = plan.deletions.as_slice() {
        plan.retiring = Some(key.id.clone());
    }
    Ok(plan)
}

/// `key`, once it may go: an `AWSPREVIOUS` key within `PREVIOUS_KEY_GRACE_HOURS` is refused.
fn previous_past_grace(
    key: &Key,
    previous: Option<(&str, bool)>,
    current: &Key,
    grace: Duration,
    now: SystemTime,
) -> Result<Key, String> {
    match previous.and_then(|_| within_grace(key, current, grace, now)) {
        Some(refusal) => Err(refusal),
        None => Ok(key.clone()),
    }
}

/// Why `previous` must be kept a while longer (`PREVIOUS_KEY_GRACE_HOURS`), if it must: consumers may still use an
/// active previous key until its grace, counted from the current key's creation, is over.
fn within_grace(previous: &Key, current: &Key, grace: Duration, now: SystemTime) -> Option<String> {
    if !previous.active || grace.is_zero() {
        return None;
    }
    // IAM's `Date` is whole seconds, so a key created within the second reads as created after `now`.
    let held = current.created.map_or(Duration::MAX, |t| now.duration_since(t).unwrap_or_default());
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
    use crate::record::{MINTING_BOUND, Start};

    const SECRET: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf";
    const OTHER: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:b-AbCdEf";
    const TOKEN: &str = "token-of-this-rotation-0000000000001";
    const EARLIER: &str = "an-earlier-rotation-of-this-secret-01";

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
    }

    fn ago(seconds: u64) -> SystemTime {
        now() - Duration::from_secs(seconds)
    }

    fn key(id: &str, active: bool, minutes_ago: u64) -> Key {
        Key { id: id.into(), active, created: Some(ago(minutes_ago * 60)) }
    }

    fn holdings(previous: Option<(&'static str, bool)>) -> Holdings<'static> {
        Holdings { secret_id: SECRET, token: TOKEN, current: ("CURRENT", true), previous }
    }

    /// The record an attempt of rotation `token` of `secret` left, begun `seconds` ago by IAM's clock.
    fn record(secret: &str, token: &str, seconds: u64, retiring: Option<&str>, kept: Option<&str>) -> Record {
        Record::new(secret, token, Start::Iam(ago(seconds)), retiring.map(Into::into), kept.map(Into::into))
    }

    /// This secret's record after a completed rotation that minted `minted` while AWSCURRENT held `kept`.
    fn rotated(kept: &str, minted: &str) -> Record {
        record(SECRET, EARLIER, 6000, None, Some(kept)).with_minted(minted)
    }

    const STRICT: Rules = Rules { delete_unknown: false, grace: Duration::ZERO };
    const OPTED: Rules = Rules { delete_unknown: true, grace: Duration::ZERO };

    fn ids(plan: &Plan) -> Vec<&str> {
        plan.deletions.iter().map(|(k, _)| k.id.as_str()).collect()
    }

    #[test]
    fn only_a_proven_previous_key_rotor_minted_for_this_secret_is_deleted() {
        let keys = [key("CURRENT", true, 60), key("PREVIOUS", true, 600)];
        let records = [rotated("PREVIOUS", "CURRENT")];
        let plan = plan("u", &keys, &holdings(Some(("PREVIOUS", true))), &records, STRICT, now()).unwrap();
        assert_eq!((ids(&plan), plan.retiring.as_deref()), (vec!["PREVIOUS"], Some("PREVIOUS")));
        assert_eq!(plan.kept.as_deref(), Some("CURRENT"), "the record goes on naming AWSCURRENT's key");
        // AWSPREVIOUS pointed at a key whose secret access key it does not hold.
        let error = super::plan("u", &keys, &holdings(Some(("PREVIOUS", false))), &records, STRICT, now()).unwrap_err();
        assert!(
            error.contains("PREVIOUS is not this secret's to delete") && error.contains("does not sign"),
            "{error}"
        );
        assert!(error.contains("--access-key-id PREVIOUS") && error.contains("DELETE_UNKNOWN_KEYS=true"), "{error}");
        let inactive = [key("CURRENT", true, 60), key("PREVIOUS", false, 600)];
        let error =
            super::plan("u", &inactive, &holdings(Some(("PREVIOUS", false))), &records, STRICT, now()).unwrap_err();
        assert!(error.contains("it is inactive"), "{error}");
        // AWSPREVIOUS holds a key that signs, but rotor minted other keys for this secret, never that one (a writer
        // put a key of its own choosing there).
        let minted_others = [rotated("OLDER", "CURRENT")];
        let error =
            super::plan("u", &keys, &holdings(Some(("PREVIOUS", true))), &minted_others, STRICT, now()).unwrap_err();
        assert!(error.contains("PREVIOUS is not this secret's") && error.contains("rotor did not mint it"), "{error}");
        assert_eq!(
            super::plan("u", &keys, &holdings(Some(("PREVIOUS", true))), &minted_others, OPTED, now())
                .map(|p| ids(&p).len()),
            Ok(1),
            "the opt-in deletes a key no other secret's record names"
        );
    }

    #[test]
    fn a_key_another_secrets_record_names_is_never_deleted_not_even_with_the_opt_in() {
        let keys = [key("CURRENT", true, 60), key("THEIRS", true, 600)];
        let theirs =
            record(OTHER, "the-other-secrets-rotation-00000001", 60_000, None, Some("OLD")).with_minted("THEIRS");
        // As AWSPREVIOUS, proven, on this secret's first rotation (the attack: a writer who holds the other secret's
        // key puts it into this secret, then this secret's own key back); as AWSPREVIOUS of a secret that rotated
        // before; as no version's.
        for (records, previous) in [
            (vec![theirs.clone()], Some(("THEIRS", true))),
            (vec![theirs.clone(), rotated("OLDER", "CURRENT")], Some(("THEIRS", true))),
            (vec![theirs.clone()], None),
        ] {
            for rules in [STRICT, OPTED] {
                let error = plan("u", &keys, &holdings(previous), &records, rules, now()).unwrap_err();
                for expected in [
                    "THEIRS is another secret's".to_owned(),
                    format!("(the tag {})", theirs.key),
                    "not even with DELETE_UNKNOWN_KEYS=true".to_owned(),
                    format!("aws iam untag-user --user-name u --tag-keys {}", theirs.key),
                ] {
                    assert!(error.contains(&expected), "{expected}: {error}");
                }
                assert_eq!(error.contains("a writer of this secret put that secret's key there"), previous.is_some());
            }
        }
        // A key the other secret's attempt was retiring, or kept, is as much its.
        let retiring = record(OTHER, "the-other-secrets-rotation-00000001", 60_000, Some("THEIRS"), None);
        let error = plan("u", &keys, &holdings(Some(("THEIRS", true))), &[retiring], OPTED, now()).unwrap_err();
        assert!(error.contains("THEIRS is another secret's"), "{error}");
    }

    #[test]
    fn the_first_rotation_takes_its_proven_keys_as_its_own_once() {
        let keys = [key("CURRENT", true, 60), key("PREVIOUS", true, 600)];
        // No record (the secret's first rotation, or keys a version before this one minted): AWSPREVIOUS's key
        // goes, and AWSCURRENT's is recorded for the next rotation.
        let plan = plan("u", &keys, &holdings(Some(("PREVIOUS", true))), &[], STRICT, now()).unwrap();
        assert_eq!((ids(&plan), plan.kept.as_deref()), (vec!["PREVIOUS"], Some("CURRENT")));
        assert!(plan.deletions[0].1.contains("first rotation"), "{:?}", plan.deletions);
        // A record of the version before this one names no key rotor minted: still the first rotation.
        let legacy = &Record::all(&[(Record::tag_key(SECRET), "0123456789abcdef_1767225000_-".to_owned())])[0];
        assert!(legacy.legacy && first_rotation(std::slice::from_ref(legacy), SECRET));
        let plan =
            super::plan("u", &keys, &holdings(Some(("PREVIOUS", true))), std::slice::from_ref(legacy), STRICT, now());
        assert_eq!(plan.map(|p| ids(&p).len()), Ok(1));
        // AWSCURRENT's key is taken only when it signs and no other secret's record names it.
        let unproven = Holdings { current: ("CURRENT", false), ..holdings(None) };
        assert_eq!(super::plan("u", &keys[..1], &unproven, &[], STRICT, now()).unwrap().kept, None);
        let theirs = record(OTHER, "the-other-secrets-rotation-00000001", 60_000, None, Some("CURRENT"));
        assert_eq!(super::plan("u", &keys[..1], &holdings(None), &[theirs], STRICT, now()).unwrap().kept, None);
        // Once a rotation has recorded keys, a key is the secret's only if its record names it.
        assert!(!first_rotation(&[rotated("OLDER", "CURRENT")], SECRET));
        assert!(first_rotation(&[rotated("OLDER", "CURRENT")], OTHER));
        let plan = super::plan("u", &keys[..1], &holdings(None), &[rotated("OLDER", "ELSEWHERE")], STRICT, now());
        assert_eq!(plan.unwrap().kept, None, "a hand-made AWSCURRENT is not recorded as minted for this secret");
    }

    #[test]
    fn an_unknown_key_stops_the_rotation_unless_the_function_opts_in() {
        let keys = [key("CURRENT", true, 60), key("BREAKGLASS", true, 5)];
        let error = plan("u", &keys, &holdings(None), &[], STRICT, now()).unwrap_err();
        for expected in ["BREAKGLASS is not this secret's", "break-glass", "nothing was changed", "--user-name u"] {
            assert!(error.contains(expected), "{expected}: {error}");
        }
        assert_eq!(ids(&plan("u", &keys, &holdings(None), &[], OPTED, now()).unwrap()), ["BREAKGLASS"]);
    }

    #[test]
    fn a_missing_current_key_deletes_nothing() {
        let keys = [key("PREVIOUS", true, 600), key("OTHER", true, 5)];
        let records = [rotated("PREVIOUS", "CURRENT")];
        let error = plan("u", &keys, &holdings(Some(("PREVIOUS", true))), &records, OPTED, now()).unwrap_err();
        assert!(error.contains("AWSCURRENT's access key CURRENT is not among the user's keys (PREVIOUS, OTHER)"));
    }

    #[test]
    fn a_key_minted_by_an_interrupted_attempt_of_this_rotation_is_recognised_and_no_other() {
        let at = |seconds_ago: u64| Key { id: "MINTED".into(), active: true, created: Some(ago(seconds_ago)) };
        let own = [record(SECRET, TOKEN, 600, None, Some("CURRENT"))];
        // The attempt began 10 minutes ago; a key created 9 minutes ago is its.
        let keys = [key("CURRENT", true, 6000), at(540)];
        assert_eq!(ids(&plan("u", &keys, &holdings(None), &own, STRICT, now()).unwrap()), ["MINTED"]);
        // Created before the attempt began, or after its bound (a key an operator made right after the attempt
        // was interrupted): not its.
        for seconds_ago in [660, 600 - MINTING_BOUND.as_secs() - 10] {
            let keys = [key("CURRENT", true, 6000), at(seconds_ago)];
            let error = plan("u", &keys, &holdings(None), &own, STRICT, now()).unwrap_err();
            assert!(error.contains("break-glass"), "{seconds_ago}: {error}");
        }
        // Another rotation of this secret: not this attempt's.
        let earlier = [record(SECRET, EARLIER, 600, None, Some("CURRENT"))];
        let error = plan("u", &keys, &holdings(None), &earlier, STRICT, now()).unwrap_err();
        assert!(error.contains("an earlier rotation of this secret, abandoned since, minted it"), "{error}");
        // Another secret's attempt minted at the same time: the key may be its, and is never deleted.
        let both = [own[0].clone(), record(OTHER, "the-other-secrets-rotation-00000001", 590, None, None)];
        let error = plan("u", &keys, &holdings(None), &both, OPTED, now()).unwrap_err();
        assert!(error.contains("another secret naming this user") && error.contains(&both[1].key), "{error}");
    }

    #[test]
    fn an_attempt_that_named_its_key_has_that_key_deleted_and_no_other_in_its_window() {
        let named = [record(SECRET, TOKEN, 600, None, Some("CURRENT")).with_minted("MINTED")];
        let keys = [key("CURRENT", true, 6000), key("MINTED", true, 9)];
        let plan = plan("u", &keys, &holdings(None), &named, STRICT, now()).unwrap();
        assert_eq!((ids(&plan), plan.retiring.as_deref()), (vec!["MINTED"], Some("MINTED")));
        let keys = [key("CURRENT", true, 6000), key("BYHAND", true, 9)];
        let error = super::plan("u", &keys, &holdings(None), &named, STRICT, now()).unwrap_err();
        assert!(error.contains("BYHAND is not this secret's"), "{error}");
    }

    #[test]
    fn two_keys_in_the_attempts_window_are_both_refused_naming_each_other() {
        let own = [record(SECRET, TOKEN, 600, None, Some("CURRENT"))];
        let keys = [key("CURRENT", true, 6000), key("FIRST", true, 9), key("SECOND", true, 9)];
        let error = plan("u", &keys, &holdings(None), &own, STRICT, now()).unwrap_err();
        for expected in ["FIRST is not this secret's", "so was SECOND", "SECOND is not this secret's", "so was FIRST"] {
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }

    #[test]
    fn a_record_of_the_version_before_deletes_no_key_by_its_time_alone_and_still_protects_another_secrets() {
        let hash = record(SECRET, TOKEN, 0, None, None).value().unwrap().split('_').next().unwrap().to_owned();
        let legacy = |secret: &str| Record::all(&[(Record::tag_key(secret), format!("{hash}_1767225600_-"))]);
        let keys = [key("CURRENT", true, 6000), key("BYHAND", true, 1)];
        let own = legacy(SECRET);
        assert!(own[0].legacy && own[0].is_attempt_of(SECRET, TOKEN) && own[0].covers(ago(60)));
        let error = plan("u", &keys, &holdings(None), &own, STRICT, now()).unwrap_err();
        assert!(error.contains("BYHAND is not this secret's") && error.contains("break-glass"), "{error}");
        let error = plan("u", &keys, &holdings(None), &legacy(OTHER), OPTED, now()).unwrap_err();
        assert!(error.contains("another secret naming this user"), "{error}");
    }

    #[test]
    fn a_key_this_rotation_was_deleting_before_it_was_interrupted_is_still_deleted() {
        let keys = [key("CURRENT", true, 600), key("PREVIOUS", false, 6000)];
        let own = [record(SECRET, TOKEN, 0, Some("PREVIOUS"), Some("CURRENT"))];
        let plan = plan("u", &keys, &holdings(Some(("PREVIOUS", false))), &own, STRICT, now()).unwrap();
        assert_eq!((ids(&plan), plan.kept.as_deref()), (vec!["PREVIOUS"], Some("CURRENT")));
        // An orphan the attempt had recognised, outside the window of the attempt that recognised it.
        let keys = [key("CURRENT", true, 600), key("ORPHAN", true, 60)];
        let own = [record(SECRET, TOKEN, 0, Some("ORPHAN"), Some("CURRENT"))];
        assert_eq!(ids(&super::plan("u", &keys, &holdings(None), &own, STRICT, now()).unwrap()), ["ORPHAN"]);
    }

    #[test]
    fn an_active_previous_key_within_its_grace_is_kept() {
        let keys = [key("CURRENT", true, 60), key("PREVIOUS", true, 600)];
        let records = [rotated("PREVIOUS", "CURRENT")];
        let grace = Rules { grace: Duration::from_secs(24 * 3600), ..STRICT };
        let error = plan("u", &keys, &holdings(Some(("PREVIOUS", true))), &records, grace, now()).unwrap_err();
        assert!(error.contains("PREVIOUS_KEY_GRACE_HOURS (1 h of 24 h)"), "{error}");
        let error = plan("u", &keys, &holdings(Some(("PREVIOUS", true))), &[], grace, now()).unwrap_err();
        assert!(error.contains("PREVIOUS_KEY_GRACE_HOURS"), "the first rotation's too: {error}");
        let just_made = Key { created: Some(now() + Duration::from_millis(700)), ..key("CURRENT", true, 0) };
        let keys = [just_made, key("PREVIOUS", true, 600)];
        let error = plan("u", &keys, &holdings(Some(("PREVIOUS", true))), &records, grace, now()).unwrap_err();
        assert!(error.contains("(0 h of 24 h)"), "a key created within the second of IAM's Date: {error}");
        let over = [key("CURRENT", true, 25 * 60), key("PREVIOUS", true, 600 * 60)];
        assert!(plan("u", &over, &holdings(Some(("PREVIOUS", true))), &records, grace, now()).is_ok());
    }
}
