//! `make bench`: rotations through the local endpoint and cargo-lambda's Runtime API, on the release build,
//! for a generated secret (`rotate-custom`), a PostgreSQL single user (`rotate-postgres`), a MariaDB single
//! user (`rotate-mysql`) and a Redis ACL user changing its own password (`rotate-redis`). For each: the
//! median and p95 time of a full rotation (RotateSecret until AWSPENDING is gone), each step's median inside the
//! function, the cold start (process spawn to its first handled event), the first rotation after a cold start
//! (process spawn until its first rotation is done), peak RSS, and the function's Secrets Manager calls per
//! rotation (from the endpoint's audit log); and a PostgreSQL single user in a Parameter Store SecureString: the
//! rotation's time and its Parameter Store calls; and `rotatectl report` over 5,000 secrets.

#[allow(dead_code)]
#[path = "../tests/e2e/certificates.rs"]
mod certificates;
#[allow(dead_code)]
#[path = "../tests/e2e/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../tests/e2e/mariadb_server.rs"]
mod mariadb_server;
#[allow(dead_code)]
#[path = "../tests/e2e/postgres_server.rs"]
mod postgres_server;
#[allow(dead_code)]
#[path = "../tests/e2e/redis_server.rs"]
mod redis_server;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use harness::{Function, Harness, unique};
use serde_json::{Value, json};

const ROTATIONS: usize = 50;
const COLD_STARTS: usize = 15;

fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A `/proc/<pid>/status` field in KiB (`VmHWM`: peak RSS; `RssFile`: mapped file pages, mostly the binary's
/// text; `RssAnon`: heap and stacks).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.strip_prefix(field).is_some_and(|rest| rest.starts_with(':'))).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Peak RSS and what the process holds now, split into file-backed and anonymous pages.
fn memory(pid: u32) -> String {
    let mib = |field| status_kib(pid, field) as f64 / 1024.0;
    format!("{:.1} MiB (now {:.1} MiB file-backed, {:.1} MiB anonymous)", mib("VmHWM"), mib("RssFile"), mib("RssAnon"))
}

/// How many lines the endpoint's audit log has (where a measurement's calls start).
fn audit_len(h: &Harness) -> usize {
    std::fs::read_to_string(h.dir.path().join("state/audit.jsonl")).unwrap().lines().count()
}

/// The audit records since line `from` that `counted` accepts (the function's own API calls).
fn calls_since(h: &Harness, from: usize, counted: impl Fn(&Value) -> bool) -> usize {
    let audit = std::fs::read_to_string(h.dir.path().join("state/audit.jsonl")).unwrap();
    audit.lines().skip(from).map(|l| serde_json::from_str::<Value>(l).unwrap()).filter(|l| counted(l)).count()
}

async fn wait_done(h: &Harness, arn: &str, token: &str) {
    loop {
        let record = h.last_rotation(arn).await;
        if record["token"] == token && record["state"] != "running" {
            assert_eq!(record["state"], "succeeded", "{record}");
            return;
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

/// Runs the measurements for one function; `secret` makes a fresh, rotatable secret value.
async fn measure(title: &str, function: &'static str, env: Vec<(String, String)>, secret: impl Fn() -> String) {
    let mut h = Harness::start(vec![]).await;
    let pid = h.start_function(Function { name: function, env: env.clone() });
    let arn = h.create_secret(&unique("bench"), &secret()).await;
    let record = h.configure_rotation(&arn, function).await;
    assert_eq!(record["state"], "succeeded", "{record}");
    let audit_before = audit_len(&h);

    let mut totals = Vec::new();
    for _ in 0..ROTATIONS {
        let started = Instant::now();
        let token = h.client.rotate_secret().secret_id(&arn).send().await.unwrap().version_id().unwrap().to_owned();
        wait_done(&h, &arn, &token).await;
        totals.push(ms(started.elapsed()));
    }
    let rss = memory(pid);

    // The function's own calls: the benchmark's RotateSecret and the endpoint's step records are not counted.
    let api_calls = calls_since(&h, audit_before, |l| {
        l["secret"] == arn.as_str() && !l["operation"].as_str().unwrap().starts_with("Rotat")
    });

    let log = std::fs::read_to_string(h.dir.path().join(format!("{function}.log"))).unwrap();
    let mut steps: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for line in log.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
        if line["message"] == "step succeeded" {
            steps
                .entry(line["step"].as_str().unwrap().to_owned())
                .or_default()
                .push(line["duration_ms"].as_f64().unwrap());
        }
    }

    // Cold start: a fresh process and its first event (testSecret of the current version, which logs in).
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..COLD_STARTS {
        let mut fresh = Harness::start(vec![]).await;
        let arn = fresh.create_secret(&unique("cold"), &secret()).await;
        let current = fresh.holding(&arn, "AWSCURRENT").await.unwrap();
        let event = json!({"Step": "testSecret", "SecretId": arn, "ClientRequestToken": current});
        let started = Instant::now();
        fresh.start_function(Function { name: function, env: env.clone() });
        fresh.invoke(function, &event).await.expect("the first event is handled");
        cold.push(ms(started.elapsed()));
        let started = Instant::now();
        fresh.invoke(function, &event).await.expect("the second event is handled");
        warm.push(ms(started.elapsed()));
    }
    // The first rotation after a cold start: the process spawned, then RotateSecret until AWSPENDING is gone.
    let mut first = Vec::new();
    for _ in 0..COLD_STARTS {
        let mut fresh = Harness::start(vec![]).await;
        let arn = fresh.create_secret(&unique("first"), &secret()).await;
        let started = Instant::now();
        fresh.start_function(Function { name: function, env: env.clone() });
        let token = fresh.rotate(&arn, function).await;
        wait_done(&fresh, &arn, &token).await;
        first.push(ms(started.elapsed()));
    }

    println!("{title}");
    println!(
        "  full rotation ({ROTATIONS} runs): median {:.2} ms, p95 {:.2} ms",
        percentile(&totals, 0.5),
        percentile(&totals, 0.95)
    );
    for (step, samples) in steps {
        println!(
            "  step {step:<13} median {:.2} ms, p95 {:.2} ms (inside the function)",
            percentile(&samples, 0.5),
            percentile(&samples, 0.95)
        );
    }
    println!(
        "  cold start to the first handled event ({COLD_STARTS} runs): median {:.2} ms, p95 {:.2} ms; a warm testSecret: median {:.2} ms",
        percentile(&cold, 0.5),
        percentile(&cold, 0.95),
        percentile(&warm, 0.5)
    );
    println!(
        "  first rotation of a fresh process ({COLD_STARTS} runs): median {:.2} ms, {:+.2} ms from the median rotation",
        percentile(&first, 0.5),
        percentile(&first, 0.5) - percentile(&totals, 0.5)
    );
    println!("  peak RSS after {ROTATIONS} rotations: {rss}");
    println!("  Secrets Manager calls per rotation (by the function): {:.1}", api_calls as f64 / ROTATIONS as f64);
}

/// A parameter's rotations: the function invoked with `{"ParameterName", "RotationId"}` (it runs the four steps
/// itself), against the local endpoint's Parameter Store; the Parameter Store calls per rotation from the audit log.
async fn measure_parameter(title: &str, function: &'static str, env: Vec<(String, String)>, value: String) {
    let mut h = Harness::start(vec![]).await;
    let pid = h.start_function(Function { name: function, env });
    let name = format!("/rotor/bench/{}", unique("p"));
    h.put_parameter(&name, &value, function.trim_start_matches("rotate-")).await;
    let audit_before = audit_len(&h);
    let mut totals = Vec::new();
    for run in 0..ROTATIONS {
        let event = json!({"ParameterName": name, "RotationId": format!("bench-{run}")});
        let started = Instant::now();
        h.invoke(function, &event).await.expect("the rotation succeeds");
        totals.push(ms(started.elapsed()));
    }
    let rss = memory(pid);
    let api_calls = calls_since(&h, audit_before, |l| l["operation"].as_str().unwrap().starts_with("AmazonSSM."));
    println!("{title}");
    println!(
        "  full rotation, four steps in one invocation ({ROTATIONS} runs): median {:.2} ms, p95 {:.2} ms",
        percentile(&totals, 0.5),
        percentile(&totals, 0.95)
    );
    println!("  peak RSS after {ROTATIONS} rotations: {rss}");
    println!("  Parameter Store calls per rotation (by the function): {:.1}", api_calls as f64 / ROTATIONS as f64);
}

/// `rotatectl report` over a fleet: `count` secrets (one in ten never rotated) in a state file the local endpoint
/// loads, the report's wall time and what it found.
fn measure_report(count: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut secrets = serde_json::Map::new();
    for i in 0..count {
        let name = format!("fleet/app-{i:05}");
        let arn = format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-AbCdEf");
        let rotated = i % 10 != 0;
        let record = json!({
            "arn": arn, "name": name, "description": null, "kms_key_id": null,
            "created": "2026-01-01T00:00:00Z", "last_changed": "2026-01-01T00:00:00Z",
            "last_rotated": if rotated { json!("2026-01-01T00:00:00Z") } else { Value::Null },
            "next_rotation": null, "rotation_enabled": rotated.then_some(true),
            "rotation_lambda_arn": rotated.then_some("arn:aws:lambda:us-east-1:123456789012:function:rotate-custom"),
            "rotation_rules": if rotated { json!({"AutomaticallyAfterDays": 30}) } else { Value::Null },
            "tags": [], "deleted_date": null, "last_rotation": null,
            "versions": {uuid::Uuid::new_v4().to_string(): {"secret_string": "{}", "secret_binary": null, "stages": ["AWSCURRENT"], "created": "2026-01-01T00:00:00Z"}},
        });
        secrets.insert(arn, record);
    }
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("state.json"), json!({"secrets": secrets}).to_string()).unwrap();
    let mut endpoint = std::process::Command::new(harness::binary("rotatectl"))
        .args(["serve", "--port", "0", "--manual-clock", "2026-01-02T00:00:00Z", "--state-dir"])
        .arg(&state)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(endpoint.stdout.take().unwrap()), &mut line).unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    let started = Instant::now();
    let out = std::process::Command::new(harness::binary("rotatectl"))
        .args(["report", "--json", "--endpoint-url", &url])
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDROTORBENCH")
        .env("AWS_SECRET_ACCESS_KEY", "rotor-bench-not-a-secret")
        .output()
        .unwrap();
    let elapsed = ms(started.elapsed());
    endpoint.kill().ok();
    endpoint.wait().ok();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("rotatectl report over {count} secrets on the local endpoint");
    println!(
        "  {elapsed:.0} ms for {} entries, {} violating (the never-rotated tenth)",
        report["entries"].as_array().unwrap().len(),
        report["violations"]
    );
}

/// What one fleet run measured.
struct FleetRun {
    rotations: usize,
    seconds: f64,
}

/// The fleet scenario: `generated` generated secrets (and `postgres` PostgreSQL single-user secrets) all due in
/// one schedule window, on an endpoint enforcing Secrets Manager's per-second quotas, with at most `concurrency`
/// function invocations at once (that many instances of each function). Every rotation must complete and none be
/// left stuck; prints throughput, Secrets Manager calls, throttled calls (which the SDK retried) and
/// PostgreSQL's peak connection count.
async fn measure_fleet(generated: usize, postgres: usize, concurrency: usize) -> FleetRun {
    let limit = concurrency.to_string();
    let args = ["--quotas", "aws", "--max-concurrent-invocations", &limit, "--save-interval-ms", "500"];
    let mut h = Harness::start_with(vec![], args.iter().map(|a| a.to_string()).collect()).await;
    let mut secrets = serde_json::Map::new();
    for i in 0..generated {
        let value = r#"{"password":"abcdefghijklmnopqrstuvwxyzABCD1!","service":"fleet"}"#;
        let (arn, record) = harness::due_secret(&format!("fleet/generated-{i:05}"), value, "rotate-custom");
        secrets.insert(arn, record);
    }
    let pg = (postgres > 0).then(postgres_server::PgServer::get);
    let mut pg_env = Vec::new();
    if let Some(pg) = &pg {
        let superuser = pg.superuser("postgres").await;
        for i in 0..postgres {
            let user = format!("fleet_{}_{i}", uuid::Uuid::new_v4().simple());
            let password = uuid::Uuid::new_v4().to_string();
            superuser.batch_execute(&format!("CREATE ROLE {user}")).await.unwrap();
            superuser.batch_execute(&rotation_postgres::password_statement(&user, &password, "LOGIN")).await.unwrap();
            let value = json!({"engine": "postgres", "host": "127.0.0.1", "port": pg.port, "username": user, "password": password});
            let (arn, record) =
                harness::due_secret(&format!("fleet/postgres-{i:03}"), &value.to_string(), "rotate-postgres");
            secrets.insert(arn, record);
        }
        pg_env.push(("TLS_CA_BUNDLE".to_string(), pg.ca().display().to_string()));
    }
    let arns: Vec<String> = secrets.keys().cloned().collect();
    std::fs::write(h.dir.path().join("state/state.json"), json!({"secrets": secrets}).to_string()).unwrap();
    h.start_endpoint();
    let quiet = || vec![("RUST_LOG".to_string(), "info".to_string())];
    for _ in 0..concurrency {
        h.start_function(Function { name: "rotate-custom", env: quiet() });
        if postgres > 0 {
            let mut env = quiet();
            env.extend(pg_env.clone());
            h.start_function(Function { name: "rotate-postgres", env });
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // the instances poll the Runtime API
    let audit_before = audit_len(&h);

    // PostgreSQL's client connections, sampled every 10 ms while the window runs (less the sampler's own).
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let sampler = match &pg {
        Some(pg) => {
            let client = pg.superuser("postgres").await;
            let peak = std::sync::Arc::clone(&peak);
            Some(tokio::spawn(async move {
                loop {
                    let row = client
                        .query_one("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'", &[])
                        .await
                        .unwrap();
                    peak.fetch_max(row.get::<_, i64>(0) - 1, std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }))
        }
        None => None,
    };
    let started = Instant::now();
    let count = h.advance_clock(86_400).await as usize;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(sampler) = sampler {
        sampler.abort();
    }
    assert_eq!(count, arns.len(), "every secret was due in the window");
    // The functions' calls (before this bench's own reads below).
    let function_call = |l: &Value| {
        let op = l["operation"].as_str().unwrap_or_default();
        !op.starts_with("Rotation") && !op.starts_with("Scheduled")
    };
    let calls = calls_since(&h, audit_before, function_call);
    let throttled = calls_since(&h, audit_before, |l| function_call(l) && l["outcome"] == "ThrottlingException");

    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    let mut stuck = 0;
    for arn in &arns {
        let record = h.last_rotation(arn).await;
        *states.entry(record["state"].as_str().unwrap_or("none").to_owned()).or_default() += 1;
        if record["state"] != "succeeded" {
            println!("  not succeeded: {record}");
        }
        stuck += usize::from(h.holding(arn, "AWSPENDING").await.is_some());
    }
    let succeeded = states.get("succeeded").copied().unwrap_or(0);
    println!(
        "fleet: {generated} generated + {postgres} PostgreSQL secrets due in one window; AWS's quotas; {concurrency} invocations at once"
    );
    println!("  {succeeded} of {count} rotations succeeded ({states:?}), {stuck} left with AWSPENDING");
    println!("  {seconds:.1} s for the window: {:.1} rotations/s", count as f64 / seconds);
    println!(
        "  Secrets Manager calls: {calls} ({:.1} per rotation), {throttled} throttled and retried by the SDK",
        calls as f64 / count as f64
    );
    if postgres > 0 {
        println!("  PostgreSQL peak client connections: {}", peak.load(std::sync::atomic::Ordering::Relaxed));
    }
    assert_eq!((succeeded, stuck), (count, 0), "every rotation completes and none is left stuck");
    FleetRun { rotations: count, seconds }
}

/// The fleet at two sizes: 1,000 generated and 100 PostgreSQL secrets, then 5,000 generated; the time per rotation
/// must not grow with the fleet.
async fn measure_fleets() {
    let small = measure_fleet(1000, 100, 8).await;
    let large = measure_fleet(5000, 0, 8).await;
    let (per_small, per_large) = (small.seconds / small.rotations as f64, large.seconds / large.rotations as f64);
    println!(
        "fleet scaling: {:.1} ms per rotation at {} secrets, {:.1} ms at {} ({:.2}x; linear is 1.00x)",
        per_small * 1000.0,
        small.rotations,
        per_large * 1000.0,
        large.rotations,
        per_large / per_small
    );
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list; this is a benchmark, not a test.
    }
    // `cargo bench -p rotor-tests --bench rotation -- report`: the fleet report alone.
    if std::env::args().any(|a| a == "report") {
        measure_report(5000);
        return;
    }
    // `... -- fleet`: the fleet scenario alone.
    if std::env::args().any(|a| a == "fleet") {
        measure_fleets().await;
        return;
    }
    println!("rotor benchmark (release build; local endpoint; cargo-lambda's runtime API; this machine)");
    measure("generated secret (rotate-custom)", "rotate-custom", vec![], || {
        r#"{"password":"abcdefghijklmnopqrstuvwxyzABCD1!","service":"bench"}"#.to_owned()
    })
    .await;

    let pg = postgres_server::PgServer::get();
    let superuser = pg.superuser("postgres").await;
    let env = vec![("TLS_CA_BUNDLE".to_string(), pg.ca().display().to_string())];
    let secret = || {
        let user = unique("bench").replace('-', "_");
        let password = uuid::Uuid::new_v4().to_string();
        (user, password)
    };
    let mut users = Vec::new();
    for _ in 0..=2 * COLD_STARTS + 1 {
        let (user, password) = secret();
        superuser.batch_execute(&format!("CREATE ROLE {user}")).await.unwrap();
        superuser.batch_execute(&rotation_postgres::password_statement(&user, &password, "LOGIN")).await.unwrap();
        users.push(
            json!({"engine": "postgres", "host": "127.0.0.1", "port": pg.port, "username": user, "password": password})
                .to_string(),
        );
    }
    let parameter_user = users.pop().unwrap();
    let next = std::sync::Mutex::new(users.into_iter());
    measure("PostgreSQL single user over verified TLS (rotate-postgres)", "rotate-postgres", env.clone(), || {
        next.lock().unwrap().next().unwrap()
    })
    .await;
    let title = "PostgreSQL single user in a Parameter Store SecureString (rotate-postgres)";
    measure_parameter(title, "rotate-postgres", env, parameter_user).await;

    let maria = mariadb_server::MariaDbServer::get().await;
    let mut root = maria.root().await;
    let env = vec![("TLS_CA_BUNDLE".to_string(), maria.ca().display().to_string())];
    let mut users = Vec::new();
    for _ in 0..=2 * COLD_STARTS {
        let (user, password) = secret();
        mysql_async::prelude::Queryable::query_drop(
            &mut root,
            format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"),
        )
        .await
        .unwrap();
        users.push(json!({"engine": "mariadb", "host": "127.0.0.1", "port": maria.port, "username": user, "password": password}).to_string());
    }
    let next = std::sync::Mutex::new(users.into_iter());
    measure("MariaDB single user over verified TLS (rotate-mysql)", "rotate-mysql", env, || {
        next.lock().unwrap().next().unwrap()
    })
    .await;

    let redis = redis_server::RedisServer::get().await;
    let env = vec![("TLS_CA_BUNDLE".to_string(), redis.ca().display().to_string())];
    let mut users = Vec::new();
    for _ in 0..=2 * COLD_STARTS {
        let (user, password) = secret();
        let hash = rotation_redis::password_hash(&password);
        redis.run(&["ACL", "SETUSER", &user, "on", &hash, "~*", "&*", "+@all"]).await;
        users.push(json!({"engine": "redis", "host": "127.0.0.1", "port": redis.tls_port, "username": user, "password": password}).to_string());
    }
    let next = std::sync::Mutex::new(users.into_iter());
    measure("Redis single user over verified TLS (rotate-redis)", "rotate-redis", env, || {
        next.lock().unwrap().next().unwrap()
    })
    .await;

    // `... -- single`: the per-function measurements alone (no report, no fleet).
    if std::env::args().any(|a| a == "single") {
        return;
    }
    measure_report(5000);
    measure_fleets().await;
}
