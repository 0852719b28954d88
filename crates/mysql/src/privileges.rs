//! The privileged-user check: every route by which an account may administer accounts or the server, so the
//! admin never sets the password of, nor clones, such an account from a user secret.
//!
//! Routes: the account's global privileges, MySQL 8's dynamic privileges, any privilege on the `mysql` schema
//! (database, table and routine grants: the grant tables live there), PROXY grants, and all of these again
//! through every role the account holds: granted or default, roles granted to those roles, MariaDB's `PUBLIC`
//! and MySQL's mandatory roles. Which grant tables exist is decided by the server's version. Only `mysql.*`
//! tables are read, with the server's built-in operators: nothing a user can create runs.

use std::collections::{HashMap, HashSet, VecDeque};

use mysql_async::Row;
use rotation_core::{RotationError, TargetErrorKind};

use crate::account::Account;
use crate::alternating::{split_list, split_outside};
use crate::connect::MysqlSession;
use crate::version::{Feature, Flavor, Version};

/// Global privileges that administer accounts or the server:
/// - CREATE USER creates, renames and drops accounts and sets any password; CREATE ROLE and DROP ROLE do the
///   same for roles, which MySQL 8 keeps as accounts (DROP ROLE drops users too);
/// - GRANT OPTION on `*.*` passes the holder's global privileges to any account;
/// - SUPER changes the server itself, and so do the privileges MariaDB 10.5 split from it: SET USER names another
///   account as a routine's definer (its code then runs with that account's rights), FEDERATED ADMIN stores
///   connections to other servers, CONNECTION ADMIN kills sessions and passes connection limits, READ_ONLY ADMIN
///   writes on a read-only server, REPLICATION SLAVE ADMIN points the server at a primary whose changes it
///   applies, BINLOG ADMIN purges the binary logs (the audit trail), BINLOG REPLAY applies row events, grant
///   tables included;
/// - RELOAD makes grant tables written by hand take effect (FLUSH PRIVILEGES), SHUTDOWN stops the server, FILE
///   reads and writes the server host's files as the server.
///
/// Left out on purpose, because monitoring and replication accounts hold them and are rotated by the admin: what
/// only reads or watches (SELECT, PROCESS, SHOW DATABASES, SHOW VIEW, REPLICATION SLAVE and CLIENT, BINLOG
/// MONITOR, SLAVE MONITOR, SHOW CREATE ROUTINE), and REPLICATION MASTER ADMIN, which MariaDB gives every
/// replication account and which only shows and tunes the replicas' side.
const ADMINISTRATIVE: &[&str] = &[
    "CREATE USER",
    "CREATE ROLE",
    "DROP ROLE",
    "GRANT OPTION",
    "SUPER",
    "SET USER",
    "FEDERATED ADMIN",
    "CONNECTION ADMIN",
    "READ_ONLY ADMIN",
    "REPLICATION SLAVE ADMIN",
    "BINLOG ADMIN",
    "BINLOG REPLAY",
    "RELOAD",
    "SHUTDOWN",
    "FILE",
];

/// Global privileges that change a table's rows or definition: held on `*.*`, they write the grant tables in
/// `mysql.*` too. MySQL 8's partial revokes are not subtracted, so such an account is refused (fails closed).
const WRITES: &[&str] = &["INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER"];

/// MySQL 8's dynamic privileges exist to split SUPER: every one counts, those of plugins and later releases
/// included, except these, which act on the holder's own account or session, only read, or only flush caches
/// and counters. BACKUP_ADMIN only blocks DDL while a backup runs; backup accounts hold it.
const HARMLESS_DYNAMIC: &[&str] = &[
    "APPLICATION_PASSWORD_ADMIN",
    "BACKUP_ADMIN",
    "FLUSH_OPTIMIZER_COSTS",
    "FLUSH_STATUS",
    "FLUSH_TABLES",
    "FLUSH_USER_RESOURCES",
    "RESOURCE_GROUP_USER",
    "SENSITIVE_VARIABLES_OBSERVER",
    "SHOW_ROUTINE",
    "XA_RECOVER_ADMIN",
];

/// MariaDB's global privileges by their bit in `mysql.global_priv`'s `access` (the server's `privilege_t`).
const MARIADB_ACCESS: [&str; 40] = [
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "RELOAD",
    "SHUTDOWN",
    "PROCESS",
    "FILE",
    "GRANT OPTION",
    "REFERENCES",
    "INDEX",
    "ALTER",
    "SHOW DATABASES",
    "SUPER",
    "CREATE TEMPORARY TABLES",
    "LOCK TABLES",
    "EXECUTE",
    "REPLICATION SLAVE",
    "BINLOG MONITOR",
    "CREATE VIEW",
    "SHOW VIEW",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
    "CREATE USER",
    "EVENT",
    "TRIGGER",
    "CREATE TABLESPACE",
    "DELETE HISTORY",
    "SET USER",
    "FEDERATED ADMIN",
    "CONNECTION ADMIN",
    "READ_ONLY ADMIN",
    "REPLICATION SLAVE ADMIN",
    "REPLICATION MASTER ADMIN",
    "BINLOG ADMIN",
    "BINLOG REPLAY",
    "SLAVE MONITOR",
    "SHOW CREATE ROUTINE",
];

/// What a global privilege gives, for the message; `None` when it is not administrative.
fn global_right(privilege: &str) -> Option<String> {
    if privilege == "GRANT OPTION" {
        Some("GRANT OPTION on *.*".to_owned())
    } else if ADMINISTRATIVE.contains(&privilege) {
        Some(privilege.to_owned())
    } else if WRITES.contains(&privilege) {
        Some(format!("{privilege} on *.* (the grant tables in mysql.* included)"))
    } else {
        None
    }
}

/// Whether a MySQL 8 dynamic privilege is administrative.
fn dynamic_is_administrative(privilege: &str) -> bool {
    !HARMLESS_DYNAMIC.iter().any(|harmless| harmless.eq_ignore_ascii_case(privilege))
}

/// The global privileges of a MariaDB `access` bit set, and the bits rotor does not know (a later release's
/// privileges, which count).
fn mariadb_privileges(access: u64) -> (Vec<&'static str>, u64) {
    let known = MARIADB_ACCESS.iter().enumerate().filter(|(bit, _)| access & (1 << bit) != 0).map(|(_, name)| *name);
    (known.collect(), access & !((1u64 << MARIADB_ACCESS.len()) - 1))
}

/// The privilege a grant table's `<Name>_priv` column holds, as GRANT spells it.
fn column_privilege(column: &str) -> Option<String> {
    let name = column.strip_suffix("_priv")?;
    Some(match name {
        "Grant" => "GRANT OPTION".to_owned(),
        "Show_db" => "SHOW DATABASES".to_owned(),
        "Create_tmp_table" => "CREATE TEMPORARY TABLES".to_owned(),
        "Repl_slave" => "REPLICATION SLAVE".to_owned(),
        "Repl_client" => "REPLICATION CLIENT".to_owned(),
        other => other.replace('_', " ").to_ascii_uppercase(),
    })
}

/// The privileges of a grant table's SET column (`tables_priv.Table_priv`: `Select,Insert,Grant`).
fn set_privileges(set: &str) -> Vec<String> {
    set.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| if p.eq_ignore_ascii_case("Grant") { "GRANT OPTION".to_owned() } else { p.to_ascii_uppercase() })
        .collect()
}

/// Reads MySQL's `mandatory_roles` (`` `r1`@`%`,r2,'r3'@'localhost' ``); a role without a host is `r`@`%`.
fn role_list(text: &str) -> Vec<(String, String)> {
    let unquote = |part: &str| {
        let part = part.trim();
        match (part.chars().next(), part.chars().last()) {
            (Some(first), Some(last)) if part.len() >= 2 && first == last && matches!(first, '`' | '\'' | '"') => {
                part[1..part.len() - 1].to_owned()
            }
            _ => part.to_owned(),
        }
    };
    split_list(text)
        .iter()
        .map(|role| match split_outside(role, "@") {
            Some((user, host)) => (unquote(user), unquote(host)),
            None => (unquote(role), "%".to_owned()),
        })
        .filter(|(user, _)| !user.is_empty())
        .collect()
}

/// One account or role whose privileges the checked account holds, and the roles that lead to it from the
/// account (empty for the account itself).
struct Holder {
    user: String,
    host: String,
    route: Vec<String>,
}

impl Holder {
    /// Where a right of this holder comes from, for the message: nothing for the account itself, else
    /// ` through role `r_in` via default role `r_out``.
    fn source(&self) -> String {
        match self.route.split_last() {
            None => String::new(),
            Some((last, rest)) => {
                rest.iter().rev().fold(format!(" through {last}"), |text, step| format!("{text} via {step}"))
            }
        }
    }

    fn key(&self) -> (String, String) {
        (self.user.clone(), self.host.clone())
    }
}

/// A holder's global privileges and default roles.
#[derive(Default)]
struct Global {
    rights: Vec<String>,
    default_roles: Vec<(String, String)>,
}

/// Reads the grant tables of one server, caching which privilege columns its tables have.
struct GrantTables {
    version: Version,
    columns: HashMap<&'static str, Vec<String>>,
}

impl GrantTables {
    /// The `<Name>_priv` columns of `mysql.<table>`, from the server's catalog.
    async fn privilege_columns(
        &mut self,
        admin: &mut MysqlSession,
        table: &'static str,
    ) -> Result<Vec<String>, RotationError> {
        if let Some(columns) = self.columns.get(table) {
            return Ok(columns.clone());
        }
        let columns: Vec<String> = admin
            .exec(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'mysql' AND TABLE_NAME = ? \
                 AND COLUMN_NAME LIKE '%\\_priv' ORDER BY ORDINAL_POSITION",
                (table,),
            )
            .await?;
        // The names go into a statement: only the catalog's plain `Name_priv` names are taken.
        let columns: Vec<String> =
            columns.into_iter().filter(|c| c.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).collect();
        self.columns.insert(table, columns.clone());
        Ok(columns)
    }

    /// How a role is named in messages: MariaDB roles have no host.
    fn role_name(&self, user: &str, host: &str) -> String {
        match self.version.flavor {
            Flavor::MariaDb => format!("`{user}`"),
            Flavor::Mysql => format!("`{user}`@`{host}`"),
        }
    }

    async fn global(&mut self, admin: &mut MysqlSession, holder: &Holder) -> Result<Global, RotationError> {
        let key = holder.key();
        let mut global = Global::default();
        if self.version.has(Feature::GlobalPriv) {
            let rows: Vec<(Option<String>, Option<String>)> = admin
                .exec(
                    "SELECT JSON_VALUE(Priv, '$.access'), JSON_VALUE(Priv, '$.default_role') FROM mysql.global_priv \
                     WHERE User = ? AND Host = ?",
                    key,
                )
                .await?;
            for (access, default_role) in rows {
                let access = access.unwrap_or_default();
                match access.trim().parse::<u64>() {
                    Ok(bits) => {
                        let (privileges, unknown) = mariadb_privileges(bits);
                        global.rights.extend(privileges.into_iter().filter_map(global_right));
                        if unknown != 0 {
                            global.rights.push(format!(
                                "global privileges rotor does not know (mysql.global_priv access bits {unknown:#x})"
                            ));
                        }
                    }
                    Err(_) if access.is_empty() => {}
                    Err(_) => global
                        .rights
                        .push(format!("global privileges rotor cannot read (mysql.global_priv access {access:?})")),
                }
                global.default_roles.extend(default_role.filter(|r| !r.is_empty()).map(|r| (r, String::new())));
            }
            return Ok(global);
        }
        let columns = self.privilege_columns(admin, "user").await?;
        let default_role = self.version.has(Feature::DefaultRoleColumn);
        let mut select: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
        if default_role {
            select.push("default_role".to_owned());
        }
        if select.is_empty() {
            return Ok(global);
        }
        let sql = format!("SELECT {} FROM mysql.user WHERE User = ? AND Host = ?", select.join(", "));
        for row in admin.exec::<Row>(&sql, key.clone()).await? {
            global.rights.extend(yes_columns(&row, &columns).iter().filter_map(|p| global_right(p)));
            if default_role && let Some(Some(role)) = row.get::<Option<String>, usize>(columns.len()) {
                global.default_roles.extend((!role.is_empty()).then(|| (role, String::new())));
            }
        }
        if self.version.has(Feature::MysqlRoles) {
            let dynamic: Vec<String> =
                admin.exec("SELECT PRIV FROM mysql.global_grants WHERE USER = ? AND HOST = ?", key.clone()).await?;
            global.rights.extend(dynamic.into_iter().filter(|p| dynamic_is_administrative(p)));
            global.default_roles.extend(
                admin
                    .exec::<(String, String)>(
                        "SELECT DEFAULT_ROLE_USER, DEFAULT_ROLE_HOST FROM mysql.default_roles WHERE USER = ? AND HOST = ?",
                        key,
                    )
                    .await?,
            );
        }
        Ok(global)
    }

    /// The roles granted to `holder`.
    async fn granted_roles(
        &mut self,
        admin: &mut MysqlSession,
        holder: &Holder,
    ) -> Result<Vec<(String, String)>, RotationError> {
        if self.version.has(Feature::MariaDbRoles) {
            let roles: Vec<String> =
                admin.exec("SELECT Role FROM mysql.roles_mapping WHERE User = ? AND Host = ?", holder.key()).await?;
            return Ok(roles.into_iter().map(|role| (role, String::new())).collect());
        }
        if self.version.has(Feature::MysqlRoles) {
            return admin
                .exec(
                    "SELECT FROM_USER, FROM_HOST FROM mysql.role_edges WHERE TO_USER = ? AND TO_HOST = ?",
                    holder.key(),
                )
                .await;
        }
        Ok(Vec::new())
    }

    /// Every privilege `holder` has on the `mysql` schema: by a database grant (whose name may be a pattern,
    /// `my%`, that takes it in), a table or column grant, a routine grant.
    async fn on_mysql_schema(
        &mut self,
        admin: &mut MysqlSession,
        holder: &Holder,
    ) -> Result<Vec<String>, RotationError> {
        let mut rights = Vec::new();
        let columns = self.privilege_columns(admin, "db").await?;
        if !columns.is_empty() {
            let select: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
            let sql = format!(
                "SELECT {}, Db FROM mysql.db WHERE User = ? AND Host = ? AND 'mysql' LIKE Db",
                select.join(", ")
            );
            for row in admin.exec::<Row>(&sql, holder.key()).await? {
                let db: String = row.get::<Option<String>, usize>(columns.len()).flatten().unwrap_or_default();
                rights.extend(yes_columns(&row, &columns).into_iter().map(|p| format!("{p} on `{db}`.*")));
            }
        }
        let tables: Vec<(String, String, String)> = admin
            .exec(
                "SELECT Table_name, Table_priv, Column_priv FROM mysql.tables_priv \
                 WHERE User = ? AND Host = ? AND Db = 'mysql'",
                holder.key(),
            )
            .await?;
        for (table, table_privileges, column_privileges) in tables {
            rights.extend(set_privileges(&table_privileges).into_iter().map(|p| format!("{p} on `mysql`.`{table}`")));
            rights.extend(
                set_privileges(&column_privileges).into_iter().map(|p| format!("{p} (columns) on `mysql`.`{table}`")),
            );
        }
        let routines: Vec<(String, String, String)> = admin
            .exec(
                "SELECT Routine_type, Routine_name, Proc_priv FROM mysql.procs_priv \
                 WHERE User = ? AND Host = ? AND Db = 'mysql'",
                holder.key(),
            )
            .await?;
        for (kind, routine, privileges) in routines {
            rights
                .extend(set_privileges(&privileges).into_iter().map(|p| format!("{p} on {kind} `mysql`.`{routine}`")));
        }
        Ok(rights)
    }

    /// The accounts `holder` may log in as through a proxy-capable authentication plugin.
    async fn proxies(&mut self, admin: &mut MysqlSession, holder: &Holder) -> Result<Vec<String>, RotationError> {
        let proxied: Vec<(String, String)> = admin
            .exec("SELECT Proxied_user, Proxied_host FROM mysql.proxies_priv WHERE User = ? AND Host = ?", holder.key())
            .await?;
        Ok(proxied.into_iter().map(|(user, host)| format!("PROXY on `{user}`@`{host}`")).collect())
    }
}

/// The privileges of the `columns` a row holds as `Y`, in the row's first places.
fn yes_columns(row: &Row, columns: &[String]) -> Vec<String> {
    columns
        .iter()
        .enumerate()
        .filter(|(i, _)| row.get::<Option<String>, usize>(*i).flatten().is_some_and(|v| v.eq_ignore_ascii_case("Y")))
        .filter_map(|(_, column)| column_privilege(column))
        .collect()
}

/// Every administrative right `account` holds, each with where it comes from (`CREATE USER through default role
/// `r_admin``); empty when none, or when the account does not exist.
pub async fn privileged_rights(admin: &mut MysqlSession, account: &Account) -> Result<Vec<String>, RotationError> {
    let version = admin.version().await?;
    if version.release.is_none() {
        return Err(RotationError::target(
            TargetErrorKind::Rejected,
            admin.connection().address(),
            "the server's @@version does not start with a release number, so rotor cannot tell which grant tables hold its privileges and refuses to set passwords as the admin; rotate with the single-user strategy".to_owned(),
        ));
    }
    let mut tables = GrantTables { version, columns: HashMap::new() };
    let mut queue =
        VecDeque::from([Holder { user: account.user.clone(), host: account.host.clone(), route: Vec::new() }]);
    if version.has(Feature::PublicRole) {
        let route = vec!["PUBLIC (granted to every account)".to_owned()];
        queue.push_back(Holder { user: "PUBLIC".to_owned(), host: String::new(), route });
    }
    if version.has(Feature::MysqlRoles) {
        let mandatory: Option<String> = admin.first("SELECT @@GLOBAL.mandatory_roles").await?;
        for (user, host) in role_list(&mandatory.unwrap_or_default()) {
            let route = vec![format!("mandatory role {}", tables.role_name(&user, &host))];
            queue.push_back(Holder { user, host, route });
        }
    }
    let mut seen = HashSet::new();
    let mut rights: Vec<String> = Vec::new();
    while let Some(holder) = queue.pop_front() {
        if !seen.insert(holder.key()) {
            continue;
        }
        let global = tables.global(admin, &holder).await?;
        let mut found = global.rights;
        found.extend(tables.on_mysql_schema(admin, &holder).await?);
        found.extend(tables.proxies(admin, &holder).await?);
        let source = holder.source();
        for right in found {
            let right = format!("{right}{source}");
            if !rights.contains(&right) {
                rights.push(right);
            }
        }
        // Default roles first, so a role both granted and default is named by the route that activates it.
        let defaults = global.default_roles.into_iter().map(|(user, host)| ("default role", user, host));
        let granted = tables.granted_roles(admin, &holder).await?.into_iter().map(|(user, host)| ("role", user, host));
        for (kind, user, host) in defaults.chain(granted).collect::<Vec<_>>() {
            let mut route = holder.route.clone();
            route.push(format!("{kind} {}", tables.role_name(&user, &host)));
            queue.push_back(Holder { user, host, route });
        }
    }
    Ok(rights)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mariadb_access_bits_decode_to_privileges() {
        for (access, privileges, unknown) in [
            (0, &[][..], 0),
            (33554432, &["CREATE USER"][..], 0),
            (1 << 10 | 1 << 1, &["INSERT", "GRANT OPTION"][..], 0),
            (417685569536, &["SET USER", "CONNECTION ADMIN", "BINLOG REPLAY", "SLAVE MONITOR"][..], 0),
            (1 << 39 | 1 << 40, &["SHOW CREATE ROUTINE"][..], 1 << 40),
        ] {
            assert_eq!(mariadb_privileges(access), (privileges.to_vec(), unknown), "{access}");
        }
        // GRANT ALL ON *.* on MariaDB 10.11: bits 0 to 38.
        let (all, unknown) = mariadb_privileges(549755813887);
        assert_eq!((all.len(), unknown), (39, 0));
        let (_, unknown) = mariadb_privileges(u64::MAX);
        assert_eq!(unknown, u64::MAX << 40);
    }

    #[test]
    fn administrative_global_privileges_are_named_with_what_they_give() {
        for (privilege, right) in [
            ("CREATE USER", Some("CREATE USER")),
            ("GRANT OPTION", Some("GRANT OPTION on *.*")),
            ("SUPER", Some("SUPER")),
            ("SET USER", Some("SET USER")),
            ("BINLOG REPLAY", Some("BINLOG REPLAY")),
            ("DROP ROLE", Some("DROP ROLE")),
            ("FILE", Some("FILE")),
            ("INSERT", Some("INSERT on *.* (the grant tables in mysql.* included)")),
            ("ALTER", Some("ALTER on *.* (the grant tables in mysql.* included)")),
            ("SELECT", None),
            ("PROCESS", None),
            ("REPLICATION SLAVE", None),
            ("REPLICATION CLIENT", None),
            ("REPLICATION MASTER ADMIN", None),
            ("SLAVE MONITOR", None),
            ("SHOW VIEW", None),
        ] {
            assert_eq!(global_right(privilege).as_deref(), right, "{privilege}");
        }
        for (privilege, administrative) in [
            ("ROLE_ADMIN", true),
            ("SYSTEM_USER", true),
            ("SYSTEM_VARIABLES_ADMIN", true),
            ("SET_USER_ID", true),
            ("SOME_PLUGIN_ADMIN", true),
            ("APPLICATION_PASSWORD_ADMIN", false),
            ("application_password_admin", false),
            ("SHOW_ROUTINE", false),
        ] {
            assert_eq!(dynamic_is_administrative(privilege), administrative, "{privilege}");
        }
    }

    #[test]
    fn grant_table_columns_and_sets_read_as_grant_spells_them() {
        for (column, privilege) in [
            ("Create_user_priv", Some("CREATE USER")),
            ("Grant_priv", Some("GRANT OPTION")),
            ("Show_db_priv", Some("SHOW DATABASES")),
            ("Create_tmp_table_priv", Some("CREATE TEMPORARY TABLES")),
            ("Repl_slave_priv", Some("REPLICATION SLAVE")),
            ("Repl_client_priv", Some("REPLICATION CLIENT")),
            ("Create_routine_priv", Some("CREATE ROUTINE")),
            ("Delete_history_priv", Some("DELETE HISTORY")),
            ("Drop_role_priv", Some("DROP ROLE")),
            ("Insert_priv", Some("INSERT")),
            ("default_role", None),
        ] {
            assert_eq!(column_privilege(column).as_deref(), privilege, "{column}");
        }
        assert_eq!(set_privileges("Select,Insert,Grant,Show view"), ["SELECT", "INSERT", "GRANT OPTION", "SHOW VIEW"]);
        assert!(set_privileges("").is_empty());
    }

    #[test]
    fn mandatory_roles_parse_into_accounts() {
        let roles = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter().map(|(u, h)| (u.to_string(), h.to_string())).collect()
        };
        for (text, expected) in [
            ("", roles(&[])),
            ("r1", roles(&[("r1", "%")])),
            ("`r1`@`%`,r2,'r3'@'localhost'", roles(&[("r1", "%"), ("r2", "%"), ("r3", "localhost")])),
            (" r1@10.0.% , \"r,2\"@h", roles(&[("r1", "10.0.%"), ("r,2", "h")])),
            ("`a@b`@`%`", roles(&[("a@b", "%")])),
        ] {
            assert_eq!(role_list(text), expected, "{text:?}");
        }
    }

    #[test]
    fn a_right_names_the_roles_that_lead_to_it() {
        let holder = |route: &[&str]| Holder {
            user: "r".into(),
            host: String::new(),
            route: route.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(holder(&[]).source(), "");
        assert_eq!(holder(&["default role `r_admin`"]).source(), " through default role `r_admin`");
        assert_eq!(
            holder(&["role `r_outer`", "role `r_mid`", "role `r_in`"]).source(),
            " through role `r_in` via role `r_mid` via role `r_outer`"
        );
    }
}
