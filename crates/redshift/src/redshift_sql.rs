//! The SQL only Redshift answers: its system views of roles and system privileges (role-based access control),
//! which PostgreSQL does not have. Run only when the server is [`Server::Redshift`](crate::Server::Redshift); the
//! tests' PostgreSQL stand-in cannot run it, so its text is checked here.

/// The roles Redshift ships that manage users or hold every system privilege: a user granted one is privileged.
#[cfg_attr(not(test), allow(dead_code, reason = "the list PRIVILEGED_ROLES_SQL spells out, checked by the tests"))]
pub const PRIVILEGED_ROLES: &[&str] = &["sys:superuser", "sys:secadmin", "sys:dba"];

/// The system privileges that manage users and roles: a user holding one, directly or through a role, is
/// privileged (it could change the admin's password, or grant itself more).
#[cfg_attr(
    not(test),
    allow(dead_code, reason = "the list PRIVILEGED_SYSTEM_PRIVILEGES_SQL spells out, checked by the tests")
)]
pub const PRIVILEGED_SYSTEM_PRIVILEGES: &[&str] =
    &["CREATE USER", "ALTER USER", "DROP USER", "CREATE ROLE", "DROP ROLE", "GRANT ROLE", "REVOKE ROLE"];

/// The privileged roles the user named `$1` holds, directly or through other roles (`user_is_member_of_role`
/// follows role-to-role grants), as rights (`role sys:...`).
pub const PRIVILEGED_ROLES_SQL: &str = "SELECT 'role ' || r.role_name FROM \
     (SELECT 'sys:superuser' AS role_name UNION ALL SELECT 'sys:secadmin' UNION ALL SELECT 'sys:dba') r \
     WHERE pg_catalog.user_is_member_of_role($1, r.role_name)";

/// The privileged system privileges of the user named `$1`, granted to it or to any role it holds, directly or
/// through other roles (as rights, `system privilege ...`).
pub const PRIVILEGED_SYSTEM_PRIVILEGES_SQL: &str = "SELECT DISTINCT 'system privilege ' || system_privilege \
     FROM pg_catalog.svv_system_privileges \
     WHERE system_privilege IN ('CREATE USER', 'ALTER USER', 'DROP USER', 'CREATE ROLE', 'DROP ROLE', 'GRANT ROLE', 'REVOKE ROLE') \
       AND ((identity_type = 'user' AND identity_name = $1) \
         OR (identity_type = 'role' AND pg_catalog.user_is_member_of_role($1, identity_name)))";

/// Whether the session's own user sees every user's roles and system privileges: Redshift shows the rows of
/// `svv_user_grants` and `svv_system_privileges` about other users only to superusers and to holders of the
/// `ACCESS SYSTEM TABLE` system privilege. An admin that sees only its own would find no user privileged.
pub const ADMIN_SEES_ALL_SQL: &str = "SELECT (SELECT usesuper FROM pg_catalog.pg_user WHERE usename = current_user) \
     OR EXISTS (SELECT 1 FROM pg_catalog.svv_system_privileges WHERE system_privilege = 'ACCESS SYSTEM TABLE' \
       AND ((identity_type = 'user' AND identity_name = current_user) \
         OR (identity_type = 'role' AND pg_catalog.user_is_member_of_role(current_user, identity_name))))";

/// The Redshift roles granted to the user named `$1` (for the alternating users' sync).
pub const ROLES_SQL: &str = "SELECT role_name FROM pg_catalog.svv_user_grants WHERE user_name = $1";

/// Grants the role `role` (already quoted) to `user` (already quoted).
pub fn grant_role(role: &str, user: &str) -> String {
    format!("GRANT ROLE {role} TO {user}")
}

/// Revokes the role `role` (already quoted) from `user` (already quoted).
pub fn revoke_role(role: &str, user: &str) -> String {
    format!("REVOKE ROLE {role} FROM {user}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every view is named with its schema (the session's `search_path` is pinned, but a statement that needs no
    /// path cannot be steered by one), and the lists in the SQL are the lists in the code.
    #[test]
    fn the_redshift_only_sql_is_qualified_and_matches_its_lists() {
        for sql in [PRIVILEGED_ROLES_SQL, PRIVILEGED_SYSTEM_PRIVILEGES_SQL, ROLES_SQL, ADMIN_SEES_ALL_SQL] {
            for view in ["svv_user_grants", "svv_system_privileges", "user_is_member_of_role", "pg_user"] {
                let bare = sql.matches(view).count();
                let qualified = sql.matches(&format!("pg_catalog.{view}")).count();
                assert_eq!(bare, qualified, "{view} qualified in {sql}");
            }
        }
        for role in PRIVILEGED_ROLES {
            assert!(PRIVILEGED_ROLES_SQL.contains(&format!("'{role}'")), "{role}");
        }
        for privilege in PRIVILEGED_SYSTEM_PRIVILEGES {
            assert!(PRIVILEGED_SYSTEM_PRIVILEGES_SQL.contains(&format!("'{privilege}'")), "{privilege}");
        }
        assert_eq!(grant_role("\"sys:operator\"", "\"app_clone\""), "GRANT ROLE \"sys:operator\" TO \"app_clone\"");
        assert_eq!(revoke_role("\"r\"", "\"u\""), "REVOKE ROLE \"r\" FROM \"u\"");
    }
}
