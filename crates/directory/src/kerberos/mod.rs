//! Kerberos, as far as rotating an account needs it: its long-term keys, its keytab, and an AS exchange that
//! proves a password or a keytab against the KDC.

mod error;
mod exchange;
mod key;
mod keytab;
mod messages;
mod principal;

pub use error::KerberosError;
pub use exchange::{Authenticated, Kdc, ProofCredential};
pub use key::{Enctype, LongTermKey};
pub use keytab::{Keytab, KeytabEntry};
pub use principal::Principal;
