//! [`RedisEngine`]: Redis and Valkey ACL users for rotation-database's
//! [`DatabaseTarget`](rotation_database::DatabaseTarget).

use redis::{Value, cmd};
use rotation_core::{Password, RotationError, Secret, TargetErrorKind};
use rotation_database::{Connection, DatabaseConfig, Engine, Purpose, TlsMode, TlsRoots};

use crate::acl::{Rules, password_hash, refuse_name};
use crate::connect::{Session, connect};
use crate::{DEFAULT_PORT, ENGINES};

/// Redis 6+ and Valkey ACL users. A password is added in the ACL's SHA-256 form beside the one that logs in now
/// (Redis users hold several), so a client holding AWSCURRENT is never refused during a rotation; each rotation
/// keeps exactly two, the current one and the new one, dropping the one before.
#[derive(Debug, Clone)]
pub struct RedisEngine {
    roots: TlsRoots,
}

impl RedisEngine {
    /// An engine trusting `roots`.
    pub fn new(roots: TlsRoots) -> Self {
        Self { roots }
    }
}

/// An ACL user, the hash of the password it keeps beside the new one (the current secret's), and its rules when
/// they were read (the user the secret names, read once by the admin; not the other alternating user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisUser {
    /// The user name.
    pub name: String,
    keep: Option<String>,
    rules: Option<Rules>,
}

/// `ACL SETUSER <name> resetpass <hash>...`: the user holds exactly these passwords afterwards, atomically.
fn set_passwords(name: &str, hashes: &[&str]) -> redis::Cmd {
    let mut command = cmd("ACL");
    command.arg("SETUSER").arg(name).arg("resetpass");
    for hash in hashes {
        command.arg(*hash);
    }
    command
}

async fn rules(session: &mut Session, name: &str) -> Result<Option<Rules>, RotationError> {
    let value: Value = session.run("ACL GETUSER", cmd("ACL").arg("GETUSER").arg(name)).await?;
    Ok(Rules::from_getuser(&value))
}

/// The refusal of a user the server does not have.
fn no_such_user(admin: &Session, name: &str) -> RotationError {
    RotationError::target(
        TargetErrorKind::Rejected,
        admin.connection().address(),
        format!("there is no ACL user {name:?}; create it, or fix the secret's username"),
    )
}

/// `user`'s rules as already read, else asked of the server; `None` when there is no such user.
async fn rules_of(session: &mut Session, user: &RedisUser) -> Result<Option<Rules>, RotationError> {
    match &user.rules {
        Some(rules) => Ok(Some(rules.clone())),
        None => rules(session, &user.name).await,
    }
}

/// Whether `user` may run `command` (`ACL DRYRUN`, Redis 7+); `None` when the server cannot say.
async fn may_run(session: &mut Session, user: &str, command: &[&str]) -> Result<Option<bool>, RotationError> {
    match session.run::<Value>("ACL DRYRUN", cmd("ACL").arg("DRYRUN").arg(user).arg(command)).await {
        Ok(Value::Okay) => Ok(Some(true)),
        Ok(Value::SimpleString(s)) if s == "OK" => Ok(Some(true)),
        Ok(_) => Ok(Some(false)),
        Err(error) if error.to_string().contains("unknown subcommand") => Ok(None),
        Err(error) => Err(error),
    }
}

/// What testSecret's command is called in errors.
pub(crate) const PROBE: &str = "the test command (TEST_QUERY)";

/// The commands that make a user an administrator of the server.
const ADMIN_COMMANDS: [&[&str]; 3] =
    [&["ACL", "SETUSER", "rotor-probe"], &["CONFIG", "SET", "maxmemory", "0"], &["MODULE", "LOAD", "x"]];

impl Engine for RedisEngine {
    type Session = Session;
    type User = RedisUser;

    /// Setting the same pair of passwords again is harmless.
    const CHECK_PENDING_FIRST: bool = false;

    fn name(&self) -> &'static str {
        "redis"
    }

    fn connection(&self, secret: &Secret) -> Result<Connection, RotationError> {
        let connection = Connection::parse(secret, ENGINES, DEFAULT_PORT, None)?;
        self.check_username(secret, &connection.username)?;
        Ok(connection)
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
        connection: &Connection,
        mode: TlsMode,
        _purpose: Purpose,
    ) -> Result<Session, RotationError> {
        connect(connection, mode, &self.roots, config).await
    }

    /// Keeps the password the session logged in with (AWSCURRENT's) beside the new one, dropping any other.
    async fn set_own_password(&self, session: &mut Session, password: &Password) -> Result<(), RotationError> {
        let name = session.connection().username.clone();
        let keep = password_hash(session.connection().password.expose());
        let new = password_hash(password.expose());
        session.run::<()>("ACL SETUSER (its own passwords)", &set_passwords(&name, &[&keep, &new])).await
    }

    /// The user the secret names, which must exist: `ACL SETUSER` would create one. Its rules are read here, once,
    /// for the refusal of privileged users and the alternate user's copy.
    async fn user(
        &self,
        _config: &DatabaseConfig,
        admin: &mut Session,
        connection: &Connection,
        _mode: TlsMode,
    ) -> Result<RedisUser, RotationError> {
        let Some(rules) = rules(admin, &connection.username).await? else {
            return Err(no_such_user(admin, &connection.username));
        };
        Ok(RedisUser {
            name: connection.username.clone(),
            keep: Some(password_hash(connection.password.expose())),
            rules: Some(rules),
        })
    }

    fn alternate(&self, _active: &RedisUser, name: &str) -> Result<RedisUser, String> {
        match refuse_name(name) {
            Some(reason) => Err(format!("gives the other user the name {name:?}, which {reason}")),
            None => Ok(RedisUser { name: name.to_owned(), keep: None, rules: None }),
        }
    }

    fn user_name<'u>(&self, user: &'u RedisUser) -> &'u str {
        &user.name
    }

    /// The administrative commands `user` may run (`ACL SETUSER`, `CONFIG SET`, `MODULE LOAD`), asked with `ACL
    /// DRYRUN`; before Redis 7, read from its command rules.
    async fn privileged_rights(&self, admin: &mut Session, user: &RedisUser) -> Result<Vec<String>, RotationError> {
        let Some(rules) = rules_of(admin, user).await? else { return Ok(Vec::new()) };
        let mut rights = Vec::new();
        for command in ADMIN_COMMANDS {
            match may_run(admin, &user.name, command).await? {
                Some(true) => rights.push(command[..2].join(" ")),
                Some(false) => {}
                None => {
                    let broad = ["+@all", "+@admin", "+@dangerous", "+acl", "allcommands"];
                    return Ok(rules
                        .commands
                        .iter()
                        .chain(&rules.flags)
                        .filter(|rule| broad.contains(&rule.as_str()))
                        .cloned()
                        .collect());
                }
            }
        }
        Ok(rights)
    }

    /// Keeps the current secret's password beside the new one ([`Engine::user`] made sure the user exists).
    async fn set_password(
        &self,
        admin: &mut Session,
        user: &RedisUser,
        password: &Password,
    ) -> Result<(), RotationError> {
        let new = password_hash(password.expose());
        let hashes: Vec<&str> = user.keep.iter().map(String::as_str).chain([new.as_str()]).collect();
        admin.run::<()>("ACL SETUSER (the user's passwords)", &set_passwords(&user.name, &hashes)).await
    }

    /// The inactive user gets exactly the active one's rules (flags, commands, keys, channels, selectors), `on`, and
    /// only the new password, in one `ACL SETUSER ... reset ...`.
    async fn sync_alternate(
        &self,
        admin: &mut Session,
        active: &RedisUser,
        inactive: &RedisUser,
        password: &Password,
    ) -> Result<(), RotationError> {
        let Some(rules) = rules_of(admin, active).await? else {
            return Err(no_such_user(admin, &active.name));
        };
        let mut command = cmd("ACL");
        command.arg("SETUSER").arg(&inactive.name).arg(rules.setuser_args(&password_hash(password.expose())));
        admin.run::<()>("ACL SETUSER (the other user)", &command).await
    }

    async fn missing_admin_rights(&self, admin: &mut Session) -> Result<Option<String>, RotationError> {
        let me = admin.connection().username.clone();
        match may_run(admin, &me, ADMIN_COMMANDS[0]).await {
            Ok(Some(true)) => Ok(None),
            Ok(_) => Ok(Some("+acl (ACL SETUSER and ACL GETUSER)".to_owned())),
            Err(RotationError::Target { kind: TargetErrorKind::PermissionDenied, .. }) => {
                Ok(Some("+acl (ACL SETUSER, ACL GETUSER and ACL DRYRUN)".to_owned()))
            }
            Err(error) => Err(error),
        }
    }

    /// Runs `TEST_QUERY` (default `PING`) as a command: its words are the command and its arguments.
    async fn probe(&self, session: &mut Session, query: &str) -> Result<(), RotationError> {
        let mut words = query.split_whitespace();
        let mut command = cmd(words.next().unwrap_or("PING"));
        for word in words {
            command.arg(word);
        }
        session.run::<Value>(PROBE, &command).await.map(drop)
    }
}
