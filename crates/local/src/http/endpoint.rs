//! The HTTP endpoint: it routes each request to its service (the JSON protocols on `POST /` by their target's
//! prefix (Directory Service's, Redshift Serverless's, else Secrets Manager's, Parameter Store's and EventBridge's),
//! the Query protocol's form bodies by their API version: Redshift's, RDS's (DocumentDB), else ElastiCache's;
//! Lambda's `Invoke` by its path), runs the scheduler, and
//! serves rotor's own routes under `/_rotor/` (health, the manual clock, the last rotation of a secret, schedules,
//! events), behind the [`perimeter`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use super::perimeter;
use super::sigv4::signed_region;
use crate::clock::{Clock, epoch_seconds};
use crate::directory::{self, DirectoryConfig};
use crate::documentdb::{self, DocumentDb, DocumentDbConfig};
use crate::elasticache::{self, CacheConfig};
use crate::error::{Error, ErrorKind};
use crate::events::{self, Scheduler};
use crate::identity::Identity;
use crate::json;
use crate::lambda::{self, Invoker};
use crate::redshift::{self, RedshiftConfig};
use crate::secretsmanager::{self, Orchestrator, Quotas};
use crate::ssm;
use crate::store::Store;

/// How the endpoint is set up.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the state and the audit log live.
    pub state_dir: PathBuf,
    /// Region and account in ARNs.
    pub identity: Identity,
    /// The Lambda Invoke API that runs rotation functions (`http://127.0.0.1:9000` for `cargo lambda watch`).
    pub invoke_endpoint: String,
    /// How long one step's invocation may take.
    pub invoke_timeout: StdDuration,
    /// The clock schedules run on.
    pub clock: Clock,
    /// How often the scheduler looks for due rotations.
    pub scheduler_interval: StdDuration,
    /// The cache the ElastiCache calls manage, if any.
    pub elasticache: Option<CacheConfig>,
    /// The PostgreSQL server standing in for Redshift, which the Redshift and Redshift Serverless calls manage, if any.
    pub redshift: Option<RedshiftConfig>,
    /// The MongoDB-wire server standing in for DocumentDB, which the DocumentDB cluster calls manage, if any.
    pub documentdb: Option<DocumentDbConfig>,
    /// The Active Directory domain controller standing in for a Directory Service directory, if any.
    pub directory: Option<DirectoryConfig>,
    /// Secrets Manager's per-second quotas, when enforced.
    pub quotas: Option<Arc<Quotas>>,
    /// At most this many function invocations at once (Lambda's concurrency), when bounded.
    pub max_concurrent_invocations: Option<usize>,
    /// Save the state at this interval instead of after every change (fleet-scale runs).
    pub save_interval: Option<StdDuration>,
}

/// The running endpoint: the HTTP layer over the services, which share the state: Secrets Manager's rotations
/// (the orchestrator), EventBridge Scheduler's schedules, and the Invoke client both run functions with.
#[derive(Debug)]
pub struct Endpoint {
    store: Arc<Store>,
    orchestrator: Arc<Orchestrator>,
    schedules: Arc<Scheduler>,
    invoker: Invoker,
    documentdb: DocumentDb,
    config: Config,
    wake: Notify,
}

impl Endpoint {
    /// Opens the state and prepares the Invoke client.
    pub fn open(config: Config) -> std::io::Result<Arc<Self>> {
        let store = Arc::new(Store::open_with(&config.state_dir, config.save_interval.is_none())?);
        // One client, cloned: its concurrency limit is shared by rotations, schedules and `Invoke` calls.
        let invoker = Invoker::new(&config.invoke_endpoint, config.invoke_timeout)
            .with_concurrency(config.max_concurrent_invocations);
        let orchestrator = Orchestrator::new(Arc::clone(&store), invoker.clone(), config.clock.clone());
        let schedules = Scheduler::new(Arc::clone(&store), invoker.clone(), config.clock.clone());
        let documentdb = DocumentDb::new(config.documentdb.clone());
        Ok(Arc::new(Self { store, orchestrator, schedules, invoker, documentdb, config, wake: Notify::new() }))
    }

    /// The state.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The clock's time.
    pub fn now(&self) -> DateTime<Utc> {
        self.config.clock.now()
    }

    /// Serves on `listener` until the process ends, with the scheduler running beside it. Every request passes
    /// the perimeter first (a loopback `Host` on the listener's port, nothing cross-site, only the AWS protocols'
    /// content types: see [`perimeter`]); one that does not is answered 403 before anything is read or changed.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> std::io::Result<()> {
        tokio::spawn(scheduler(Arc::clone(&self)));
        if let Some(interval) = self.config.save_interval {
            tokio::spawn(saver(Arc::clone(&self), interval));
        }
        let port = listener.local_addr()?.port();
        let app = Router::new()
            .route("/", post(dispatch))
            .route("/_rotor/health", get(|| async { "ok" }))
            .route("/_rotor/clock", get(clock_now).post(clock_advance))
            .route("/_rotor/rotations/{*secret}", get(last_rotation))
            .route("/_rotor/schedules", post(put_schedule))
            .route("/_rotor/events", get(events))
            .route("/2015-03-31/functions/{function}/invocations", post(invoke))
            .route("/_rotor/schedules/{*parameter}", get(get_schedule))
            .with_state(self)
            // Router::layer also wraps the answers to a path or method no route serves: all are refused alike.
            .layer(axum::middleware::from_fn(move |request: Request, next: Next| async move {
                match perimeter::check(request.method(), request.headers(), port) {
                    Ok(()) => next.run(request).await,
                    Err(error) => {
                        tracing::warn!(method = %request.method(), path = request.uri().path(), %error, "refused a request");
                        answer(error)
                    }
                }
            }));
        axum::serve(listener, app).await
    }

    /// Hands a JSON-protocol call to its service by its target's prefix: `AmazonSSM.` to Parameter Store,
    /// `AWSEvents.` to EventBridge, any other (the target without `secretsmanager.`) to Secrets Manager, with the
    /// Region the call is signed for.
    fn route(&self, operation: &str, region: Option<&str>, body: &Value) -> Result<Value, Error> {
        let identity = &self.config.identity;
        if operation.starts_with("AmazonSSM.") {
            ssm::dispatch(self.store(), identity, self.now(), operation, body)
        } else if operation.starts_with("AWSEvents.") {
            events::dispatch(self.store(), self.now(), operation, body)
        } else {
            let quotas = self.config.quotas.as_deref();
            secretsmanager::dispatch(&self.orchestrator, identity, quotas, region, operation, body)
        }
    }

    /// Starts what is due at the clock's time: the parameters' schedules, then the secrets' rotations.
    fn start_due(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let mut started = self.schedules.start_due_parameters();
        started.extend(self.orchestrator.start_due_secrets());
        started
    }
}

async fn dispatch(State(endpoint): State<Arc<Endpoint>>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (store, clock, identity) = (&endpoint.store, &endpoint.config.clock, &endpoint.config.identity);
    if content_type.starts_with("application/x-www-form-urlencoded") {
        if redshift::is_redshift_query(&body) {
            let stand_in = endpoint.config.redshift.as_ref();
            return redshift::dispatch_query(store, clock, identity, stand_in, &body).await;
        }
        if documentdb::is_documentdb_query(&body) {
            return endpoint.documentdb.dispatch(store, clock, identity, &body).await;
        }
        let cache = endpoint.config.elasticache.as_ref();
        return elasticache::dispatch(store, clock, identity, cache, &body).await;
    }
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if let Some(operation) = directory::operation(target) {
        return directory::dispatch(store, clock, endpoint.config.directory.as_ref(), operation, &body).await;
    }
    if let Some(operation) = redshift::serverless_operation(target) {
        let stand_in = endpoint.config.redshift.as_ref();
        return redshift::dispatch_serverless(store, clock, identity, stand_in, operation, &body).await;
    }
    let operation = target.strip_prefix("secretsmanager.").unwrap_or(target).to_owned();
    let parsed: Result<Value, Error> = if body.is_empty() {
        Ok(json!({}))
    } else {
        serde_json::from_slice(&body).map_err(|e| Error::serialization(format!("Invalid JSON: {e}")))
    };
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let region = signed_region(authorization).map(str::to_owned);
    let result = parsed.and_then(|body| {
        let secret = body.get("SecretId").or_else(|| body.get("Name")).and_then(Value::as_str).map(str::to_owned);
        let result = endpoint.route(&operation, region.as_deref(), &body);
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.code(),
        };
        endpoint.store().audit(endpoint.now(), &operation, secret.as_deref(), outcome);
        result
    });
    match result {
        Ok(value) => json::respond(StatusCode::OK, &value, None),
        Err(error) => answer(error),
    }
}

/// Saves the state at `interval` when it changed (an endpoint that does not save after every change).
async fn saver(endpoint: Arc<Endpoint>, interval: StdDuration) {
    loop {
        tokio::time::sleep(interval).await;
        let flushed = Arc::clone(&endpoint);
        match tokio::task::spawn_blocking(move || flushed.store().flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "could not save the endpoint's state"),
            Err(error) => tracing::error!(%error, "the state saver stopped"),
        }
    }
}

async fn clock_now(State(endpoint): State<Arc<Endpoint>>) -> Response {
    axum::Json(
        json!({"now": epoch_seconds(endpoint.now()), "manual": matches!(endpoint.config.clock, Clock::Manual(_))}),
    )
    .into_response()
}

#[derive(Deserialize)]
struct Advance {
    /// Seconds to move the manual clock forward.
    seconds: i64,
    /// Wait until the rotations this makes due have finished before answering.
    #[serde(default)]
    wait: bool,
}

async fn clock_advance(State(endpoint): State<Arc<Endpoint>>, axum::Json(advance): axum::Json<Advance>) -> Response {
    let Some(now) = endpoint.config.clock.advance(Duration::seconds(advance.seconds)) else {
        return (StatusCode::CONFLICT, "the endpoint runs on the system clock; start it with --manual-clock")
            .into_response();
    };
    let started = endpoint.start_due();
    let count = started.len();
    if advance.wait {
        for handle in started {
            let _ = handle.await;
        }
    }
    axum::Json(json!({"now": epoch_seconds(now), "rotations_started": count})).into_response()
}

async fn last_rotation(State(endpoint): State<Arc<Endpoint>>, Path(secret): Path<String>) -> Response {
    match endpoint.store().read(|state| secretsmanager::last_rotation(state, &secret)) {
        Ok(value) => axum::Json(value).into_response(),
        Err(error) => answer(error),
    }
}

/// `POST /_rotor/schedules {"ParameterName", "FunctionName", "ScheduleExpression"}`: EventBridge Scheduler's part
/// for a parameter.
async fn put_schedule(State(endpoint): State<Arc<Endpoint>>, body: Bytes) -> Response {
    let parsed: Result<Value, Error> =
        serde_json::from_slice(&body).map_err(|e| Error::serialization(format!("Invalid JSON: {e}")));
    match parsed.and_then(|body| endpoint.schedules.put_schedule(&body)) {
        Ok(value) => axum::Json(value).into_response(),
        Err(error) => answer(error),
    }
}

/// `POST /2015-03-31/functions/{function}/invocations`: Lambda's `Invoke`, the emulated Lambda's.
async fn invoke(State(endpoint): State<Arc<Endpoint>>, Path(function): Path<String>, body: Bytes) -> Response {
    lambda::dispatch(&endpoint.invoker, endpoint.store(), &endpoint.config.clock, &function, &body).await
}

/// `GET /_rotor/events`: the events put on any bus, oldest first.
async fn events(State(endpoint): State<Arc<Endpoint>>) -> Response {
    endpoint.store().read(|state| axum::Json(json!({"Events": state.events})).into_response())
}

/// `GET /_rotor/schedules/{parameter}`: the schedule and its last run.
async fn get_schedule(State(endpoint): State<Arc<Endpoint>>, Path(parameter): Path<String>) -> Response {
    let parameter = if parameter.starts_with('/') { parameter } else { format!("/{parameter}") };
    match endpoint
        .schedules
        .schedule(&parameter)
        .or_else(|| endpoint.schedules.schedule(parameter.trim_start_matches('/')))
    {
        Some(schedule) => axum::Json(json!(schedule)).into_response(),
        None => answer(Error::not_found(format!("no schedule rotates {parameter}"))),
    }
}

/// The JSON protocol's answer to an error: AWS's code as `__type` and `X-Amzn-ErrorType`, its message, and the
/// status AWS uses (500 for the endpoint's own failures, 403 for a request the perimeter refuses, 400 otherwise).
fn answer(error: Error) -> Response {
    let status = match error.kind {
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::AccessDenied => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    json::respond(status, &json!({"__type": error.code(), "Message": error.message}), Some(error.code()))
}

async fn scheduler(endpoint: Arc<Endpoint>) {
    loop {
        let _ = tokio::time::timeout(endpoint.config.scheduler_interval, endpoint.wake.notified()).await;
        endpoint.start_due();
    }
}
