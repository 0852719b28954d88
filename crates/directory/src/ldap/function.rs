//! The Lambda function `rotate-ldap`, described once for its binary and for `rotatectl doctor`.

use rotation_core::{Check, Function, Init, RotationError, Secret};
use rotation_database::{DatabaseConfig, DatabaseTarget, Rds, TlsRoots, doctor_checks};

use super::dn::Dn;
use super::engine::{DEFAULT_TEST_FILTER, DirectoryEngine};

/// The variable that confines the function to accounts under one DN.
pub const USER_BASE_VARIABLE: &str = "LDAP_USER_BASE_DN";

/// The variable listing the ports that speak plain LDAP, where rotor sends StartTLS (default `389,3268`).
pub const STARTTLS_PORTS_VARIABLE: &str = "LDAP_STARTTLS_PORTS";

/// `rotate-ldap`: accounts of self-managed directories (Active Directory, Samba, OpenLDAP) over LDAPS or
/// StartTLS (on `LDAP_STARTTLS_PORTS`, default 389 and 3268); `TEST_QUERY` is a filter the account's own entry must match (default `(objectClass=*)`), and
/// `LDAP_USER_BASE_DN` confines it to accounts under one DN.
#[derive(Debug)]
pub struct RotateLdap;

impl Function for RotateLdap {
    type Target = DatabaseTarget<DirectoryEngine>;

    const NAME: &'static str = "rotate-ldap";

    fn build(init: &Init) -> Result<Self::Target, RotationError> {
        let mut config = DatabaseConfig::from_env(&init.env)?;
        if init.env.get("TEST_QUERY").is_none() {
            config.test_query = DEFAULT_TEST_FILTER.to_owned();
        }
        let user_base = match init.env.get(USER_BASE_VARIABLE).filter(|base| !base.trim().is_empty()) {
            Some(base) => Some(Dn::parse(&base).map_err(|reason| RotationError::Config {
                variable: USER_BASE_VARIABLE,
                reason: format!("{base:?} {reason}"),
            })?),
            None => None,
        };
        let mut engine = DirectoryEngine::new(TlsRoots::load(&config.ca_bundle)?, user_base);
        if let Some(ports) = init.env.get(STARTTLS_PORTS_VARIABLE) {
            let ports = ports.split(',').filter(|p| !p.trim().is_empty()).map(|p| p.trim().parse::<u16>());
            let ports = ports.collect::<Result<Vec<_>, _>>().map_err(|_| RotationError::Config {
                variable: STARTTLS_PORTS_VARIABLE,
                reason: "must list port numbers, separated by commas".into(),
            })?;
            engine = engine.with_starttls_ports(ports);
        }
        Ok(DatabaseTarget::new(engine, config, Rds::new(&init.sdk_config)))
    }

    async fn checks(target: &Self::Target, init: &Init, id: &str, current: &Secret) -> Vec<Check> {
        doctor_checks(target, init, id, current).await
    }
}
