//! The password policy (AWS's environment variables) and the local generator.

use crate::config::Env;
use crate::error::RotationError;

/// A generated password. `Debug` and `Display` redact it; [`Password::expose`] is the only way to the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a value (from `GetRandomPassword` or a generator).
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The value. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Consumes the wrapper, returning the value.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// AWS's punctuation set for `GetRandomPassword`.
pub const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const LOWERCASE: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPERCASE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NUMBERS: &str = "0123456789";

/// The weakest policy a function accepts without `ALLOW_WEAK_PASSWORDS=true`: length x log2(alphabet) bits.
pub const MIN_ENTROPY_BITS: f64 = 100.0;

/// The default `EXCLUDE_CHARACTERS` of AWS's rotation functions.
pub const DEFAULT_EXCLUDE_CHARACTERS: &str = "/@\"'\\";

/// Where passwords come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSource {
    /// Generated in the function with the operating system's CSPRNG: no API call.
    Local,
    /// `GetRandomPassword` (as AWS's functions do).
    SecretsManager,
}

/// Length and character classes of generated passwords, from the environment variables AWS's functions read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// `PASSWORD_LENGTH` (default 32, 1 to 4096).
    pub length: usize,
    /// `EXCLUDE_CHARACTERS`.
    pub exclude_characters: String,
    /// `EXCLUDE_NUMBERS`.
    pub exclude_numbers: bool,
    /// `EXCLUDE_PUNCTUATION`.
    pub exclude_punctuation: bool,
    /// `EXCLUDE_UPPERCASE`.
    pub exclude_uppercase: bool,
    /// `EXCLUDE_LOWERCASE`.
    pub exclude_lowercase: bool,
    /// `REQUIRE_EACH_INCLUDED_TYPE` (default true, as `GetRandomPassword`).
    pub require_each_included_type: bool,
    /// Whether a space may appear (`GetRandomPassword`'s `IncludeSpace`; no environment variable, as in AWS's
    /// functions).
    pub include_space: bool,
    /// `PASSWORD_GENERATOR`: `local` (default) or `secretsmanager`.
    pub source: PasswordSource,
    /// `ALLOW_WEAK_PASSWORDS`: whether policies under [`MIN_ENTROPY_BITS`] are accepted (the function's
    /// choice only; a secret's tags cannot set it).
    pub allow_weak: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            length: 32,
            exclude_characters: DEFAULT_EXCLUDE_CHARACTERS.to_owned(),
            exclude_numbers: false,
            exclude_punctuation: false,
            exclude_uppercase: false,
            exclude_lowercase: false,
            require_each_included_type: true,
            include_space: false,
            source: PasswordSource::Local,
            allow_weak: false,
        }
    }
}

impl PasswordPolicy {
    /// Reads the policy from the environment; `default_exclude` is the engine's default `EXCLUDE_CHARACTERS`.
    ///
    /// Errors name the variable and what it accepts.
    pub fn from_env(env: &Env, default_exclude: &str) -> Result<Self, RotationError> {
        let policy = Self {
            length: env.number("PASSWORD_LENGTH", 32, 1..=4096)?,
            exclude_characters: env.get("EXCLUDE_CHARACTERS").unwrap_or_else(|| default_exclude.to_owned()),
            exclude_numbers: env.flag("EXCLUDE_NUMBERS", false)?,
            exclude_punctuation: env.flag("EXCLUDE_PUNCTUATION", false)?,
            exclude_uppercase: env.flag("EXCLUDE_UPPERCASE", false)?,
            exclude_lowercase: env.flag("EXCLUDE_LOWERCASE", false)?,
            require_each_included_type: env.flag("REQUIRE_EACH_INCLUDED_TYPE", true)?,
            include_space: false,
            allow_weak: env.flag("ALLOW_WEAK_PASSWORDS", false)?,
            source: match env.get("PASSWORD_GENERATOR").as_deref().map(str::to_ascii_lowercase).as_deref() {
                None | Some("local") => PasswordSource::Local,
                Some("secretsmanager") => PasswordSource::SecretsManager,
                Some(_) => {
                    return Err(RotationError::Config {
                        variable: "PASSWORD_GENERATOR",
                        reason: "must be `local` or `secretsmanager`".into(),
                    });
                }
            },
        };
        if crate::FIPS_BUILD {
            policy.fips_approved()?;
        }
        let bits = policy.entropy_bits()?;
        if bits < MIN_ENTROPY_BITS && !policy.allow_weak {
            return Err(RotationError::PasswordPolicy {
                reason: format!(
                    "PASSWORD_LENGTH {} over the {} characters the exclusions leave gives about {bits:.0} bits, under the {MIN_ENTROPY_BITS:.0}-bit floor; raise PASSWORD_LENGTH or loosen the exclusions (or, if you mean it, set ALLOW_WEAK_PASSWORDS=true)",
                    policy.length,
                    policy.alphabet()?,
                ),
            });
        }
        Ok(policy)
    }

    /// What the FIPS build requires of a policy: passwords from its own module's DRBG (not Secrets Manager's
    /// `GetRandomPassword`), and at least 14 characters, the shortest password AWS-LC's FIPS module counts as an
    /// approved PBKDF2 input (SP 800-132; the PostgreSQL verifiers are PBKDF2).
    fn fips_approved(&self) -> Result<(), RotationError> {
        if self.source == PasswordSource::SecretsManager {
            return Err(RotationError::Config {
                variable: "PASSWORD_GENERATOR",
                reason: "is secretsmanager, which the FIPS build refuses: its passwords come from its own FIPS module (use local, the default)".into(),
            });
        }
        if self.length < FIPS_MIN_PASSWORD_LENGTH {
            return Err(RotationError::Config {
                variable: "PASSWORD_LENGTH",
                reason: format!(
                    "is {}, under the FIPS build's {FIPS_MIN_PASSWORD_LENGTH} (the shortest password AWS-LC's FIPS module approves as a PBKDF2 input)",
                    self.length
                ),
            });
        }
        Ok(())
    }

    /// How many characters the policy draws from.
    fn alphabet(&self) -> Result<usize, RotationError> {
        Ok(self.classes()?.iter().map(Vec::len).sum())
    }

    /// The policy's strength: length x log2(alphabet), in bits.
    pub fn entropy_bits(&self) -> Result<f64, RotationError> {
        Ok(self.length as f64 * (self.alphabet()? as f64).log2())
    }

    /// The character classes in use, each with the excluded characters removed; an error if none is left or the
    /// length cannot hold one of each.
    fn classes(&self) -> Result<Vec<Vec<char>>, RotationError> {
        let keep = |set: &str| set.chars().filter(|c| !self.exclude_characters.contains(*c)).collect::<Vec<_>>();
        let mut classes = Vec::new();
        for (excluded, set) in [
            (self.exclude_lowercase, LOWERCASE),
            (self.exclude_uppercase, UPPERCASE),
            (self.exclude_numbers, NUMBERS),
            (self.exclude_punctuation, PUNCTUATION),
            (!self.include_space, " "),
        ] {
            if !excluded {
                let chars = keep(set);
                if !chars.is_empty() {
                    classes.push(chars);
                }
            }
        }
        if classes.is_empty() {
            return Err(RotationError::PasswordPolicy {
                reason: "every character is excluded; loosen EXCLUDE_* or EXCLUDE_CHARACTERS".into(),
            });
        }
        if self.require_each_included_type && self.length < classes.len() {
            return Err(RotationError::PasswordPolicy {
                reason: format!(
                    "PASSWORD_LENGTH {} cannot hold one character of each of the {} included types; raise it or set REQUIRE_EACH_INCLUDED_TYPE=false",
                    self.length,
                    classes.len()
                ),
            });
        }
        Ok(classes)
    }

    /// Generates a password with the operating system's CSPRNG.
    pub fn generate(&self) -> Result<Password, RotationError> {
        let classes = self.classes()?;
        let all: Vec<char> = classes.iter().flatten().copied().collect();
        let mut chars = Vec::with_capacity(self.length);
        if self.require_each_included_type {
            for class in &classes {
                chars.push(class[uniform(class.len())?]);
            }
        }
        while chars.len() < self.length {
            chars.push(all[uniform(all.len())?]);
        }
        // Fisher-Yates, so the guaranteed characters sit at random places.
        for i in (1..chars.len()).rev() {
            chars.swap(i, uniform(i + 1)?);
        }
        Ok(Password(chars.into_iter().collect()))
    }

    /// Whether `value` could have come from this policy: length, allowed characters, and each required class.
    pub fn admits(&self, value: &str) -> Result<(), String> {
        let classes = self.classes().map_err(|e| e.to_string())?;
        let count = value.chars().count();
        if count != self.length {
            return Err(format!("has {count} characters, the policy asks for {}", self.length));
        }
        if let Some(position) = value.chars().position(|c| !classes.iter().any(|class| class.contains(&c))) {
            return Err(format!("has a character the policy excludes at position {position}"));
        }
        if self.require_each_included_type && !classes.iter().all(|class| value.chars().any(|c| class.contains(&c))) {
            return Err("lacks a character type the policy requires".into());
        }
        Ok(())
    }
}

/// A uniform index below `bound` from AWS-LC's DRBG (rejection sampling: no modulo bias).
fn uniform(bound: usize) -> Result<usize, RotationError> {
    let bound = u32::try_from(bound).expect("character sets are small");
    let zone = u32::MAX - (u32::MAX % bound);
    loop {
        let mut bytes = [0u8; 4];
        fill(&mut bytes)?;
        let n = u32::from_le_bytes(bytes);
        if n < zone {
            return Ok((n % bound) as usize);
        }
    }
}

/// Random bytes from AWS-LC's DRBG.
pub fn random_bytes(len: usize) -> Result<Vec<u8>, RotationError> {
    let mut bytes = vec![0u8; len];
    fill(&mut bytes)?;
    Ok(bytes)
}

/// The FIPS build's shortest password: AWS-LC's FIPS module counts PBKDF2 as approved only from 14 bytes of
/// password (SP 800-132).
pub const FIPS_MIN_PASSWORD_LENGTH: usize = 14;

/// Fills `bytes` from AWS-LC's DRBG (CTR-DRBG on AES-256, seeded from the OS), the FIPS module's in the FIPS build.
fn fill(bytes: &mut [u8]) -> Result<(), RotationError> {
    aws_lc_rs::rand::fill(bytes)
        .map_err(|_| RotationError::PasswordPolicy { reason: "AWS-LC's random generator failed".into() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn defaults_match_aws() {
        let policy = PasswordPolicy::from_env(&env(&[]), DEFAULT_EXCLUDE_CHARACTERS).unwrap();
        assert_eq!(policy, PasswordPolicy::default());
        let password = policy.generate().unwrap();
        assert_eq!(password.expose().len(), 32);
        assert!(!password.expose().contains(['/', '@', '"', '\'', '\\']));
        assert_eq!(format!("{password:?}"), "Password(<redacted>)");
    }

    #[test]
    fn variables_are_read_and_validated() {
        let policy = PasswordPolicy::from_env(
            &env(&[("PASSWORD_LENGTH", "20"), ("EXCLUDE_PUNCTUATION", "TRUE"), ("EXCLUDE_CHARACTERS", "abc")]),
            DEFAULT_EXCLUDE_CHARACTERS,
        )
        .unwrap();
        assert_eq!(policy.length, 20);
        assert!(policy.exclude_punctuation);
        let password = policy.generate().unwrap();
        assert!(password.expose().chars().all(|c| c.is_ascii_alphanumeric() && !"abc".contains(c)));

        for (var, value, expect) in [
            ("PASSWORD_LENGTH", "0", "PASSWORD_LENGTH must be a whole number from 1 to 4096"),
            ("PASSWORD_LENGTH", "abc", "PASSWORD_LENGTH must be a whole number"),
            ("EXCLUDE_NUMBERS", "maybe", "EXCLUDE_NUMBERS must be true or false"),
            ("PASSWORD_GENERATOR", "kms", "PASSWORD_GENERATOR must be `local` or `secretsmanager`"),
        ] {
            let error = PasswordPolicy::from_env(&env(&[(var, value)]), "").unwrap_err().to_string();
            assert!(error.contains(expect), "{error}");
        }
        let all_out = env(&[
            ("EXCLUDE_NUMBERS", "true"),
            ("EXCLUDE_PUNCTUATION", "true"),
            ("EXCLUDE_UPPERCASE", "true"),
            ("EXCLUDE_LOWERCASE", "true"),
        ]);
        assert!(
            PasswordPolicy::from_env(&all_out, "").unwrap_err().to_string().contains("every character is excluded")
        );
        let too_short = env(&[("PASSWORD_LENGTH", "3")]);
        let expected = if crate::FIPS_BUILD { "under the FIPS build's 14" } else { "cannot hold one character" };
        assert!(PasswordPolicy::from_env(&too_short, "").unwrap_err().to_string().contains(expected));
    }

    #[test]
    fn the_fips_build_takes_passwords_only_from_its_module_and_of_14_characters_or_more() {
        for (pairs, refusal) in [
            (vec![("PASSWORD_GENERATOR", "secretsmanager")], "PASSWORD_GENERATOR is secretsmanager"),
            (vec![("PASSWORD_LENGTH", "13"), ("ALLOW_WEAK_PASSWORDS", "true")], "PASSWORD_LENGTH is 13"),
        ] {
            let result = PasswordPolicy::from_env(&env(&pairs), DEFAULT_EXCLUDE_CHARACTERS);
            if crate::FIPS_BUILD {
                let error = result.unwrap_err().to_string();
                assert!(error.contains(refusal) && error.contains("FIPS build"), "{error}");
            } else {
                assert!(result.is_ok(), "{pairs:?}");
            }
        }
        let fourteen = env(&[("PASSWORD_LENGTH", "14"), ("ALLOW_WEAK_PASSWORDS", "true")]);
        assert!(PasswordPolicy::from_env(&fourteen, DEFAULT_EXCLUDE_CHARACTERS).is_ok());
    }

    #[test]
    fn weak_policies_are_refused_with_the_figure_unless_allowed() {
        for (pairs, bits) in [
            (vec![("PASSWORD_LENGTH", "1"), ("REQUIRE_EACH_INCLUDED_TYPE", "false")], "about 6 bits"),
            (vec![("PASSWORD_LENGTH", "16")], "about 104"),
            (
                vec![
                    ("EXCLUDE_LOWERCASE", "true"),
                    ("EXCLUDE_UPPERCASE", "true"),
                    ("EXCLUDE_PUNCTUATION", "true"),
                    ("PASSWORD_LENGTH", "29"),
                ],
                "about 96 bits",
            ),
        ] {
            let result = PasswordPolicy::from_env(&env(&pairs), DEFAULT_EXCLUDE_CHARACTERS);
            if crate::FIPS_BUILD && bits == "about 6 bits" {
                // Under the FIPS build's 14 characters, allowed or not.
                assert!(result.unwrap_err().to_string().contains("under the FIPS build's 14"));
                continue;
            }
            if bits == "about 104" {
                assert!(result.is_ok(), "16 characters of 89 clear the floor");
                continue;
            }
            let error = result.unwrap_err().to_string();
            assert!(error.contains(bits) && error.contains("under the 100-bit floor"), "{error}");
            let mut allowed = pairs.clone();
            allowed.push(("ALLOW_WEAK_PASSWORDS", "true"));
            assert!(PasswordPolicy::from_env(&env(&allowed), DEFAULT_EXCLUDE_CHARACTERS).is_ok());
        }
        let default = PasswordPolicy::default().entropy_bits().unwrap();
        assert!(default > 200.0, "{default}");
    }

    #[test]
    fn admits_rejects_what_the_policy_forbids() {
        let policy = PasswordPolicy { length: 8, ..PasswordPolicy::default() };
        assert!(policy.admits("aB3!aB3!").is_ok());
        assert!(policy.admits("aB3!aB3").unwrap_err().contains("7 characters"));
        assert!(policy.admits("aB3/aB3!").unwrap_err().contains("excludes"));
        assert!(policy.admits("abcdefgh").unwrap_err().contains("lacks"));
    }

    proptest! {
        #[test]
        fn generated_passwords_meet_the_policy(
            length in 4usize..160,
            exclude in "[a-zA-Z0-9!-/]{0,12}",
            numbers in any::<bool>(), punctuation in any::<bool>(), upper in any::<bool>(),
            require_each in any::<bool>(),
        ) {
            let policy = PasswordPolicy {
                length, exclude_characters: exclude.clone(), exclude_numbers: numbers,
                exclude_punctuation: punctuation, exclude_uppercase: upper, exclude_lowercase: false,
                require_each_included_type: require_each, include_space: false, source: PasswordSource::Local,
                allow_weak: true,
            };
            prop_assume!(policy.classes().is_ok());
            let password = policy.generate().unwrap();
            let value = password.expose();
            prop_assert_eq!(value.chars().count(), length);
            prop_assert!(!value.chars().any(|c| exclude.contains(c)));
            prop_assert!(!numbers || !value.chars().any(|c| c.is_ascii_digit()));
            prop_assert!(!upper || !value.chars().any(|c| c.is_ascii_uppercase()));
            prop_assert!(!punctuation || !value.chars().any(|c| c.is_ascii_punctuation()));
            prop_assert!(policy.admits(value).is_ok());
        }
    }

    #[test]
    fn passwords_differ() {
        let policy = PasswordPolicy::default();
        let a = policy.generate().unwrap();
        let b = policy.generate().unwrap();
        assert_ne!(a, b);
    }
}
