//! The generic database target, `DatabaseTarget<FakeEngine>`, tested once against an in-memory server (as Vault's
//! database plugins are tested against a mock engine): the strategies, the single-user fallbacks and their order,
//! the admin's pinning and refusals, the identity rule, the confused-deputy check, and testSecret's retries. The
//! fake logs every call it gets, so each test asserts what the generic code sent, in which order, and what it never
//! sent. Secrets Manager is aws-smithy-mocks answering exactly the reads the code makes; any other call panics.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_sdk_secretsmanager::operation::list_secret_version_ids::ListSecretVersionIdsOutput;
use aws_sdk_secretsmanager::primitives::DateTime;
use aws_sdk_secretsmanager::types::SecretVersionsListEntry;
use aws_smithy_mocks::{MockResponse, Rule, RuleMode, mock, mock_client};
use aws_smithy_types::body::SdkBody;
use rotation_core::{
    Env, Password, RotationError, Secret, SecretsManager, SetContext, Target, TargetErrorKind, TestContext, USER_TAG,
};
use rotation_database::{DatabaseConfig, DatabaseTarget, Engine, LoginFields, Purpose, Rds, Session, TlsMode};
use serde_json::{Value, json};

const APP: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf";
/// The admin secret `ADMIN_SECRET_ARNS` lists.
const ADMIN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:admin-AbCdEf";
/// An admin secret the function's configuration does not list.
const ROGUE: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rogue-XyZ123";
/// `ADMIN_SECRET_ARNS` naming the admin secret by its name, `admin`, whatever the suffix.
const ADMIN_PATTERN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:admin-??????";
/// A partial ARN that fits [`ADMIN_PATTERN`] as written: the secret named `admin-Shadow`...
const SHADOW: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:admin-Shadow";
/// ... whose full ARN does not.
const SHADOW_RESOLVED: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:admin-Shadow-Qw3rty";
const HOST: &str = "db.internal";
const PORT: u16 = 5432;
/// The `rotor:user` tag that pins `app` on the fake server.
const PINS_APP: &str = "app@db.internal:5432";

// ---------------------------------------------------------------------------------------------------------------
// The fake engine: an in-memory server that logs every call.

/// One call the generic code made to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    /// A login to `address` (sent to whatever server the fields name, the fake's or not).
    Login { address: String, dbname: Option<String>, user: String, password: String, purpose: Purpose },
    /// The session's own user set its password.
    SetOwnPassword { user: String, password: String },
    /// The admin asked for a user's administrative rights.
    PrivilegedRights { admin: String, user: String },
    /// The admin set a user's password.
    SetPassword { admin: String, user: String, password: String },
    /// The admin created or synced `inactive` like `active` and set its password.
    SyncAlternate { admin: String, active: String, inactive: String, password: String },
    /// testSecret's query, on a session of `user`.
    Probe { user: String, query: String },
}

#[derive(Debug, Clone)]
struct Account {
    password: String,
    /// Administrative rights (empty: an ordinary user).
    rights: Vec<String>,
}

#[derive(Debug, Default)]
struct Server {
    users: BTreeMap<String, Account>,
    calls: Vec<Call>,
    /// Logins refused before the server accepts any: a new password still propagating to every node.
    lagging_logins: usize,
}

/// An engine over one in-memory server at `db.internal:5432`, shared by the clones a test keeps.
#[derive(Debug, Clone, Default)]
struct FakeEngine {
    server: Arc<Mutex<Server>>,
}

impl FakeEngine {
    /// A server with these users (name, password), none of them privileged.
    fn with_users(users: &[(&str, &str)]) -> Self {
        let engine = Self::default();
        for (name, password) in users {
            engine.add_user(name, password, &[]);
        }
        engine
    }

    fn add_user(&self, name: &str, password: &str, rights: &[&str]) {
        let account = Account { password: password.into(), rights: rights.iter().map(|r| r.to_string()).collect() };
        self.server.lock().unwrap().users.insert(name.into(), account);
    }

    fn calls(&self) -> Vec<Call> {
        self.server.lock().unwrap().calls.clone()
    }

    fn password(&self, user: &str) -> Option<String> {
        self.server.lock().unwrap().users.get(user).map(|a| a.password.clone())
    }

    /// Every call that changed a password.
    fn changes(&self) -> Vec<Call> {
        let changes =
            |c: &Call| matches!(c, Call::SetOwnPassword { .. } | Call::SetPassword { .. } | Call::SyncAlternate { .. });
        self.calls().into_iter().filter(changes).collect()
    }

    /// Every call but the logins, in order.
    fn statements(&self) -> Vec<Call> {
        self.calls().into_iter().filter(|c| !matches!(c, Call::Login { .. })).collect()
    }

    /// The logins, as (user, password), in order.
    fn logins(&self) -> Vec<(String, String)> {
        let login = |c: Call| match c {
            Call::Login { user, password, .. } => Some((user, password)),
            _ => None,
        };
        self.calls().into_iter().filter_map(login).collect()
    }

    fn record(&self, call: Call) {
        self.server.lock().unwrap().calls.push(call);
    }
}

/// A session: who logged in.
#[derive(Debug)]
struct FakeSession {
    connection: LoginFields,
}

impl FakeSession {
    fn user(&self) -> String {
        self.connection.username.clone()
    }
}

impl Session for FakeSession {
    fn connection(&self) -> &LoginFields {
        &self.connection
    }
}

impl Engine for FakeEngine {
    type Session = FakeSession;
    type User = String;

    const CHECK_PENDING_FIRST: bool = false;

    fn name(&self) -> &'static str {
        "fake"
    }

    fn connection(&self, secret: &Secret) -> Result<LoginFields, RotationError> {
        LoginFields::parse(secret, &["fake", "fake-aurora"], PORT, None)
    }

    async fn login(
        &self,
        _config: &DatabaseConfig,
        connection: &LoginFields,
        _mode: TlsMode,
        purpose: Purpose,
    ) -> Result<FakeSession, RotationError> {
        let mut server = self.server.lock().unwrap();
        server.calls.push(Call::Login {
            address: connection.address(),
            dbname: connection.dbname.clone(),
            user: connection.username.clone(),
            password: connection.password.expose().into(),
            purpose,
        });
        if (connection.host.as_str(), connection.port) != (HOST, PORT) {
            return Err(RotationError::target(TargetErrorKind::Unreachable, connection.address(), "no such server"));
        }
        let refused = RotationError::target(
            TargetErrorKind::AuthenticationFailed,
            connection.address(),
            format!("password authentication failed for user {:?}", connection.username),
        );
        if server.lagging_logins > 0 {
            server.lagging_logins -= 1;
            return Err(refused);
        }
        match server.users.get(&connection.username) {
            Some(account) if account.password == connection.password.expose() => {
                Ok(FakeSession { connection: connection.clone() })
            }
            _ => Err(refused),
        }
    }

    async fn set_own_password(&self, session: &mut FakeSession, password: &Password) -> Result<(), RotationError> {
        self.record(Call::SetOwnPassword { user: session.user(), password: password.expose().into() });
        let mut server = self.server.lock().unwrap();
        server.users.get_mut(&session.connection.username).expect("a logged-in user exists").password =
            password.expose().into();
        Ok(())
    }

    async fn user(
        &self,
        _config: &DatabaseConfig,
        _admin: &mut FakeSession,
        connection: &LoginFields,
        _mode: TlsMode,
    ) -> Result<String, RotationError> {
        Ok(connection.username.clone())
    }

    fn alternate(&self, _active: &String, name: &str) -> Result<String, String> {
        Ok(name.to_owned())
    }

    fn user_name<'u>(&self, user: &'u String) -> &'u str {
        user
    }

    async fn privileged_rights(&self, admin: &mut FakeSession, user: &String) -> Result<Vec<String>, RotationError> {
        self.record(Call::PrivilegedRights { admin: admin.user(), user: user.clone() });
        Ok(self.server.lock().unwrap().users.get(user).map(|a| a.rights.clone()).unwrap_or_default())
    }

    async fn set_password(
        &self,
        admin: &mut FakeSession,
        user: &String,
        password: &Password,
    ) -> Result<(), RotationError> {
        self.record(Call::SetPassword { admin: admin.user(), user: user.clone(), password: password.expose().into() });
        let mut server = self.server.lock().unwrap();
        let Some(account) = server.users.get_mut(user) else {
            return Err(RotationError::target(TargetErrorKind::Rejected, HOST, format!("no user {user:?}")));
        };
        account.password = password.expose().into();
        Ok(())
    }

    async fn sync_alternate(
        &self,
        admin: &mut FakeSession,
        active: &String,
        inactive: &String,
        password: &Password,
    ) -> Result<(), RotationError> {
        self.record(Call::SyncAlternate {
            admin: admin.user(),
            active: active.clone(),
            inactive: inactive.clone(),
            password: password.expose().into(),
        });
        let mut server = self.server.lock().unwrap();
        let rights = server.users[active].rights.clone();
        server.users.insert(inactive.clone(), Account { password: password.expose().into(), rights });
        Ok(())
    }

    async fn missing_admin_rights(&self, _admin: &mut FakeSession) -> Result<Option<String>, RotationError> {
        Ok(None)
    }

    async fn probe(&self, session: &mut FakeSession, query: &str) -> Result<(), RotationError> {
        self.record(Call::Probe { user: session.user(), query: query.into() });
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Secrets Manager: what the store holds besides the AWSCURRENT and AWSPENDING values the context is given.

/// A user secret's value on the fake server, naming the listed admin secret.
fn user(username: &str, password: &str) -> Value {
    json!({
        "engine": "fake", "host": HOST, "port": PORT, "dbname": "appdb",
        "username": username, "password": password, "masterarn": ADMIN,
    })
}

/// `value` with `field` replaced.
fn with(value: &Value, field: &str, to: Value) -> Value {
    let mut value = value.clone();
    value[field] = to;
    value
}

fn not_found() -> aws_smithy_runtime_api::http::Response {
    let body =
        json!({"__type": "ResourceNotFoundException", "message": "Secrets Manager can't find the specified secret."});
    aws_smithy_runtime_api::http::Response::new(400.try_into().unwrap(), SdkBody::from(body.to_string()))
}

fn value(arn: &str, value: &Value) -> GetSecretValueOutput {
    GetSecretValueOutput::builder().arn(arn).secret_string(value.to_string()).build()
}

/// The user secret's other versions: its `AWSPREVIOUS` value and the values of abandoned rotations (newest first).
#[derive(Default)]
struct Store {
    previous: Option<Value>,
    abandoned: Vec<Value>,
}

/// The mocked Secrets Manager, with a rule per read so tests count what was read.
struct Mocked {
    secrets: SecretsManager,
    previous: Rule,
    versions: Rule,
    abandoned: Rule,
    admin: Rule,
    rogue: Rule,
    describe: Rule,
}

impl Mocked {
    /// How many reads the code made in all.
    fn reads(&self) -> usize {
        [&self.previous, &self.versions, &self.abandoned, &self.admin, &self.rogue, &self.describe]
            .iter()
            .map(|r| r.num_calls())
            .sum()
    }
}

impl Store {
    fn mock(self) -> Mocked {
        let previous_value = self.previous;
        let previous = mock!(Client::get_secret_value)
            .match_requests(|r| r.secret_id() == Some(APP) && r.version_stage() == Some("AWSPREVIOUS"))
            .then_compute_response(move |_| match &previous_value {
                Some(previous) => MockResponse::Output(value(APP, previous)),
                None => MockResponse::Http(not_found()),
            });
        let count = self.abandoned.len();
        let versions = mock!(Client::list_secret_version_ids)
            .match_requests(|r| r.secret_id() == Some(APP))
            .then_output(move || {
                let entry = |id: String, stage: Option<&str>, created: i64| {
                    SecretVersionsListEntry::builder()
                        .version_id(id)
                        .set_version_stages(stage.map(|s| vec![s.to_owned()]))
                        .created_date(DateTime::from_secs(created))
                        .build()
                };
                let mut entries = vec![
                    entry("v-previous".into(), Some("AWSPREVIOUS"), 500),
                    entry("v-current".into(), Some("AWSCURRENT"), 1_000),
                ];
                // Listed oldest first, as the service does not promise an order: the code sorts them.
                entries.extend((0..count).rev().map(|i| entry(format!("v-abandoned-{i}"), None, 2_000 - i as i64)));
                ListSecretVersionIdsOutput::builder().set_versions(Some(entries)).build()
            });
        let abandoned_values = self.abandoned;
        let abandoned = mock!(Client::get_secret_value)
            .match_requests(|r| {
                r.secret_id() == Some(APP) && r.version_id().is_some_and(|v| v.starts_with("v-abandoned-"))
            })
            .then_compute_response(move |r| {
                let index: usize = r.version_id().unwrap()["v-abandoned-".len()..].parse().unwrap();
                MockResponse::Output(value(APP, &abandoned_values[index]))
            });
        let admin_secret = json!({
            "engine": "fake", "host": HOST, "port": PORT, "dbname": "admindb",
            "username": "admin", "password": "admin-pw",
        });
        let admin = mock!(Client::get_secret_value)
            .match_requests(|r| r.secret_id() == Some(ADMIN) && r.version_stage() == Some("AWSCURRENT"))
            .then_output(move || value(ADMIN, &admin_secret));
        let rogue_secret = with(&user("admin", "admin-pw"), "masterarn", Value::Null);
        let rogue = mock!(Client::get_secret_value)
            .match_requests(|r| r.secret_id() == Some(ROGUE))
            .then_output(move || value(ROGUE, &rogue_secret));
        let shadow_secret = with(&user("admin", "admin-pw"), "masterarn", Value::Null);
        let shadow = mock!(Client::get_secret_value)
            .match_requests(|r| r.secret_id() == Some(SHADOW))
            .then_output(move || value(SHADOW_RESOLVED, &shadow_secret));
        let describe = mock!(Client::describe_secret).then_compute_response(|r| {
            let arn = match r.secret_id() {
                Some(ADMIN | "admin") => ADMIN,
                Some(ROGUE | "rogue") => ROGUE,
                _ => return MockResponse::Http(not_found()),
            };
            MockResponse::Output(DescribeSecretOutput::builder().arn(arn).build())
        });
        let client = mock_client!(
            aws_sdk_secretsmanager,
            RuleMode::MatchAny,
            [&previous, &versions, &abandoned, &admin, &rogue, &shadow, &describe]
        );
        Mocked { secrets: SecretsManager::from_client(client), previous, versions, abandoned, admin, rogue, describe }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The target and its steps.

/// The target over `engine`, configured by `ROTATION_STRATEGY=strategy`, `ADMIN_SECRET_ARNS` listing [`ADMIN`],
/// and `env`.
fn target(engine: &FakeEngine, strategy: &str, env: &[(&str, &str)]) -> DatabaseTarget<FakeEngine> {
    let pairs = [("ROTATION_STRATEGY", strategy), ("ADMIN_SECRET_ARNS", ADMIN)].into_iter().chain(env.iter().copied());
    let config = DatabaseConfig::from_env(&Env::from_pairs(pairs.map(|(k, v)| (k.to_owned(), v.to_owned())))).unwrap();
    let rds = Rds::new(&aws_config::SdkConfig::builder().build());
    DatabaseTarget::new(engine.clone(), config, rds)
}

/// setSecret with these `AWSCURRENT` and `AWSPENDING` values and the secret's `rotor:user` tag, if any.
async fn set(
    target: &DatabaseTarget<FakeEngine>,
    store: &Mocked,
    current: &Value,
    pending: &Value,
    tag: Option<&str>,
) -> Result<(), RotationError> {
    let current = Secret::parse(APP, &current.to_string());
    let pending = Secret::parse(APP, &pending.to_string());
    let tags: Vec<(String, String)> = tag.map(|t| (USER_TAG.to_owned(), t.to_owned())).into_iter().collect();
    target.set(&SetContext::new(APP, &pending, &current, &store.secrets).with_tags(&tags)).await
}

/// createSecret's pending value for `current` with a new `password` (for alternating users: the other user).
fn next(target: &DatabaseTarget<FakeEngine>, current: &Value, password: &str) -> Value {
    let next = target.next_secret(&Secret::parse(APP, &current.to_string()), Password::new(password.into())).unwrap();
    serde_json::from_str(&next.to_secret_string()).unwrap()
}

fn login(user: &str, password: &str) -> Call {
    Call::Login {
        address: format!("{HOST}:{PORT}"),
        dbname: Some("appdb".into()),
        user: user.into(),
        password: password.into(),
        purpose: Purpose::Rotor,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Single user.

#[tokio::test]
async fn single_user_sets_its_own_password_logged_in_as_itself_with_awscurrent() {
    let engine = FakeEngine::with_users(&[("app", "cur-pw"), ("admin", "admin-pw")]);
    let store = Store { previous: Some(user("app", "prev-pw")), abandoned: vec![] }.mock();
    set(&target(&engine, "single-user", &[]), &store, &user("app", "cur-pw"), &user("app", "new-pw"), None)
        .await
        .unwrap();
    assert_eq!(
        engine.calls(),
        [login("app", "cur-pw"), Call::SetOwnPassword { user: "app".into(), password: "new-pw".into() }]
    );
    assert_eq!(engine.password("app").as_deref(), Some("new-pw"));
    assert_eq!(engine.password("admin").as_deref(), Some("admin-pw"));
    assert_eq!(store.reads(), 0, "AWSCURRENT worked: no other version is read, and no admin secret");
}

/// AWSCURRENT refused (an earlier attempt changed the password, or a rotation was abandoned after its setSecret):
/// the pending value, then AWSPREVIOUS, then the abandoned rotations' values newest first, until one logs in.
#[tokio::test]
async fn single_user_falls_back_to_pending_then_previous_then_abandoned_values_in_that_order() {
    let order = ["cur-pw", "new-pw", "prev-pw", "abandoned-newer-pw", "abandoned-older-pw"];
    for (tried, works) in order.iter().enumerate() {
        let engine = FakeEngine::with_users(&[("app", works)]);
        let store = Store {
            previous: Some(user("app", "prev-pw")),
            abandoned: vec![user("app", "abandoned-newer-pw"), user("app", "abandoned-older-pw")],
        }
        .mock();
        set(&target(&engine, "single-user", &[]), &store, &user("app", "cur-pw"), &user("app", "new-pw"), None)
            .await
            .unwrap_or_else(|e| panic!("{works}: {e}"));
        let expected: Vec<Call> = order[..=tried].iter().map(|pw| login("app", pw)).collect();
        assert_eq!(
            engine.calls()[..=tried],
            expected,
            "{works}: the logins, in order, stopping at the first that works"
        );
        assert_eq!(
            engine.calls()[tried + 1..],
            [Call::SetOwnPassword { user: "app".into(), password: "new-pw".into() }],
            "{works}"
        );
        assert_eq!(engine.password("app").as_deref(), Some("new-pw"));
    }
}

/// An AWSPREVIOUS or abandoned value naming another host, port, database, engine or user is never sent anywhere:
/// not even when it holds a working password of another user (the admin's, whose password would become the
/// pending one).
#[tokio::test]
async fn single_user_never_sends_a_fallback_naming_another_target() {
    for (field, to) in [
        ("host", json!("other.internal")),
        ("port", json!(5433)),
        ("dbname", json!("otherdb")),
        ("engine", json!("fake-aurora")),
        ("username", json!("admin")),
    ] {
        let engine = FakeEngine::with_users(&[("app", "abandoned-pw"), ("admin", "admin-pw")]);
        let elsewhere = with(&user("app", "admin-pw"), field, to.clone());
        let store =
            Store { previous: Some(elsewhere.clone()), abandoned: vec![elsewhere, user("app", "abandoned-pw")] }.mock();
        set(&target(&engine, "single-user", &[]), &store, &user("app", "cur-pw"), &user("app", "new-pw"), None)
            .await
            .unwrap_or_else(|e| panic!("{field}: {e}"));
        assert_eq!(
            engine.calls(),
            [
                login("app", "cur-pw"),
                login("app", "new-pw"),
                login("app", "abandoned-pw"),
                Call::SetOwnPassword { user: "app".into(), password: "new-pw".into() },
            ],
            "{field}={to}: skipped, never sent"
        );
        assert_eq!(engine.password("admin").as_deref(), Some("admin-pw"), "{field}");
    }
}

#[tokio::test]
async fn single_user_with_no_password_that_logs_in_names_the_user_and_the_fix() {
    let engine = FakeEngine::with_users(&[("app", "set-by-hand-pw")]);
    let store = Store {
        previous: Some(user("app", "prev-pw")),
        abandoned: vec![user("app", "abandoned-1-pw"), user("app", "abandoned-2-pw")],
    }
    .mock();
    let error = set(&target(&engine, "single-user", &[]), &store, &user("app", "cur-pw"), &user("app", "new-pw"), None)
        .await
        .unwrap_err();
    assert!(error.is_authentication_failure(), "{error:?}");
    let message = error.to_string();
    for expected in ["\"app\"", "db.internal:5432", "set the password by hand and put it in AWSCURRENT"] {
        assert!(message.contains(expected), "{expected}: {message}");
    }
    assert!(!message.contains("-pw"), "no value in the message: {message}");
    assert_eq!(engine.logins().len(), 5, "current, pending, previous and both abandoned values were tried");
    assert!(engine.changes().is_empty(), "{:?}", engine.changes());
}

// ---------------------------------------------------------------------------------------------------------------
// Admin.

#[tokio::test]
async fn admin_from_the_listed_masterarn_sets_the_users_password() {
    let engine = FakeEngine::with_users(&[("app", "cur-pw"), ("admin", "admin-pw")]);
    let store = Store::default().mock();
    set(&target(&engine, "admin", &[]), &store, &user("app", "cur-pw"), &user("app", "new-pw"), None).await.unwrap();
    assert_eq!(
        engine.statements(),
        [
            Call::PrivilegedRights { admin: "admin".into(), user: "app".into() },
            Call::SetPassword { admin: "admin".into(), user: "app".into(), password: "new-pw".into() },
        ],
        "the user's rights are checked before its password is set"
    );
    assert_eq!(engine.password("app").as_deref(), Some("new-pw"));
    assert_eq!(engine.password("admin").as_deref(), Some("admin-pw"));
    assert!(engine.calls().contains(&login("admin", "admin-pw")), "the admin logs in to the user's database");
    assert!(
        engine.logins().iter().all(|(user, password)| user == "admin" || password != "new-pw"),
        "the user never logs in to set anything: {:?}",
        engine.logins()
    );
    assert_eq!((store.admin.num_calls(), store.rogue.num_calls()), (1, 0));
}

/// A user secret cannot choose its admin: a `masterarn` the configuration does not list, as written or as Secrets
/// Manager resolves it, is refused before any login (and an unlisted one written as a full ARN before its value is
/// read).
#[tokio::test]
async fn a_masterarn_not_in_admin_secret_arns_is_refused_before_any_login() {
    // (ADMIN_SECRET_ARNS, masterarn, the ARN a refusal names)
    let cases = [
        (ADMIN, ROGUE, Some(ROGUE)),
        (ADMIN, "rogue", Some(ROGUE)),
        (ADMIN, "admin", None),
        (ADMIN_PATTERN, ADMIN, None),
        // Written, it fits the pattern; Secrets Manager resolves it to the secret named `admin-Shadow`, which does not.
        (ADMIN_PATTERN, SHADOW, Some(SHADOW_RESOLVED)),
    ];
    for (listed, masterarn, refused) in cases {
        let engine = FakeEngine::with_users(&[("app", "cur-pw"), ("admin", "admin-pw")]);
        let store = Store::default().mock();
        let current = with(&user("app", "cur-pw"), "masterarn", json!(masterarn));
        let pending = with(&user("app", "new-pw"), "masterarn", json!(masterarn));
        let target = target(&engine, "admin", &[("ADMIN_SECRET_ARNS", listed)]);
        let result = set(&target, &store, &current, &pending, Some(PINS_APP)).await;
        let case = format!("{masterarn} under {listed}");
        let Some(refused) = refused else {
            result.unwrap_or_else(|e| panic!("{case} is the listed admin: {e}"));
            assert_eq!(engine.password("app").as_deref(), Some("new-pw"));
            continue;
        };
        let error = result.unwrap_err();
        assert_eq!(error.error_type(), "ConfusedDeputy", "{case}: {error}");
        let message = error.to_string();
        assert!(message.contains(refused) && message.contains("ADMIN_SECRET_ARNS"), "{case}: {message}");
        assert!(engine.calls().is_empty(), "{case}: no login, as anyone: {:?}", engine.calls());
        assert_eq!(store.rogue.num_calls(), 0, "{case}: an unlisted ARN's value is never read");
    }
}

/// The admin never sets its own password from a user secret, nor a user with administrative rights unless the
/// function allows it; for alternating users both users of the pair are checked.
#[tokio::test]
async fn the_admin_refuses_itself_and_privileged_users_unless_allowed() {
    struct Case {
        strategy: &'static str,
        current: Value,
        pending: Value,
        privileged: Option<(&'static str, &'static str)>,
        allow: bool,
        refusal: Option<&'static str>,
    }
    let cases = [
        Case {
            strategy: "admin",
            current: user("app", "cur-pw"),
            pending: user("app", "new-pw"),
            privileged: Some(("app", "SUPERUSER")),
            allow: false,
            refusal: Some("user \"app\" holds administrative rights (SUPERUSER)"),
        },
        Case {
            strategy: "admin",
            current: user("app", "cur-pw"),
            pending: user("app", "new-pw"),
            privileged: Some(("app", "SUPERUSER")),
            allow: true,
            refusal: None,
        },
        Case {
            strategy: "alternating-users",
            current: user("app", "cur-pw"),
            pending: user("app_clone", "new-pw"),
            privileged: Some(("app_clone", "CREATEROLE")),
            allow: false,
            refusal: Some("user \"app_clone\" holds administrative rights (CREATEROLE)"),
        },
        Case {
            strategy: "admin",
            current: user("admin", "admin-pw"),
            pending: user("admin", "new-pw"),
            privileged: None,
            allow: true,
            refusal: Some("user \"admin\" is the admin secret's own user"),
        },
    ];
    for case in cases {
        let engine = FakeEngine::with_users(&[("app", "cur-pw"), ("admin", "admin-pw")]);
        if let Some((name, right)) = case.privileged {
            engine.add_user(name, if name == "app" { "cur-pw" } else { "clone-pw" }, &[right]);
        }
        let allow = if case.allow { "true" } else { "false" };
        let target = target(&engine, case.strategy, &[("ALLOW_PRIVILEGED_USERS", allow)]);
        let result = set(&target, &Store::default().mock(), &case.current, &case.pending, None).await;
        let Some(refusal) = case.refusal else {
            result.unwrap();
            assert_eq!(engine.password("app").as_deref(), Some("new-pw"), "ALLOW_PRIVILEGED_USERS=true allows it");
            continue;
        };
        let error = result.unwrap_err();
        assert_eq!(error.error_type(), "ConfusedDeputy", "{refusal}: {error}");
        let message = error.to_string();
        assert!(message.contains(refusal), "{refusal}: {message}");
        assert_eq!(message.contains("ALLOW_PRIVILEGED_USERS=true"), !message.contains("own user"), "{message}");
        assert!(engine.changes().is_empty(), "{refusal}: {:?}", engine.changes());
        assert_eq!(engine.password("admin").as_deref(), Some("admin-pw"));
    }
}

/// The identity rule: the admin changes only a user the secret proves (AWSCURRENT's or AWSPREVIOUS's password logs
/// in as it) or a `rotor:user` tag pins; a secret naming a user it cannot prove changes nothing.
#[tokio::test]
async fn the_admin_changes_only_a_user_the_secret_proves_or_a_tag_pins() {
    let pins_victim = Some("victim@db.internal:5432");
    let cases = [
        ("admin", user("app", "cur-pw"), None, None, true),
        ("admin", user("app", "stale-pw"), Some(user("app", "cur-pw")), None, true),
        ("admin", user("victim", "guessed-pw"), None, None, false),
        ("admin", user("victim", "guessed-pw"), Some(user("app", "cur-pw")), None, false),
        ("admin", user("victim", "guessed-pw"), None, pins_victim, true),
        ("admin", user("app", "cur-pw"), None, pins_victim, false),
        // Owning a user that merely ends in _clone never reaches the user before the suffix.
        ("alternating-users", user("victim_clone", "mine-pw"), None, None, false),
    ];
    for (strategy, current, previous, tag, bound) in cases {
        let engine = FakeEngine::with_users(&[
            ("app", "cur-pw"),
            ("victim", "victim-pw"),
            ("victim_clone", "mine-pw"),
            ("admin", "admin-pw"),
        ]);
        let store = Store { previous, abandoned: vec![] }.mock();
        let target = target(&engine, strategy, &[]);
        let pending = next(&target, &current, "new-pw");
        let case = format!("{strategy} {} tag={tag:?}", current["username"]);
        let result = set(&target, &store, &current, &pending, tag).await;
        if bound {
            result.unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(engine.changes().len(), 1, "{case}");
            if tag.is_some() {
                assert!(engine.logins().iter().all(|(user, _)| user == "admin"), "{case}: pinned, no proof login");
            }
            continue;
        }
        let error = result.unwrap_err();
        assert_eq!(error.error_type(), "IdentityNotBound", "{case}: {error}");
        assert!(engine.statements().is_empty(), "{case}: nothing asked or changed: {:?}", engine.statements());
        for (user, password) in [("app", "cur-pw"), ("victim", "victim-pw"), ("victim_clone", "mine-pw")] {
            assert_eq!(engine.password(user).as_deref(), Some(password), "{case}");
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Alternating users.

/// Three rotations: the first creates `app_clone` like `app` with the new password, the next ones sync and set the
/// other user in turn, each leaving the user in AWSCURRENT working until the promotion. From `app_clone`, `app` is
/// proven by AWSPREVIOUS's password.
#[tokio::test]
async fn alternating_users_sync_the_other_user_and_alternate_between_the_pair() {
    let engine = FakeEngine::with_users(&[("app", "pw-0"), ("admin", "admin-pw")]);
    let target = target(&engine, "alternating-users", &[]);
    let mut previous = None;
    let mut current = user("app", "pw-0");
    for (round, (active, inactive)) in
        [("app", "app_clone"), ("app_clone", "app"), ("app", "app_clone")].into_iter().enumerate()
    {
        let password = format!("pw-{}", round + 1);
        let pending = next(&target, &current, &password);
        assert_eq!(pending["username"], inactive, "round {round}");
        let store = Store { previous: previous.clone(), abandoned: vec![] }.mock();
        let before = engine.calls().len();
        set(&target, &store, &current, &pending, None).await.unwrap_or_else(|e| panic!("round {round}: {e}"));
        let statements: Vec<Call> =
            engine.calls()[before..].iter().filter(|c| !matches!(c, Call::Login { .. })).cloned().collect();
        assert_eq!(
            statements,
            [
                Call::PrivilegedRights { admin: "admin".into(), user: active.into() },
                Call::PrivilegedRights { admin: "admin".into(), user: inactive.into() },
                Call::SyncAlternate {
                    admin: "admin".into(),
                    active: active.into(),
                    inactive: inactive.into(),
                    password: password.clone()
                },
            ],
            "round {round}"
        );
        assert_eq!(engine.password(inactive), Some(password.clone()), "round {round}");
        assert_eq!(engine.password(active).as_deref(), current["password"].as_str(), "round {round}: still works");
        previous = Some(current);
        current = pending;
    }
}

/// The pending user must be one of the current user's pair: any other name, the admin's included, changes nothing.
/// (The active user itself passes: the rotator's repair sets it back to AWSCURRENT's password that way.)
#[tokio::test]
async fn alternating_users_refuse_a_pending_user_outside_the_pair() {
    for pending_user in ["root", "admin", "app_clone_clone"] {
        let engine = FakeEngine::with_users(&[("app", "cur-pw"), ("root", "root-pw"), ("admin", "admin-pw")]);
        let store = Store::default().mock();
        let result = set(
            &target(&engine, "alternating-users", &[]),
            &store,
            &user("app", "cur-pw"),
            &user(pending_user, "new-pw"),
            None,
        )
        .await;
        let error = result.err().unwrap_or_else(|| panic!("{pending_user}: accepted; changes {:?}", engine.changes()));
        assert_eq!(error.error_type(), "ConfusedDeputy", "{pending_user}: {error}");
        assert!(engine.changes().is_empty(), "{pending_user}: {:?}", engine.changes());
        assert_eq!(engine.password("app").as_deref(), Some("cur-pw"), "{pending_user}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The confused deputy, for every strategy.

/// A pending secret naming another host, port, database, engine or user than AWSCURRENT is refused before anything
/// is read or sent, whatever the strategy.
#[tokio::test]
async fn a_pending_secret_naming_another_target_is_refused_with_nothing_sent_for_every_strategy() {
    for strategy in ["single-user", "admin", "alternating-users"] {
        for (field, to, what) in [
            ("host", json!("other.internal"), "host"),
            ("port", json!(5433), "port"),
            ("dbname", json!("otherdb"), "database"),
            ("engine", json!("fake-aurora"), "engine"),
            ("username", json!("root"), "user"),
        ] {
            let engine = FakeEngine::with_users(&[("app", "cur-pw"), ("root", "root-pw"), ("admin", "admin-pw")]);
            let store = Store { previous: Some(user("app", "prev-pw")), abandoned: vec![user("app", "old-pw")] }.mock();
            let other = if strategy == "alternating-users" { "app_clone" } else { "app" };
            let pending = with(&user(other, "new-pw"), field, to);
            let error =
                set(&target(&engine, strategy, &[]), &store, &user("app", "cur-pw"), &pending, None).await.unwrap_err();
            let case = format!("{strategy} {field}");
            assert_eq!(error.error_type(), "ConfusedDeputy", "{case}: {error}");
            assert!(error.to_string().contains(&format!("another {what} than the current one")), "{case}: {error}");
            assert!(engine.calls().is_empty(), "{case}: nothing sent to any server: {:?}", engine.calls());
            assert_eq!(store.reads(), 0, "{case}: nothing read");
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// testSecret.

/// testSecret logs in as the pending user (a probe session, never the admin) and runs `TEST_QUERY`; a refused
/// password is tried again, for a new password still reaching every node.
#[tokio::test(start_paused = true)]
async fn test_secret_probes_as_the_pending_user_until_its_password_propagates() {
    let engine = FakeEngine::with_users(&[("app", "cur-pw"), ("app_clone", "new-pw"), ("admin", "admin-pw")]);
    engine.server.lock().unwrap().lagging_logins = 2;
    let target = target(&engine, "alternating-users", &[("TEST_QUERY", "SELECT 42")]);
    let pending = Secret::parse(APP, &user("app_clone", "new-pw").to_string());
    target.test(&TestContext::new(&pending)).await.unwrap();
    let probe_login = Call::Login {
        address: format!("{HOST}:{PORT}"),
        dbname: Some("appdb".into()),
        user: "app_clone".into(),
        password: "new-pw".into(),
        purpose: Purpose::Probe,
    };
    assert_eq!(
        engine.calls(),
        [
            probe_login.clone(),
            probe_login.clone(),
            probe_login,
            Call::Probe { user: "app_clone".into(), query: "SELECT 42".into() },
        ]
    );
}

/// A password that never logs in fails testSecret after `TEST_ATTEMPTS` tries, or sooner when another try could
/// not end before the invocation's deadline (a login and the probe: `CONNECT_TIMEOUT_SECONDS` and
/// `STATEMENT_TIMEOUT_SECONDS` plus a second), so the step reports its own error in time.
#[tokio::test]
async fn test_secret_retries_stop_after_test_attempts_or_before_the_deadline() {
    // One try may take 1 + 1 + 1 = 3 s; the waits between tries are 0.5 s, then 1 s.
    let env = [("TEST_ATTEMPTS", "3"), ("CONNECT_TIMEOUT_SECONDS", "1"), ("STATEMENT_TIMEOUT_SECONDS", "1")];
    for (deadline, tries) in [(None, 3), (Some(Duration::from_millis(3_700)), 2), (Some(Duration::from_secs(2)), 1)] {
        let engine = FakeEngine::with_users(&[("app", "other-pw")]);
        let target = target(&engine, "single-user", &env);
        let pending = Secret::parse(APP, &user("app", "new-pw").to_string());
        let ctx = TestContext::new(&pending).until(deadline.map(|d| Instant::now() + d));
        let error = target.test(&ctx).await.unwrap_err();
        assert!(error.is_authentication_failure(), "{deadline:?}: {error}");
        assert_eq!(engine.logins(), vec![("app".to_owned(), "new-pw".to_owned()); tries], "{deadline:?}");
        assert!(engine.statements().is_empty(), "{deadline:?}: no probe without a login");
    }
}

/// The tests above rely on the fake refusing a wrong password as a server does, so that the default proof of
/// possession holds for the right one only.
#[tokio::test]
async fn the_fake_logs_in_with_the_right_password_only() {
    let engine = FakeEngine::with_users(&[("app", "cur-pw")]);
    let config = DatabaseConfig::from_env(&Env::default()).unwrap();
    let fields = |password: &str| engine.connection(&Secret::parse(APP, &user("app", password).to_string())).unwrap();
    let mode = TlsMode::VerifyFull;
    assert!(engine.login(&config, &fields("cur-pw"), mode, Purpose::Rotor).await.is_ok());
    let refused = engine.login(&config, &fields("wrong-pw"), mode, Purpose::Rotor).await.unwrap_err();
    assert!(refused.is_authentication_failure(), "{refused}");
    assert!(engine.proves(&config, &fields("cur-pw"), mode).await.unwrap());
    assert!(!engine.proves(&config, &fields("wrong-pw"), mode).await.unwrap());
}
