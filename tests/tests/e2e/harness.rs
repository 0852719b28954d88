//! Starts the real parts for one test: cargo-lambda's Lambda emulator, rotor's local Secrets Manager endpoint
//! (`rotatectl serve`), and rotation function processes polling the emulator's Runtime API. Every process logs
//! to a file in the test's own directory; all are killed when the harness drops.

use std::fs::{self, File};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use serde_json::{Value, json};

/// Where the tests find the workspace and its built binaries.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// `target/debug` (or the profile the tests were built with): the test binary lives in its `deps/`.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_owned()
}

/// A binary of the FIPS build, built into the target directory's `fips/` (`make build-fips`, which `make test`
/// runs, for the tests: `target/fips/debug`; `make bench` for the benchmark: `target/fips/release`).
pub fn fips_binary(name: &str) -> PathBuf {
    let dir = bin_dir();
    let profile = dir.file_name().unwrap().to_owned();
    let path = dir.parent().unwrap().join("fips").join(profile).join(name);
    assert!(path.exists(), "{} is not built: run `make build-fips` (make test and make bench do)", path.display());
    path
}

/// A built workspace binary; the Makefile builds them all before the tests.
pub fn binary(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(path.exists(), "{} is not built: run `cargo build --workspace --bins` (make test does)", path.display());
    path
}

/// cargo-lambda: `$CARGO_LAMBDA`, the repo's venv, or the PATH.
pub fn cargo_lambda() -> PathBuf {
    if let Ok(path) = std::env::var("CARGO_LAMBDA") {
        return path.into();
    }
    let venv = repo_root().join(".venv/bin/cargo-lambda");
    if venv.exists() { venv } else { "cargo-lambda".into() }
}

/// A port free right now on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16, what: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on {port}: {}",
            fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a setup command to its end; panics with its output when it fails.
pub fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The start of the manual clock every harness uses, so schedules are deterministic.
pub const CLOCK_START: &str = "2026-01-01T00:00:00Z";

/// A rotation function to run: the binary's name and extra environment.
pub struct Function {
    /// Binary (and function) name.
    pub name: &'static str,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

impl Function {
    /// A function with no extra environment.
    pub fn new(name: &'static str) -> Self {
        Self { name, env: Vec::new() }
    }
}

/// A secret record for the endpoint's state file: rotation on `function`, due at the window after the clock's
/// start.
pub fn due_secret(name: &str, value: &str, function: &str) -> (String, Value) {
    let arn = format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf");
    let record = json!({
        "arn": arn, "name": name, "description": null, "kms_key_id": null,
        "created": "2026-01-01T00:00:00Z", "last_changed": "2026-01-01T00:00:00Z",
        "last_rotated": "2026-01-01T00:00:00Z", "next_rotation": "2026-01-02T00:00:00Z",
        "rotation_enabled": true,
        "rotation_lambda_arn": format!("arn:aws:lambda:us-east-1:123456789012:function:{function}"),
        "rotation_rules": {"AutomaticallyAfterDays": 1},
        "tags": [], "deleted_date": null, "last_rotation": null,
        "versions": {uuid::Uuid::new_v4().to_string(): {"secret_string": value, "secret_binary": null, "stages": ["AWSCURRENT"], "created": "2026-01-01T00:00:00Z"}},
    });
    (arn, record)
}

/// One test's running parts.
pub struct Harness {
    /// The test's directory (state, logs).
    pub dir: tempfile::TempDir,
    /// The local Secrets Manager endpoint.
    pub endpoint_url: String,
    /// cargo-lambda's Invoke API.
    pub invoke_url: String,
    invoke_port: u16,
    /// An SDK client of the local endpoint.
    pub client: Client,
    endpoint: Option<Child>,
    others: Vec<Child>,
    http: reqwest::Client,
    endpoint_args: Vec<String>,
}

impl Harness {
    /// Starts the emulator, the endpoint (on a manual clock) and the given functions.
    pub async fn start(functions: Vec<Function>) -> Self {
        Self::start_with(functions, Vec::new()).await
    }

    /// [`Harness::start`], the endpoint started (and restarted) with `endpoint_args` besides its own.
    pub async fn start_with(functions: Vec<Function>, endpoint_args: Vec<String>) -> Self {
        let dir = tempfile::Builder::new().prefix("rotor-e2e-").tempdir().unwrap();
        let invoke_port = free_port();
        let log = dir.path().join("cargo-lambda.log");
        let emulator = Command::new(cargo_lambda())
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &invoke_port.to_string()])
            .arg("--manifest-path")
            .arg(repo_root().join("Cargo.toml"))
            .stdout(File::create(&log).unwrap())
            .stderr(File::create(dir.path().join("cargo-lambda.err.log")).unwrap())
            .stdin(Stdio::null())
            .spawn()
            .expect("cargo-lambda runs (make test installs it into .venv)");
        let mut harness = Self {
            endpoint_url: String::new(),
            invoke_url: format!("http://127.0.0.1:{invoke_port}"),
            invoke_port,
            client: client_for("http://127.0.0.1:1"),
            endpoint: None,
            others: vec![emulator],
            http: reqwest::Client::new(),
            endpoint_args,
            dir,
        };
        wait_for_port(invoke_port, "cargo lambda watch", &log);
        harness.start_endpoint();
        for function in functions {
            harness.start_function(function);
        }
        harness
    }

    /// Starts (or restarts) the endpoint on the same state directory.
    pub fn start_endpoint(&mut self) {
        if let Some(mut old) = self.endpoint.take() {
            old.kill().ok();
            old.wait().ok();
        }
        let out = self.dir.path().join("endpoint.out");
        let child = Command::new(binary("rotatectl"))
            .args(["serve", "--port", "0", "--manual-clock", CLOCK_START, "--scheduler-interval-ms", "100"])
            .arg("--state-dir")
            .arg(self.dir.path().join("state"))
            .arg("--invoke-endpoint")
            .arg(&self.invoke_url)
            .args(&self.endpoint_args)
            .stdout(File::create(&out).unwrap())
            .stderr(File::create(self.dir.path().join("endpoint.err.log")).unwrap())
            .spawn()
            .unwrap();
        self.endpoint = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = loop {
            let text = fs::read_to_string(&out).unwrap_or_default();
            if let Some(url) = text.lines().find_map(|l| l.strip_prefix("rotor local endpoint listening on ")) {
                break url.trim().to_owned();
            }
            assert!(Instant::now() < deadline, "the endpoint did not start: {text}");
            std::thread::sleep(Duration::from_millis(20));
        };
        self.client = client_for(&url);
        self.endpoint_url = url;
    }

    /// The environment a function process gets: the Runtime API route of its name, and the endpoint override.
    pub fn function_env(&self, name: &str) -> Vec<(String, String)> {
        [
            ("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{}/.rt/{name}", self.invoke_port)),
            ("AWS_LAMBDA_FUNCTION_NAME", name.to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
            ("AWS_ENDPOINT_URL", self.endpoint_url.clone()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "AKIDROTORTEST".into()),
            ("AWS_SECRET_ACCESS_KEY", "rotor-test-not-a-secret".into()),
            // Every rotation of every test runs at the most verbose level: the leak checks then prove that no
            // driver, runtime or SDK line carries a value (their targets are pinned at info).
            ("RUST_LOG", "trace".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Starts `function` behind a Runtime API that gives every invocation `timeout` to run, as Lambda does with
    /// the function's configured timeout (see [`deadline_runtime_api`]).
    pub async fn start_function_with_timeout(&mut self, mut function: Function, timeout: Duration) -> u32 {
        let upstream = format!("http://127.0.0.1:{}", self.invoke_port);
        let port = deadline_runtime_api(upstream, timeout).await;
        let runtime_api = format!("http://127.0.0.1:{port}/.rt/{}", function.name);
        function.env.push(("AWS_LAMBDA_RUNTIME_API".to_owned(), runtime_api));
        self.start_function(function)
    }

    /// Starts a rotation function process polling the emulator.
    pub fn start_function(&mut self, function: Function) -> u32 {
        let binary = binary(function.name);
        self.start_function_at(function, &binary)
    }

    /// [`Harness::start_function`] from the binary at `binary` (another build of the function: the FIPS build).
    pub fn start_function_at(&mut self, function: Function, binary: &Path) -> u32 {
        // A second instance of the same function gets a log of its own.
        let mut log = self.dir.path().join(format!("{}.log", function.name));
        for instance in 2.. {
            if !log.exists() {
                break;
            }
            log = self.dir.path().join(format!("{}.{instance}.log", function.name));
        }
        let child = Command::new(binary)
            .env_clear()
            .envs(self.function_env(function.name))
            .envs(function.env)
            .stdout(File::create(&log).unwrap())
            .stderr(File::options().append(true).create(true).open(&log).unwrap())
            .spawn()
            .unwrap();
        let pid = child.id();
        self.others.push(child);
        pid
    }

    /// Every log line of every process of this test, and the endpoint's audit log.
    pub fn all_logs(&self) -> String {
        let mut text = String::new();
        let mut paths: Vec<PathBuf> = fs::read_dir(self.dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
        paths.push(self.dir.path().join("state/audit.jsonl"));
        for path in paths.into_iter().filter(|p| p.is_file()) {
            text.push_str(&fs::read_to_string(&path).unwrap_or_default());
        }
        text
    }

    /// Asserts that no log line of the test holds any of `values` (secret values, RotationTokens), a SCRAM
    /// verifier, or a password statement.
    pub fn assert_no_leaks(&self, values: &[String]) {
        let logs = self.all_logs();
        assert!(!logs.is_empty(), "no logs were captured");
        for marker in ["SCRAM-SHA-256$", "IDENTIFIED BY", "PASSWORD '"] {
            assert!(!logs.contains(marker), "a log line holds {marker:?}");
        }
        for value in values.iter().filter(|v| v.len() >= 8) {
            assert!(!logs.contains(value.as_str()), "a log line holds a secret value or token ({} chars)", value.len());
        }
    }

    /// Every value of every version of a secret, for [`Harness::assert_no_leaks`]: the whole `SecretString` and
    /// each string field in it.
    pub async fn all_values(&self, secret_id: &str) -> Vec<String> {
        let versions =
            self.client.list_secret_version_ids().secret_id(secret_id).include_deprecated(true).send().await.unwrap();
        let mut values = Vec::new();
        for version in versions.versions() {
            let Ok(out) = self
                .client
                .get_secret_value()
                .secret_id(secret_id)
                .version_id(version.version_id().unwrap())
                .send()
                .await
            else {
                continue;
            };
            let string = out.secret_string().unwrap_or_default().to_owned();
            if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&string) {
                values.extend(map.values().filter_map(|v| v.as_str().map(str::to_owned)));
            }
            values.push(string);
        }
        values
    }

    /// Creates a secret and returns its ARN.
    pub async fn create_secret(&self, name: &str, value: &str) -> String {
        let out = self.client.create_secret().name(name).secret_string(value).send().await.unwrap();
        out.arn().unwrap().to_owned()
    }

    /// The version holding `stage`.
    pub async fn holding(&self, secret_id: &str, stage: &str) -> Option<String> {
        let out = self.client.describe_secret().secret_id(secret_id).send().await.unwrap();
        out.version_ids_to_stages()
            .unwrap_or(&Default::default())
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == stage))
            .map(|(v, _)| v.clone())
    }

    /// `VersionIdsToStages`, sorted for comparison.
    pub async fn labels(&self, secret_id: &str) -> Vec<(String, Vec<String>)> {
        let out = self.client.describe_secret().secret_id(secret_id).send().await.unwrap();
        let mut labels: Vec<(String, Vec<String>)> = out
            .version_ids_to_stages()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|(v, mut s)| {
                s.sort();
                (v, s)
            })
            .collect();
        labels.sort();
        labels
    }

    /// The value of the version holding `stage`.
    pub async fn value(&self, secret_id: &str, stage: &str) -> String {
        let out = self.client.get_secret_value().secret_id(secret_id).version_stage(stage).send().await.unwrap();
        out.secret_string().unwrap().to_owned()
    }

    /// The endpoint's record of the secret's last rotation (`/_rotor/rotations/...`).
    pub async fn last_rotation(&self, secret_id: &str) -> Value {
        let url = format!("{}/_rotor/rotations/{secret_id}", self.endpoint_url);
        self.http.get(url).send().await.unwrap().json::<Value>().await.unwrap()["LastRotation"].clone()
    }

    /// Waits until the secret's last rotation is no longer running, and returns its record.
    pub async fn wait_rotation(&self, secret_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let record = self.last_rotation(secret_id).await;
            if record["state"] != "running" && !record.is_null() {
                return record;
            }
            assert!(Instant::now() < deadline, "rotation still running: {record}\nlogs:\n{}", self.all_logs());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Removes `AWSPENDING` from a version other than `AWSCURRENT`'s (what `rotatectl unstick` does), so a failed
    /// rotation does not block the next.
    pub async fn unstick(&self, arn: &str) {
        let (Some(stuck), current) = (self.holding(arn, "AWSPENDING").await, self.holding(arn, "AWSCURRENT").await)
        else {
            return;
        };
        if Some(&stuck) != current.as_ref() {
            self.client
                .update_secret_version_stage()
                .secret_id(arn)
                .version_stage("AWSPENDING")
                .remove_from_version_id(stuck)
                .send()
                .await
                .unwrap();
        }
    }

    /// Configures rotation with `function` and rotates now; returns the rotation's token.
    pub async fn rotate(&self, secret_id: &str, function: &str) -> String {
        let out = self
            .client
            .rotate_secret()
            .secret_id(secret_id)
            .rotation_lambda_arn(lambda_arn(function))
            .send()
            .await
            .unwrap();
        out.version_id().unwrap().to_owned()
    }

    /// Creates a secret rotated by `function` every `days` days, rotates it once and waits for that rotation;
    /// returns its ARN.
    pub async fn create_scheduled_secret(&self, name: &str, function: &str, days: i64) -> String {
        let arn = self.create_secret(name, r#"{"password":"x"}"#).await;
        self.client
            .rotate_secret()
            .secret_id(&arn)
            .rotation_lambda_arn(lambda_arn(function))
            .rotation_rules(
                aws_sdk_secretsmanager::types::RotationRulesType::builder().automatically_after_days(days).build(),
            )
            .send()
            .await
            .unwrap();
        self.wait_rotation(&arn).await;
        arn
    }

    /// Configures rotation with `function` without rotating (`RotateImmediately=false`, which runs the
    /// configuration test) and returns the test's record.
    pub async fn configure_rotation(&self, secret_id: &str, function: &str) -> Value {
        self.client
            .rotate_secret()
            .secret_id(secret_id)
            .rotation_lambda_arn(lambda_arn(function))
            .rotate_immediately(false)
            .send()
            .await
            .unwrap();
        self.wait_rotation(secret_id).await
    }

    /// Moves the manual clock forward and waits for the rotations that made due; returns how many started.
    pub async fn advance_clock(&self, seconds: i64) -> u64 {
        let url = format!("{}/_rotor/clock", self.endpoint_url);
        let out: Value = self
            .http
            .post(url)
            .json(&json!({"seconds": seconds, "wait": true}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        out["rotations_started"].as_u64().unwrap()
    }

    /// Creates a SecureString parameter on the endpoint's Parameter Store (Parameter Store's JSON protocol), tagged
    /// `rotor:function=<function>` so that function may rotate it.
    pub async fn put_parameter(&self, name: &str, value: &str, function: &str) {
        let tags = json!([{"Key": "rotor:function", "Value": function}]);
        let put = json!({"Name": name, "Value": value, "Type": "SecureString", "Tags": tags});
        let response = self
            .http
            .post(&self.endpoint_url)
            .header("x-amz-target", "AmazonSSM.PutParameter")
            .header("content-type", "application/x-amz-json-1.1")
            .body(put.to_string())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "PutParameter {name}: {}", response.status());
    }

    /// Puts `value` as `arn`'s AWSPENDING under a fresh token and invokes `function`'s setSecret for it, as a writer of
    /// the secret aiming a rotation elsewhere would have Secrets Manager do; the function's answer.
    pub async fn set_secret_with_pending(
        &self,
        function: &str,
        arn: &str,
        value: &Value,
    ) -> Result<(), (String, String)> {
        let token = uuid::Uuid::new_v4().to_string();
        let put = self.client.put_secret_value().secret_id(arn).client_request_token(&token);
        put.secret_string(value.to_string()).version_stages("AWSPENDING").send().await.unwrap();
        let event = serde_json::json!({"Step": "setSecret", "SecretId": arn, "ClientRequestToken": token});
        self.invoke(function, &event).await
    }

    /// Invokes one step of `function` directly through the emulator, as Secrets Manager would.
    pub async fn invoke(&self, function: &str, event: &Value) -> Result<(), (String, String)> {
        let url = format!("{}/2015-03-31/functions/{function}/invocations", self.invoke_url);
        let response = self.http.post(url).json(event).send().await.unwrap();
        if response.status().is_success() && !response.headers().contains_key("x-amz-function-error") {
            return Ok(());
        }
        let body: Value = response.json().await.unwrap_or(Value::Null);
        Err((
            body["errorType"].as_str().unwrap_or("?").to_owned(),
            body["errorMessage"].as_str().unwrap_or("?").to_owned(),
        ))
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        for child in self.others.iter_mut().chain(self.endpoint.as_mut()) {
            child.kill().ok();
            child.wait().ok();
        }
    }
}

/// The Runtime API header that carries an invocation's deadline, in milliseconds since the epoch.
const DEADLINE_HEADER: &str = "lambda-runtime-deadline-ms";

/// A Runtime API in front of the emulator's (`upstream`) that stamps each invocation it hands out with a deadline
/// `timeout` from then, in milliseconds since the epoch, as Lambda does; everything else passes through unchanged.
/// cargo-lambda's emulator sends a fixed `600000` (a moment of 1970), so under it alone no function ever sees a
/// deadline. Serves on this test's runtime until the test ends; returns its port.
async fn deadline_runtime_api(upstream: String, timeout: Duration) -> u16 {
    use axum::body::{Body, to_bytes};
    use axum::extract::Request;
    use axum::http::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
    use axum::http::{HeaderValue, Response};

    let client = reqwest::Client::new();
    let forward = move |request: Request| {
        let (client, upstream) = (client.clone(), upstream.clone());
        async move {
            let (parts, body) = request.into_parts();
            let body = to_bytes(body, usize::MAX).await.unwrap();
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let mut outbound = client.request(parts.method, format!("{upstream}{path}")).body(body);
            for (name, value) in parts.headers.iter().filter(|(name, _)| *name != HOST) {
                outbound = outbound.header(name, value);
            }
            // `/invocation/next` waits for an event for as long as it takes: no time-out here.
            let answer = outbound.send().await.unwrap();
            let mut response = Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                if name == DEADLINE_HEADER {
                    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
                    let deadline = (now + timeout).as_millis().to_string();
                    response = response.header(name, HeaderValue::from_str(&deadline).unwrap());
                } else if name != CONTENT_LENGTH && name != TRANSFER_ENCODING {
                    response = response.header(name, value);
                }
            }
            response.body(Body::from(answer.bytes().await.unwrap())).unwrap()
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().fallback(forward)).await });
    port
}

/// A Lambda ARN for a function name, as a template would give it.
pub fn lambda_arn(function: &str) -> String {
    format!("arn:aws:lambda:us-east-1:123456789012:function:{function}")
}

/// An SDK client of an endpoint URL with test credentials.
pub fn client_for(url: &str) -> Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDROTORTEST", "rotor-test-not-a-secret", None, None, "rotor-tests"))
        .endpoint_url(url)
        .build();
    Client::from_conf(config)
}

/// A unique name for this test's secrets.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..10])
}
