//! Redshift's password rules, checked against a password policy before any password is made.

use rotation_core::PasswordPolicy;

use crate::defaults::PASSWORD_LENGTHS;

/// Characters Redshift refuses in a password (besides the space, which [`PasswordPolicy::include_space`] governs).
const REFUSED: &[char] = &['\'', '"', '\\', '/', '@'];

/// Why Redshift would refuse passwords `policy` makes: the setting at fault and what Redshift requires; `None`
/// when every password it makes is one Redshift takes (8 to 64 characters, ASCII 33 to 126 except `'"\/@`, at
/// least one upper-case letter, one lower-case letter and one digit).
pub fn refuse_policy(policy: &PasswordPolicy) -> Option<(&'static str, String)> {
    if !PASSWORD_LENGTHS.contains(&policy.length) {
        return Some((
            "PASSWORD_LENGTH",
            format!(
                "is {}, but Redshift takes passwords of {} to {} characters",
                policy.length,
                PASSWORD_LENGTHS.start(),
                PASSWORD_LENGTHS.end()
            ),
        ));
    }
    for (excluded, variable) in [
        (policy.exclude_uppercase, "EXCLUDE_UPPERCASE"),
        (policy.exclude_lowercase, "EXCLUDE_LOWERCASE"),
        (policy.exclude_numbers, "EXCLUDE_NUMBERS"),
    ] {
        if excluded {
            return Some((variable, "is true, but Redshift requires an upper-case letter, a lower-case letter and a digit in every password".into()));
        }
    }
    if !policy.require_each_included_type {
        return Some((
            "REQUIRE_EACH_INCLUDED_TYPE",
            "is false, but Redshift requires an upper-case letter, a lower-case letter and a digit in every password"
                .into(),
        ));
    }
    let missing: String = REFUSED.iter().filter(|c| !policy.exclude_characters.contains(**c)).collect();
    if !missing.is_empty() || policy.include_space {
        return Some((
            "EXCLUDE_CHARACTERS",
            format!(
                "does not exclude {missing:?}{}, which Redshift refuses in a password; exclude them (the default does)",
                if policy.include_space { " and the space" } else { "" }
            ),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::defaults::DEFAULT_EXCLUDE_CHARACTERS;

    fn policy() -> PasswordPolicy {
        PasswordPolicy { exclude_characters: DEFAULT_EXCLUDE_CHARACTERS.into(), ..PasswordPolicy::default() }
    }

    #[test]
    fn the_default_policy_with_redshifts_exclusions_makes_passwords_redshift_takes() {
        assert_eq!(refuse_policy(&policy()), None);
    }

    #[test]
    fn each_rule_of_redshift_names_its_setting() {
        let cases: Vec<(PasswordPolicy, &str)> = vec![
            (PasswordPolicy { length: 7, ..policy() }, "PASSWORD_LENGTH"),
            (PasswordPolicy { length: 65, ..policy() }, "PASSWORD_LENGTH"),
            (PasswordPolicy { exclude_numbers: true, ..policy() }, "EXCLUDE_NUMBERS"),
            (PasswordPolicy { exclude_uppercase: true, ..policy() }, "EXCLUDE_UPPERCASE"),
            (PasswordPolicy { exclude_lowercase: true, ..policy() }, "EXCLUDE_LOWERCASE"),
            (PasswordPolicy { require_each_included_type: false, ..policy() }, "REQUIRE_EACH_INCLUDED_TYPE"),
            (PasswordPolicy { exclude_characters: "/@\"'".into(), ..policy() }, "EXCLUDE_CHARACTERS"),
            (PasswordPolicy { include_space: true, ..policy() }, "EXCLUDE_CHARACTERS"),
        ];
        for (policy, variable) in cases {
            assert_eq!(refuse_policy(&policy).map(|(v, _)| v), Some(variable), "{policy:?}");
        }
        assert_eq!(refuse_policy(&PasswordPolicy { length: 64, ..policy() }), None);
        assert_eq!(refuse_policy(&PasswordPolicy { length: 8, ..policy() }), None);
    }
}
