//! A MongoDB user as `usersInfo` describes it: its roles and its authentication restrictions, what the admin's
//! refusal of privileged users reads and what alternating users are kept equal in.

use mongodb::bson::{Bson, Document, doc};
use rotation_core::RotationError;

use crate::connect::MongoSession;
use crate::error::{code, command_code};

/// A role a user holds: a role name in a database.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoleRef {
    /// The role's name (`readWrite`).
    pub role: String,
    /// The database it is defined in and applies to.
    pub db: String,
}

impl RoleRef {
    /// The `{role, db}` document commands take.
    pub fn to_document(&self) -> Document {
        doc! { "role": &self.role, "db": &self.db }
    }

    /// `readWrite@app`, for messages.
    pub fn describe(&self) -> String {
        format!("{}@{}", self.role, self.db)
    }

    /// Reads a `{role, db}` document.
    pub(crate) fn from_document(document: &Document) -> Option<Self> {
        Some(Self { role: document.get_str("role").ok()?.to_owned(), db: document.get_str("db").ok()?.to_owned() })
    }
}

/// What `usersInfo` says of one user.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInfo {
    /// The roles granted to the user directly, sorted.
    pub roles: Vec<RoleRef>,
    /// Its `authenticationRestrictions` (client sources, server addresses), as the server keeps them; empty when it
    /// has none or the server does not report them.
    pub restrictions: Vec<Bson>,
}

/// Asks the server about user `name` of database `db`; `None` when there is no such user. Authentication
/// restrictions are asked for too; a server that does not take the option (DocumentDB) is asked again without it.
pub async fn users_info(session: &MongoSession, db: &str, name: &str) -> Result<Option<UserInfo>, RotationError> {
    const WHAT: &str = "usersInfo";
    let user = doc! { "user": name, "db": db };
    let with_restrictions = doc! { "usersInfo": user.clone(), "showAuthenticationRestrictions": true };
    let answer = match session.answer(WHAT, db, with_restrictions).await? {
        Ok(answer) => answer,
        Err(error)
            if matches!(command_code(&error), Some(code::BAD_VALUE | code::FAILED_TO_PARSE | code::UNKNOWN_FIELD)) =>
        {
            session.run(WHAT, db, doc! { "usersInfo": user }).await?
        }
        Err(error) => return Err(session.fail(error, WHAT)),
    };
    Ok(parse_users_info(&answer))
}

/// The first user of a `usersInfo` answer.
pub(crate) fn parse_users_info(answer: &Document) -> Option<UserInfo> {
    let user = answer.get_array("users").ok()?.iter().find_map(Bson::as_document)?;
    let mut roles: Vec<RoleRef> = user
        .get_array("roles")
        .map(|roles| roles.iter().filter_map(Bson::as_document).filter_map(RoleRef::from_document).collect())
        .unwrap_or_default();
    roles.sort();
    roles.dedup();
    let restrictions = user.get_array("authenticationRestrictions").cloned().unwrap_or_default();
    Some(UserInfo { roles, restrictions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_info_is_read_with_its_roles_sorted() {
        let answer = doc! { "users": [ {
            "user": "app", "db": "admin",
            "roles": [ { "role": "readWrite", "db": "app" }, { "role": "read", "db": "app" }, { "role": "read", "db": "app" } ],
            "authenticationRestrictions": [ { "clientSource": ["10.0.0.0/8"] } ],
            "mechanisms": ["SCRAM-SHA-256"],
        } ], "ok": 1.0 };
        let info = parse_users_info(&answer).unwrap();
        assert_eq!(info.roles.iter().map(RoleRef::describe).collect::<Vec<_>>(), ["read@app", "readWrite@app"]);
        assert_eq!(info.restrictions.len(), 1);
        assert_eq!(parse_users_info(&doc! { "users": [], "ok": 1.0 }), None);
    }
}
