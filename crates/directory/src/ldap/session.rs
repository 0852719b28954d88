//! A bound LDAP session: the connection (LDAPS, or StartTLS before any credential is sent), the simple bind, the
//! directory's root DSE, and operations each bounded by the function's statement time-out.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ldap3::exop::WhoAmI;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};
use rotation_core::{RotationError, TargetErrorKind};
use rotation_database::{DatabaseConfig, LoginFields, TlsMode, TlsRoots, no_answer};

use super::account::AccountName;
use super::dn::Dn;
use super::error::classify;

/// The ports on which a directory speaks plain LDAP (LDAP, and Active Directory's global catalog), where rotor
/// sends StartTLS before anything else; every other port speaks TLS from the first byte (LDAPS), unless the
/// function's `LDAP_STARTTLS_PORTS` says otherwise.
pub const STARTTLS_PORTS: [u16; 2] = [389, 3268];

/// The most entries one search of rotor's takes (`sizelimit`).
const MAX_ENTRIES: i32 = 4;

/// `supportedCapabilities` value of Active Directory (and Samba's AD DC): LDAP_CAP_ACTIVE_DIRECTORY_OID.
const ACTIVE_DIRECTORY: &str = "1.2.840.113556.1.4.800";

/// `supportedExtension` value of the Who Am I? extended operation (RFC 4532).
const WHO_AM_I: &str = "1.3.6.1.4.1.4203.1.11.3";

/// `supportedExtension` value of the Password Modify extended operation (RFC 3062).
const PASSWORD_MODIFY: &str = "1.3.6.1.4.1.4203.1.11.1";

/// Which kind of directory a session is bound to, from its root DSE (never from the secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Active Directory or a Samba AD DC: passwords are `unicodePwd`.
    ActiveDirectory,
    /// An LDAPv3 directory with the Password Modify extended operation (OpenLDAP).
    PasswordModify,
}

/// A session bound as the connection's account.
pub struct DirectorySession {
    connection: LoginFields,
    mode: TlsMode,
    bound: Duration,
    ldap: Ldap,
    flavor: Flavor,
    naming_context: Option<Dn>,
    who_am_i: bool,
}

impl std::fmt::Debug for DirectorySession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        rotation_database::fmt_session(f, &self.connection, self.mode)
    }
}

impl rotation_database::Session for DirectorySession {
    fn connection(&self) -> &LoginFields {
        &self.connection
    }
}

/// Refuses a host that is not a plain DNS name or IP address: it becomes part of an LDAP URL.
fn check_host(connection: &LoginFields) -> Result<(), RotationError> {
    let host = &connection.host;
    let plain = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if plain {
        return Ok(());
    }
    let reason = match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(_)) => {
            format!(
                "{host:?} is an IPv6 address, which rotor's LDAP client cannot verify a certificate for; name the directory by its host name"
            )
        }
        _ => format!("{host:?} is not a host name or an IPv4 address; fix the secret's host"),
    };
    Err(RotationError::target(TargetErrorKind::Rejected, connection.address(), reason))
}

impl DirectorySession {
    /// Connects and binds as `connection.username` (a DN, or on Active Directory a UPN) with its password. TLS is
    /// never dropped: in every mode but `disable` the server completes a handshake verified as the mode says before
    /// the bind (StartTLS on `starttls_ports`, LDAPS elsewhere). An empty password is refused before anything is
    /// sent: LDAP reads it as an anonymous bind, which succeeds. The whole login is bounded by
    /// `CONNECT_TIMEOUT_SECONDS`.
    pub async fn connect(
        connection: &LoginFields,
        mode: TlsMode,
        roots: &TlsRoots,
        starttls_ports: &[u16],
        config: &DatabaseConfig,
    ) -> Result<Self, RotationError> {
        let name = AccountName::parse(&connection.username).map_err(|reason| {
            RotationError::target(
                TargetErrorKind::Rejected,
                connection.address(),
                format!("the username {reason}; fix the secret's username"),
            )
        })?;
        Self::connect_as(connection, &name, mode, roots, starttls_ports, config).await
    }

    /// [`DirectorySession::connect`], binding as `name` (rather than `connection.username`, which names the account
    /// in messages): a down-level name binds exactly by `sAMAccountName` on Active Directory.
    pub async fn connect_as(
        connection: &LoginFields,
        name: &AccountName,
        mode: TlsMode,
        roots: &TlsRoots,
        starttls_ports: &[u16],
        config: &DatabaseConfig,
    ) -> Result<Self, RotationError> {
        if connection.password.expose().is_empty() {
            return Err(RotationError::target(
                TargetErrorKind::AuthenticationFailed,
                connection.address(),
                "the password is empty, which LDAP reads as an anonymous bind: rotor never sends one",
            ));
        }
        check_host(connection)?;
        let what = format!("the login as {:?}", connection.username);
        let ldaps = !starttls_ports.contains(&connection.port);
        let mut settings = LdapConnSettings::new();
        let scheme = match roots.client_config(mode)? {
            Some(tls) => {
                settings = settings.set_config(Arc::new(tls)).set_starttls(!ldaps);
                if ldaps { "ldaps" } else { "ldap" }
            }
            None => {
                tracing::warn!(host = %connection.address(), "TLS is disabled for this directory: the password crosses the network in the clear");
                "ldap"
            }
        };
        let url = format!("{scheme}://{}:{}", connection.host, connection.port);
        rotation_core::telemetry::count_login();
        let login = async {
            let (driver, mut ldap) =
                LdapConnAsync::with_settings(settings, &url).await.map_err(|e| classify(e, connection, mode, &what))?;
            // The connection's I/O runs in the background until the session is dropped; its end is not news.
            tokio::spawn(async move { drop(driver.drive().await) });
            let bind = name.text();
            ldap.simple_bind(&bind, connection.password.expose())
                .await
                .and_then(|result| result.success())
                .map_err(|e| classify(e, connection, mode, &what))?;
            Ok::<_, RotationError>(ldap)
        };
        let ldap = tokio::time::timeout(config.connect_timeout, login)
            .await
            .map_err(|_| no_answer(connection, &what, config.connect_timeout))??;
        let mut session = Self {
            connection: connection.clone(),
            mode,
            bound: config.statement_bound(),
            ldap,
            flavor: Flavor::PasswordModify,
            naming_context: None,
            who_am_i: false,
        };
        session.read_root_dse().await?;
        if let (AccountName::Dn(dn), true) = (name, session.who_am_i) {
            session.check_identity(dn).await?;
        }
        if !matches!(name, AccountName::Dn(_)) && session.flavor != Flavor::ActiveDirectory {
            return Err(RotationError::target(
                TargetErrorKind::Rejected,
                connection.address(),
                "this directory is not Active Directory, which alone binds by UPN; give the account's DN as the username",
            ));
        }
        Ok(session)
    }

    /// Learns the kind of directory and its default naming context from the root DSE.
    async fn read_root_dse(&mut self) -> Result<(), RotationError> {
        let attributes = ["supportedCapabilities", "supportedExtension", "defaultNamingContext", "namingContexts"];
        let entries = self.search("", Scope::Base, "(objectClass=*)", &attributes, "reading the root DSE").await?;
        let dse = entries.into_iter().next().ok_or_else(|| {
            RotationError::target(TargetErrorKind::Rejected, self.connection.address(), "the directory has no root DSE")
        })?;
        let values = |name: &str| dse.attrs.get(name).cloned().unwrap_or_default();
        self.flavor = if values("supportedCapabilities").iter().any(|v| v == ACTIVE_DIRECTORY) {
            Flavor::ActiveDirectory
        } else if values("supportedExtension").iter().any(|v| v == PASSWORD_MODIFY) {
            Flavor::PasswordModify
        } else {
            return Err(RotationError::target(
                TargetErrorKind::Rejected,
                self.connection.address(),
                "the directory is neither Active Directory nor offers the Password Modify extended operation (RFC 3062): rotor cannot change a password there",
            ));
        };
        self.who_am_i = values("supportedExtension").iter().any(|v| v == WHO_AM_I);
        let context = values("defaultNamingContext").into_iter().chain(values("namingContexts")).next();
        self.naming_context = context.and_then(|dn| Dn::parse(&dn).ok());
        Ok(())
    }

    /// Asks the directory who the session is (RFC 4532) and refuses a bind that landed on another identity than
    /// `dn` (a server that lets any password in, a proxy that maps binds): the bind proves only who it binds.
    async fn check_identity(&mut self, dn: &Dn) -> Result<(), RotationError> {
        let mut ldap = self.ldap.clone();
        let what = "asking the directory who the login is (Who Am I?)";
        let (answer, _) = self.bounded(what, async move { ldap.extended(WhoAmI).await?.success() }).await?;
        // Read here rather than by the driver's parser, which panics on an answer that is not UTF-8.
        let authzid = answer.val.as_deref().and_then(|value| std::str::from_utf8(value).ok()).unwrap_or_default();
        let bound = authzid.strip_prefix("dn:").and_then(|text| Dn::parse(text).ok());
        if bound.as_ref() == Some(dn) {
            return Ok(());
        }
        Err(RotationError::target(
            TargetErrorKind::ConfusedDeputy,
            self.connection.address(),
            format!(
                "the directory bound the login as someone else than {dn} (or anonymously): a login there proves nothing about the account"
            ),
        ))
    }

    /// The kind of directory.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// The directory's default naming context (its first one, where it names no default).
    pub fn naming_context(&self) -> Option<&Dn> {
        self.naming_context.as_ref()
    }

    /// The connection this session logged in with.
    pub fn connection(&self) -> &LoginFields {
        &self.connection
    }

    /// Runs one operation within the session's bound; `what` names it in errors.
    async fn bounded<T>(
        &self,
        what: &str,
        operation: impl Future<Output = Result<T, LdapError>>,
    ) -> Result<T, RotationError> {
        tokio::time::timeout(self.bound, operation)
            .await
            .map_err(|_| no_answer(&self.connection, what, self.bound))?
            .map_err(|e| classify(e, &self.connection, self.mode, what))
    }

    /// Searches; an entry that does not exist (`noSuchObject` for a base search) is no entry.
    pub async fn search(
        &mut self,
        base: &str,
        scope: Scope,
        filter: &str,
        attributes: &[&str],
        what: &str,
    ) -> Result<Vec<SearchEntry>, RotationError> {
        let mut ldap = self.ldap.clone();
        // No search of rotor's wants more than a few entries: a server that streams more is cut off.
        ldap.with_search_options(ldap3::SearchOptions::new().sizelimit(MAX_ENTRIES));
        let result = self.bounded(what, ldap.search(base, scope, filter, attributes.to_vec())).await?;
        if result.1.rc == 32 {
            return Ok(Vec::new());
        }
        let (entries, _) = result.success().map_err(|e| classify(e, &self.connection, self.mode, what))?;
        // The driver's parser panics on a malformed entry (a DN that is not UTF-8): a server's bytes must not
        // become a panic message.
        std::panic::catch_unwind(|| entries.into_iter().map(SearchEntry::construct).collect()).map_err(|_| {
            RotationError::target(
                TargetErrorKind::Rejected,
                self.connection.address(),
                format!("{what}: the directory answered with an entry that is not well-formed LDAP"),
            )
        })
    }

    /// Modifies an entry.
    pub async fn modify(
        &mut self,
        dn: &str,
        changes: Vec<ldap3::Mod<Vec<u8>>>,
        what: &str,
    ) -> Result<(), RotationError> {
        let mut ldap = self.ldap.clone();
        self.bounded(what, async move { ldap.modify(dn, changes).await?.success() }).await.map(drop)
    }

    /// Runs an extended operation.
    pub async fn extended(&mut self, operation: impl Into<ldap3::exop::Exop>, what: &str) -> Result<(), RotationError> {
        let mut ldap = self.ldap.clone();
        let operation = operation.into();
        self.bounded(what, async move { ldap.extended(operation).await?.success() }).await.map(drop)
    }
}
