//! Windows security identifiers (`objectSid`, `tokenGroups`), and the ones that make an Active Directory account
//! privileged.

use std::fmt;

/// A security identifier, from its binary form (revision, count, 48-bit authority, little-endian sub-authorities).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sid {
    authority: u64,
    sub: Vec<u32>,
}

impl Sid {
    /// Parses the binary form; `None` when it is not one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (&[revision, count], rest) = bytes.split_first_chunk::<2>()?;
        if revision != 1 || rest.len() != 6 + 4 * usize::from(count) {
            return None;
        }
        let authority = rest[..6].iter().fold(0u64, |a, b| a << 8 | u64::from(*b));
        let sub = rest[6..].chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        Some(Self { authority, sub })
    }

    /// The relative identifier of a domain account or group (`S-1-5-21-a-b-c-RID`); `None` for other SIDs.
    fn domain_rid(&self) -> Option<u32> {
        match self.sub.as_slice() {
            [21, _, _, _, rid] if self.authority == 5 => Some(*rid),
            _ => None,
        }
    }

    /// A builtin group's relative identifier (`S-1-5-32-RID`).
    fn builtin_rid(&self) -> Option<u32> {
        match self.sub.as_slice() {
            [32, rid] if self.authority == 5 => Some(*rid),
            _ => None,
        }
    }

    /// The privileged group this SID is, by its well-known relative identifier: the groups Active Directory
    /// protects with AdminSDHolder, and the key and policy admins.
    pub fn privileged_group(&self) -> Option<&'static str> {
        let name = match (self.domain_rid(), self.builtin_rid()) {
            (Some(498), _) => "Enterprise Read-only Domain Controllers",
            (Some(512), _) => "Domain Admins",
            (Some(516), _) => "Domain Controllers",
            (Some(517), _) => "Cert Publishers",
            (Some(518), _) => "Schema Admins",
            (Some(519), _) => "Enterprise Admins",
            (Some(520), _) => "Group Policy Creator Owners",
            (Some(521), _) => "Read-only Domain Controllers",
            (Some(526), _) => "Key Admins",
            (Some(527), _) => "Enterprise Key Admins",
            (_, Some(544)) => "Administrators",
            (_, Some(548)) => "Account Operators",
            (_, Some(549)) => "Server Operators",
            (_, Some(550)) => "Print Operators",
            (_, Some(551)) => "Backup Operators",
            (_, Some(552)) => "Replicator",
            _ => return None,
        };
        Some(name)
    }

    /// The privileged account this SID is: the domain's built-in Administrator or its KDC account.
    pub fn privileged_account(&self) -> Option<&'static str> {
        match self.domain_rid() {
            Some(500) => Some("the domain's built-in Administrator"),
            Some(502) => Some("the domain's KDC account (krbtgt)"),
            _ => None,
        }
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S-1-{}", self.authority)?;
        for sub in &self.sub {
            write!(f, "-{sub}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(rid: u32) -> Vec<u8> {
        let mut bytes = vec![1, 5, 0, 0, 0, 0, 0, 5];
        for sub in [21, 1_004_336_348, 1_177_238_915, 682_003_330, rid] {
            bytes.extend_from_slice(&u32::to_le_bytes(sub));
        }
        bytes
    }

    #[test]
    fn privileged_groups_and_accounts_are_known_by_their_relative_ids() {
        let admins = Sid::from_bytes(&domain(512)).unwrap();
        assert_eq!(admins.to_string(), "S-1-5-21-1004336348-1177238915-682003330-512");
        assert_eq!(admins.privileged_group(), Some("Domain Admins"));
        let builtin = Sid::from_bytes(&[1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0]).unwrap();
        assert_eq!(
            (builtin.to_string().as_str(), builtin.privileged_group()),
            ("S-1-5-32-544", Some("Administrators"))
        );
        assert_eq!(
            Sid::from_bytes(&domain(500)).unwrap().privileged_account(),
            Some("the domain's built-in Administrator")
        );
        for ordinary in [513, 1105] {
            let sid = Sid::from_bytes(&domain(ordinary)).unwrap();
            assert_eq!((sid.privileged_group(), sid.privileged_account()), (None, None), "{sid}");
        }
        assert_eq!(Sid::from_bytes(&domain(512)[..27]), None);
        assert_eq!(Sid::from_bytes(&[2, 0, 0, 0, 0, 0, 0, 5]), None);
    }
}
