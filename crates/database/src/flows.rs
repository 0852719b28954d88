//! The parts of setSecret and testSecret that are the same for every database.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::{Connection, Strategy, TlsMode, TlsPolicy, check_same_target};
use rotation_core::{Backoff, RotationError, Secret, SetContext, TargetErrorKind};

/// Whether setSecret first checks that the pending password already logs in (and then does nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingCheck {
    /// Check first: for engines where setting the same password again is not harmless (MySQL's `RETAIN CURRENT
    /// PASSWORD` would discard the retained one).
    First,
    /// Do not: setting it again is harmless (PostgreSQL), so the common path saves a refused login; a single
    /// user whose current password is refused still tries the pending one (a retry after the change).
    WhenCurrentIsRefused,
}

/// setSecret's common start: the current and pending connections, the confused-deputy check, and (with
/// [`PendingCheck::First`]) whether the pending password already logs in, in which case `None`: the work is done.
/// Not for alternating users: an interrupted earlier attempt may have set the password before it finished
/// bringing the user in line, so that (idempotent) work always runs.
pub async fn start_set<C, L, Fut, T>(
    ctx: &SetContext<'_>,
    strategy: Strategy,
    tls: TlsPolicy,
    check: PendingCheck,
    connection_of: C,
    login: L,
) -> Result<Option<(Connection, Connection)>, RotationError>
where
    C: Fn(&Secret) -> Result<Connection, RotationError>,
    L: FnOnce(Connection, TlsMode) -> Fut,
    Fut: Future<Output = Result<T, RotationError>>,
{
    let current = connection_of(ctx.current)?;
    let pending = connection_of(ctx.pending)?;
    check_same_target(&current, &pending, strategy)?;
    if strategy != Strategy::AlternatingUsers && check == PendingCheck::First {
        match login(pending.clone(), tls.for_secret(ctx.pending)?).await {
            Ok(_) => return Ok(None),
            Err(error) if error.is_authentication_failure() => {}
            Err(error) => return Err(error),
        }
    }
    // The last moment before the target changes anything: another rotation may have taken over.
    ctx.still_pending().await?;
    Ok(Some((current, pending)))
}

/// Single user: logs in with the current password and sets the pending one; when the current password is
/// refused (an earlier attempt was interrupted after the change, or a rotation abandoned after its setSecret
/// changed it), with the pending one, the previous one, then the values of abandoned rotations, each only when it names the
/// same host, port, database, engine and user as the current secret: nothing is ever sent to a server the
/// current secret does not name.
///
/// `connection_of` reads a secret's connection; `set` logs in with a connection in a TLS mode and sets the
/// pending password. The error when every password is refused says what to do.
pub async fn set_own_password<C, S, Fut>(
    ctx: &SetContext<'_>,
    tls: TlsPolicy,
    connection_of: C,
    mut set: S,
) -> Result<(), RotationError>
where
    C: Fn(&Secret) -> Result<Connection, RotationError>,
    S: FnMut(Connection, TlsMode) -> Fut,
    Fut: Future<Output = Result<(), RotationError>>,
{
    let current = connection_of(ctx.current)?;
    let refused = match set(current.clone(), tls.for_secret(ctx.current)?).await {
        Err(error) if error.is_authentication_failure() => error,
        done => return done,
    };
    // The pending password itself: a retry after the change logs in with it and sets it again, harmlessly.
    let mut fallbacks: Vec<(&str, Secret)> = vec![("AWSPENDING", ctx.pending.clone())];
    fallbacks.extend(ctx.previous().await?.into_iter().map(|p| ("AWSPREVIOUS", p)));
    fallbacks.extend(ctx.abandoned().await?.into_iter().map(|a| ("an abandoned rotation's value", a)));
    for (what, secret) in fallbacks {
        let connection = connection_of(&secret)?;
        if let Err(error) = check_same_target(&current, &connection, Strategy::SingleUser) {
            tracing::warn!(error = %error, "{what} names another target than AWSCURRENT; not using it");
            continue;
        }
        match set(connection, tls.for_secret(&secret)?).await {
            Err(error) if error.is_authentication_failure() => {}
            done => return done,
        }
    }
    Err(RotationError::Target {
        kind: TargetErrorKind::AuthenticationFailed,
        target: current.address(),
        message: format!(
            "neither the pending, the current, the previous nor an abandoned rotation's password logs in as {:?}; set the password by hand and put it in AWSCURRENT",
            current.username
        ),
        source: Some(Box::new(refused)),
    })
}

/// testSecret: runs `probe` (log in with the pending credential and run the test query) until it succeeds, with
/// backoff. A refused password is retried too: a new password may take a moment to reach every node (replicas,
/// proxies). No try starts that could not end (`attempt_bound`) before `deadline`: the last error is returned
/// instead, while there is time to report it.
pub async fn test_with_retries<P, Fut>(
    backoff: &Backoff,
    attempt_bound: Duration,
    deadline: Option<Instant>,
    mut probe: P,
) -> Result<(), RotationError>
where
    P: FnMut() -> Fut,
    Fut: Future<Output = Result<(), RotationError>>,
{
    let mut delay = backoff.initial_delay;
    let mut attempt = 1;
    loop {
        match probe().await {
            Err(error) if (error.is_retryable() || error.is_authentication_failure()) && attempt < backoff.attempts => {
                if deadline.is_some_and(|deadline| Instant::now() + delay + attempt_bound > deadline) {
                    tracing::warn!(attempt, "testSecret stops retrying: another try would not end before the deadline");
                    return Err(error);
                }
                tracing::warn!(attempt, error_type = error.error_type(), "testSecret retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(backoff.max_delay);
                attempt += 1;
            }
            other => return other,
        }
    }
}
