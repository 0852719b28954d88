//! What a generated value looks like: a password by the policy, or random bytes in an encoding, or a UUID.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rotation_core::random_bytes;
use rotation_core::{Env, Password, PasswordPolicy, RotationError};

/// The format of generated values (`GENERATED_FORMAT`, with `GENERATED_BYTES` for the byte formats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A password by the password policy (the default).
    Password,
    /// `bytes` random bytes, lowercase hex.
    Hex {
        /// Random bytes before encoding.
        bytes: usize,
    },
    /// `bytes` random bytes, standard base64 with padding.
    Base64 {
        /// Random bytes before encoding.
        bytes: usize,
    },
    /// `bytes` random bytes, URL-safe base64 without padding.
    Base64Url {
        /// Random bytes before encoding.
        bytes: usize,
    },
    /// A random (version 4) UUID.
    Uuid,
}

impl Format {
    /// Reads `GENERATED_FORMAT` (`password`, `hex`, `base64`, `base64url`, `uuid`) and `GENERATED_BYTES` (default
    /// 32, 1 to 1024).
    pub fn from_env(env: &Env) -> Result<Self, RotationError> {
        let bytes = env.number("GENERATED_BYTES", 32, 1..=1024)?;
        let floor = (rotation_core::MIN_ENTROPY_BITS / 8.0).ceil() as usize;
        if bytes < floor && !env.flag("ALLOW_WEAK_PASSWORDS", false)? {
            return Err(RotationError::Config {
                variable: "GENERATED_BYTES",
                reason: format!(
                    "is {bytes} ({} bits), under the {floor}-byte floor; raise it (or, if you mean it, set ALLOW_WEAK_PASSWORDS=true)",
                    bytes * 8
                ),
            });
        }
        match env.get("GENERATED_FORMAT").map(|f| f.to_ascii_lowercase()).as_deref() {
            None | Some("password") => Ok(Self::Password),
            Some("hex") => Ok(Self::Hex { bytes }),
            Some("base64") => Ok(Self::Base64 { bytes }),
            Some("base64url") => Ok(Self::Base64Url { bytes }),
            Some("uuid") => Ok(Self::Uuid),
            Some(_) => Err(RotationError::Config {
                variable: "GENERATED_FORMAT",
                reason: "must be password, hex, base64, base64url or uuid".into(),
            }),
        }
    }

    /// A new value: the policy's `password` for [`Format::Password`], fresh random bytes otherwise.
    pub fn generate(self, password: Password) -> Result<String, RotationError> {
        Ok(match self {
            Self::Password => password.into_inner(),
            Self::Hex { bytes } => random_bytes(bytes)?.iter().map(|b| format!("{b:02x}")).collect(),
            Self::Base64 { bytes } => STANDARD.encode(random_bytes(bytes)?),
            Self::Base64Url { bytes } => URL_SAFE_NO_PAD.encode(random_bytes(bytes)?),
            Self::Uuid => {
                let mut bytes: [u8; 16] = random_bytes(16)?.try_into().expect("16 bytes");
                bytes[6] = (bytes[6] & 0x0f) | 0x40;
                bytes[8] = (bytes[8] & 0x3f) | 0x80;
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
            }
        })
    }

    /// Whether `value` has this format (and, for passwords, meets the policy); the reason never quotes it.
    pub fn admits(self, value: &str, policy: &PasswordPolicy) -> Result<(), String> {
        let decoded = |result: Result<Vec<u8>, _>, bytes: usize, name: &str| match result {
            Ok(decoded) if decoded.len() == bytes => Ok(()),
            Ok(decoded) => Err(format!("decodes to {} bytes, {bytes} expected", decoded.len())),
            Err(_) => Err(format!("is not {name}")),
        };
        match self {
            Self::Password => policy.admits(value),
            Self::Hex { bytes } => {
                let hex = value.len().is_multiple_of(2) && value.bytes().all(|b| b.is_ascii_hexdigit());
                let raw: Result<Vec<u8>, ()> = if hex {
                    Ok((0..value.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&value[i..i + 2], 16).unwrap_or(0))
                        .collect())
                } else {
                    Err(())
                };
                decoded(raw, bytes, "hex")
            }
            Self::Base64 { bytes } => decoded(STANDARD.decode(value).map_err(|_| ()), bytes, "base64"),
            Self::Base64Url { bytes } => decoded(URL_SAFE_NO_PAD.decode(value).map_err(|_| ()), bytes, "base64url"),
            Self::Uuid => {
                let parts: Vec<usize> = value.split('-').map(str::len).collect();
                let ok = parts == [8, 4, 4, 4, 12] && value.chars().all(|c| c == '-' || c.is_ascii_hexdigit());
                if ok { Ok(()) } else { Err("is not a UUID".into()) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_generates_what_it_admits() {
        let policy = PasswordPolicy::default();
        for format in [
            Format::Password,
            Format::Hex { bytes: 16 },
            Format::Base64 { bytes: 33 },
            Format::Base64Url { bytes: 32 },
            Format::Uuid,
        ] {
            let value = format.generate(policy.generate().unwrap()).unwrap();
            format.admits(&value, &policy).unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert_ne!(value, format.generate(policy.generate().unwrap()).unwrap(), "{format:?} repeats");
        }
        assert_eq!(Format::Hex { bytes: 16 }.generate(policy.generate().unwrap()).unwrap().len(), 32);
        assert!(Format::Hex { bytes: 16 }.admits("abcd", &policy).unwrap_err().contains("2 bytes, 16 expected"));
        assert!(
            Format::Base64Url { bytes: 8 }.admits("not base64!", &policy).unwrap_err().contains("is not base64url")
        );
        assert!(Format::Uuid.admits("123", &policy).is_err());
    }

    #[test]
    fn formats_come_from_the_environment() {
        let env = |pairs: &[(&str, &str)]| Env::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        assert_eq!(Format::from_env(&env(&[])).unwrap(), Format::Password);
        assert_eq!(
            Format::from_env(&env(&[("GENERATED_FORMAT", "hex"), ("GENERATED_BYTES", "20")])).unwrap(),
            Format::Hex { bytes: 20 }
        );
        assert!(
            Format::from_env(&env(&[("GENERATED_FORMAT", "pem")]))
                .unwrap_err()
                .to_string()
                .contains("GENERATED_FORMAT must be")
        );
        assert!(Format::from_env(&env(&[("GENERATED_BYTES", "0")])).is_err());
    }
}
