//! A Kerberos principal of one component (an account's name) in a realm.

use std::fmt;

use super::error::KerberosError;

/// An account's principal: `name@REALM`. The realm is upper case, as Active Directory's KDC and AWS's functions
/// (the directory's DNS name, upper-cased) write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    name: String,
    realm: String,
}

impl Principal {
    /// `name@realm`, the realm upper-cased. A name or realm that is empty, or holds `@`, `/`, a control character
    /// or anything outside ASCII (Kerberos strings are IA5 here), is refused.
    pub fn new(name: &str, realm: &str) -> Result<Self, KerberosError> {
        let usable = |value: &str| {
            !value.is_empty() && value.chars().all(|c| c.is_ascii() && !c.is_ascii_control() && c != '@' && c != '/')
        };
        if !usable(name) {
            return Err(KerberosError::InvalidPrincipal {
                reason: "the account name is empty or holds @, / or a character outside printable ASCII".into(),
            });
        }
        if !usable(realm) {
            return Err(KerberosError::InvalidPrincipal {
                reason: "the realm is empty or holds @, / or a character outside printable ASCII".into(),
            });
        }
        Ok(Self { name: name.to_owned(), realm: realm.to_ascii_uppercase() })
    }

    /// The account's name (its only component).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The realm, upper case.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// The default salt (RFC 4120 section 4: the realm, then the name's components): what Active Directory uses
    /// for a user account. A KDC may name another one (ETYPE-INFO2), which [`Kdc::authenticate`](super::Kdc)
    /// reports.
    pub fn default_salt(&self) -> String {
        format!("{}{}", self.realm, self.name)
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.realm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_principal_is_name_at_upper_case_realm_and_salts_as_active_directory_does() {
        let principal = Principal::new("svc_app", "rotor.test").unwrap();
        assert_eq!(principal.to_string(), "svc_app@ROTOR.TEST");
        assert_eq!(principal.default_salt(), "ROTOR.TESTsvc_app");
        for (name, realm) in [("", "R"), ("a@b", "R"), ("host/x", "R"), ("é", "R"), ("a\n", "R"), ("a", "")] {
            assert!(Principal::new(name, realm).is_err(), "{name:?}@{realm:?}");
        }
    }
}
