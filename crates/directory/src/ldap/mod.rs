//! Directory accounts over LDAP: binding as one (LDAPS or StartTLS, verified), finding and reading its entry, what
//! makes it privileged, and changing its password, as an Active Directory `unicodePwd` modify or the Password
//! Modify extended operation; and the [`DirectoryEngine`] that gives rotation-database's strategies all of it.

mod account;
mod dn;
mod engine;
mod error;
mod function;
mod session;
mod sid;

pub use account::{
    Account, AccountName, change_own_password, find_by_logon_name, find_dn, read_account, reset_password,
};
pub use dn::{Dn, escape_dn_value, escape_filter_value};
pub use engine::{DEFAULT_PORT, DEFAULT_TEST_FILTER, DirectoryEngine, DirectoryUser, ENGINES};
pub use function::{RotateLdap, STARTTLS_PORTS_VARIABLE, USER_BASE_VARIABLE};
pub use session::{DirectorySession, Flavor, STARTTLS_PORTS};
pub use sid::Sid;
