//! An account's long-term keys: AES (RFC 3962) derived from its password and salt.

use std::fmt;

use picky_krb::crypto::CipherSuite;

use super::error::KerberosError;

/// The Kerberos encryption types rotor derives, proves and writes into keytabs: AES only (RC4 and DES are
/// neither derived nor accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Enctype {
    /// aes256-cts-hmac-sha1-96 (18).
    Aes256CtsHmacSha196,
    /// aes128-cts-hmac-sha1-96 (17).
    Aes128CtsHmacSha196,
}

impl Enctype {
    /// Both, strongest first: the order rotor asks the KDC for them and writes them into a keytab.
    pub const ALL: [Self; 2] = [Self::Aes256CtsHmacSha196, Self::Aes128CtsHmacSha196];

    /// The registered number (RFC 3962).
    pub fn number(self) -> i32 {
        match self {
            Self::Aes256CtsHmacSha196 => 18,
            Self::Aes128CtsHmacSha196 => 17,
        }
    }

    /// The type of a registered number; `None` for any other (RC4, DES, unknown).
    pub fn from_number(number: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|enctype| enctype.number() == number)
    }

    pub(crate) fn suite(self) -> CipherSuite {
        match self {
            Self::Aes256CtsHmacSha196 => CipherSuite::Aes256CtsHmacSha196,
            Self::Aes128CtsHmacSha196 => CipherSuite::Aes128CtsHmacSha196,
        }
    }

    /// The key's length in bytes.
    pub fn key_length(self) -> usize {
        match self {
            Self::Aes256CtsHmacSha196 => 32,
            Self::Aes128CtsHmacSha196 => 16,
        }
    }
}

/// A long-term key. Its `Debug` shows the type only.
#[derive(Clone, PartialEq, Eq)]
pub struct LongTermKey {
    enctype: Enctype,
    bytes: Vec<u8>,
}

impl fmt::Debug for LongTermKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LongTermKey").field("enctype", &self.enctype).finish_non_exhaustive()
    }
}

impl LongTermKey {
    /// RFC 3962's string-to-key with the default 4096 PBKDF2 iterations (Active Directory's; a KDC asking for
    /// another count through `s2kparams` is refused by [`Kdc::authenticate`](super::Kdc)).
    pub fn from_password(enctype: Enctype, password: &str, salt: &str) -> Result<Self, KerberosError> {
        let bytes = enctype
            .suite()
            .cipher()
            .generate_key_from_password(password.as_bytes(), salt.as_bytes())
            .map_err(|_| KerberosError::InvalidKeytab { reason: "the key could not be derived".into() })?;
        Ok(Self { enctype, bytes })
    }

    /// A key read from a keytab: `bytes` must have the type's length.
    pub fn from_bytes(enctype: Enctype, bytes: Vec<u8>) -> Result<Self, KerberosError> {
        if bytes.len() != enctype.key_length() {
            return Err(KerberosError::InvalidKeytab {
                reason: format!("a {:?} key of {} bytes (it takes {})", enctype, bytes.len(), enctype.key_length()),
            });
        }
        Ok(Self { enctype, bytes })
    }

    /// The key's type.
    pub fn enctype(&self) -> Enctype {
        self.enctype
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Principal;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The 4096-iteration keys MIT Kerberos 1.20's `ktutil` derives for `raeburn@ATHENA.MIT.EDU` and "password"
    /// (RFC 3962's appendix B principal; its own vectors are for 1, 2 and 1200 iterations).
    #[test]
    fn keys_derive_as_mit_kerberos_derives_them() {
        let salt = Principal::new("raeburn", "ATHENA.MIT.EDU").unwrap().default_salt();
        let aes256 = LongTermKey::from_password(Enctype::Aes256CtsHmacSha196, "password", &salt).unwrap();
        let aes128 = LongTermKey::from_password(Enctype::Aes128CtsHmacSha196, "password", &salt).unwrap();
        assert_eq!(hex(aes256.bytes()), "01b897121d933ab44b47eb5494db15e50eb74530dbdae9b634d65020ff5d88c1");
        assert_eq!(hex(aes128.bytes()), "fca822951813fb252154c883f5ee1cf4");
        assert!(!format!("{aes256:?}").contains("01b8"), "Debug shows no key");
        assert!(LongTermKey::from_bytes(Enctype::Aes256CtsHmacSha196, vec![0; 16]).is_err());
    }
}
