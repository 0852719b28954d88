//! MongoDB and Amazon DocumentDB users end to end: `rotate-mongodb` (single user, admin) and
//! `rotate-mongodb-alternating` through the Lambda runtime API and the local endpoint, against the declared
//! stand-in for both (SecantusDB, [`MongoServer`]): SCRAM over TLS verified against the test CA, AWS's MongoDB
//! secret shape (`engine` `mongo`, `port`, `dbname` the user's authentication database, `masterarn`, `ssl`). Every
//! user of a test has a unique name: the server is shared and outlives the run.

use mongodb::bson::{Bson, Document, bson, doc};
use mongodb::error::ErrorKind;
use serde_json::{Value, json};

use crate::harness::{Function, Harness, free_port, unique};
use crate::mongodb_server::MongoServer;
use crate::postgres::ARN_PREFIX;

/// The authentication database of every user of these tests, as AWS's functions default `dbname`.
const AUTH_DB: &str = "admin";

/// How a case's function rotates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// `rotate-mongodb` as deployed by default: the user changes its own password.
    SingleUser,
    /// `rotate-mongodb` with `ROTATION_STRATEGY=admin`: the admin secret's user changes it.
    Admin,
    /// `rotate-mongodb-alternating` as deployed by default: the admin alternates `<user>` and `<user>_clone`.
    AlternatingUsers,
}

impl Strategy {
    /// The binary that rotates with this strategy.
    pub fn function(self) -> &'static str {
        match self {
            Self::AlternatingUsers => "rotate-mongodb-alternating",
            Self::SingleUser | Self::Admin => "rotate-mongodb",
        }
    }

    /// `ROTATION_STRATEGY`, when the binary's default is not this strategy.
    fn setting(self) -> Option<&'static str> {
        (self == Self::Admin).then_some("admin")
    }

    /// Whether the strategy uses the admin secret (`masterarn`).
    fn needs_admin(self) -> bool {
        self != Self::SingleUser
    }
}

/// One test's function, admin, users and secrets on the shared [`MongoServer`].
pub struct MongoCase {
    /// The emulator, the endpoint and the case's function.
    pub h: Harness,
    /// The shared MongoDB-wire server.
    pub server: MongoServer,
    /// The case's strategy.
    pub strategy: Strategy,
    /// The function that rotates the case's secrets.
    pub function: &'static str,
    /// The user of the case's secret.
    pub user: String,
    /// The admin (`userAdminAnyDatabase` and `readAnyDatabase` on `admin`); never the rotated user.
    pub admin: String,
    /// The admin's password.
    pub admin_password: String,
    /// The admin secret, which the function's `ADMIN_SECRET_ARNS` allows.
    pub admin_arn: String,
    /// The case's user secret.
    pub arn: String,
    /// A custom role with the `changeOwnPassword` action only, which SecantusDB requires of a user that changes
    /// its own password.
    pub own_password_role: String,
    /// Every user secret of the case and the passwords of the users it made besides them, for the leak checks.
    made: std::sync::Mutex<(Vec<String>, Vec<String>)>,
}

/// A password for a user the test creates.
fn password() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `[{role, db}]` for `(role, db)` pairs.
fn roles(pairs: &[(&str, &str)]) -> Bson {
    Bson::Array(pairs.iter().map(|(role, db)| Bson::Document(doc! { "role": *role, "db": *db })).collect())
}

/// `(role, db)` pairs as [`MongoServer::roles_of`] gives them, sorted.
fn pairs(of: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = of.iter().map(|(r, d)| ((*r).to_owned(), (*d).to_owned())).collect();
    pairs.sort();
    pairs
}

impl MongoCase {
    /// An admin and a user (`readWrite` on `app`, and for the single user the role that lets it change its own
    /// password) on the shared server, the admin secret and the user's secret in AWS's shape on the local endpoint,
    /// and the strategy's function running with `extra_env`.
    pub async fn setup(strategy: Strategy, user: &str, extra_env: Vec<(String, String)>) -> Self {
        let server = MongoServer::get();
        let function = strategy.function();
        let admin_name = unique("mongo-admin");
        let mut env = vec![
            ("ADMIN_SECRET_ARNS".to_owned(), format!("{ARN_PREFIX}{admin_name}-*")),
            ("TLS_CA_BUNDLE".to_owned(), server.ca().display().to_string()),
            ("TEST_ATTEMPTS".to_owned(), "2".to_owned()),
            ("CONNECT_TIMEOUT_SECONDS".to_owned(), "2".to_owned()),
        ];
        if let Some(setting) = strategy.setting() {
            env.push(("ROTATION_STRATEGY".to_owned(), setting.to_owned()));
        }
        env.extend(extra_env);
        let h = Harness::start(vec![Function { name: function, env }]).await;

        let own_password_role = unique("own_password");
        let change_own = bson!([{ "resource": { "db": "", "collection": "" }, "actions": ["changeOwnPassword"] }]);
        server.create_role(AUTH_DB, &own_password_role, change_own, Bson::Array(vec![])).await;
        let (admin, admin_password) = (unique("mongo_admin"), password());
        let admin_roles = roles(&[("userAdminAnyDatabase", "admin"), ("readAnyDatabase", "admin")]);
        server.create_user(AUTH_DB, &admin, &admin_password, admin_roles).await;
        let admin_arn =
            h.create_secret(&admin_name, &server.secret_json(&admin, &admin_password, AUTH_DB).to_string()).await;
        let mut case = Self {
            h,
            server,
            strategy,
            function,
            user: user.to_owned(),
            admin,
            admin_password,
            admin_arn,
            arn: String::new(),
            own_password_role,
            made: Default::default(),
        };
        let user_password = case.create_user(user, &[("readWrite", "app")]).await;
        case.arn = case.add_secret(user, &user_password).await;
        case
    }

    /// Creates `name` in the authentication database with `extra` roles besides the case's usual ones (for the
    /// single user, the role to change its own password); returns its password.
    pub async fn create_user(&self, name: &str, extra: &[(&str, &str)]) -> String {
        self.create_user_in(AUTH_DB, name, extra).await
    }

    /// [`MongoCase::create_user`] in the authentication database `db`.
    pub async fn create_user_in(&self, db: &str, name: &str, extra: &[(&str, &str)]) -> String {
        let mut granted: Vec<(&str, &str)> = extra.to_vec();
        if self.strategy == Strategy::SingleUser {
            granted.push((&self.own_password_role, AUTH_DB));
        }
        let password = password();
        self.server.create_user(db, name, &password, roles(&granted)).await;
        self.made.lock().unwrap().1.push(password.clone());
        password
    }

    /// Stores a secret for `user` in AWS's MongoDB shape (with `masterarn` for the strategies that use the admin,
    /// and a field of the operator's that every rotation must keep); returns its ARN.
    pub async fn add_secret(&self, user: &str, password: &str) -> String {
        self.add_secret_in(AUTH_DB, user, password).await
    }

    /// [`MongoCase::add_secret`] for a user of the authentication database `db`.
    pub async fn add_secret_in(&self, db: &str, user: &str, password: &str) -> String {
        let mut secret = self.server.secret_json(user, password, db);
        if self.strategy.needs_admin() {
            secret["masterarn"] = json!(self.admin_arn);
        }
        secret["team"] = json!("payments");
        let arn = self.h.create_secret(&unique("mongo-app"), &secret.to_string()).await;
        self.made.lock().unwrap().0.push(arn.clone());
        arn
    }

    /// Runs the configuration test of `arn` with the case's function, which must pass.
    pub async fn configure(&self, arn: &str) {
        let record = self.h.configure_rotation(arn, self.function).await;
        assert_eq!(record["state"], "succeeded", "the configuration test logs in with the current secret: {record}");
    }

    /// Rotates the case's secret now and waits for the rotation's record.
    pub async fn rotate(&self) -> Value {
        self.rotate_secret(&self.arn).await
    }

    /// Rotates `arn` (configured already) now and waits for the rotation's record.
    pub async fn rotate_secret(&self, arn: &str) -> Value {
        self.h.client.rotate_secret().secret_id(arn).send().await.unwrap();
        self.h.wait_rotation(arn).await
    }

    /// The case's secret at `stage`.
    pub async fn secret(&self, stage: &str) -> Value {
        self.value(&self.arn, stage).await
    }

    /// `arn`'s value at `stage`.
    pub async fn value(&self, arn: &str, stage: &str) -> Value {
        serde_json::from_str(&self.h.value(arn, stage).await).unwrap()
    }

    /// Puts `value` as the case's secret's AWSCURRENT, as an operator would.
    pub async fn put(&self, value: &Value) {
        self.put_value(&self.arn, value).await;
    }

    /// Puts `value` as `arn`'s AWSCURRENT.
    pub async fn put_value(&self, arn: &str, value: &Value) {
        self.h.client.put_secret_value().secret_id(arn).secret_string(value.to_string()).send().await.unwrap();
    }

    /// Whether `secret`'s user logs in with its password to its authentication database.
    pub async fn logs_in(&self, secret: &Value) -> bool {
        let field = |name: &str| secret[name].as_str().unwrap().to_owned();
        self.server.login(&field("username"), &field("password"), &field("dbname")).await.is_ok()
    }

    /// Asserts that the server refuses `secret`'s password for its user: an authentication failure, not a
    /// connection that failed for another reason.
    pub async fn assert_refused(&self, secret: &Value, what: &str) {
        let field = |name: &str| secret[name].as_str().unwrap().to_owned();
        let error = self
            .server
            .login(&field("username"), &field("password"), &field("dbname"))
            .await
            .expect_err(&format!("{what}: the password is refused"));
        assert!(matches!(&*error.kind, ErrorKind::Authentication { .. }), "{what}: {error}");
    }

    /// Asserts that `secret` is `original` with only its password (and for alternating users its username)
    /// changed, in AWS's MongoDB shape: `engine` `mongo`, the port a number, `dbname` the authentication database.
    pub fn assert_aws_shape(&self, secret: &Value, original: &Value, what: &str) {
        assert_eq!(secret["engine"], "mongo", "{what}: {secret}");
        assert_eq!(secret["port"], json!(self.server.port), "{what}: the port keeps its number form");
        assert_eq!(secret["dbname"], AUTH_DB, "{what}");
        assert_eq!(secret["ssl"], true, "{what}");
        let mut kept = secret.clone();
        let mut expected = original.clone();
        for field in ["password", "username"] {
            kept.as_object_mut().unwrap().remove(field);
            expected.as_object_mut().unwrap().remove(field);
        }
        assert_eq!(kept, expected, "{what}: every other field is kept as it was");
        assert_ne!(secret["password"], original["password"], "{what}: a new password");
    }

    /// Grants `granted` to `user` (in the authentication database) as root.
    pub async fn grant(&self, user: &str, granted: &[(&str, &str)]) {
        self.as_root(doc! { "grantRolesToUser": user, "roles": roles(granted) }).await;
    }

    /// Revokes `revoked` from `user` as root.
    pub async fn revoke(&self, user: &str, revoked: &[(&str, &str)]) {
        self.as_root(doc! { "revokeRolesFromUser": user, "roles": roles(revoked) }).await;
    }

    async fn as_root(&self, command: Document) {
        let root = self.server.root().await;
        let reply = root.database(AUTH_DB).run_command(command.clone()).await;
        root.shutdown().await;
        reply.unwrap_or_else(|error| panic!("{command}: {error}"));
    }

    /// No log line of the test's processes, and nothing in the server's log, shows a password of any version of
    /// any of the case's secrets, the admin's, or one of a user the case made.
    pub async fn assert_no_password_leaks(&self) {
        let (arns, mut values) = self.made.lock().unwrap().clone();
        values.push(self.admin_password.clone());
        for arn in &arns {
            let versions =
                self.h.client.list_secret_version_ids().secret_id(arn).include_deprecated(true).send().await.unwrap();
            for version in versions.versions() {
                let value =
                    self.h.client.get_secret_value().secret_id(arn).version_id(version.version_id().unwrap()).send();
                if let Ok(value) = value.await {
                    let secret: Value = serde_json::from_str(value.secret_string().unwrap()).unwrap();
                    values.push(secret["password"].as_str().unwrap().to_owned());
                }
            }
        }
        self.h.assert_no_leaks(&values);
        let log = self.server.log();
        assert!(log.contains(&self.server.port.to_string()), "the server's log is the TLS server's: {log}");
        for value in values.iter().filter(|v| v.len() >= 8) {
            assert!(!log.contains(value.as_str()), "the server's log holds a password");
        }
    }
}

#[tokio::test]
async fn single_user_rotates_five_times_and_the_old_password_is_refused() {
    let case = MongoCase::setup(Strategy::SingleUser, &unique("app"), vec![]).await;
    case.configure(&case.arn).await;
    let original = case.secret("AWSCURRENT").await;
    for round in 1..=5 {
        let before = case.h.holding(&case.arn, "AWSCURRENT").await.unwrap();
        let old = case.secret("AWSCURRENT").await;
        let record = case.rotate().await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}");
        let current = case.secret("AWSCURRENT").await;
        assert!(case.logs_in(&current).await, "round {round}: AWSCURRENT logs in");
        case.assert_refused(&old, &format!("round {round}: the old password")).await;
        assert_eq!(case.h.holding(&case.arn, "AWSPREVIOUS").await, Some(before), "round {round}");
        assert_eq!(current["username"], case.user.as_str(), "round {round}: the same user");
        case.assert_aws_shape(&current, &original, &format!("round {round}"));
    }
    case.assert_no_password_leaks().await;
}

#[tokio::test]
async fn the_admin_rotates_five_times_a_user_that_may_not_change_its_own_password() {
    let case = MongoCase::setup(Strategy::Admin, &unique("app"), vec![]).await;
    let original = case.secret("AWSCURRENT").await;
    let as_user = case.server.client(&case.user, original["password"].as_str().unwrap(), AUTH_DB).await;
    let refused = as_user.database(AUTH_DB).run_command(doc! { "updateUser": &case.user, "pwd": password() }).await;
    as_user.shutdown().await;
    let refused = refused.expect_err("the user itself may not change its password: only the admin can rotate it");
    assert!(matches!(&*refused.kind, ErrorKind::Command(e) if e.code_name == "Unauthorized"), "{refused}");
    case.configure(&case.arn).await;
    for round in 1..=5 {
        let old = case.secret("AWSCURRENT").await;
        let record = case.rotate().await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}");
        let current = case.secret("AWSCURRENT").await;
        assert!(case.logs_in(&current).await, "round {round}: AWSCURRENT logs in");
        case.assert_refused(&old, &format!("round {round}: the old password")).await;
        assert_eq!(current["username"], case.user.as_str(), "round {round}: the same user");
        case.assert_aws_shape(&current, &original, &format!("round {round}"));
    }
    let admin = json!({"username": case.admin, "password": case.admin_password, "dbname": AUTH_DB});
    assert!(case.logs_in(&admin).await, "the admin's own password is unchanged");
    assert_eq!(case.server.roles_of(AUTH_DB, &case.user).await, Some(pairs(&[("readWrite", "app")])));
    case.assert_no_password_leaks().await;
}

#[tokio::test]
async fn alternating_users_take_turns_five_times_and_the_previous_user_still_logs_in() {
    let case = MongoCase::setup(Strategy::AlternatingUsers, &unique("app"), vec![]).await;
    let (base, clone) = (case.user.clone(), format!("{}_clone", case.user));
    assert_eq!(case.server.roles_of(AUTH_DB, &clone).await, None, "the first rotation creates the clone");
    case.configure(&case.arn).await;
    let original = case.secret("AWSCURRENT").await;
    let mut values = vec![original.clone()];
    for round in 1..=5 {
        let record = case.rotate().await;
        assert_eq!(record["state"], "succeeded", "round {round}: {record}");
        let current = case.secret("AWSCURRENT").await;
        let previous = case.secret("AWSPREVIOUS").await;
        let expected = if round % 2 == 1 { &clone } else { &base };
        assert_eq!(current["username"], expected.as_str(), "round {round}: the users alternate");
        assert!(case.logs_in(&current).await, "round {round}: AWSCURRENT logs in");
        assert_eq!(previous, values[round - 1], "round {round}: AWSPREVIOUS is the value before");
        assert!(case.logs_in(&previous).await, "round {round}: AWSPREVIOUS, the other user, still logs in");
        if round >= 2 {
            // The value two rotations back is the current user's, with the password this rotation replaced.
            case.assert_refused(&values[round - 2], &format!("round {round}: the replaced password")).await;
        }
        case.assert_aws_shape(&current, &original, &format!("round {round}"));
        assert_eq!(
            case.server.roles_of(AUTH_DB, &clone).await,
            case.server.roles_of(AUTH_DB, &base).await,
            "round {round}: the clone holds the user's roles"
        );
        values.push(current);
    }
    case.assert_no_password_leaks().await;
}

#[tokio::test]
async fn alternating_users_roles_follow_the_active_user_both_ways() {
    let case = MongoCase::setup(Strategy::AlternatingUsers, &unique("app"), vec![]).await;
    let (base, clone) = (case.user.clone(), format!("{}_clone", case.user));
    // A custom role of another database, as well as built-in ones.
    let reader = unique("reader");
    let find = bson!([{ "resource": { "db": "reports", "collection": "" }, "actions": ["find"] }]);
    case.server.create_role("reports", &reader, find, Bson::Array(vec![])).await;
    case.configure(&case.arn).await;
    let of = |user: &str| {
        let user = user.to_owned();
        let server = &case.server;
        async move { server.roles_of(AUTH_DB, &user).await.expect("the user exists") }
    };

    // Round 1 creates the clone with the user's roles.
    assert_eq!(case.rotate().await["state"], "succeeded");
    assert_eq!(of(&clone).await, pairs(&[("readWrite", "app")]), "the clone gets the user's roles");
    assert_eq!(of(&base).await, of(&clone).await);

    // A role granted to the active user (the clone now) reaches the other one.
    case.grant(&clone, &[(&reader, "reports")]).await;
    assert_eq!(case.rotate().await["state"], "succeeded");
    assert_eq!(case.secret("AWSCURRENT").await["username"], base.as_str());
    let both = pairs(&[("readWrite", "app"), (&reader, "reports")]);
    assert_eq!(of(&base).await, both, "the role granted to the active clone reached the user");
    assert_eq!(of(&clone).await, both);

    // What the active user (the base now) lost, and what the other one holds beyond it, is taken from the other.
    case.revoke(&base, &[(&reader, "reports")]).await;
    case.grant(&clone, &[("read", "extra")]).await;
    assert_eq!(case.rotate().await["state"], "succeeded");
    assert_eq!(case.secret("AWSCURRENT").await["username"], clone.as_str());
    let only = pairs(&[("readWrite", "app")]);
    assert_eq!(of(&clone).await, only, "the clone lost the revoked role and the one it held beyond the user");
    assert_eq!(of(&base).await, only);
    assert!(case.logs_in(&case.secret("AWSCURRENT").await).await);
    assert!(case.logs_in(&case.secret("AWSPREVIOUS").await).await);
    case.assert_no_password_leaks().await;
}

/// Names a MongoDB command or a connection string could mistake for something else: a quote, an operator, a
/// namespace separator, non-ASCII, a query document, an escape (a list, `a,b`, is SCRAM's problem: see
/// `a_user_name_with_a_comma_or_an_equals_sign_is_refused_naming_the_field`). `{t}` is replaced by a token of the
/// test's own: the server is shared.
const HOSTILE_NAMES: &[&str] =
    &["x{t}\"y{t}", "$where{t}", "a{t}.b{t}", "ユーザー{t}", "{\"$ne\":\"{t}\"}", "back{t}\\slash{t}"];

#[tokio::test]
async fn hostile_user_names_rotate_and_never_touch_another_user() {
    for strategy in [Strategy::SingleUser, Strategy::Admin, Strategy::AlternatingUsers] {
        let case = MongoCase::setup(strategy, &unique("app"), vec![]).await;
        let token = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        let names: Vec<String> = HOSTILE_NAMES.iter().map(|name| name.replace("{t}", &token)).collect();
        // The users a name could be mistaken for: its pieces between the hostile characters.
        let mut bystanders: Vec<String> = names
            .iter()
            .flat_map(|name| name.split(|c: char| !c.is_alphanumeric()).map(str::to_owned).collect::<Vec<_>>())
            .filter(|piece| piece.contains(&token) && !names.contains(piece))
            .collect();
        bystanders.sort();
        bystanders.dedup();
        let (mut others, mut their_roles) = (Vec::new(), Vec::new());
        for bystander in &bystanders {
            others.push((bystander.clone(), case.create_user(bystander, &[("read", "app")]).await));
            their_roles.push(case.server.roles_of(AUTH_DB, bystander).await);
        }
        // The case's own user and the admin are bystanders too.
        others.push((case.user.clone(), case.secret("AWSCURRENT").await["password"].as_str().unwrap().to_owned()));
        others.push((case.admin.clone(), case.admin_password.clone()));

        for name in &names {
            let what = format!("{strategy:?} {name:?}");
            let first = case.create_user(name, &[("readWrite", "app")]).await;
            let arn = case.add_secret(name, &first).await;
            case.configure(&arn).await;
            for round in 1..=2 {
                let old = case.value(&arn, "AWSCURRENT").await;
                let record = case.rotate_secret(&arn).await;
                assert_eq!(record["state"], "succeeded", "{what} round {round}: {record}");
                let current = case.value(&arn, "AWSCURRENT").await;
                assert!(case.logs_in(&current).await, "{what} round {round}: AWSCURRENT logs in");
                if strategy == Strategy::AlternatingUsers {
                    let expected = if round == 1 { format!("{name}_clone") } else { name.clone() };
                    assert_eq!(current["username"], expected.as_str(), "{what} round {round}");
                    assert!(case.logs_in(&old).await, "{what} round {round}: the other user still logs in");
                } else {
                    assert_eq!(current["username"], name.as_str(), "{what} round {round}");
                    case.assert_refused(&old, &format!("{what} round {round}")).await;
                }
            }
            for (other, password) in &others {
                let login = json!({"username": other, "password": password, "dbname": AUTH_DB});
                assert!(case.logs_in(&login).await, "{what}: {other:?}'s password is unchanged");
            }
        }
        for (bystander, roles) in bystanders.iter().zip(&their_roles) {
            assert_eq!(
                &case.server.roles_of(AUTH_DB, bystander).await,
                roles,
                "{strategy:?}: {bystander:?}'s roles are unchanged"
            );
            let clone = format!("{bystander}_clone");
            assert_eq!(case.server.roles_of(AUTH_DB, &clone).await, None, "{strategy:?}: no {clone:?} was made");
        }
        case.assert_no_password_leaks().await;
    }
}

#[tokio::test]
async fn the_admin_refuses_itself_and_users_that_manage_users_by_the_role_that_does() {
    let case = MongoCase::setup(Strategy::Admin, &unique("app"), vec![]).await;
    case.configure(&case.arn).await;
    // A user that may change only its own password is no administrator: it rotates.
    let ordinary = unique("own");
    let ordinary_arn =
        case.add_secret(&ordinary, &case.create_user(&ordinary, &[(&case.own_password_role, AUTH_DB)]).await).await;
    case.configure(&ordinary_arn).await;
    assert_eq!(case.rotate_secret(&ordinary_arn).await["state"], "succeeded", "changeOwnPassword is no admin right");

    // A custom role holding grantRole, granted through another custom role.
    let (grants, outer) = (unique("grants"), unique("outer"));
    let grant_role = bson!([{ "resource": { "db": "app", "collection": "" }, "actions": ["grantRole"] }]);
    case.server.create_role(AUTH_DB, &grants, grant_role, Bson::Array(vec![])).await;
    case.server.create_role(AUTH_DB, &outer, Bson::Array(vec![]), roles(&[(&grants, AUTH_DB)])).await;
    let targets = [
        (unique("root"), vec![("root", AUTH_DB)], "the built-in role root@admin".to_owned()),
        (
            unique("useradmin"),
            vec![("userAdminAnyDatabase", AUTH_DB), ("readWrite", "app")],
            "the built-in role userAdminAnyDatabase@admin".to_owned(),
        ),
        (unique("granter"), vec![(outer.as_str(), AUTH_DB)], format!("the grantRole action (role {grants}@admin)")),
    ];
    for (target, granted, why) in &targets {
        let password = case.create_user(target, granted).await;
        let arn = case.add_secret(target, &password).await;
        case.configure(&arn).await;
        let record = case.rotate_secret(&arn).await;
        assert_eq!(record["state"], "failed", "{target}: {record}");
        assert_eq!(record["error_type"], "ConfusedDeputy", "{target}: {record}");
        let message = record["error_message"].as_str().unwrap();
        assert!(message.contains(&format!("user {target:?} holds administrative rights")), "{message}");
        assert!(message.contains(why.as_str()), "{target}: the role is named: {message}");
        assert!(message.contains("ALLOW_PRIVILEGED_USERS"), "{message}");
        assert!(case.logs_in(&case.value(&arn, "AWSCURRENT").await).await, "{target}: AWSCURRENT still logs in");
    }

    // A user secret holding the admin's own credential.
    let own = case.add_secret(&case.admin, &case.admin_password).await;
    case.configure(&own).await;
    let record = case.rotate_secret(&own).await;
    assert_eq!(record["error_type"], "ConfusedDeputy", "{record}");
    assert!(record["error_message"].as_str().unwrap().contains("is the admin secret's own user"), "{record}");
    // And the case's secret aimed at the admin, bound to it by an administrator's rotor:user tag.
    let good = case.secret("AWSCURRENT").await;
    let pin = format!("{}@localhost:{}/{AUTH_DB}", case.admin, case.server.port);
    crate::identity::bind(&case.h, &case.arn, &pin).await;
    let mut aimed = good.clone();
    aimed["username"] = json!(case.admin);
    case.put(&aimed).await;
    let record = case.rotate().await;
    assert_eq!(record["error_type"], "ConfusedDeputy", "{record}");
    let message = record["error_message"].as_str().unwrap();
    assert!(message.contains(&format!("user {:?} is the admin secret's own user", case.admin)), "{message}");
    let admin = json!({"username": case.admin, "password": case.admin_password, "dbname": AUTH_DB});
    assert!(case.logs_in(&admin).await, "the admin's password holds");
    assert!(case.logs_in(&good).await, "the user's password holds");
    case.assert_no_password_leaks().await;
}

/// Asserts a failed rotation's record: the error type and a message naming the cause.
fn assert_failed(record: &Value, error_type: &str, messages: &[&str], what: &str) {
    assert_eq!(record["state"], "failed", "{what}: {record}");
    assert_eq!(record["error_type"], error_type, "{what}: {record}");
    let message = record["error_message"].as_str().unwrap();
    for expected in messages {
        assert!(message.contains(expected), "{what}: {expected:?} in {message}");
    }
}

#[tokio::test]
async fn bad_input_fails_the_step_clearly_and_the_current_credential_still_logs_in() {
    let case = MongoCase::setup(Strategy::SingleUser, &unique("app"), vec![]).await;
    case.configure(&case.arn).await;
    let good = case.secret("AWSCURRENT").await;
    let closed = free_port();
    let cases: Vec<(&str, Value, &str, Vec<String>)> = vec![
        (
            "password",
            json!("not-the-password"),
            "TargetAuthenticationFailed",
            vec!["neither the pending, the current, the previous nor an abandoned rotation's password".into()],
        ),
        (
            "port",
            json!(closed),
            "TargetUnreachable",
            vec![format!("cannot reach localhost:{closed}"), "no MongoDB server answered".into()],
        ),
        (
            "ssl",
            json!(false),
            "InvalidSecret",
            vec!["`ssl` asks for TLS mode disable".into(), "TLS_MIN_MODE=verify-ca".into()],
        ),
    ];
    for (field, value, error_type, messages) in cases {
        let mut broken = good.clone();
        broken[field] = value;
        // Twice, so that AWSPREVIOUS is broken too (setSecret falls back to the previous password).
        case.put(&broken).await;
        case.put(&broken).await;
        let record = case.rotate().await;
        let messages: Vec<&str> = messages.iter().map(String::as_str).collect();
        assert_failed(&record, error_type, &messages, field);
        case.put(&good).await;
        assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "{field}: AWSCURRENT still logs in");
    }

    // A pending version that names another host (a writer of the secret aiming the rotation elsewhere).
    let mut elsewhere = good.clone();
    elsewhere["host"] = json!("127.0.0.2");
    elsewhere["password"] = json!("Another-server-1");
    let refused = case.h.set_secret_with_pending(case.function, &case.arn, &elsewhere).await;
    let (error_type, message) = refused.expect_err("refused");
    assert_eq!(error_type, "ConfusedDeputy", "{message}");
    assert!(message.contains("the pending secret names another host"), "{message}");
    assert!(case.logs_in(&good).await, "the user's password did not change");
    case.assert_no_password_leaks().await;
}

#[tokio::test]
async fn an_untrusted_ca_stops_the_rotation_before_any_login() {
    let server = MongoServer::get();
    let other_ca = server.dir.join("other-ca.pem").display().to_string();
    let case = MongoCase::setup(Strategy::SingleUser, &unique("app"), vec![("TLS_CA_BUNDLE".into(), other_ca)]).await;
    let good = case.secret("AWSCURRENT").await;
    let before = case.server.log().len();
    case.h.rotate(&case.arn, case.function).await;
    let record = case.h.wait_rotation(&case.arn).await;
    let address = format!("localhost:{}", case.server.port);
    assert_failed(&record, "TargetTlsFailed", &[&address, "TLS in mode verify-full failed", "never falls back"], "CA");
    let log = case.server.log();
    assert!(log.get(before..).unwrap_or_default().contains("unknown ca"), "the server saw the handshake fail");
    assert_eq!(case.secret("AWSCURRENT").await, good);
    assert!(case.logs_in(&good).await, "the user's password is unchanged");
    case.assert_no_password_leaks().await;
}

#[tokio::test]
async fn doctor_checks_a_mongodb_secret_its_server_and_its_admin_with_fixes() {
    let case = MongoCase::setup(Strategy::AlternatingUsers, &unique("app"), vec![]).await;
    let ca = format!("TLS_CA_BUNDLE={}", case.server.ca().display());
    let admins = format!("ADMIN_SECRET_ARNS={}", case.admin_arn);
    let printed = std::cell::RefCell::new(String::new());
    let doctor = |arn: &str, function: &str, extra: &[&str]| {
        let mut args = vec!["doctor", arn, "--function", function, "--env", &ca, "--env", &admins];
        args.extend_from_slice(extra);
        let (ok, out) = crate::rotatectl::rotatectl(&case.h, &args);
        printed.borrow_mut().push_str(&out);
        (ok, out)
    };
    let (ok, out) = doctor(&case.arn, "mongodb-alternating", &[]);
    assert!(ok, "{out}");
    let reachable = format!("PASS  localhost:{} is reachable over TLS (verify-full)", case.server.port);
    assert!(out.contains(&reachable) && out.contains("the current credential logs in"), "{out}");
    assert!(out.contains(&format!("PASS  the other user's name \"{}_clone\"", case.user)), "{out}");
    assert!(out.contains("PASS  the admin may change other users' passwords"), "{out}");
    assert!(out.contains("all checks passed"), "{out}");
    let (ok, out) = doctor(&case.arn, "mongodb", &["--env", "ROTATION_STRATEGY=admin"]);
    assert!(ok && out.contains("PASS  the admin logs in"), "{out}");

    let (ok, out) = doctor(&case.arn, "mongodb", &["--env", "TLS_MODE=verify-ca"]);
    assert!(
        !ok && out.contains("FAIL  the function's settings") && out.contains("verify-ca is not available"),
        "{out}"
    );

    // A user the admin would refuse.
    let boss = unique("boss");
    let boss_password = case.create_user(&boss, &[("root", AUTH_DB)]).await;
    let boss_arn = case.add_secret(&boss, &boss_password).await;
    let (ok, out) = doctor(&boss_arn, "mongodb", &["--env", "ROTATION_STRATEGY=admin"]);
    assert!(!ok && out.contains(&format!("FAIL  user {boss:?} is no administrator")), "{out}");
    assert!(out.contains("the built-in role root@admin"), "{out}");

    // An admin that may no longer manage users.
    case.revoke(&case.admin, &[("userAdminAnyDatabase", AUTH_DB)]).await;
    let (ok, out) = doctor(&case.arn, "mongodb-alternating", &[]);
    assert!(!ok && out.contains("FAIL  the admin may change other users' passwords"), "{out}");
    assert!(out.contains("userAdminAnyDatabase") && out.contains("grant it"), "{out}");

    let mut wrong = case.secret("AWSCURRENT").await;
    wrong["password"] = json!("not-the-password");
    case.put(&wrong).await;
    let (ok, out) = doctor(&case.arn, "mongodb-alternating", &[]);
    assert!(
        !ok && out.contains(&format!("FAIL  localhost:{}", case.server.port)) && out.contains("was refused"),
        "{out}"
    );
    let printed = printed.into_inner();
    let current = case.secret("AWSPREVIOUS").await["password"].as_str().unwrap().to_owned();
    for password in ["not-the-password", &current, &case.admin_password, &boss_password] {
        assert!(!printed.contains(password), "doctor never prints a password");
    }
}

#[tokio::test]
async fn a_user_name_with_a_comma_or_an_equals_sign_is_refused_naming_the_field() {
    // SCRAM carries the user name in its first message, where `,` and `=` must be escaped (RFC 5802 5.1); a name
    // with them that no login can carry must be refused as the secret's fault, not as a wrong password.
    for strategy in [Strategy::SingleUser, Strategy::AlternatingUsers] {
        let case = MongoCase::setup(strategy, &unique("app"), vec![]).await;
        let token = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
        for name in [format!("a{token},b{token}"), format!("a{token}=b{token}")] {
            let what = format!("{strategy:?} {name:?}");
            let password = case.create_user(&name, &[("readWrite", "app")]).await;
            let arn = case.add_secret(&name, &password).await;
            case.h.rotate(&arn, case.function).await;
            let record = case.h.wait_rotation(&arn).await;
            assert_failed(&record, "InvalidSecret", &["field `username`"], &what);
            assert_eq!(case.server.roles_of(AUTH_DB, &format!("{name}_clone")).await, None, "{what}: no clone");
            assert!(case.logs_in(&case.secret("AWSCURRENT").await).await, "{what}: the case's user is untouched");
        }
        case.assert_no_password_leaks().await;
    }
}

#[tokio::test]
async fn the_admin_rotates_a_user_of_another_authentication_database() {
    // `dbname` is the user's authentication database; the admin logs in to its own (its secret's, `admin`).
    for strategy in [Strategy::Admin, Strategy::AlternatingUsers] {
        let case = MongoCase::setup(strategy, &unique("app"), vec![]).await;
        let name = unique("sales");
        let password = case.create_user_in("app", &name, &[("readWrite", "app")]).await;
        let arn = case.add_secret_in("app", &name, &password).await;
        case.configure(&arn).await;
        for round in 1..=2 {
            let old = case.value(&arn, "AWSCURRENT").await;
            let record = case.rotate_secret(&arn).await;
            assert_eq!(record["state"], "succeeded", "{strategy:?} round {round}: {record}");
            let current = case.value(&arn, "AWSCURRENT").await;
            assert_eq!(current["dbname"], "app", "{strategy:?} round {round}");
            assert!(case.logs_in(&current).await, "{strategy:?} round {round}: AWSCURRENT logs in");
            if strategy == Strategy::AlternatingUsers {
                assert!(case.logs_in(&old).await, "round {round}: AWSPREVIOUS, the other user, still logs in");
            } else {
                case.assert_refused(&old, &format!("round {round}: the old password")).await;
            }
        }
        case.assert_no_password_leaks().await;
    }
}

#[tokio::test]
async fn a_pinned_user_cannot_be_moved_to_a_namesake_in_another_database() {
    // A MongoDB user is a name in a database: the rotor:user tag names both, so a writer of the secret who moves its
    // dbname to another database reaches no namesake there, though the admin could change it.
    let case = MongoCase::setup(Strategy::Admin, &unique("app"), vec![]).await;
    case.configure(&case.arn).await;
    let good = case.secret("AWSCURRENT").await;
    let pin = format!("{}@localhost:{}/{AUTH_DB}", case.user, case.server.port);
    crate::identity::bind(&case.h, &case.arn, &pin).await;
    let namesake_password = case.create_user_in("sales", &case.user, &[("readWrite", "sales")]).await;
    let mut moved = good.clone();
    moved["dbname"] = json!("sales");
    case.put(&moved).await;
    let record = case.rotate().await;
    assert_eq!(record["state"], "failed", "{record}");
    assert_eq!(record["error_type"], "IdentityNotBound", "{record}");
    let namesake = json!({"username": case.user, "password": namesake_password, "dbname": "sales"});
    assert!(case.logs_in(&namesake).await, "the namesake in sales keeps its password");
    assert!(case.logs_in(&good).await, "the pinned user keeps its password");
    // The pinned user itself still rotates.
    case.put(&good).await;
    let record = case.rotate().await;
    assert_eq!(record["state"], "succeeded", "{record}");
    assert!(case.logs_in(&namesake).await, "the namesake is never touched");
    case.assert_no_password_leaks().await;
}
