//! Per-secret settings: `rotor:` tags on a secret that choose its password rules within what the function allows.

use crate::error::RotationError;
use crate::password::{MIN_ENTROPY_BITS, PasswordPolicy};

/// The prefix of every tag rotor reads. Keep these tags under the administrators' control (the book, "Per-secret
/// settings": an IAM deny on `TagResource`/`UntagResource` for `rotor:*` keys).
pub const TAG_PREFIX: &str = "rotor:";

/// A named set of password rules for a known consumer, chosen with the `rotor:password-preset` tag. The other
/// password tags apply over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// The tag value that selects it.
    pub name: &'static str,
    /// Who needs it, for the documentation.
    pub why: &'static str,
    /// Password length.
    pub length: usize,
    /// Whether punctuation is left out.
    pub exclude_punctuation: bool,
    /// Characters left out (over the class exclusions).
    pub exclude_characters: &'static str,
}

/// The presets, as the book lists them.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "oracle",
        why: "Oracle passwords hold at most 30 bytes, and database links fail on punctuation",
        length: 30,
        exclude_punctuation: true,
        exclude_characters: "",
    },
    Preset {
        name: "alphanumeric",
        why: "consumers that quote nothing (shell variables, some JDBC and ODBC drivers)",
        length: 32,
        exclude_punctuation: true,
        exclude_characters: "",
    },
    Preset {
        name: "url-safe",
        why: "passwords placed unescaped in a URL's user information (postgres://user:password@host)",
        length: 40,
        exclude_punctuation: false,
        exclude_characters: "!\"#$%&'()*+,/:;<=>?@[\\]^`{|}",
    },
];

/// What a secret's `rotor:` tags set over the function's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSettings {
    /// The password policy for this secret: the function's, with the tags applied.
    pub policy: PasswordPolicy,
    /// `rotor:strategy`, when the secret names one; a target checks it against its own.
    pub strategy: Option<String>,
    /// Whether any password tag was set (the policy differs from the function's only then).
    pub tagged: bool,
}

impl SecretSettings {
    /// The function's defaults, for a secret without `rotor:` tags.
    pub fn defaults(policy: &PasswordPolicy) -> Self {
        Self { policy: policy.clone(), strategy: None, tagged: false }
    }

    /// Applies a secret's tags over the function's `policy`. Unknown `rotor:` keys are refused (a typo must not
    /// silently leave the default), and so is a policy under the function's strength floor: a tag narrows the
    /// rules, it never makes passwords weaker than the function allows. Errors name the tag and the fix.
    pub fn from_tags(secret: &str, tags: &[(String, String)], policy: &PasswordPolicy) -> Result<Self, RotationError> {
        let mut settings = Self::defaults(policy);
        let rotor = |key: &str| tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim());
        let invalid = |tag: &str, reason: String| RotationError::InvalidTag {
            secret: secret.to_owned(),
            tag: tag.to_owned(),
            reason,
        };
        for (key, _) in tags.iter().filter(|(k, _)| k.starts_with(TAG_PREFIX)) {
            if !KNOWN_TAGS.contains(&key.as_str()) {
                return Err(invalid(key, format!("is not a rotor setting (known: {})", KNOWN_TAGS.join(", "))));
            }
        }
        if let Some(name) = rotor(PRESET_TAG) {
            let preset = PRESETS.iter().find(|p| p.name == name).ok_or_else(|| {
                let names: Vec<_> = PRESETS.iter().map(|p| p.name).collect();
                invalid(PRESET_TAG, format!("names no preset (known: {})", names.join(", ")))
            })?;
            let policy = &mut settings.policy;
            policy.length = preset.length;
            policy.exclude_punctuation = preset.exclude_punctuation;
            exclude_more(policy, preset.exclude_characters);
            settings.tagged = true;
        }
        if let Some(raw) = rotor("rotor:password-length") {
            settings.policy.length = raw
                .parse()
                .ok()
                .filter(|n| (1..=4096).contains(n))
                .ok_or_else(|| invalid("rotor:password-length", "must be a whole number from 1 to 4096".into()))?;
            settings.tagged = true;
        }
        // Adds to the function's and the preset's exclusions: a tag narrows the characters, never widens them.
        if let Some(raw) = rotor("rotor:exclude-characters") {
            exclude_more(&mut settings.policy, raw);
            settings.tagged = true;
        }
        for (tag, field) in [
            ("rotor:exclude-numbers", &mut settings.policy.exclude_numbers),
            ("rotor:exclude-punctuation", &mut settings.policy.exclude_punctuation),
            ("rotor:exclude-uppercase", &mut settings.policy.exclude_uppercase),
            ("rotor:exclude-lowercase", &mut settings.policy.exclude_lowercase),
            ("rotor:require-each-included-type", &mut settings.policy.require_each_included_type),
        ] {
            if let Some(raw) = rotor(tag) {
                *field = match raw.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(invalid(tag, "must be true or false".into())),
                };
                settings.tagged = true;
            }
        }
        if let Some(strategy) = rotor(STRATEGY_TAG) {
            settings.strategy = Some(strategy.to_owned());
        }
        if settings.tagged {
            let bits = settings.policy.entropy_bits().map_err(|e| invalid("rotor:password-*", e.to_string()))?;
            if bits < MIN_ENTROPY_BITS && !policy.allow_weak {
                return Err(invalid(
                    "rotor:password-*",
                    format!(
                        "give passwords of about {bits:.0} bits, under the function's {MIN_ENTROPY_BITS:.0}-bit floor; raise rotor:password-length or loosen the exclusions (a tag cannot lower the floor: only the function's ALLOW_WEAK_PASSWORDS can)"
                    ),
                ));
            }
        }
        Ok(settings)
    }
}

/// Adds `characters` to what `policy` leaves out.
fn exclude_more(policy: &mut PasswordPolicy, characters: &str) {
    for c in characters.chars() {
        if !policy.exclude_characters.contains(c) {
            policy.exclude_characters.push(c);
        }
    }
}

/// `rotor:password-preset`.
pub const PRESET_TAG: &str = "rotor:password-preset";
/// `rotor:strategy`.
pub const STRATEGY_TAG: &str = "rotor:strategy";

/// Every `rotor:` tag key rotor knows (`rotor:function` scopes the function's IAM policy).
const KNOWN_TAGS: &[&str] = &[
    "rotor:function",
    PRESET_TAG,
    "rotor:password-length",
    "rotor:exclude-characters",
    "rotor:exclude-numbers",
    "rotor:exclude-punctuation",
    "rotor:exclude-uppercase",
    "rotor:exclude-lowercase",
    "rotor:require-each-included-type",
    STRATEGY_TAG,
    crate::identity::USER_TAG,
];

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn no_rotor_tags_keep_the_function_defaults() {
        let policy = PasswordPolicy::default();
        let settings = SecretSettings::from_tags("s", &tags(&[("team", "a"), ("rotor:function", "x")]), &policy);
        assert_eq!(settings.unwrap(), SecretSettings::defaults(&policy));
    }

    #[test]
    fn tags_apply_over_the_preset_and_the_preset_over_the_function() {
        let policy = PasswordPolicy::default();
        let oracle = SecretSettings::from_tags("s", &tags(&[("rotor:password-preset", "oracle")]), &policy).unwrap();
        assert_eq!((oracle.policy.length, oracle.policy.exclude_punctuation), (30, true));
        assert!(oracle.tagged);
        let password = oracle.policy.generate().unwrap();
        assert!(password.expose().chars().all(|c| c.is_ascii_alphanumeric()));
        let longer = SecretSettings::from_tags(
            "s",
            &tags(&[("rotor:password-preset", "oracle"), ("rotor:password-length", "28")]),
            &policy,
        )
        .unwrap();
        assert_eq!(longer.policy.length, 28);
        let url = SecretSettings::from_tags("s", &tags(&[("rotor:password-preset", "url-safe")]), &policy).unwrap();
        let password = url.policy.generate().unwrap();
        assert!(password.expose().chars().all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c)));
        assert!(url.policy.exclude_characters.contains('@') && url.policy.exclude_characters.contains('/'));
    }

    #[test]
    fn excluded_characters_from_a_tag_add_to_the_functions_and_the_presets() {
        let policy = PasswordPolicy { exclude_characters: "/@\"'\\".into(), ..PasswordPolicy::default() };
        let tagged = tags(&[("rotor:password-preset", "url-safe"), ("rotor:exclude-characters", "xyz")]);
        let settings = SecretSettings::from_tags("s", &tagged, &policy).unwrap();
        for c in "/@\"'\\xyz:?#".chars() {
            assert!(settings.policy.exclude_characters.contains(c), "{c:?} stays excluded");
        }
        let only_tag = tags(&[("rotor:exclude-characters", "q")]);
        let settings = SecretSettings::from_tags("s", &only_tag, &policy).unwrap();
        assert_eq!(settings.policy.exclude_characters, "/@\"'\\q");
        for _ in 0..20 {
            let password = settings.policy.generate().unwrap();
            assert!(!password.expose().contains(['/', '@', '"', '\'', '\\', 'q']));
        }
    }

    #[test]
    fn every_preset_clears_the_floor() {
        for preset in PRESETS {
            let tags = tags(&[("rotor:password-preset", preset.name)]);
            let settings = SecretSettings::from_tags("s", &tags, &PasswordPolicy::default()).unwrap();
            assert!(settings.policy.entropy_bits().unwrap() >= MIN_ENTROPY_BITS, "{}", preset.name);
        }
    }

    #[test]
    fn bad_tags_are_named_and_weak_ones_refused_unless_the_function_allows() {
        let policy = PasswordPolicy::default();
        for (pairs, tag, expect) in [
            (vec![("rotor:password-length", "abc")], "rotor:password-length", "whole number"),
            (vec![("rotor:exclude-numbers", "yes")], "rotor:exclude-numbers", "true or false"),
            (vec![("rotor:password-preset", "db2")], "rotor:password-preset", "known: oracle"),
            (vec![("rotor:pasword-length", "20")], "rotor:pasword-length", "not a rotor setting"),
            (vec![("rotor:password-length", "8")], "rotor:password-*", "under the function's 100-bit floor"),
        ] {
            let error = SecretSettings::from_tags("arn:s", &tags(&pairs), &policy).unwrap_err();
            assert_eq!(error.error_type(), "InvalidSecretTag");
            let message = error.to_string();
            assert!(message.contains(&format!("`{tag}`")) && message.contains(expect), "{message}");
            assert!(message.contains("arn:s"), "{message}");
        }
        let weak_allowed = PasswordPolicy { allow_weak: true, ..PasswordPolicy::default() };
        let short = tags(&[("rotor:password-length", "8")]);
        assert_eq!(SecretSettings::from_tags("s", &short, &weak_allowed).unwrap().policy.length, 8);
    }

    #[test]
    fn the_strategy_tag_is_carried_for_the_target_to_check() {
        let settings = SecretSettings::from_tags(
            "s",
            &tags(&[("rotor:strategy", "alternating-users")]),
            &PasswordPolicy::default(),
        );
        let settings = settings.unwrap();
        assert_eq!(settings.strategy.as_deref(), Some("alternating-users"));
        assert!(!settings.tagged);
    }
}
