//! Rotation of directory accounts: Active Directory (AWS Directory Service and self-managed domains) and LDAP.
//!
//! Self-managed directories over LDAP ([`RotateLdap`], `rotate-ldap`): a [`DirectoryEngine`] for rotation-database's
//! strategies, binding over verified TLS, reading the kind of directory from its root DSE, and changing a password
//! as Active Directory (`unicodePwd`) or OpenLDAP (Password Modify) expects; names are parsed and escaped
//! ([`Dn`]), and privileged accounts recognised by what the directory computes ([`Sid`], `tokenGroups`).
//!
//! The Kerberos side: an account's long-term keys from its password and salt ([`LongTermKey`]), the keytab
//! that holds them ([`Keytab`]), and the proof that a password or a keytab works, a real AS exchange with the
//! domain's KDC ([`Kdc::authenticate`]), in Rust, with nothing run beside the function (no `kinit`, no Kerberos
//! libraries packaged).

mod kerberos;
mod ldap;
mod service;

pub use kerberos::{
    Authenticated, Enctype, Kdc, KerberosError, Keytab, KeytabEntry, LongTermKey, Principal, ProofCredential,
};
pub use ldap::{
    Account, AccountName, DEFAULT_PORT, DEFAULT_TEST_FILTER, DirectoryEngine, DirectorySession, DirectoryUser, Dn,
    ENGINES, Flavor, RotateLdap, STARTTLS_PORTS, STARTTLS_PORTS_VARIABLE, Sid, USER_BASE_VARIABLE, change_own_password,
    escape_dn_value, escape_filter_value, find_by_logon_name, find_dn, read_account, reset_password,
};
pub use service::{
    DirectoryServiceConfig, DirectoryServiceTarget, DirectoryServiceUsers, DirectoryUserRef, Domain,
    MAX_PASSWORD_LENGTH, RotateDirectory, SecretKeys, is_directory_id,
};
