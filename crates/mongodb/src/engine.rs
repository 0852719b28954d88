//! [`MongoEngine`]: Amazon DocumentDB and MongoDB users for rotation-database's
//! [`DatabaseTarget`](rotation_database::DatabaseTarget).

use mongodb::bson::{Bson, Document, doc};
use rotation_core::{Password, RotationError, Secret, TargetErrorKind};
use rotation_database::{DatabaseConfig, Engine, LoginFields, Purpose, TlsMode};

use crate::ca_file::CaFile;
use crate::connect::{MongoSession, connect};
use crate::defaults::{DEFAULT_DBNAME, DEFAULT_PORT, ENGINES};
use crate::error::PROBE;
use crate::privilege::user_managing_rights;
use crate::users::{UserInfo, users_info};

/// DocumentDB and MongoDB users, authenticated by SCRAM. A password is changed with `updateUser` (by the user
/// itself, which needs the `changeOwnPassword` action, or by the admin); the server derives the SCRAM keys, so the
/// password crosses only the verified TLS connection and never a log line of rotor's.
#[derive(Debug, Clone)]
pub struct MongoEngine {
    roots: CaFile,
}

impl MongoEngine {
    /// An engine trusting the roots in `roots`.
    pub fn new(roots: CaFile) -> Self {
        Self { roots }
    }
}

/// A user, in its authentication database, and what `usersInfo` said of it when the admin read it (the user the
/// secret names; not the other alternating user, read when it is synced).
#[derive(Debug, Clone, PartialEq)]
pub struct MongoUser {
    /// The user name.
    pub name: String,
    /// Its authentication database.
    pub db: String,
    info: Option<UserInfo>,
}

impl MongoUser {
    /// `app@admin`, for messages.
    fn describe(&self) -> String {
        format!("{}@{}", self.name, self.db)
    }
}

/// The refusal of a user the server does not have.
fn no_such_user(admin: &MongoSession, user: &MongoUser) -> RotationError {
    RotationError::target(
        TargetErrorKind::Rejected,
        admin.connection().address(),
        format!(
            "there is no user {:?} in database {:?}; create it, or fix the secret's username or dbname (the user's authentication database)",
            user.name, user.db
        ),
    )
}

/// `user`'s `usersInfo` as already read, else asked of the server; `None` when there is no such user.
async fn info_of(admin: &MongoSession, user: &MongoUser) -> Result<Option<UserInfo>, RotationError> {
    match &user.info {
        Some(info) => Ok(Some(info.clone())),
        None => users_info(admin, &user.db, &user.name).await,
    }
}

/// Why rotor cannot rotate a user named `name`, if it cannot: an empty name or a NUL, which MongoDB does not take,
/// and `,` or `=`, which the SCRAM exchange must escape (RFC 5802) and the MongoDB Rust driver does not, so no login
/// as such a user could prove its password.
fn refuse_name(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.contains('\0') {
        Some("is not a name MongoDB takes (empty, or with a NUL character)")
    } else if name.contains([',', '=']) {
        Some(
            "holds ',' or '=', which the MongoDB driver's SCRAM login does not escape: no login as this user can succeed; rename the user",
        )
    } else {
        None
    }
}

/// `TEST_QUERY` as a command document: extended JSON (`{"ping": 1}`).
pub(crate) fn test_command(query: &str) -> Result<Document, RotationError> {
    let invalid = |reason: String| RotationError::Config { variable: "TEST_QUERY", reason };
    match serde_json::from_str::<Document>(query) {
        Ok(command) if !command.is_empty() => Ok(command),
        _ => Err(invalid("must be a MongoDB command as a JSON object, such as {\"ping\": 1}".into())),
    }
}

/// What the admin needs, as doctor names it.
const ADMIN_NEEDS: &str = "userAdminAnyDatabase on admin (or userAdmin on the users' database): createUser, updateUser, grantRole, revokeRole, viewUser and viewRole";

impl Engine for MongoEngine {
    type Session = MongoSession;
    type User = MongoUser;

    /// `updateUser` with the same password again is harmless.
    const CHECK_PENDING_FIRST: bool = false;

    /// The admin authenticates against its own secret's `dbname` (`admin` by default), and acts on users of any
    /// database from there.
    const ADMIN_USES_ITS_OWN_DATABASE: bool = true;

    fn name(&self) -> &'static str {
        "mongodb"
    }

    fn connection(&self, secret: &Secret) -> Result<LoginFields, RotationError> {
        let connection = LoginFields::parse(secret, ENGINES, DEFAULT_PORT, Some(DEFAULT_DBNAME))?;
        self.check_username(secret, &connection.username)?;
        if connection.dbname.as_deref().is_some_and(str::is_empty) {
            return Err(
                secret.invalid("dbname", "is empty; name the user's authentication database (admin by default)")
            );
        }
        Ok(connection)
    }

    /// `host:port/<authentication database>`: a MongoDB user is a name in a database, and `app@db:27017/admin` is
    /// another user than `app@db:27017/sales`.
    fn user_location(&self, connection: &LoginFields) -> String {
        let db = connection.dbname.as_deref().unwrap_or(DEFAULT_DBNAME);
        format!("{}:{}/{db}", connection.host, connection.port)
    }

    fn check_username(&self, secret: &Secret, username: &str) -> Result<(), RotationError> {
        match refuse_name(username) {
            Some(reason) => Err(secret.invalid("username", format!("{username:?} {reason}"))),
            None => Ok(()),
        }
    }

    async fn login(
        &self,
        config: &DatabaseConfig,
        connection: &LoginFields,
        mode: TlsMode,
        _purpose: Purpose,
    ) -> Result<MongoSession, RotationError> {
        connect(connection, mode, &self.roots, config).await
    }

    /// `updateUser` of the session's own user in its authentication database.
    async fn set_own_password(&self, session: &mut MongoSession, password: &Password) -> Result<(), RotationError> {
        let name = session.connection().username.clone();
        let db = session.auth_db().to_owned();
        let command = doc! { "updateUser": name, "pwd": password.expose() };
        session.run("updateUser (its own password)", &db, command).await.map(drop)
    }

    /// The user the secret names, in its authentication database (`dbname`), which must exist: `usersInfo` is read
    /// here, once, for the refusal of privileged users and the other alternating user's copy.
    async fn user(
        &self,
        _config: &DatabaseConfig,
        admin: &mut MongoSession,
        connection: &LoginFields,
        _mode: TlsMode,
    ) -> Result<MongoUser, RotationError> {
        let mut user = MongoUser {
            name: connection.username.clone(),
            db: connection.dbname.clone().unwrap_or_else(|| DEFAULT_DBNAME.to_owned()),
            info: None,
        };
        match users_info(admin, &user.db, &user.name).await? {
            Some(info) => user.info = Some(info),
            None => return Err(no_such_user(admin, &user)),
        }
        Ok(user)
    }

    fn alternate(&self, active: &MongoUser, name: &str) -> Result<MongoUser, String> {
        if let Some(reason) = refuse_name(name) {
            return Err(format!("gives the other user the name {name:?}, which {reason}"));
        }
        Ok(MongoUser { name: name.to_owned(), db: active.db.clone(), info: None })
    }

    fn user_name<'u>(&self, user: &'u MongoUser) -> &'u str {
        &user.name
    }

    /// The roles and privileges that let `user` manage users or the server (see `privilege`): built-in roles such
    /// as `root`, `userAdminAnyDatabase`, `dbOwner` and `clusterAdmin`, and custom roles holding `createUser`,
    /// `grantRole`, `changePassword`-style actions, through every role they inherit.
    async fn privileged_rights(
        &self,
        admin: &mut MongoSession,
        user: &MongoUser,
    ) -> Result<Vec<String>, RotationError> {
        let Some(info) = info_of(admin, user).await? else { return Ok(Vec::new()) };
        user_managing_rights(admin, &info.roles).await
    }

    /// `updateUser` with the new password ([`Engine::user`] made sure the user exists).
    async fn set_password(
        &self,
        admin: &mut MongoSession,
        user: &MongoUser,
        password: &Password,
    ) -> Result<(), RotationError> {
        let command = doc! { "updateUser": &user.name, "pwd": password.expose() };
        admin.run(&format!("updateUser of {}", user.describe()), &user.db, command).await.map(drop)
    }

    /// The inactive user gets exactly the active one's roles and authentication restrictions (`createUser` when it
    /// is missing, else `updateUser`, which replaces both lists, so what it held beyond the active user is taken)
    /// and the new password, in one command.
    async fn sync_alternate(
        &self,
        admin: &mut MongoSession,
        active: &MongoUser,
        inactive: &MongoUser,
        password: &Password,
    ) -> Result<(), RotationError> {
        let Some(info) = info_of(admin, active).await? else {
            return Err(no_such_user(admin, active));
        };
        let roles: Vec<Bson> = info.roles.iter().map(|role| Bson::Document(role.to_document())).collect();
        let existing = users_info(admin, &inactive.db, &inactive.name).await?;
        let (what, mut command) = match &existing {
            None => ("createUser", doc! { "createUser": &inactive.name, "pwd": password.expose(), "roles": roles }),
            Some(_) => ("updateUser", doc! { "updateUser": &inactive.name, "pwd": password.expose(), "roles": roles }),
        };
        // Restrictions are sent only where there is something to set or to clear: DocumentDB has none and may
        // refuse the field.
        let clear = existing.as_ref().is_some_and(|other| !other.restrictions.is_empty());
        if !info.restrictions.is_empty() || clear {
            command.insert("authenticationRestrictions", Bson::Array(info.restrictions.clone()));
        }
        admin.run(&format!("{what} of {} (the other user)", inactive.describe()), &inactive.db, command).await?;
        // The server must now say the two users are alike; a server that dropped a role or a restriction is named.
        let Some(synced) = users_info(admin, &inactive.db, &inactive.name).await? else {
            return Err(no_such_user(admin, inactive));
        };
        if synced.roles != info.roles || (synced.restrictions != info.restrictions && !info.restrictions.is_empty()) {
            return Err(RotationError::target(
                TargetErrorKind::Rejected,
                admin.connection().address(),
                format!(
                    "the server did not give {} the roles and authentication restrictions of {}; give them by hand (grantRolesToUser, updateUser), or rotate a single user",
                    inactive.describe(),
                    active.describe()
                ),
            ));
        }
        Ok(())
    }

    /// Whether the admin's own roles let it manage users, read as any user's rights are.
    async fn missing_admin_rights(&self, admin: &mut MongoSession) -> Result<Option<String>, RotationError> {
        let name = admin.connection().username.clone();
        let db = admin.auth_db().to_owned();
        let info = match users_info(admin, &db, &name).await {
            Ok(info) => info,
            Err(RotationError::Target { kind: TargetErrorKind::PermissionDenied, .. }) => {
                return Ok(Some(ADMIN_NEEDS.to_owned()));
            }
            Err(error) => return Err(error),
        };
        let Some(info) = info else { return Ok(Some(ADMIN_NEEDS.to_owned())) };
        let rights = user_managing_rights(admin, &info.roles).await?;
        Ok(rights.is_empty().then(|| ADMIN_NEEDS.to_owned()))
    }

    /// Runs `TEST_QUERY` (default `{"ping": 1}`), a command as JSON, on the user's authentication database.
    async fn probe(&self, session: &mut MongoSession, query: &str) -> Result<(), RotationError> {
        let command = test_command(query)?;
        let db = session.auth_db().to_owned();
        session.run(PROBE, &db, command).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(json: &str) -> Secret {
        Secret::parse("arn:s", json)
    }

    fn engine() -> MongoEngine {
        MongoEngine::new(CaFile::write(&[]).unwrap())
    }

    #[test]
    fn aws_mongodb_secrets_are_read_with_their_defaults() {
        let fields = engine()
            .connection(&secret(r#"{"engine":"mongo","host":"docdb","username":"app","password":"p"}"#))
            .unwrap();
        assert_eq!((fields.port, fields.dbname.as_deref()), (27017, Some("admin")));
        let error = engine()
            .connection(&secret(r#"{"engine":"postgres","host":"h","username":"a","password":"p"}"#))
            .unwrap_err()
            .to_string();
        assert!(error.contains("this function rotates mongo"), "{error}");
        let error =
            engine().connection(&secret(r#"{"host":"h","username":"a","password":"p","dbname":""}"#)).unwrap_err();
        assert!(error.to_string().contains("dbname"), "{error}");
    }

    #[test]
    fn names_no_scram_login_can_prove_are_refused_naming_the_field() {
        for name in ["a,b", "a=b", ""] {
            let json = serde_json::json!({"host": "h", "username": name, "password": "p"}).to_string();
            let error = engine().connection(&secret(&json)).unwrap_err();
            assert_eq!(error.error_type(), "InvalidSecret", "{name}: {error}");
            assert!(error.to_string().contains("username"), "{name}: {error}");
        }
        for name in ["x\"y", "$where", "a.b", "ユーザー", "{\"$ne\":1}", "a\\b"] {
            let json = serde_json::json!({"host": "h", "username": name, "password": "p"}).to_string();
            assert!(engine().connection(&secret(&json)).is_ok(), "{name}");
        }
        let active = MongoUser { name: "app".into(), db: "admin".into(), info: None };
        assert!(engine().alternate(&active, "a,b_clone").unwrap_err().contains("rename the user"));
    }

    #[test]
    fn the_test_query_is_a_json_command() {
        assert_eq!(test_command(r#"{"ping": 1}"#).unwrap(), doc! { "ping": 1 });
        for bad in ["SELECT 1", "[]", "{}", "1"] {
            let error = test_command(bad).unwrap_err().to_string();
            assert!(error.contains("TEST_QUERY"), "{bad}: {error}");
        }
    }
}
