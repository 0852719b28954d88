//! [`DirectoryServiceUsers`]: users of AWS Directory Service directories (AWS Managed Microsoft AD, Simple AD) as a
//! [`ManagedCredential`]: Directory Service describes the directory and resets the password
//! (`DescribeDirectories`, `ResetUserPassword`); the domain's own KDC proves a password by a Kerberos AS exchange,
//! and where no KDC answers, an LDAP bind over TLS does.

use std::net::{IpAddr, SocketAddr};

use aws_sdk_directory::Client;
use aws_sdk_directory::config::http::HttpResponse;
use aws_sdk_directory::error::{ProvideErrorMetadata, SdkError};
use rotation_core::{
    AwsFailure, Change, Claim, ManagedCredential, Password, PasswordPolicy, Readiness, RotationError, Secret,
    TargetErrorKind,
};
use rotation_database::{LoginFields, TlsMode, TlsRoots};

use super::config::{DirectoryServiceConfig, is_directory_id, refuse_policy};

/// The most domain controllers one proof asks, each bounded by `CONNECT_TIMEOUT_SECONDS`.
const MAX_CONTROLLERS: usize = 2;
use base64::Engine as _;

use crate::kerberos::{Authenticated, Kdc, KerberosError, Keytab, Principal, ProofCredential};
use crate::ldap::{AccountName, DirectorySession, Dn, find_by_logon_name, read_account};

/// The characters Directory Service refuses in a `UserName`.
const REFUSED_IN_NAMES: &str = "\\\"/[]:;|=,+*?<>@";

/// The longest `UserName` Directory Service takes.
const MAX_NAME: usize = 64;

/// The user a secret names: the directory's ID and the account's logon name (`sAMAccountName`). Never a host: rotor
/// reaches the domain only where Directory Service says its domain controllers are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUserRef {
    /// The directory's ID (`d-...`).
    pub directory_id: String,
    /// The account's logon name.
    pub username: String,
}

/// A directory as Directory Service describes it once `Active`: its realm and where its domain controllers are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// The domain's DNS name (`corp.example.com`), the suffix of its users' UPNs.
    pub dns_name: String,
    /// The Kerberos realm: the DNS name in upper case.
    pub realm: String,
    /// The domain's NetBIOS name (`ShortName`): down-level logon names are `SHORT\\user`.
    pub short_name: String,
    /// The domain controllers' addresses (`DnsIpAddrs`): its KDCs and LDAP servers.
    pub controllers: Vec<IpAddr>,
}

/// Users of the directories `DIRECTORY_IDS` names, reset by the function's role through Directory Service, with the
/// secret AWS's Active Directory rotation function uses.
#[derive(Debug, Clone)]
pub struct DirectoryServiceUsers {
    client: Client,
    roots: TlsRoots,
    config: DirectoryServiceConfig,
}

/// How a password fared with the domain.
enum Proof {
    Accepted,
    Refused(String),
}

impl DirectoryServiceUsers {
    /// Users reset with `client`, the LDAPS fallback trusting `roots`.
    pub fn new(client: Client, roots: TlsRoots, config: DirectoryServiceConfig) -> Self {
        Self { client, roots, config }
    }

    /// The configuration.
    pub fn config(&self) -> &DirectoryServiceConfig {
        &self.config
    }

    /// The first answer of the domain's KDCs to an AS exchange with `credential`, asked in turn: `Some(Ok)` when
    /// one took it, `Some(Err(why))` when one refused it; `None` when none answered (their failures pushed to
    /// `unreachable`), or the name is one Kerberos cannot carry.
    async fn kerberos(
        &self,
        user: &DirectoryUserRef,
        domain: &Domain,
        credential: ProofCredential<'_>,
        unreachable: &mut Vec<String>,
    ) -> Option<Result<Authenticated, String>> {
        let principal = Principal::new(&user.username, &domain.realm).ok()?;
        let timeout = self.config.managed.login.connect_timeout;
        for ip in domain.controllers.iter().take(MAX_CONTROLLERS) {
            let kdc = Kdc::new(SocketAddr::new(*ip, self.config.kerberos_port).to_string(), timeout);
            match kdc.authenticate(&principal, credential).await {
                // Active Directory salts an account's keys with the realm and its sAMAccountName: a password proof
                // whose salt names another account proved that account (the KDC resolved the name as a UPN), not
                // the one Directory Service resets.
                Ok(authenticated)
                    if authenticated.salt.as_deref().is_some_and(|salt| {
                        !salt.eq_ignore_ascii_case(&format!("{}{}", domain.realm, user.username))
                    }) =>
                {
                    return Some(Err(
                        "the domain's KDC proved the password for another account than the logon name (a UPN that names someone else)".into(),
                    ));
                }
                Ok(authenticated) => return Some(Ok(authenticated)),
                Err(KerberosError::WrongCredential { .. }) => {
                    return Some(Err("the domain's KDC refused the password or key".into()));
                }
                Err(KerberosError::Refused { code, reason, .. }) => {
                    return Some(Err(format!(
                        "the domain's KDC refused the account: {reason} (Kerberos error {code})"
                    )));
                }
                Err(error @ (KerberosError::Unreachable { .. } | KerberosError::TimedOut { .. })) => {
                    unreachable.push(error.to_string());
                }
                // A KDC that answered, but not usably, proved nothing, and is no reason to try LDAP instead.
                Err(error) => return Some(Err(error.to_string())),
            }
        }
        None
    }

    /// The error of a proof no domain controller answered.
    fn unanswered(&self, user: &DirectoryUserRef, unreachable: &[String]) -> RotationError {
        RotationError::target(
            TargetErrorKind::Unreachable,
            claim_text(user),
            format!(
                "no domain controller of the directory answered, by Kerberos (port {}) or LDAPS (636): {}; check that the function runs in the directory's VPC and its security group reaches the domain controllers",
                self.config.kerberos_port,
                unreachable.join("; ")
            ),
        )
    }

    /// Proves `password` for `user` to the domain: a Kerberos AS exchange with each domain controller's KDC in turn
    /// until one answers; where none does (or the name is one Kerberos cannot carry, or in the FIPS build), an LDAP
    /// simple bind over TLS as `user@<dns name>` to the domain controllers. An error only when no domain controller
    /// can be asked.
    async fn prove(&self, user: &DirectoryUserRef, domain: &Domain, password: &str) -> Result<Proof, RotationError> {
        let mut unreachable = Vec::new();
        // Kerberos's keys (PBKDF2, AES-CTS, HMAC-SHA1) are derived outside AWS-LC's FIPS module: the FIPS build
        // proves a password by the LDAPS bind alone, its TLS inside the module.
        if !rotation_core::FIPS_BUILD {
            match self.kerberos(user, domain, ProofCredential::Password(password), &mut unreachable).await {
                Some(Ok(_)) => return Ok(Proof::Accepted),
                Some(Err(why)) => return Ok(Proof::Refused(why)),
                None => {}
            }
        }
        // No KDC answered: an LDAP bind over TLS as the down-level name (`SHORT\\user`: exactly the account
        // Directory Service resets).
        if !rotation_core::FIPS_BUILD {
            tracing::warn!("no KDC of the directory answered; proving the password by an LDAPS bind instead");
        }
        for ip in domain.controllers.iter().take(MAX_CONTROLLERS) {
            match self.bind(user, domain, *ip, password).await {
                Ok(_) => return Ok(Proof::Accepted),
                Err(error) if error.is_authentication_failure() => {
                    return Ok(Proof::Refused(format!("the domain's LDAP server refused the bind: {error}")));
                }
                Err(error) => unreachable.push(error.to_string()),
            }
        }
        Err(self.unanswered(user, &unreachable))
    }

    /// An LDAPS session of `user` with `password` on the domain controller `ip`, bound by its down-level name. The
    /// controllers are reached by address: `verify-ca` checks the chain against `TLS_CA_BUNDLE` only when one is
    /// given (the domain's own CA); without one, the certificate must name the address (`verify-full`), so a
    /// publicly trusted certificate cannot stand in for a domain controller.
    async fn bind(
        &self,
        user: &DirectoryUserRef,
        domain: &Domain,
        ip: IpAddr,
        password: &str,
    ) -> Result<DirectorySession, RotationError> {
        let login = &self.config.managed.login;
        let mut mode = login.tls.default;
        if login.ca_bundle.is_empty() && mode < TlsMode::VerifyFull {
            mode = TlsMode::VerifyFull;
        }
        let connection = LoginFields {
            engine: None,
            host: ip.to_string(),
            port: 636,
            dbname: None,
            username: user.username.clone(),
            password: Password::new(password.to_owned()),
        };
        let name = AccountName::down_level(&domain.short_name, &user.username);
        DirectorySession::connect_as(&connection, &name, mode, &self.roots, &[], login).await
    }

    /// Refuses, before any reset, an account an administrator would not have an application secret reset: one that
    /// is privileged (read as `rotate-ldap` reads it: `tokenGroups`, `adminCount`, the built-in accounts,
    /// `userAccountControl`) unless `ALLOW_PRIVILEGED_USERS`, or disabled (`ResetUserPassword` would enable it). It
    /// is read over LDAPS as the account itself, with AWSCURRENT's password: without one that logs in, nothing can
    /// be read, and the reset is refused unless `ALLOW_PRIVILEGED_USERS`.
    async fn check_account(
        &self,
        user: &DirectoryUserRef,
        domain: &Domain,
        current: Option<&Secret>,
    ) -> Result<(), RotationError> {
        let allowed = self.config.managed.login.allow_privileged_users;
        let refuse = |kind, reason: String| RotationError::target(kind, claim_text(user), reason);
        let Some(current) = current else {
            if allowed {
                return Ok(());
            }
            return Err(refuse(
                TargetErrorKind::ConfusedDeputy,
                "AWSCURRENT's password does not log in, so rotor cannot read whether the account is privileged or disabled (a reset would enable it): reset it by hand once, or set ALLOW_PRIVILEGED_USERS=true to reset without the check".into(),
            ));
        };
        let password = current.require_str(&self.config.keys.password)?;
        let mut failures = Vec::new();
        let mut session = None;
        for ip in domain.controllers.iter().take(MAX_CONTROLLERS) {
            match self.bind(user, domain, *ip, password).await {
                Ok(bound) => {
                    session = Some(bound);
                    break;
                }
                Err(error) => failures.push(error.to_string()),
            }
        }
        let Some(mut session) = session else {
            return Err(refuse(
                TargetErrorKind::Unreachable,
                format!(
                    "the account is read over LDAPS before a reset (whether it is privileged or disabled), and no domain controller took the bind: {}; give the domain's CA in TLS_CA_BUNDLE",
                    failures.join("; ")
                ),
            ));
        };
        let base = Dn::of_domain(&domain.dns_name).map_err(|reason| refuse(TargetErrorKind::Rejected, reason))?;
        let found = find_by_logon_name(&mut session, &base, &user.username).await?;
        let [dn] = found.as_slice() else {
            return Err(refuse(TargetErrorKind::Rejected, format!("{} accounts have this logon name", found.len())));
        };
        let Some(account) = read_account(&mut session, dn).await? else {
            return Err(refuse(TargetErrorKind::Rejected, "the account cannot be read".into()));
        };
        if account.disabled {
            return Err(refuse(
                TargetErrorKind::Rejected,
                "the account is disabled, and ResetUserPassword would enable it: enable it, or turn this secret's rotation off".into(),
            ));
        }
        if !account.privileges.is_empty() && !allowed {
            return Err(refuse(
                TargetErrorKind::ConfusedDeputy,
                format!(
                    "the account holds administrative rights ({}): the function's role does not reset its password from a secret; set ALLOW_PRIVILEGED_USERS=true on the function if this is intended",
                    account.privileges.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// The keytab of the pending password (`KEYTAB_FIELD`): the account's keys (AES256, AES128) derived with the salt
    /// the domain's KDC vouched for in a proof of AWSCURRENT's password, at the key version after the next reset
    /// (the KDC's version now, plus one).
    async fn keytab(&self, user: &DirectoryUserRef, current: &Secret, password: &str) -> Result<Keytab, RotationError> {
        let domain = match self.describe(user).await? {
            Readiness::Ready(domain) => domain,
            Readiness::Busy(stage) => {
                return Err(RotationError::target(
                    TargetErrorKind::Unreachable,
                    claim_text(user),
                    format!("the directory is {stage}, not Active; the service retries"),
                ));
            }
            Readiness::Gone(fix) => {
                return Err(RotationError::target(TargetErrorKind::Rejected, claim_text(user), fix));
            }
        };
        let current_password = current.require_str(&self.config.keys.password)?;
        let mut unreachable = Vec::new();
        let needs =
            "a keytab needs the account's salt and key version, which a Kerberos proof of AWSCURRENT's password gives";
        let authenticated =
            match self.kerberos(user, &domain, ProofCredential::Password(current_password), &mut unreachable).await {
                Some(Ok(authenticated)) => authenticated,
                Some(Err(why)) => {
                    return Err(RotationError::target(
                        TargetErrorKind::AuthenticationFailed,
                        claim_text(user),
                        format!("{why}: {needs}; put the account's password in AWSCURRENT"),
                    ));
                }
                None => return Err(self.unanswered(user, &unreachable)),
            };
        let (Some(salt), Some(kvno)) = (authenticated.salt, authenticated.kvno) else {
            return Err(RotationError::target(
                TargetErrorKind::Rejected,
                claim_text(user),
                format!("the domain's KDC named no salt or key version: {needs}"),
            ));
        };
        let principal = Principal::new(&user.username, &domain.realm)
            .map_err(|e| RotationError::target(TargetErrorKind::Rejected, claim_text(user), e.to_string()))?;
        let now = u32::try_from(chrono::Utc::now().timestamp()).unwrap_or(u32::MAX);
        Keytab::from_password(&principal, password, &salt, kvno.wrapping_add(1), now)
            .map_err(|e| RotationError::target(TargetErrorKind::Rejected, claim_text(user), e.to_string()))
    }

    /// testSecret's proof of the pending keytab: an AS exchange with its keys, the KDC naming its key version.
    async fn prove_keytab(
        &self,
        user: &DirectoryUserRef,
        domain: &Domain,
        secret: &Secret,
        field: &str,
    ) -> Result<(), RotationError> {
        let invalid = |reason: String| secret.invalid(field, reason);
        let text = secret.require_str(field)?;
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| invalid("is not base64".into()))?;
        let keytab = Keytab::parse(&bytes).map_err(|e| invalid(e.to_string()))?;
        let mut unreachable = Vec::new();
        match self.kerberos(user, domain, ProofCredential::Keytab(&keytab), &mut unreachable).await {
            Some(Ok(authenticated)) => {
                let kvno = keytab.entries().first().map(|entry| entry.kvno);
                if authenticated.kvno.is_some() && authenticated.kvno != kvno {
                    return Err(RotationError::target(
                        TargetErrorKind::Rejected,
                        claim_text(user),
                        format!(
                            "the keytab's key version is {}, the domain's {}: the password was changed outside this rotation; cancel it (rotatectl unstick) and rotate again",
                            kvno.unwrap_or_default(),
                            authenticated.kvno.unwrap_or_default()
                        ),
                    ));
                }
                Ok(())
            }
            Some(Err(why)) => Err(RotationError::target(
                TargetErrorKind::AuthenticationFailed,
                claim_text(user),
                format!("the keytab: {why}"),
            )),
            None => Err(self.unanswered(user, &unreachable)),
        }
    }
}

fn claim_text(user: &DirectoryUserRef) -> String {
    format!("{}@{}", user.username, user.directory_id)
}

/// A Directory Service API error, named by its operation, with the fix.
fn api_error<E: ProvideErrorMetadata>(
    operation: &str,
    user: &DirectoryUserRef,
    error: &SdkError<E, HttpResponse>,
) -> RotationError {
    let failure = AwsFailure::of(error);
    let allow;
    let (kind, fix) = match failure.code().unwrap_or_default() {
        "AccessDeniedException" | "AccessDenied" => {
            allow = format!("allow the function's role ds:{operation} on the directory");
            (TargetErrorKind::PermissionDenied, allow.as_str())
        }
        "EntityDoesNotExistException" => {
            (TargetErrorKind::Rejected, "Directory Service has no such directory; fix the secret's directory ID")
        }
        "UserDoesNotExistException" => {
            (TargetErrorKind::Rejected, "the directory has no such user; fix the secret's username")
        }
        "InvalidPasswordException" => (
            TargetErrorKind::Rejected,
            "the directory's password policy refused the new password; align the function's password settings with it",
        ),
        "UnsupportedOperationException" => (
            TargetErrorKind::Rejected,
            "Directory Service does not reset this user's password (AWS Managed Microsoft AD resets only users in the directory's own OU; Simple AD none in Domain or Enterprise Admins)",
        ),
        "DirectoryUnavailableException" => {
            (TargetErrorKind::Unreachable, "the directory is unavailable; the service retries")
        }
        _ => (failure.target_kind(), ""),
    };
    let reason = failure
        .unanswered("Directory Service", "AWS_ENDPOINT_URL_DIRECTORY_SERVICE")
        .unwrap_or_else(|| failure.answer_with(fix));
    RotationError::target(kind, claim_text(user), format!("Directory Service {operation} failed: {reason}"))
}

impl ManagedCredential for DirectoryServiceUsers {
    type Resource = DirectoryUserRef;
    type Ready = Domain;

    const READY: &'static str = "Active";

    fn name(&self) -> &'static str {
        "directory"
    }

    /// The directory must be one `DIRECTORY_IDS` names; the username a logon name Directory Service takes.
    fn resource(&self, secret: &Secret) -> Result<DirectoryUserRef, RotationError> {
        let keys = &self.config.keys;
        let directory_id = secret.require_str(&keys.directory)?.to_owned();
        let username = secret.require_str(&keys.username)?.to_owned();
        if !is_directory_id(&directory_id) {
            return Err(secret.invalid(&keys.directory, "must be a directory ID (d- and ten hex digits)"));
        }
        if username.is_empty()
            || username.chars().count() > MAX_NAME
            || username.chars().any(|c| c.is_control() || REFUSED_IN_NAMES.contains(c))
        {
            return Err(secret.invalid(
                &keys.username,
                format!("must be a logon name of 1 to {MAX_NAME} characters, none of {REFUSED_IN_NAMES}"),
            ));
        }
        let user = DirectoryUserRef { directory_id, username };
        if !self.config.directories.contains(&user.directory_id) {
            return Err(RotationError::target(
                TargetErrorKind::ConfusedDeputy,
                claim_text(&user),
                "the directory is not in DIRECTORY_IDS; this function resets only users of the directories its configuration names",
            ));
        }
        Ok(user)
    }

    fn claim<'r>(&self, user: &'r DirectoryUserRef) -> Claim<'r> {
        Claim { kind: "directory user", name: &user.username, at: Some(&user.directory_id) }
    }

    fn next_secret(&self, current: &Secret, password: Password) -> Result<Secret, RotationError> {
        current.with_field(&self.config.keys.password, password.into_inner())
    }

    /// The pending secret; with `KEYTAB_FIELD`, the pending password's keytab in that field (base64), which asks the
    /// domain's KDC for the account's salt and key version.
    async fn create(
        &self,
        user: &DirectoryUserRef,
        current: &Secret,
        password: Password,
    ) -> Result<Secret, RotationError> {
        let Some(field) = self.config.keytab_field.clone() else { return self.next_secret(current, password) };
        let keytab = self.keytab(user, current, password.expose()).await?;
        self.next_secret(current, password)?
            .with_field(&field, base64::engine::general_purpose::STANDARD.encode(keytab.to_bytes()))
    }

    fn refuse_policy(&self, policy: &PasswordPolicy) -> Option<String> {
        refuse_policy(policy)
    }

    async fn describe(&self, user: &DirectoryUserRef) -> Result<Readiness<Domain>, RotationError> {
        let out = self
            .client
            .describe_directories()
            .directory_ids(&user.directory_id)
            .send()
            .await
            .map_err(|e| api_error("DescribeDirectories", user, &e))?;
        let Some(found) =
            out.directory_descriptions().iter().find(|d| d.directory_id() == Some(user.directory_id.as_str()))
        else {
            return Ok(Readiness::Gone(
                "Directory Service has no such directory; fix the secret's directory ID".into(),
            ));
        };
        let stage = found.stage().map(|s| s.as_str().to_owned()).unwrap_or_default();
        match stage.as_str() {
            "Active" => {}
            "Deleted" | "Deleting" | "Failed" | "Inoperable" | "RestoreFailed" => {
                return Ok(Readiness::Gone(format!(
                    "the directory is {stage}; repair it, or turn this secret's rotation off"
                )));
            }
            _ => return Ok(Readiness::Busy(stage)),
        }
        let dns_name = found.name().unwrap_or_default().to_ascii_lowercase();
        let controllers: Vec<IpAddr> = found.dns_ip_addrs().iter().filter_map(|ip| ip.parse().ok()).collect();
        if dns_name.is_empty() || controllers.is_empty() {
            return Err(RotationError::target(
                TargetErrorKind::Rejected,
                claim_text(user),
                "Directory Service describes the directory without a name or domain controller addresses",
            ));
        }
        let short_name = found.short_name().unwrap_or_default().to_owned();
        if short_name.is_empty() {
            return Err(RotationError::target(
                TargetErrorKind::Rejected,
                claim_text(user),
                "Directory Service describes the directory without its NetBIOS name (ShortName)",
            ));
        }
        Ok(Readiness::Ready(Domain { realm: dns_name.to_ascii_uppercase(), dns_name, short_name, controllers }))
    }

    async fn proves(&self, user: &DirectoryUserRef, domain: &Domain, secret: &Secret) -> Result<bool, RotationError> {
        let Ok(password) = secret.require_str(&self.config.keys.password) else { return Ok(false) };
        if password.is_empty() {
            return Ok(false);
        }
        Ok(matches!(self.prove(user, domain, password).await?, Proof::Accepted))
    }

    /// `ResetUserPassword`, once the account is checked ([`DirectoryServiceUsers::check_account`]). The pending
    /// password is tried first only when AWSCURRENT's no longer logs in (a retry after the reset): trying it on
    /// every rotation would cost the account a failed logon towards its lockout.
    async fn modify(
        &self,
        user: &DirectoryUserRef,
        domain: &Domain,
        pending: &Secret,
        current: Option<&Secret>,
    ) -> Result<Change, RotationError> {
        let password = pending.require_str(&self.config.keys.password)?;
        // AWSCURRENT no longer logging in is what a retry after the reset looks like: a pending password that logs
        // in then is set already (and resetting again would move the keytab's key version on).
        if current.is_none() && matches!(self.prove(user, domain, password).await, Ok(Proof::Accepted)) {
            return Ok(Change::Done);
        }
        self.check_account(user, domain, current).await?;
        self.client
            .reset_user_password()
            .directory_id(&user.directory_id)
            .user_name(&user.username)
            .new_password(password)
            .send()
            .await
            .map_err(|e| api_error("ResetUserPassword", user, &e))?;
        Ok(Change::Done)
    }

    /// The pending password proved to the domain (Kerberos, else LDAPS), and with `KEYTAB_FIELD` its keytab by
    /// Kerberos; a refusal is an authentication failure, retried while the new password reaches every domain
    /// controller.
    async fn login(&self, user: &DirectoryUserRef, domain: &Domain, secret: &Secret) -> Result<(), RotationError> {
        let password = secret.require_str(&self.config.keys.password)?;
        if let Proof::Refused(why) = self.prove(user, domain, password).await? {
            return Err(RotationError::target(TargetErrorKind::AuthenticationFailed, claim_text(user), why));
        }
        match &self.config.keytab_field {
            Some(field) => self.prove_keytab(user, domain, secret, field).await,
            None => Ok(()),
        }
    }
}
