//! [`DirectoryEngine`]: directory accounts (Active Directory, Samba, OpenLDAP) for rotation-database's
//! [`DatabaseTarget`](rotation_database::DatabaseTarget).

use ldap3::Scope;
use rotation_core::{Password, RotationError, Secret, TargetErrorKind};
use rotation_database::{DatabaseConfig, Engine, LoginFields, Purpose, TlsMode, TlsRoots};

use super::account::{Account, AccountName, change_own_password, find_dn, read_account, reset_password};
use super::dn::Dn;
use super::session::DirectorySession;

/// The `engine` values a directory secret may carry. `activedirectory` also requires the server to be one.
pub const ENGINES: &[&str] = &["ldap", "activedirectory"];

/// The port when the secret names none: LDAPS.
pub const DEFAULT_PORT: u16 = 636;

/// The test query when `TEST_QUERY` is unset: a filter every entry matches, run on the account's own entry.
pub const DEFAULT_TEST_FILTER: &str = "(objectClass=*)";

/// Directory accounts: the account changes its own password (single user), or a pinned admin resets it (admin),
/// or two existing accounts alternate (alternating users; rotor never creates a directory account). The kind of
/// directory is read from its root DSE, never from the secret: Active Directory's `unicodePwd` (a change deletes
/// the old value and adds the new; a reset replaces it), elsewhere the Password Modify extended operation.
#[derive(Debug, Clone)]
pub struct DirectoryEngine {
    roots: TlsRoots,
    user_base: Option<Dn>,
    starttls_ports: Vec<u16>,
}

impl DirectoryEngine {
    /// An engine trusting `roots`; accounts must lie under `user_base` (`LDAP_USER_BASE_DN`) when it is set; StartTLS
    /// on [`STARTTLS_PORTS`](crate::STARTTLS_PORTS), LDAPS elsewhere.
    pub fn new(roots: TlsRoots, user_base: Option<Dn>) -> Self {
        Self { roots, user_base, starttls_ports: super::session::STARTTLS_PORTS.to_vec() }
    }

    /// The engine with StartTLS on `ports` instead (`LDAP_STARTTLS_PORTS`).
    pub fn with_starttls_ports(self, ports: Vec<u16>) -> Self {
        Self { starttls_ports: ports, ..self }
    }

    /// Refuses an account outside `LDAP_USER_BASE_DN`.
    fn check_base(&self, dn: &Dn, at: &LoginFields) -> Result<(), RotationError> {
        match &self.user_base {
            Some(base) if !dn.is_within(base) => Err(RotationError::target(
                TargetErrorKind::ConfusedDeputy,
                at.address(),
                format!("the account {dn} is outside LDAP_USER_BASE_DN ({base}); rotor changes only accounts under it"),
            )),
            _ => Ok(()),
        }
    }

    /// The DN of the account `name`, which must exist and lie under the base.
    async fn resolve(&self, session: &mut DirectorySession, name: &AccountName) -> Result<Dn, RotationError> {
        let dn = self.find(session, name, self.user_base.as_ref()).await?;
        self.check_base(&dn, session.connection())?;
        Ok(dn)
    }

    /// The DN of the account `name`, which must exist; a UPN is looked up under `base`, else the naming context.
    async fn find(
        &self,
        session: &mut DirectorySession,
        name: &AccountName,
        base: Option<&Dn>,
    ) -> Result<Dn, RotationError> {
        let Some(dn) = find_dn(session, name, base).await? else {
            return Err(RotationError::target(
                TargetErrorKind::Rejected,
                session.connection().address(),
                format!("there is no account {:?} in the directory; fix the secret's username", name.text()),
            ));
        };
        Ok(dn)
    }

    /// The session's own account's DN: under the base for a user (`within_base`), anywhere for the admin, which
    /// `LDAP_USER_BASE_DN` does not confine.
    async fn own_dn(&self, session: &mut DirectorySession, within_base: bool) -> Result<Dn, RotationError> {
        let name = parse_name(&session.connection().username).map_err(|reason| {
            RotationError::target(TargetErrorKind::Rejected, session.connection().address(), reason)
        })?;
        match within_base {
            true => self.resolve(session, &name).await,
            false => self.find(session, &name, None).await,
        }
    }
}

fn parse_name(username: &str) -> Result<AccountName, String> {
    AccountName::parse(username).map_err(|reason| format!("the username {reason}"))
}

/// A directory account: as the secret names it, and its entry once read.
#[derive(Debug, Clone)]
pub struct DirectoryUser {
    name: AccountName,
    text: String,
    account: Option<Account>,
}

impl DirectoryUser {
    fn named(name: AccountName) -> Self {
        Self { text: name.text(), name, account: None }
    }
}

impl Engine for DirectoryEngine {
    type Session = DirectorySession;
    type User = DirectoryUser;

    /// No bind with the pending password before it is set: each would count a failed logon towards the account's
    /// lockout. A retry after the change logs in with AWSPENDING and finds nothing to change
    /// ([`Engine::set_own_password`]); a reset to the same password is harmless.
    const CHECK_PENDING_FIRST: bool = false;

    fn name(&self) -> &'static str {
        "ldap"
    }

    /// The secret's fields; the username is kept as rotor writes it (a DN escaped anew), so that every comparison
    /// of users is of one spelling. The admin's secret is read here too, so `LDAP_USER_BASE_DN` is not: it
    /// confines the users ([`Engine::check_username`], at createSecret, and every account resolved), never the
    /// admin.
    fn connection(&self, secret: &Secret) -> Result<LoginFields, RotationError> {
        let mut connection = LoginFields::parse(secret, ENGINES, DEFAULT_PORT, None)?;
        let name = AccountName::parse(&connection.username).map_err(|reason| secret.invalid("username", reason))?;
        connection.username = name.text();
        Ok(connection)
    }

    fn other_username(&self, username: &str) -> String {
        match AccountName::parse(username).ok().and_then(|name| name.other()) {
            Some(other) => other.text(),
            None => format!("{username}{}", rotation_database::CLONE_SUFFIX),
        }
    }

    fn base_username(&self, username: &str) -> String {
        let Ok(name) = AccountName::parse(username) else { return username.to_owned() };
        match name.other() {
            Some(other) if other.text().len() < name.text().len() => other.text(),
            _ => name.text(),
        }
    }

    fn check_username(&self, secret: &Secret, username: &str) -> Result<(), RotationError> {
        let name = AccountName::parse(username).map_err(|reason| secret.invalid("username", reason))?;
        if let (AccountName::Dn(dn), Some(base)) = (&name, &self.user_base)
            && !dn.is_within(base)
        {
            return Err(secret.invalid("username", format!("names {dn}, outside LDAP_USER_BASE_DN ({base})")));
        }
        Ok(())
    }

    async fn login(
        &self,
        config: &DatabaseConfig,
        connection: &LoginFields,
        mode: TlsMode,
        _purpose: Purpose,
    ) -> Result<DirectorySession, RotationError> {
        let session = DirectorySession::connect(connection, mode, &self.roots, &self.starttls_ports, config).await?;
        if connection.engine.as_deref() == Some("activedirectory")
            && session.flavor() != super::session::Flavor::ActiveDirectory
        {
            return Err(RotationError::target(
                TargetErrorKind::Rejected,
                connection.address(),
                "the secret's engine is activedirectory, but the directory is not Active Directory; set engine to ldap",
            ));
        }
        Ok(session)
    }

    /// A bind with the password is the proof: a directory checks every simple bind with a password against the
    /// account, and rotor never sends an empty one (LDAP's anonymous bind). Unlike the databases', this proof
    /// tries no wrong password beside it: each would count towards the account's lockout.
    async fn proves(
        &self,
        config: &DatabaseConfig,
        connection: &LoginFields,
        mode: TlsMode,
    ) -> Result<bool, RotationError> {
        match self.login(config, connection, mode, Purpose::Rotor).await {
            Ok(_) => Ok(true),
            Err(error) if error.is_authentication_failure() => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// The account changes its own password, proving the old one in the same operation.
    async fn set_own_password(&self, session: &mut DirectorySession, password: &Password) -> Result<(), RotationError> {
        let dn = self.own_dn(session, true).await?;
        let old = session.connection().password.clone();
        change_own_password(session, &dn, &old, password).await
    }

    /// The account the secret names, which must exist under the base; its entry is read once, here.
    async fn user(
        &self,
        _config: &DatabaseConfig,
        admin: &mut DirectorySession,
        connection: &LoginFields,
        _mode: TlsMode,
    ) -> Result<DirectoryUser, RotationError> {
        let name = parse_name(&connection.username)
            .map_err(|reason| RotationError::target(TargetErrorKind::Rejected, connection.address(), reason))?;
        let dn = self.resolve(admin, &name).await?;
        let account = read_account(admin, &dn).await?;
        Ok(DirectoryUser { account, ..DirectoryUser::named(name) })
    }

    fn alternate(&self, _active: &DirectoryUser, name: &str) -> Result<DirectoryUser, String> {
        parse_name(name).map(DirectoryUser::named)
    }

    fn user_name<'u>(&self, user: &'u DirectoryUser) -> &'u str {
        &user.text
    }

    /// What makes the account privileged (see [`read_account`]), and whether it is the admin's own account (named
    /// another way: a UPN and a DN).
    async fn privileged_rights(
        &self,
        admin: &mut DirectorySession,
        user: &DirectoryUser,
    ) -> Result<Vec<String>, RotationError> {
        let account = match &user.account {
            Some(account) => Some(account.clone()),
            None => match find_dn(admin, &user.name, self.user_base.as_ref()).await? {
                Some(dn) => read_account(admin, &dn).await?,
                None => None,
            },
        };
        let Some(account) = account else { return Ok(Vec::new()) };
        let mut rights = account.privileges;
        if self.own_dn(admin, false).await? == account.dn {
            rights.push("is the admin's own account".to_owned());
        }
        Ok(rights)
    }

    async fn set_password(
        &self,
        admin: &mut DirectorySession,
        user: &DirectoryUser,
        password: &Password,
    ) -> Result<(), RotationError> {
        let dn = match &user.account {
            Some(account) => account.dn.clone(),
            None => self.resolve(admin, &user.name).await?,
        };
        reset_password(admin, &dn, password).await
    }

    /// The other account must exist already, under the base, enabled: rotor never creates a directory account,
    /// never enables one an operator disabled, and never copies group memberships (the two accounts hold what an
    /// administrator gave each). Only its password is reset.
    async fn sync_alternate(
        &self,
        admin: &mut DirectorySession,
        active: &DirectoryUser,
        inactive: &DirectoryUser,
        password: &Password,
    ) -> Result<(), RotationError> {
        let Some(dn) = find_dn(admin, &inactive.name, self.user_base.as_ref()).await? else {
            return Err(RotationError::target(
                TargetErrorKind::Rejected,
                admin.connection().address(),
                format!(
                    "the other account of the pair, {:?}, does not exist, and rotor never creates directory accounts: create it beside {:?} with the same rights, then rotate again",
                    inactive.text, active.text
                ),
            ));
        };
        self.check_base(&dn, admin.connection())?;
        let other = read_account(admin, &dn).await?;
        let refuse = |reason: String| {
            RotationError::target(TargetErrorKind::ConfusedDeputy, admin.connection().address(), reason)
        };
        if let Some(account) = &active.account {
            // The pair's other account is found by its name alone: it must be the active one's neighbour, and
            // not one the active account made itself (where a user may create accounts).
            if dn.parent() != account.dn.parent() {
                return Err(refuse(format!(
                    "the other account of the pair, {dn}, is not in the same container as {}: rotor alternates only two accounts side by side",
                    account.dn
                )));
            }
            if let (Some(creator), Some(sid)) = (other.as_ref().and_then(|o| o.creator.as_ref()), account.sid.as_ref())
                && creator == sid
            {
                return Err(refuse(format!(
                    "the other account of the pair, {dn}, was created by {} itself: an administrator must create it",
                    account.dn
                )));
            }
        }
        for (which, user, account) in [
            ("the secret's current account", active, active.account.clone()),
            ("the other account of the pair", inactive, other),
        ] {
            if account.is_some_and(|account| account.disabled) {
                return Err(RotationError::target(
                    TargetErrorKind::Rejected,
                    admin.connection().address(),
                    format!(
                        "{:?}, {which}, is disabled, and rotor does not use an account an administrator disabled: enable it, or turn this secret's rotation off",
                        user.text
                    ),
                ));
            }
        }
        reset_password(admin, &dn, password).await
    }

    /// Not asked of the directory: the right to reset passwords is delegated per container (Active Directory's
    /// Reset Password extended right, OpenLDAP's ACLs), which no attribute of the admin shows. The first reset
    /// names a missing right.
    async fn missing_admin_rights(&self, _admin: &mut DirectorySession) -> Result<Option<String>, RotationError> {
        Ok(None)
    }

    /// `TEST_QUERY` is an LDAP filter (default `(objectClass=*)`) the account's own entry must match, read as the
    /// account.
    async fn probe(&self, session: &mut DirectorySession, query: &str) -> Result<(), RotationError> {
        let dn = self.own_dn(session, true).await?.to_string();
        let found = session.search(&dn, Scope::Base, query, &["1.1"], "testSecret's TEST_QUERY").await?;
        if found.is_empty() {
            return Err(RotationError::target(
                TargetErrorKind::Rejected,
                session.connection().address(),
                "TEST_QUERY's filter does not match the account's own entry",
            ));
        }
        Ok(())
    }
}
