//! Rotation of directory accounts: Active Directory (AWS Directory Service and self-managed domains) and LDAP.
//!
//! So far the Kerberos side: an account's long-term keys from its password and salt ([`LongTermKey`]), the keytab
//! that holds them ([`Keytab`]), and the proof that a password or a keytab works, a real AS exchange with the
//! domain's KDC ([`Kdc::authenticate`]), in Rust, with nothing run beside the function (no `kinit`, no Kerberos
//! libraries packaged).

mod kerberos;

pub use kerberos::{
    Authenticated, Enctype, Kdc, KerberosError, Keytab, KeytabEntry, LongTermKey, Principal, ProofCredential,
};
