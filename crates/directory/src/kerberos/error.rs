//! What can go wrong proving a credential with the KDC.

/// A failed Kerberos proof. Nothing in it holds a password, a key or a ticket.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KerberosError {
    /// The principal cannot be written as a Kerberos name.
    #[error("invalid Kerberos principal: {reason}")]
    InvalidPrincipal {
        /// What is wrong with it.
        reason: String,
    },
    /// The KDC could not be reached, or stopped answering.
    #[error("the KDC at {kdc} could not be reached: {reason}")]
    Unreachable {
        /// The KDC's address.
        kdc: String,
        /// What failed (connect, read, write).
        reason: String,
    },
    /// The KDC did not answer within the bound.
    #[error("the KDC at {kdc} did not answer within {milliseconds} ms")]
    TimedOut {
        /// The KDC's address.
        kdc: String,
        /// The bound, per request.
        milliseconds: u64,
    },
    /// The KDC refused the password or key (KDC_ERR_PREAUTH_FAILED). (An answer that does not decrypt with the key
    /// is a [`KerberosError::Protocol`] error: a KDC that issued a ticket accepted the key.)
    #[error("the KDC refused the credential of {principal}: wrong password or key")]
    WrongCredential {
        /// The principal.
        principal: String,
    },
    /// The KDC refused the principal for another reason, named by its error code.
    #[error("the KDC refused {principal}: {reason} (Kerberos error {code})")]
    Refused {
        /// The principal.
        principal: String,
        /// The KRB-ERROR code.
        code: i32,
        /// What the code means, and the fix where there is one.
        reason: &'static str,
    },
    /// The KDC's answer is not one this client takes (malformed, no AES key type, a replayed nonce).
    #[error("the KDC's answer for {principal} is not usable: {reason}")]
    Protocol {
        /// The principal.
        principal: String,
        /// What is wrong with the answer.
        reason: String,
    },
    /// A keytab is malformed or holds no AES key for the principal.
    #[error("invalid keytab: {reason}")]
    InvalidKeytab {
        /// What is wrong with it.
        reason: String,
    },
}

/// What a KRB-ERROR code means for a client asking for a ticket with its own credential.
pub(crate) fn meaning(code: i32) -> &'static str {
    match code {
        6 => "no such principal in the realm (KDC_ERR_C_PRINCIPAL_UNKNOWN)",
        12 => "the account may not log in now (KDC_ERR_POLICY: logon hours or workstation restrictions)",
        14 => {
            "the KDC has no AES key for the account (KDC_ERR_ETYPE_NOSUPP): set its password again, or allow AES for it"
        }
        18 => "the account is disabled, locked out or expired (KDC_ERR_CLIENT_REVOKED)",
        23 => "the account's password has expired or must be changed at next logon (KDC_ERR_KEY_EXPIRED)",
        37 => "the clocks differ too much (KRB_AP_ERR_SKEW)",
        68 => "the principal belongs to another realm (KDC_ERR_WRONG_REALM)",
        _ => "the KDC refused the request",
    }
}
