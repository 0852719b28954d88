//! The HTTP endpoint: Secrets Manager's JSON 1.1 protocol on `POST /`, the scheduler, and rotor's own routes
//! under `/_rotor/` (health, the manual clock, the last rotation of a secret), behind the [`perimeter`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::clock::{Clock, epoch_seconds};
use crate::elasticache::{self, Apply, CacheConfig, Fault};
use crate::error::{Error, ErrorKind};
use crate::invoke::Invoker;
use crate::operations::{self, Identity};
use crate::orchestrator::Orchestrator;
use crate::perimeter;
use crate::quotas::Quotas;
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
    /// Secrets Manager's per-second quotas, when enforced.
    pub quotas: Option<Arc<Quotas>>,
    /// At most this many function invocations at once (Lambda's concurrency), when bounded.
    pub max_concurrent_invocations: Option<usize>,
    /// Save the state at this interval instead of after every change (fleet-scale runs).
    pub save_interval: Option<StdDuration>,
}

/// The running endpoint: the HTTP layer over the orchestrator, which owns the state and the rotations.
#[derive(Debug)]
pub struct Endpoint {
    orchestrator: Arc<Orchestrator>,
    config: Config,
    wake: Notify,
}

impl Endpoint {
    /// Opens the state and prepares the Invoke client.
    pub fn open(config: Config) -> std::io::Result<Arc<Self>> {
        let store = Store::open_with(&config.state_dir, config.save_interval.is_none())?;
        let invoker = Invoker::new(&config.invoke_endpoint, config.invoke_timeout)
            .with_concurrency(config.max_concurrent_invocations);
        let orchestrator = Orchestrator::new(store, invoker, config.clock.clone());
        Ok(Arc::new(Self { orchestrator, config, wake: Notify::new() }))
    }

    /// The state.
    pub fn store(&self) -> &Store {
        self.orchestrator.store()
    }

    /// The clock's time.
    pub fn now(&self) -> DateTime<Utc> {
        self.orchestrator.now()
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

    /// A Secrets Manager call signed for another Region than the endpoint's: a replica's read, answered from the
    /// primary under the replica's ARNs; any change is refused there, and a secret not replicated to that Region
    /// does not exist in it.
    fn dispatch_in(self: &Arc<Self>, region: &str, operation: &str, body: &Value) -> Result<Value, Error> {
        let identity = &self.config.identity;
        if region == identity.region || operation.starts_with("AmazonSSM.") || operation.starts_with("AWSEvents.") {
            return self.dispatch(operation, body);
        }
        if !operations::READ_OPERATIONS.contains(&operation) {
            return Err(Error::invalid_request(format!(
                "Operation {operation} is not permitted on a replica secret: call it in the primary Region ({}).",
                identity.region
            )));
        }
        let primary = self.store().read(|s| operations::to_primary(s, identity, region, body));
        let primary = primary.ok_or_else(Error::secret_not_found)?;
        let answer = self.dispatch(operation, &primary)?;
        Ok(self.store().read(|s| operations::to_replica(s, identity, region, answer)))
    }

    fn dispatch(self: &Arc<Self>, operation: &str, body: &Value) -> Result<Value, Error> {
        let now = self.now();
        let identity = &self.config.identity;
        match operation {
            "CreateSecret" => self.store().write(|s| operations::create_secret(s, identity, now, body)),
            "DescribeSecret" => self.store().read(|s| operations::describe_secret(s, body)),
            "GetSecretValue" => self.store().read(|s| operations::get_secret_value(s, body)),
            "PutSecretValue" => self.store().write(|s| operations::put_secret_value(s, now, body)),
            "UpdateSecretVersionStage" => self.store().write(|s| operations::update_secret_version_stage(s, now, body)),
            "UpdateSecret" => self.store().write(|s| operations::update_secret(s, now, body)),
            "ListSecrets" => self.store().read(|s| operations::list_secrets(s, body)),
            "ListSecretVersionIds" => self.store().read(|s| operations::list_secret_version_ids(s, body)),
            "DeleteSecret" => self.store().write(|s| operations::delete_secret(s, now, body)),
            "RestoreSecret" => self.store().write(|s| operations::restore_secret(s, now, body)),
            "TagResource" => self.store().write(|s| operations::tag_resource(s, body)),
            "UntagResource" => self.store().write(|s| operations::untag_resource(s, body)),
            "GetRandomPassword" => operations::get_random_password(body),
            "RotateSecret" => self.orchestrator.rotate_secret(body),
            "CancelRotateSecret" => self.orchestrator.cancel_rotate_secret(body),
            "ReplicateSecretToRegions" => {
                self.store().write(|s| operations::replicate_secret_to_regions(s, identity, body))
            }
            "RemoveRegionsFromReplication" => {
                self.store().write(|s| operations::remove_regions_from_replication(s, body))
            }
            "AmazonSSM.PutParameter" => self.store().write(|s| operations::put_parameter(s, now, body)),
            "AmazonSSM.GetParameter" => self.store().read(|s| operations::get_parameter(s, identity, body)),
            "AmazonSSM.GetParameters" => self.store().read(|s| operations::get_parameters(s, identity, body)),
            "AmazonSSM.GetParameterHistory" => self.store().read(|s| operations::get_parameter_history(s, body)),
            "AmazonSSM.LabelParameterVersion" => self.store().write(|s| operations::label_parameter_version(s, body)),
            "AmazonSSM.UnlabelParameterVersion" => {
                self.store().write(|s| operations::unlabel_parameter_version(s, body))
            }
            "AmazonSSM.DescribeParameters" => self.store().read(|s| operations::describe_parameters(s, body)),
            "AmazonSSM.DeleteParameter" => self.store().write(|s| operations::delete_parameter(s, body)),
            "AmazonSSM.AddTagsToResource" => self.store().write(|s| operations::add_tags_to_resource(s, body)),
            "AmazonSSM.RemoveTagsFromResource" => {
                self.store().write(|s| operations::remove_tags_from_resource(s, body))
            }
            "AmazonSSM.ListTagsForResource" => self.store().read(|s| operations::list_tags_for_resource(s, body)),
            "AWSEvents.PutEvents" => self.store().write(|s| operations::put_events(s, now, body)),
            other => Err(Error::unknown_operation(other)),
        }
    }
}

async fn dispatch(State(endpoint): State<Arc<Endpoint>>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return query(endpoint, &body).await;
    }
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let operation = target.strip_prefix("secretsmanager.").unwrap_or(target).to_owned();
    let parsed: Result<Value, Error> = if body.is_empty() {
        Ok(json!({}))
    } else {
        serde_json::from_slice(&body).map_err(|e| Error::serialization(format!("Invalid JSON: {e}")))
    };
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let region = operations::signed_region(authorization).map(str::to_owned);
    let result = parsed.and_then(|body| {
        let secret = body.get("SecretId").or_else(|| body.get("Name")).and_then(Value::as_str).map(str::to_owned);
        let result = match (&region, &endpoint.config.quotas) {
            (_, Some(quotas)) if !quotas.admit(&operation) => Err(Error::throttled()),
            (Some(region), _) => endpoint.dispatch_in(region, &operation, &body),
            (None, _) => endpoint.dispatch(&operation, &body),
        };
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.code(),
        };
        endpoint.store().audit(endpoint.now(), &operation, secret.as_deref(), outcome);
        result
    });
    match result {
        Ok(value) => {
            let mut response = (StatusCode::OK, value.to_string()).into_response();
            response.headers_mut().insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
            response
        }
        Err(error) => answer(error),
    }
}

/// An ElastiCache call (the Query protocol): answered from the state, its change applied to the cache now (a
/// created user, undone if the cache refuses it) or after the modify delay (a modified user, then `active`).
async fn query(endpoint: Arc<Endpoint>, body: &[u8]) -> Response {
    let request = elasticache::Request::parse(body);
    let identity = &endpoint.config.identity;
    let result = match &endpoint.config.elasticache {
        None => Err(Fault::not_configured()),
        Some(config) => endpoint
            .store()
            .write(|state| Ok(elasticache::call(&mut state.cache, identity, config, &request)))
            .unwrap_or_else(|error| Err(Fault::internal(error.message))),
    };
    let result = match (result, &endpoint.config.elasticache) {
        (Ok((xml, Apply::Now(args))), Some(config)) => match elasticache::apply(config, &args).await {
            Ok(()) => Ok(xml),
            Err(error) => {
                let id = request.subject().unwrap_or_default().to_owned();
                let _ = endpoint.store().write(|state| Ok(state.cache.users.remove(&id)));
                Err(Fault::internal(format!("the cache refused the user: {error}")))
            }
        },
        (Ok((xml, Apply::Later { user_id, args })), Some(config)) => {
            let (endpoint, config) = (Arc::clone(&endpoint), config.clone());
            tokio::spawn(async move {
                tokio::time::sleep(config.modify_delay).await;
                if let Err(error) = elasticache::apply(&config, &args).await {
                    tracing::error!(user = %user_id, %error, "the cache refused a modified user");
                }
                let _ = endpoint.store().write(|state| {
                    elasticache::activate(&mut state.cache, &user_id);
                    Ok(())
                });
            });
            Ok(xml)
        }
        (Ok((xml, _)), _) => Ok(xml),
        (Err(fault), _) => Err(fault),
    };
    let outcome = result.as_ref().map_or_else(|fault| fault.code, |_| "ok");
    endpoint.store().audit(endpoint.now(), request.action(), request.subject(), outcome);
    let (status, xml) = match result {
        Ok(xml) => (StatusCode::OK, xml),
        Err(fault) => (StatusCode::from_u16(fault.status).unwrap_or(StatusCode::BAD_REQUEST), fault.to_xml()),
    };
    let mut response = (status, xml).into_response();
    response.headers_mut().insert("content-type", HeaderValue::from_static("text/xml"));
    response
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
    let started = endpoint.orchestrator.start_due();
    let count = started.len();
    if advance.wait {
        for handle in started {
            let _ = handle.await;
        }
    }
    axum::Json(json!({"now": epoch_seconds(now), "rotations_started": count})).into_response()
}

async fn last_rotation(State(endpoint): State<Arc<Endpoint>>, Path(secret): Path<String>) -> Response {
    endpoint.store().read(|state| match state.find(&secret) {
        None => answer(Error::secret_not_found()),
        Some(record) => axum::Json(json!({
            "ARN": record.arn,
            "StuckPending": record.stuck_pending(),
            "LastRotation": record.last_rotation,
        }))
        .into_response(),
    })
}

/// `POST /_rotor/schedules {"ParameterName", "FunctionName", "ScheduleExpression"}`: EventBridge Scheduler's part
/// for a parameter.
async fn put_schedule(State(endpoint): State<Arc<Endpoint>>, body: Bytes) -> Response {
    let parsed: Result<Value, Error> =
        serde_json::from_slice(&body).map_err(|e| Error::serialization(format!("Invalid JSON: {e}")));
    match parsed.and_then(|body| endpoint.orchestrator.put_schedule(&body)) {
        Ok(value) => axum::Json(value).into_response(),
        Err(error) => answer(error),
    }
}

/// Lambda's `Invoke`, passed to the Invoke API the endpoint runs functions with, so one endpoint URL serves a
/// client's Secrets Manager, Parameter Store and Lambda calls. A function error answers as AWS does: 200 with
/// `X-Amz-Function-Error` and the error's type and message.
async fn invoke(State(endpoint): State<Arc<Endpoint>>, Path(function): Path<String>, body: Bytes) -> Response {
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let result = endpoint.orchestrator.invoke(&function, &event).await;
    endpoint.store().audit(
        endpoint.now(),
        "Invoke",
        Some(&function),
        if result.is_ok() { "ok" } else { "function error" },
    );
    match result {
        Ok(()) => (StatusCode::OK, "null").into_response(),
        Err(failure) => {
            let body = json!({"errorType": failure.error_type, "errorMessage": failure.message}).to_string();
            let mut response = (StatusCode::OK, body).into_response();
            response.headers_mut().insert("x-amz-function-error", HeaderValue::from_static("Unhandled"));
            response
        }
    }
}

/// `GET /_rotor/events`: the events put on any bus, oldest first.
async fn events(State(endpoint): State<Arc<Endpoint>>) -> Response {
    endpoint.store().read(|state| axum::Json(json!({"Events": state.events})).into_response())
}

/// `GET /_rotor/schedules/{parameter}`: the schedule and its last run.
async fn get_schedule(State(endpoint): State<Arc<Endpoint>>, Path(parameter): Path<String>) -> Response {
    let parameter = if parameter.starts_with('/') { parameter } else { format!("/{parameter}") };
    match endpoint
        .orchestrator
        .schedule(&parameter)
        .or_else(|| endpoint.orchestrator.schedule(parameter.trim_start_matches('/')))
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
    let body = json!({"__type": error.code(), "Message": error.message}).to_string();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/x-amz-json-1.1"));
    headers.insert("x-amzn-errortype", HeaderValue::from_static(error.code()));
    response
}

async fn scheduler(endpoint: Arc<Endpoint>) {
    loop {
        let _ = tokio::time::timeout(endpoint.config.scheduler_interval, endpoint.wake.notified()).await;
        endpoint.orchestrator.start_due();
    }
}
