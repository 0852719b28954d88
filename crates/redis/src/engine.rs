//! [`RedisEngine`]: Redis and Valkey ACL users for rotation-database's
//! [`DatabaseTarget`](rotation_database::DatabaseTarget).

use redis::{Value, cmd};
use rotation_core::{Password, RotationError, Secret, TargetErrorKind};
use rotation_database::{DatabaseConfig, Engine, LoginFields, Purpose, TlsMode, TlsRoots};

use crate::acl::{Rules, password_hash, refuse_name};
use crate::connect::{RedisSession, connect};
use crate::defaults::DEFAULT_PORT;
use crate::defaults::ENGINES;
use crate::error::PROBE;
use crate::privilege::{Categories, CommandRules, DANGEROUS, Grant, describe, since_redis_7};

/// Redis 6+ and Valkey ACL users. A password is added in the ACL's SHA-256 form beside the one that logs in now
/// (Redis users hold several), so a client holding AWSCURRENT is never refused during a rotation; each rotation
/// keeps exactly two, the current one and the new one, dropping the one before. AWSCURRENT's password is kept only
/// when it is proven the user's (the admin finds its hash among the user's; a single user logged in with it).
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

/// An ACL user, the hash of the password it keeps beside the new one (the current secret's, when the user holds
/// it), and its rules when they were read (the user the secret names, read once by the admin; not the other
/// alternating user).
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

async fn rules(session: &mut RedisSession, name: &str) -> Result<Option<Rules>, RotationError> {
    let value: Value = session.run("ACL GETUSER", cmd("ACL").arg("GETUSER").arg(name)).await?;
    Ok(Rules::from_getuser(&value))
}

/// The refusal of a user the server does not have.
fn no_such_user(admin: &RedisSession, name: &str) -> RotationError {
    RotationError::target(
        TargetErrorKind::Rejected,
        admin.connection().address(),
        format!("there is no ACL user {name:?}; create it, or fix the secret's username"),
    )
}

/// `user`'s rules as already read, else asked of the server; `None` when there is no such user.
async fn rules_of(session: &mut RedisSession, user: &RedisUser) -> Result<Option<Rules>, RotationError> {
    match &user.rules {
        Some(rules) => Ok(Some(rules.clone())),
        None => rules(session, &user.name).await,
    }
}

/// The refusal of an alternating user an operator turned off: syncing would turn it on with the new password.
fn disabled(admin: &RedisSession, name: &str, which: &str) -> RotationError {
    RotationError::target(
        TargetErrorKind::Rejected,
        admin.connection().address(),
        format!(
            "user {name:?}, {which}, is off in its ACL rules, and rotor does not re-enable a user an operator turned off: turn it on (ACL SETUSER <user> on), or turn this secret's rotation off"
        ),
    )
}

/// The commands of [`DANGEROUS`] user `name`, holding `rules`, may run: by its rules in order, categories
/// expanded by the server's `ACL CAT`, and on Redis 7+ and Valkey also by the server's own `ACL DRYRUN` of each
/// (a second opinion: the server applies its rules, whatever rotor's reading of them). The server's version
/// (`HELLO`, which every logged-in user may run) says which of the two ways its categories list subcommands, and
/// whether it has `ACL DRYRUN`.
async fn grants(session: &mut RedisSession, name: &str, rules: &Rules) -> Result<Vec<Grant>, RotationError> {
    // The session speaks RESP2 (the driver's default): `HELLO 2` changes nothing but answers the version.
    let hello: Value = session.run("HELLO", cmd("HELLO").arg(2)).await?;
    let since_7 = since_redis_7(&hello);
    let rules = CommandRules::of(rules);
    let mut categories = Categories::default();
    for category in rules.categories() {
        let members: Vec<String> = session.run("ACL CAT", cmd("ACL").arg("CAT").arg(&category)).await?;
        categories.learn(&category, &members, since_7);
    }
    let mut grants = rules.grants(&categories);
    if since_7 {
        for command in DANGEROUS {
            if grants.iter().any(|grant| grant.command == command) {
                continue;
            }
            let dryrun = cmd("ACL").arg("DRYRUN").arg(name).arg(command.dryrun()).clone();
            // A command the server does not have (renamed away, or older than the server) is one no one may run.
            let answer: Option<Value> = session.run_or_err("ACL DRYRUN", &dryrun).await?;
            if matches!(&answer, Some(Value::Okay)) || matches!(&answer, Some(Value::SimpleString(s)) if s == "OK") {
                grants.push(Grant { command, by: "the server's ACL DRYRUN".to_owned() });
            }
        }
    }
    Ok(grants)
}

/// What the admin needs, as doctor names it.
const ADMIN_NEEDS: &str = "+acl (ACL SETUSER, ACL GETUSER, ACL CAT and ACL DRYRUN)";

impl Engine for RedisEngine {
    type Session = RedisSession;
    type User = RedisUser;

    /// Setting the same pair of passwords again is harmless.
    const CHECK_PENDING_FIRST: bool = false;

    fn name(&self) -> &'static str {
        "redis"
    }

    fn connection(&self, secret: &Secret) -> Result<LoginFields, RotationError> {
        let connection = LoginFields::parse(secret, ENGINES, DEFAULT_PORT, None)?;
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
        connection: &LoginFields,
        mode: TlsMode,
        _purpose: Purpose,
    ) -> Result<RedisSession, RotationError> {
        connect(connection, mode, &self.roots, config).await
    }

    /// Keeps the password the session logged in with (AWSCURRENT's) beside the new one, dropping any other.
    async fn set_own_password(&self, session: &mut RedisSession, password: &Password) -> Result<(), RotationError> {
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
        admin: &mut RedisSession,
        connection: &LoginFields,
        _mode: TlsMode,
    ) -> Result<RedisUser, RotationError> {
        let Some(rules) = rules(admin, &connection.username).await? else {
            return Err(no_such_user(admin, &connection.username));
        };
        // A secret's writer may put any password in AWSCURRENT: kept beside the new one only when it is the
        // user's already, it cannot become a way in of the writer's choosing.
        let current = password_hash(connection.password.expose());
        let keep = rules.holds(&current).then_some(current);
        Ok(RedisUser { name: connection.username.clone(), keep, rules: Some(rules) })
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

    /// The commands that let `user` take over other users or the server (see [`DANGEROUS`]: `ACL SETUSER`,
    /// `CONFIG SET`, `MODULE LOAD`...), each with the rule that lets it, read from its rules (root and selectors,
    /// categories expanded by `ACL CAT`) and, on Redis 7+ and Valkey, asked with `ACL DRYRUN` too.
    async fn privileged_rights(
        &self,
        admin: &mut RedisSession,
        user: &RedisUser,
    ) -> Result<Vec<String>, RotationError> {
        let Some(rules) = rules_of(admin, user).await? else { return Ok(Vec::new()) };
        Ok(describe(&grants(admin, &user.name, &rules).await?))
    }

    /// Keeps the current secret's password beside the new one only when the user holds it ([`Engine::user`] made
    /// sure the user exists); otherwise the user gets the new password alone.
    async fn set_password(
        &self,
        admin: &mut RedisSession,
        user: &RedisUser,
        password: &Password,
    ) -> Result<(), RotationError> {
        if user.keep.is_none() {
            tracing::warn!(
                user = %user.name,
                "AWSCURRENT's password is not one of the user's passwords, so it is not kept beside the new one"
            );
        }
        let new = password_hash(password.expose());
        let hashes: Vec<&str> = user.keep.iter().map(String::as_str).chain([new.as_str()]).collect();
        admin.run::<()>("ACL SETUSER (the user's passwords)", &set_passwords(&user.name, &hashes)).await
    }

    /// The inactive user gets exactly the active one's rules (flags, commands, keys, channels, selectors), `on`, and
    /// only the new password, in one `ACL SETUSER ... reset ...`. Either user turned `off` is refused before any
    /// change: syncing would turn it on.
    async fn sync_alternate(
        &self,
        admin: &mut RedisSession,
        active: &RedisUser,
        inactive: &RedisUser,
        password: &Password,
    ) -> Result<(), RotationError> {
        let Some(rules) = rules_of(admin, active).await? else {
            return Err(no_such_user(admin, &active.name));
        };
        if !rules.enabled() {
            return Err(disabled(admin, &active.name, "the secret's current user"));
        }
        if rules_of(admin, inactive).await?.is_some_and(|other| !other.enabled()) {
            return Err(disabled(admin, &inactive.name, "the other user of the alternating pair"));
        }
        let mut command = cmd("ACL");
        command.arg("SETUSER").arg(&inactive.name).arg(rules.setuser_args(&password_hash(password.expose())));
        admin.run::<()>("ACL SETUSER (the other user)", &command).await
    }

    /// Whether the admin may run `ACL SETUSER`, read as any user's rights are ([`Engine::privileged_rights`]).
    async fn missing_admin_rights(&self, admin: &mut RedisSession) -> Result<Option<String>, RotationError> {
        let me = admin.connection().username.clone();
        let may_setuser = async {
            let Some(rules) = rules(admin, &me).await? else { return Ok(false) };
            let grants = grants(admin, &me, &rules).await?;
            Ok(grants.iter().any(|grant| grant.command.is("acl", Some("setuser"))))
        };
        match may_setuser.await {
            Ok(true) => Ok(None),
            Ok(false) | Err(RotationError::Target { kind: TargetErrorKind::PermissionDenied, .. }) => {
                Ok(Some(ADMIN_NEEDS.to_owned()))
            }
            Err(error) => Err(error),
        }
    }

    /// Runs `TEST_QUERY` (default `PING`) as a command: its words are the command and its arguments.
    async fn probe(&self, session: &mut RedisSession, query: &str) -> Result<(), RotationError> {
        let mut words = query.split_whitespace();
        let mut command = cmd(words.next().unwrap_or("PING"));
        for word in words {
            command.arg(word);
        }
        session.run::<Value>(PROBE, &command).await.map(drop)
    }
}
