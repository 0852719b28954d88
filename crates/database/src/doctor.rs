//! `rotatectl doctor`'s checks of a database credential, written once for every engine: the secret's fields, its
//! login, and for the admin strategies the admin secret loaded and pinned exactly as a rotation loads it
//! ([`load_admin`]), the admin's login and rights, and the users the admin would refuse. Nothing is changed.

use rotation_core::{Check, Init, RotationError, Secret, SetContext, with_causes};

use crate::admin::{load_admin, refuse_privileged};
use crate::config::DatabaseConfig;
use crate::engine::{Engine, Purpose, Session};
use crate::login::LoginFields;
use crate::strategy::Strategy;
use crate::target::DatabaseTarget;
use crate::tls_mode::TlsMode;

/// Every check of the credential `current` of `id` (a secret's ARN or a parameter's name) that `target` would
/// rotate: the user secret's own (its fields, its login), then, for the admin strategies, the admin secret read
/// through the function's own Secrets Manager client (`init.secrets`) with the checks a rotation's setSecret makes
/// (`ADMIN_SECRET_ARNS`, the user's own server), the admin's login, its rights, and the users it would refuse.
pub async fn doctor_checks<E: Engine>(
    target: &DatabaseTarget<E>,
    init: &Init,
    id: &str,
    current: &Secret,
) -> Vec<Check> {
    let mut checks = Vec::new();
    let Some((user, mode)) = login_checks(target.engine(), target.config(), current, &mut checks).await else {
        return checks;
    };
    if target.config().strategy.needs_admin() {
        // setSecret's reads; doctor has no pending value, so the current one stands in for it.
        let ctx = SetContext::new(id, current, current, &init.secrets);
        admin_checks(target, &ctx, &user, mode, &mut checks).await;
    }
    checks
}

/// The checks of the user secret itself, the same for every engine: its fields, its `ssl` field, for alternating
/// users the other user's name, and that the current credential logs in (in the secret's TLS mode), added to
/// `checks`; the user's connection and TLS mode when the fields parse, for the admin's checks.
async fn login_checks<E: Engine>(
    engine: &E,
    config: &DatabaseConfig,
    current: &Secret,
    checks: &mut Vec<Check>,
) -> Option<(LoginFields, TlsMode)> {
    let connection = record(checks, "the secret's fields fit the function", engine.connection(current));
    let mode = record(checks, "the secret's ssl field", config.tls.for_secret(current));
    let (connection, mode) = (connection?, mode?);
    if config.strategy == Strategy::AlternatingUsers {
        let other = engine.other_username(&connection.username);
        let name = format!("the other user's name {other:?} is one {} takes", engine.name());
        record(checks, name, engine.check_username(current, &other));
    }
    let login = engine.login(config, &connection, mode, Purpose::Rotor).await;
    let name = format!(
        "{} is reachable over TLS ({}) and the current credential logs in",
        connection.address(),
        mode.as_str()
    );
    record(checks, name, login.map(drop));
    Some((connection, mode))
}

/// The admin strategies' checks: the admin secret as [`load_admin`] reads and pins it, the admin's login and
/// rights, then the users it would refuse.
async fn admin_checks<E: Engine>(
    target: &DatabaseTarget<E>,
    ctx: &SetContext<'_>,
    user: &LoginFields,
    mode: TlsMode,
    checks: &mut Vec<Check>,
) {
    let (engine, config) = (target.engine(), target.config());
    if record(checks, "the secret names its admin secret (masterarn)", ctx.current.require_str("masterarn")).is_none() {
        return;
    }
    let admin = load_admin(ctx, target.rds(), user, config, engine).await;
    let name =
        "the function's ADMIN_SECRET_ARNS allows the admin secret, which can be read and manages the user's own server";
    let Some(admin) = record(checks, name, admin) else { return };
    let connection = engine.admin_connection(admin.connection);
    let login = engine.login(config, &connection, admin.mode, Purpose::Rotor).await;
    let Some(mut session) = record(checks, "the admin logs in", login) else { return };
    let rights = match engine.missing_admin_rights(&mut session).await {
        Ok(None) => Ok(()),
        Ok(Some(missing)) => Err(format!("{:?} lacks {missing}; grant it", connection.username)),
        Err(error) => Err(with_causes(&error)),
    };
    checks.push(Check::with_problem("the admin may change other users' passwords", rights));
    privileged_checks(engine, config, &mut session, user, mode, checks).await;
}

/// The users the admin acts on (for alternating users, the other one too: one not created yet holds no rights)
/// are neither the admin itself nor administrators, unless `ALLOW_PRIVILEGED_USERS` allows them: the refusal a
/// rotation makes before it changes anything.
async fn privileged_checks<E: Engine>(
    engine: &E,
    config: &DatabaseConfig,
    admin: &mut E::Session,
    user: &LoginFields,
    mode: TlsMode,
    checks: &mut Vec<Check>,
) {
    let found = engine.user(config, admin, user, mode).await;
    let Some(active) = record(checks, "the admin finds the user under the secret's name", found) else { return };
    let other = match config.strategy {
        // A name the engine cannot take is the other user's name check's failure.
        Strategy::AlternatingUsers => engine.alternate(&active, &engine.other_username(&user.username)).ok(),
        _ => None,
    };
    for found in std::iter::once(&active).chain(other.as_ref()) {
        let name = engine.user_name(found);
        let refused = match engine.privileged_rights(admin, found).await {
            Ok(rights) => refuse_privileged(config, admin.connection(), name, &rights),
            Err(error) => Err(error),
        };
        record(checks, format!("user {name:?} is no administrator (or ALLOW_PRIVILEGED_USERS is set)"), refused);
    }
}

/// Adds the check `name` of `result` to `checks`; the value when it passed.
fn record<T>(checks: &mut Vec<Check>, name: impl Into<String>, result: Result<T, RotationError>) -> Option<T> {
    checks.push(Check::of(name, &result));
    result.ok()
}
