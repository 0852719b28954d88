//! The staging-label state machine: pure, no I/O.

use std::collections::BTreeMap;

/// The label on the version clients read by default.
pub const AWSCURRENT: &str = "AWSCURRENT";
/// The label on the version being rotated in.
pub const AWSPENDING: &str = "AWSPENDING";
/// The label on the last good version.
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";

/// A secret's versions and their staging labels, as `DescribeSecret.VersionIdsToStages` reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Versions {
    stages: BTreeMap<String, Vec<String>>,
}

/// What the guard decided for a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The token's version is already `AWSCURRENT`: the rotation is done.
    AlreadyCurrent,
    /// The token's version is `AWSPENDING` and not current: run the step.
    Pending,
}

/// Why the guard refused a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardRefusal {
    /// The token is not a version of the secret.
    UnknownVersion,
    /// The token's version exists but is neither `AWSCURRENT` nor `AWSPENDING`.
    NotPending {
        /// The labels it does carry.
        stages: Vec<String>,
    },
}

/// The `UpdateSecretVersionStage` call that promotes a version to `AWSCURRENT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    /// The version that becomes current (the token).
    pub move_to: String,
    /// The version that holds `AWSCURRENT` now, if any; it becomes `AWSPREVIOUS`.
    pub remove_from: Option<String>,
}

impl Versions {
    /// Builds the state from `VersionId -> stages`.
    pub fn new<I, V, S>(versions: I) -> Self
    where
        I: IntoIterator<Item = (V, Vec<S>)>,
        V: Into<String>,
        S: Into<String>,
    {
        Self {
            stages: versions.into_iter().map(|(v, s)| (v.into(), s.into_iter().map(Into::into).collect())).collect(),
        }
    }

    /// The labels on a version, or `None` if the version does not exist.
    pub fn stages_of(&self, version: &str) -> Option<&[String]> {
        self.stages.get(version).map(Vec::as_slice)
    }

    /// The version carrying `stage`, if any.
    pub fn holding(&self, stage: &str) -> Option<&str> {
        self.stages.iter().find(|(_, stages)| stages.iter().any(|s| s == stage)).map(|(v, _)| v.as_str())
    }

    /// The version clients read by default.
    pub fn current(&self) -> Option<&str> {
        self.holding(AWSCURRENT)
    }

    /// The version being rotated in.
    pub fn pending(&self) -> Option<&str> {
        self.holding(AWSPENDING)
    }

    /// The last good version.
    pub fn previous(&self) -> Option<&str> {
        self.holding(AWSPREVIOUS)
    }

    /// Whether an unfinished rotation blocks new ones: `AWSPENDING` on a version that is not `AWSCURRENT`.
    pub fn stuck_pending(&self) -> Option<&str> {
        self.pending().filter(|pending| Some(*pending) != self.current())
    }

    /// The guard every step runs first (CONTRACT section 4), apart from the `RotationEnabled` check.
    pub fn guard(&self, token: &str) -> Result<Verdict, GuardRefusal> {
        let stages = self.stages_of(token).ok_or(GuardRefusal::UnknownVersion)?;
        if stages.iter().any(|s| s == AWSCURRENT) {
            Ok(Verdict::AlreadyCurrent)
        } else if stages.iter().any(|s| s == AWSPENDING) {
            Ok(Verdict::Pending)
        } else {
            Err(GuardRefusal::NotPending { stages: stages.to_vec() })
        }
    }

    /// The promotion finishSecret makes, or `None` when the token already holds `AWSCURRENT`.
    pub fn promotion(&self, token: &str) -> Option<Promotion> {
        let current = self.current();
        if current == Some(token) {
            return None;
        }
        Some(Promotion { move_to: token.to_owned(), remove_from: current.map(str::to_owned) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "token-version";
    const OTHER: &str = "other-version";

    /// Every assignment of {current, pending, previous, none} to the token's version and another version.
    fn label_sets() -> Vec<Vec<&'static str>> {
        let labels = [AWSCURRENT, AWSPENDING, AWSPREVIOUS];
        (0..8u8)
            .map(|mask| labels.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, l)| *l).collect())
            .collect()
    }

    #[test]
    fn guard_covers_every_combination_of_labels() {
        for token_labels in label_sets() {
            for other_labels in label_sets() {
                // A label is on at most one version.
                if token_labels.iter().any(|l| other_labels.contains(l)) {
                    continue;
                }
                let versions = Versions::new([(T, token_labels.clone()), (OTHER, other_labels.clone())]);
                let verdict = versions.guard(T);
                let expected = if token_labels.contains(&AWSCURRENT) {
                    Ok(Verdict::AlreadyCurrent)
                } else if token_labels.contains(&AWSPENDING) {
                    Ok(Verdict::Pending)
                } else {
                    Err(GuardRefusal::NotPending { stages: token_labels.iter().map(|s| s.to_string()).collect() })
                };
                assert_eq!(verdict, expected, "token {token_labels:?}, other {other_labels:?}");
                assert_eq!(versions.guard("missing"), Err(GuardRefusal::UnknownVersion));

                let promotion = versions.promotion(T);
                if token_labels.contains(&AWSCURRENT) {
                    assert_eq!(promotion, None);
                } else {
                    let remove_from = other_labels.contains(&AWSCURRENT).then(|| OTHER.to_owned());
                    assert_eq!(promotion, Some(Promotion { move_to: T.into(), remove_from }));
                }
                let stuck = token_labels.contains(&AWSPENDING) && !token_labels.contains(&AWSCURRENT)
                    || other_labels.contains(&AWSPENDING) && !other_labels.contains(&AWSCURRENT);
                assert_eq!(versions.stuck_pending().is_some(), stuck, "token {token_labels:?}, other {other_labels:?}");
            }
        }
    }

    #[test]
    fn accessors_find_each_label() {
        let versions = Versions::new([("a", vec![AWSPREVIOUS]), ("b", vec![AWSCURRENT]), ("c", vec![AWSPENDING])]);
        assert_eq!(versions.current(), Some("b"));
        assert_eq!(versions.pending(), Some("c"));
        assert_eq!(versions.previous(), Some("a"));
        assert_eq!(versions.stages_of("c"), Some(&[AWSPENDING.to_string()][..]));
        assert_eq!(Versions::default().current(), None);
    }
}
