//! Which server answers, from its `@@version`: the flavor and release decide which statements and grant tables
//! exist, so rotor never learns it from an error.

/// Which server answers: the statements differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// MariaDB: takes a `mysql_native_password` hash (`IDENTIFIED BY PASSWORD '*<hex>'`); no dual passwords.
    MariaDb,
    /// MySQL: dual passwords (8.0.14+); the password travels in `IDENTIFIED BY`, which MySQL documents it
    /// rewrites before it writes its general, slow and binary logs.
    Mysql,
}

impl Flavor {
    /// The flavor of a server from its `@@version` (MariaDB says so in it).
    pub fn of_version(version: &str) -> Self {
        if version.to_ascii_lowercase().contains("mariadb") { Self::MariaDb } else { Self::Mysql }
    }
}

/// A server's flavor and release, read once from `@@version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// MySQL or MariaDB.
    pub flavor: Flavor,
    /// `[major, minor, patch]`; `None` when `@@version` does not start with a number.
    pub release: Option<[u32; 3]>,
}

/// What a server has, by flavor and release: each decides a grant table or statement rotor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// MariaDB 10.4.1+: `mysql.global_priv` (privileges as an `access` bit set in JSON); `mysql.user` is a view
    /// over it that lacks the privileges added since.
    GlobalPriv,
    /// MariaDB 10.0.5+: roles in `mysql.roles_mapping`.
    MariaDbRoles,
    /// MariaDB 10.1.1 to 10.4.0: the default role is `mysql.user.default_role`.
    DefaultRoleColumn,
    /// MariaDB 10.11+: the `PUBLIC` role, whose privileges every account holds.
    PublicRole,
    /// MySQL 8.0+: `mysql.role_edges`, `mysql.default_roles`, `mysql.global_grants` (dynamic privileges) and
    /// the `mandatory_roles` variable.
    MysqlRoles,
    /// `ACCOUNT LOCK`: MariaDB 10.4.2+ (in `mysql.global_priv`), MySQL 5.7.6+ (`mysql.user.account_locked`).
    AccountLock,
}

impl Version {
    /// Reads `@@version`: `10.11.6-MariaDB-0+deb12u1-log`, `8.0.39`, `8.0.mysql_aurora.3.05.2`. A MariaDB that
    /// puts MySQL 5's `5.5.5-` before its own release is read by its own release.
    pub fn parse(text: &str) -> Self {
        let flavor = Flavor::of_version(text);
        let text = match flavor {
            Flavor::MariaDb => text.strip_prefix("5.5.5-").unwrap_or(text),
            Flavor::Mysql => text,
        };
        let number: String = text.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
        let mut parts = number.split('.').map(|part| part.parse::<u32>().ok());
        let release = parts.next().flatten().map(|major| {
            let mut next = || parts.next().flatten().unwrap_or(0);
            [major, next(), next()]
        });
        Self { flavor, release }
    }

    /// Whether the server has `feature`; a server whose release could not be read has none.
    pub fn has(&self, feature: Feature) -> bool {
        let Some(release) = self.release else { return false };
        let at_least = |flavor: Flavor, since: [u32; 3]| self.flavor == flavor && release >= since;
        match feature {
            Feature::GlobalPriv => at_least(Flavor::MariaDb, [10, 4, 1]),
            Feature::MariaDbRoles => at_least(Flavor::MariaDb, [10, 0, 5]),
            Feature::DefaultRoleColumn => {
                at_least(Flavor::MariaDb, [10, 1, 1]) && !at_least(Flavor::MariaDb, [10, 4, 1])
            }
            Feature::PublicRole => at_least(Flavor::MariaDb, [10, 11, 0]),
            Feature::MysqlRoles => at_least(Flavor::Mysql, [8, 0, 0]),
            Feature::AccountLock => at_least(Flavor::MariaDb, [10, 4, 2]) || at_least(Flavor::Mysql, [5, 7, 6]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_by_flavor_and_release() {
        for (text, flavor, release) in [
            ("10.11.6-MariaDB-0+deb12u1-log", Flavor::MariaDb, Some([10, 11, 6])),
            ("5.5.5-10.4.2-MariaDB", Flavor::MariaDb, Some([10, 4, 2])),
            ("11.4.3-MariaDB", Flavor::MariaDb, Some([11, 4, 3])),
            ("8.0.39", Flavor::Mysql, Some([8, 0, 39])),
            ("5.7.44-log", Flavor::Mysql, Some([5, 7, 44])),
            ("8.0.mysql_aurora.3.05.2", Flavor::Mysql, Some([8, 0, 0])),
            ("9", Flavor::Mysql, Some([9, 0, 0])),
            ("", Flavor::Mysql, None),
            ("MariaDB", Flavor::MariaDb, None),
        ] {
            assert_eq!(Version::parse(text), Version { flavor, release }, "{text}");
        }
    }

    #[test]
    fn features_follow_flavor_and_release() {
        use Feature::*;
        for (text, present, absent) in [
            (
                "10.11.6-MariaDB",
                &[GlobalPriv, MariaDbRoles, PublicRole, AccountLock][..],
                &[DefaultRoleColumn, MysqlRoles][..],
            ),
            ("10.4.1-MariaDB", &[GlobalPriv, MariaDbRoles], &[AccountLock, PublicRole, DefaultRoleColumn]),
            ("10.3.39-MariaDB", &[MariaDbRoles, DefaultRoleColumn], &[GlobalPriv, AccountLock, PublicRole]),
            ("10.0.4-MariaDB", &[], &[MariaDbRoles, DefaultRoleColumn, GlobalPriv]),
            ("8.0.39", &[MysqlRoles, AccountLock], &[GlobalPriv, MariaDbRoles, PublicRole]),
            ("5.7.5", &[], &[MysqlRoles, AccountLock]),
            ("5.7.6", &[AccountLock], &[MysqlRoles]),
            ("unknown", &[], &[MysqlRoles, AccountLock, GlobalPriv]),
        ] {
            let version = Version::parse(text);
            for feature in present {
                assert!(version.has(*feature), "{text} has {feature:?}");
            }
            for feature in absent {
                assert!(!version.has(*feature), "{text} lacks {feature:?}");
            }
        }
    }
}
