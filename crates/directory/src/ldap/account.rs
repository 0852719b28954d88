//! Directory accounts: how a secret names one (a DN, or on Active Directory a UPN), finding its entry, what makes
//! it privileged, and changing its password.

use std::collections::HashSet;

use ldap3::exop::PasswordModify;
use ldap3::{Mod, Scope, SearchEntry};
use rotation_core::{Password, RotationError, TargetErrorKind};

use super::dn::{Dn, escape_filter_value};
use super::session::{DirectorySession, Flavor};
use super::sid::Sid;

/// The longest user principal name rotor takes (Active Directory's `userPrincipalName` upper range).
const MAX_UPN: usize = 1024;

/// The longest DN rotor takes.
const MAX_DN: usize = 2048;

/// How a secret's `username` names an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountName {
    /// A distinguished name, `CN=svc,OU=Service Accounts,DC=corp,DC=example`.
    Dn(Dn),
    /// An Active Directory user principal name, `svc@corp.example`.
    Upn(String),
    /// An Active Directory down-level logon name, `CORP\svc`: the domain's NetBIOS name and the account's
    /// `sAMAccountName`, which binds exactly the account Directory Service resets. Made by rotor
    /// ([`AccountName::down_level`]), never read from a secret.
    DownLevel {
        /// The domain's NetBIOS name.
        domain: String,
        /// The `sAMAccountName`.
        name: String,
    },
}

impl AccountName {
    /// Reads a username: a DN when it holds `=`, else a UPN (`name@domain`, one `@`, no control characters and none
    /// of the characters Active Directory forbids in logon names).
    pub fn parse(username: &str) -> Result<Self, String> {
        if username.contains('=') {
            if username.len() > MAX_DN {
                return Err(format!("is longer than {MAX_DN} bytes"));
            }
            return Dn::parse(username).map(Self::Dn).map_err(|reason| format!("{username:?} {reason}"));
        }
        let Some((name, domain)) = username.split_once('@') else {
            return Err(format!(
                "{username:?} is neither a DN (CN=...,DC=...) nor a UPN (name@domain); rotor needs one of them"
            ));
        };
        let forbidden = |c: char| c.is_control() || "\"/\\[]:;|=,+*?<>@".contains(c);
        if name.is_empty() || domain.is_empty() || name.chars().any(forbidden) || domain.chars().any(forbidden) {
            return Err(format!("{username:?} is not a UPN (name@domain, without \"/\\[]:;|=,+*?<>)"));
        }
        if username.len() > MAX_UPN {
            return Err(format!("is longer than {MAX_UPN} bytes"));
        }
        Ok(Self::Upn(username.to_owned()))
    }

    /// The down-level logon name `domain\name`.
    pub fn down_level(domain: &str, name: &str) -> Self {
        Self::DownLevel { domain: domain.to_owned(), name: name.to_owned() }
    }

    /// The other account of an alternating pair: `_clone` added to (or taken from) the account's own name, the
    /// leaf of a DN or the part of a UPN before `@`; the container and domain stay.
    pub fn other(&self) -> Option<Self> {
        let flip = |name: &str| match name.strip_suffix(rotation_database::CLONE_SUFFIX) {
            Some(base) if !base.is_empty() => base.to_owned(),
            _ => format!("{name}{}", rotation_database::CLONE_SUFFIX),
        };
        match self {
            Self::Dn(dn) => dn.with_leaf_value(&flip(dn.leaf_value()?)).map(Self::Dn),
            Self::Upn(upn) => {
                let (name, domain) = upn.split_once('@')?;
                Some(Self::Upn(format!("{}@{domain}", flip(name))))
            }
            Self::DownLevel { .. } => None,
        }
    }

    /// The name as rotor writes it (a DN with every value escaped).
    pub fn text(&self) -> String {
        match self {
            Self::Dn(dn) => dn.to_string(),
            Self::Upn(upn) => upn.clone(),
            Self::DownLevel { domain, name } => format!("{domain}\\{name}"),
        }
    }
}

/// `userAccountControl`'s bit for a disabled account.
const ACCOUNT_DISABLE: u32 = 0x2;

/// An account's entry as read.
#[derive(Debug, Clone)]
pub struct Account {
    /// Its DN, as the directory returns it.
    pub dn: Dn,
    /// Whether Active Directory has it disabled.
    pub disabled: bool,
    /// What makes it privileged (empty: nothing rotor knows of).
    pub privileges: Vec<String>,
    /// Its security identifier (Active Directory).
    pub sid: Option<Sid>,
    /// The account that created it, when an unprivileged user did (`mS-DS-CreatorSID`, Active Directory).
    pub creator: Option<Sid>,
}

/// Every value of `name` in `entry`, text and binary alike, as bytes.
fn raw_values(entry: &SearchEntry, name: &str) -> Vec<Vec<u8>> {
    let text = entry.attrs.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).flat_map(|(_, v)| v);
    let binary = entry.bin_attrs.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).flat_map(|(_, v)| v);
    text.map(|v| v.as_bytes().to_vec()).chain(binary.cloned()).collect()
}

fn first_value(entry: &SearchEntry, name: &str) -> Option<String> {
    entry.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.first().cloned())
}

/// The base under which a UPN is looked up: the function's `LDAP_USER_BASE_DN`, else the naming context.
fn search_base(session: &DirectorySession, base: Option<&Dn>) -> Result<String, RotationError> {
    base.or(session.naming_context()).map(Dn::to_string).ok_or_else(|| {
        RotationError::target(
            TargetErrorKind::Rejected,
            session.connection().address(),
            "the directory names no naming context to look the UPN up in; set LDAP_USER_BASE_DN",
        )
    })
}

/// The DN of the account `name` names; `None` when there is no such account. A UPN must match exactly one account.
pub async fn find_dn(
    session: &mut DirectorySession,
    name: &AccountName,
    base: Option<&Dn>,
) -> Result<Option<Dn>, RotationError> {
    let upn = match name {
        AccountName::Dn(dn) => {
            let found = session
                .search(&dn.to_string(), Scope::Base, "(objectClass=*)", &["1.1"], "finding the account")
                .await?;
            return Ok(found.first().map(|_| dn.clone()));
        }
        AccountName::Upn(upn) => upn,
        AccountName::DownLevel { name, .. } => {
            let base = match base.or(session.naming_context()) {
                Some(base) => base.clone(),
                None => return Ok(None),
            };
            let found = find_by_logon_name(session, &base, name).await?;
            return Ok(if found.len() == 1 { found.into_iter().next() } else { None });
        }
    };
    let filter = format!("(&(objectClass=user)(userPrincipalName={}))", escape_filter_value(upn));
    let base = search_base(session, base)?;
    let found = session.search(&base, Scope::Subtree, &filter, &["1.1"], "finding the account by its UPN").await?;
    match found.as_slice() {
        [] => Ok(None),
        [entry] => Dn::parse(&entry.dn).map(Some).map_err(|reason| {
            RotationError::target(
                TargetErrorKind::Rejected,
                session.connection().address(),
                format!("the directory answered with a DN rotor cannot read ({reason})"),
            )
        }),
        _ => Err(RotationError::target(
            TargetErrorKind::Rejected,
            session.connection().address(),
            format!("{} accounts have the UPN {upn:?}; give the account's DN as the username", found.len()),
        )),
    }
}

/// The DNs of the Active Directory accounts under `base` whose logon name (`sAMAccountName`) is `name`.
pub async fn find_by_logon_name(
    session: &mut DirectorySession,
    base: &Dn,
    name: &str,
) -> Result<Vec<Dn>, RotationError> {
    let filter = format!("(&(objectClass=user)(sAMAccountName={}))", escape_filter_value(name));
    let found = session.search(&base.to_string(), Scope::Subtree, &filter, &["1.1"], "finding the account").await?;
    found
        .iter()
        .map(|entry| {
            Dn::parse(&entry.dn).map_err(|reason| {
                RotationError::target(
                    TargetErrorKind::Rejected,
                    session.connection().address(),
                    format!("the directory answered with a DN rotor cannot read ({reason})"),
                )
            })
        })
        .collect()
}

/// `userAccountControl` bits of accounts that are domain controllers, trusts or trusted for delegation, each with
/// what it makes the account.
const PRIVILEGED_CONTROL: [(u32, &str); 5] = [
    (0x800, "an interdomain trust account"),
    (0x2000, "a domain controller's account"),
    (0x4000000, "a read-only domain controller's account"),
    (0x80000, "trusted for Kerberos delegation"),
    (0x1000000, "trusted to authenticate for delegation"),
];

/// Reads the account at `dn`: whether it is disabled, and what makes it privileged. A right the admin cannot read
/// counts as privileged (refused unless `ALLOW_PRIVILEGED_USERS`): the check fails closed.
///
/// On Active Directory: its `tokenGroups` (every group it is in, nested and primary, as the directory computes
/// them) against the protected groups, its own SID (Administrator, krbtgt), `krbtgt_*` (a read-only domain
/// controller's KDC account), `adminCount=1`, and the `userAccountControl` bits of domain controllers, trusts and
/// delegation. On OpenLDAP: being a database's root DN (`olcRootDN`, read from `cn=config`). `None` when there is
/// no such entry.
pub async fn read_account(session: &mut DirectorySession, dn: &Dn) -> Result<Option<Account>, RotationError> {
    let text = dn.to_string();
    if session.flavor() == Flavor::PasswordModify {
        let found = session.search(&text, Scope::Base, "(objectClass=*)", &["1.1"], "reading the account").await?;
        if found.is_empty() {
            return Ok(None);
        }
        // cn=config exists on every slapd; a session that cannot read it cannot tell who is a root DN.
        let readable = session.search("cn=config", Scope::Base, "(objectClass=*)", &["1.1"], "reading cn=config").await;
        let privileges = match readable {
            Ok(entries) if !entries.is_empty() => {
                let filter = format!("(olcRootDN={})", escape_filter_value(&text));
                let roots =
                    session.search("cn=config", Scope::Subtree, &filter, &["1.1"], "reading cn=config").await?;
                roots.iter().map(|_| "a database's root DN (olcRootDN)".to_owned()).collect()
            }
            Ok(_) | Err(RotationError::Target { kind: TargetErrorKind::PermissionDenied, .. }) => vec![
                "possibly a database's root DN: the admin cannot read cn=config (olcRootDN) to tell; let it read cn=config"
                    .to_owned(),
            ],
            Err(error) => return Err(error),
        };
        return Ok(Some(Account { dn: dn.clone(), disabled: false, privileges, sid: None, creator: None }));
    }
    let attributes =
        ["tokenGroups", "objectSid", "adminCount", "userAccountControl", "sAMAccountName", "mS-DS-CreatorSID"];
    let found = session.search(&text, Scope::Base, "(objectClass=*)", &attributes, "reading the account").await?;
    let Some(entry) = found.first() else { return Ok(None) };
    let sids = |name: &str| -> Option<Vec<Sid>> {
        raw_values(entry, name).iter().map(|bytes| Sid::from_bytes(bytes)).collect()
    };
    let mut privileges: Vec<String> = Vec::new();
    let own = sids("objectSid").unwrap_or_default();
    for sid in &own {
        privileges.extend(sid.privileged_account().map(str::to_owned));
    }
    // Every account holds at least its primary group: none, or one that does not parse, is a right unknown.
    match sids("tokenGroups").filter(|groups| !groups.is_empty() && own.len() == 1) {
        Some(groups) => {
            for group in groups.iter().filter_map(Sid::privileged_group) {
                privileges.push(format!("member of {group}"));
            }
        }
        None => privileges.push(
            "group memberships unknown: the admin cannot read its objectSid and tokenGroups; let it read them"
                .to_owned(),
        ),
    }
    if first_value(entry, "adminCount").as_deref() == Some("1") {
        privileges.push("adminCount=1 (protected by AdminSDHolder)".to_owned());
    }
    if first_value(entry, "sAMAccountName").is_some_and(|name| name.to_ascii_lowercase().starts_with("krbtgt")) {
        privileges.push("a KDC account (krbtgt)".to_owned());
    }
    let control: u32 = first_value(entry, "userAccountControl").and_then(|v| v.parse().ok()).unwrap_or(0);
    privileges
        .extend(PRIVILEGED_CONTROL.iter().filter(|(bit, _)| control & bit != 0).map(|(_, what)| (*what).to_owned()));
    privileges.dedup();
    let creator = sids("mS-DS-CreatorSID").and_then(|creators| creators.into_iter().next());
    Ok(Some(Account {
        dn: dn.clone(),
        disabled: control & ACCOUNT_DISABLE != 0,
        privileges,
        sid: own.into_iter().next(),
        creator,
    }))
}

/// `unicodePwd`'s value: the password in double quotes, UTF-16LE.
fn unicode_pwd(password: &str) -> Vec<u8> {
    format!("\"{password}\"").encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn values(value: Vec<u8>) -> HashSet<Vec<u8>> {
    HashSet::from([value])
}

/// The session's own account changes its password from `old` to `new`: on Active Directory one modify deleting
/// the old `unicodePwd` and adding the new (a change, subject to the password policy's history and minimum age);
/// elsewhere the Password Modify extended operation for the bound identity, with the old password.
pub async fn change_own_password(
    session: &mut DirectorySession,
    dn: &Dn,
    old: &Password,
    new: &Password,
) -> Result<(), RotationError> {
    match session.flavor() {
        Flavor::ActiveDirectory => {
            let changes = vec![
                Mod::Delete(b"unicodePwd".to_vec(), values(unicode_pwd(old.expose()))),
                Mod::Add(b"unicodePwd".to_vec(), values(unicode_pwd(new.expose()))),
            ];
            session.modify(&dn.to_string(), changes, "the password change").await
        }
        Flavor::PasswordModify => {
            let operation =
                PasswordModify { user_id: None, old_pass: Some(old.expose()), new_pass: Some(new.expose()) };
            session.extended(operation, "the password change (Password Modify)").await
        }
    }
}

/// The session's account (an admin) resets `dn`'s password to `new`: on Active Directory a replace of
/// `unicodePwd`; elsewhere the Password Modify extended operation naming the account.
pub async fn reset_password(session: &mut DirectorySession, dn: &Dn, new: &Password) -> Result<(), RotationError> {
    let text = dn.to_string();
    match session.flavor() {
        Flavor::ActiveDirectory => {
            let changes = vec![Mod::Replace(b"unicodePwd".to_vec(), values(unicode_pwd(new.expose())))];
            session.modify(&text, changes, "the password reset").await
        }
        Flavor::PasswordModify => {
            let operation = PasswordModify { user_id: Some(&text), old_pass: None, new_pass: Some(new.expose()) };
            session.extended(operation, "the password reset (Password Modify)").await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_username_is_a_dn_or_a_upn_and_nothing_else() {
        assert!(matches!(AccountName::parse("CN=svc,OU=Apps,DC=corp,DC=example"), Ok(AccountName::Dn(_))));
        assert_eq!(AccountName::parse("svc@corp.example"), Ok(AccountName::Upn("svc@corp.example".into())));
        for hostile in ["svc", "CORP\\svc", "a@b@c", "@corp", "svc@", "s*c@corp", "s|c@corp", "svc\n@corp", "cn=a,=x"] {
            assert!(AccountName::parse(hostile).is_err(), "{hostile:?} was taken");
        }
    }

    #[test]
    fn the_other_account_of_a_pair_keeps_its_container_and_domain() {
        let dn = AccountName::parse(r"CN=svc\, app,OU=Apps,DC=corp").unwrap();
        let other = dn.other().unwrap();
        assert_eq!(other.text(), r"cn=svc\, app_clone,ou=Apps,dc=corp");
        assert_eq!(other.other(), Some(dn));
        let upn = AccountName::parse("svc_clone@corp.example").unwrap();
        assert_eq!(upn.other().unwrap().text(), "svc@corp.example");
        assert_eq!(AccountName::parse("_clone@corp").unwrap().other().unwrap().text(), "_clone_clone@corp");
    }

    #[test]
    fn unicode_pwd_is_the_quoted_password_in_utf16le() {
        assert_eq!(unicode_pwd("aé"), vec![b'"', 0, b'a', 0, 0xe9, 0, b'"', 0]);
    }
}
