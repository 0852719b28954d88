//! `make bench`: rotations through the local endpoint and cargo-lambda's Runtime API, on the release build.
//! Single users, with cold starts: a generated secret (`rotate-custom`), a PostgreSQL single user
//! (`rotate-postgres`), an Amazon Redshift user on its md5 PostgreSQL stand-in (`rotate-redshift`), a
//! DocumentDB/MongoDB user on its SecantusDB stand-in (`rotate-mongodb`), a MariaDB single user (`rotate-mysql`) and a
//! Redis ACL user changing its own password (`rotate-redis`). For each: the median and p95 time of a full rotation
//! (RotateSecret until AWSPENDING is gone), each step's median and p95 inside the function with its mean logins to
//! the target and Secrets Manager calls (from the function's step records), the set+test+finish medians summed, peak
//! RSS, the function's Secrets Manager calls per rotation (from the endpoint's audit log), the cold start (process
//! spawn to its first handled event) and the first rotation after a cold start (process spawn until its first
//! rotation is done). Admin secrets, rotations only (no cold start): PostgreSQL, Redshift, DocumentDB/MongoDB, MariaDB
//! and Redis users whose password the admin secret sets (`ROTATION_STRATEGY=admin`) and alternating users
//! (`rotate-postgres-alternating`, `rotate-redshift-alternating`, `rotate-mongodb-alternating`,
//! `rotate-mysql-alternating`,
//! `rotate-redis` with `ROTATION_STRATEGY=alternating-users`), the same figures, the admin secret's calls counted.
//! The FIPS build of `rotate-custom` and `rotate-postgres` (rotation-core's `fips`) is measured as their default
//! build is, and a table sets its rotation median, cold start and peak RSS beside the default build's.
//! Also a PostgreSQL single user in a Parameter Store SecureString: the rotation's time and its Parameter Store
//! calls. The per-function part ends with a summary table, one row per engine and strategy (rotation and step
//! medians, logins and Secrets Manager calls per rotation). Then `rotatectl report` over 5,000 secrets and the fleet
//! (`-- single`: the per-function part alone; `-- report`, `-- fleet`, `-- directory`: those alone; `-- fips`: the
//! generated secret and PostgreSQL single user, default and FIPS builds, alone).

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
#[path = "../tests/e2e/mongodb_server.rs"]
mod mongodb_server;
#[allow(dead_code)]
#[path = "../tests/e2e/postgres_server.rs"]
mod postgres_server;
#[allow(dead_code)]
#[path = "../tests/e2e/redis_server.rs"]
mod redis_server;
#[allow(dead_code)]
#[path = "../tests/e2e/slapd_server.rs"]
mod slapd_server;

use std::collections::BTreeMap;
use std::path::PathBuf;
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

/// A rotation's steps, in the order they run.
const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

/// The steps whose medians make up the time inside the function of a rotation's work on the target.
const INSIDE_STEPS: [&str; 3] = ["setSecret", "testSecret", "finishSecret"];

fn mean(samples: &[f64]) -> f64 {
    samples.iter().sum::<f64>() / samples.len() as f64
}

/// One step's `"step succeeded"` records over the measured rotations.
#[derive(Default)]
struct StepRecords {
    /// `duration_ms` of each record.
    durations: Vec<f64>,
    /// `logins` of each record: `None` where the function under measurement does not report them (older builds).
    logins: Vec<Option<f64>>,
    /// `secrets_manager_calls` of each record.
    secrets_manager_calls: Vec<f64>,
}

impl StepRecords {
    /// The mean logins per step; `None` when a record has no `logins`.
    fn logins(&self) -> Option<f64> {
        self.logins.iter().copied().collect::<Option<Vec<f64>>>().map(|logins| mean(&logins))
    }
}

/// What [`ROTATIONS`] rotations of one function measured.
struct Rotations {
    /// Each rotation's time, RotateSecret until AWSPENDING is gone.
    totals: Vec<f64>,
    /// The function's step records, by step.
    steps: BTreeMap<String, StepRecords>,
    /// Peak RSS after the rotations ([`memory`]).
    rss: String,
    /// The function's Secrets Manager calls over all the rotations, from the endpoint's audit log.
    secrets_manager_calls: usize,
    /// The median cold start (process spawn to its first handled event), where [`measure`] measured it.
    cold_start: Option<f64>,
}

impl Rotations {
    /// The steps recorded, in rotation order (any other step after them).
    fn steps(&self) -> impl Iterator<Item = (&str, &StepRecords)> {
        let known = STEPS.iter().filter_map(|step| self.steps.get_key_value(*step));
        let others = self.steps.iter().filter(|(step, _)| !STEPS.contains(&step.as_str()));
        known.chain(others).map(|(step, records)| (step.as_str(), records))
    }

    fn median(&self) -> f64 {
        percentile(&self.totals, 0.5)
    }

    /// A step's median time inside the function; 0 for a step the function did not record.
    fn step_median(&self, step: &str) -> f64 {
        self.steps.get(step).map_or(0.0, |records| percentile(&records.durations, 0.5))
    }

    /// The medians of setSecret, testSecret and finishSecret, summed.
    fn inside(&self) -> f64 {
        INSIDE_STEPS.iter().map(|step| self.step_median(step)).sum()
    }

    /// Logins per rotation: the sum of each step's mean; `None` when the function does not report them.
    fn logins(&self) -> Option<f64> {
        self.steps.values().map(StepRecords::logins).sum()
    }

    fn secrets_manager_calls(&self) -> f64 {
        self.secrets_manager_calls as f64 / ROTATIONS as f64
    }

    fn print(&self, title: &str) {
        println!("{title}");
        println!(
            "  full rotation ({ROTATIONS} runs): median {:.2} ms, p95 {:.2} ms",
            self.median(),
            percentile(&self.totals, 0.95)
        );
        for (step, records) in self.steps() {
            println!(
                "  step {step:<13} median {:.2} ms, p95 {:.2} ms, {}, {:.1} Secrets Manager calls (inside the function)",
                percentile(&records.durations, 0.5),
                percentile(&records.durations, 0.95),
                logins(records.logins()),
                mean(&records.secrets_manager_calls)
            );
        }
        println!("  time inside the function, set+test+finish medians: {:.2} ms", self.inside());
        println!("  peak RSS after {ROTATIONS} rotations: {}", self.rss);
        println!("  Secrets Manager calls per rotation (by the function): {:.1}", self.secrets_manager_calls());
    }
}

/// `1.0 logins`, or `logins n/a` for a function that does not report them.
fn logins(mean: Option<f64>) -> String {
    mean.map_or_else(|| "logins n/a".to_owned(), |mean| format!("{mean:.1} logins"))
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

/// Configures rotation of `secrets[0]` with `function` (process `pid`), then rotates it [`ROTATIONS`] times. The
/// Secrets Manager calls counted are those on `secrets` (the rotated secret, and an admin secret the function
/// reads), less the benchmark's RotateSecret and the endpoint's step records; the step records are those the
/// function logged during the rotations (not the configuration's test).
async fn rotations(h: &Harness, pid: u32, function: &str, secrets: &[&str]) -> Rotations {
    let arn = secrets[0];
    let record = h.configure_rotation(arn, function).await;
    assert_eq!(record["state"], "succeeded", "{record}");
    let audit_before = audit_len(h);
    let log_path = h.dir.path().join(format!("{function}.log"));
    let log_before = std::fs::read_to_string(&log_path).unwrap().lines().count();

    let mut totals = Vec::new();
    for _ in 0..ROTATIONS {
        let started = Instant::now();
        let token = h.client.rotate_secret().secret_id(arn).send().await.unwrap().version_id().unwrap().to_owned();
        wait_done(h, arn, &token).await;
        totals.push(ms(started.elapsed()));
    }
    let rss = memory(pid);

    let secrets_manager_calls = calls_since(h, audit_before, |l| {
        secrets.iter().any(|s| l["secret"] == *s) && !l["operation"].as_str().unwrap().starts_with("Rotat")
    });

    let log = std::fs::read_to_string(&log_path).unwrap();
    let mut steps: BTreeMap<String, StepRecords> = BTreeMap::new();
    for line in log.lines().skip(log_before).filter_map(|l| serde_json::from_str::<Value>(l).ok()) {
        if line["message"] == "step succeeded" {
            let records = steps.entry(line["step"].as_str().unwrap().to_owned()).or_default();
            records.durations.push(line["duration_ms"].as_f64().unwrap());
            records.logins.push(line["logins"].as_f64());
            records.secrets_manager_calls.push(line["secrets_manager_calls"].as_f64().unwrap());
        }
    }
    Rotations { totals, steps, rss, secrets_manager_calls, cold_start: None }
}

/// Runs the measurements for one single-user function: its rotations ([`rotations`]), then its cold start and the
/// first rotation of a fresh process; `secret` makes a fresh, rotatable secret value.
async fn measure(
    title: &str,
    function: &'static str,
    env: Vec<(String, String)>,
    secret: impl Fn() -> String,
) -> Rotations {
    measure_at(title, function, &harness::binary(function), env, secret).await
}

/// [`measure`], the function run from `binary` (another build of it: the FIPS build).
async fn measure_at(
    title: &str,
    function: &'static str,
    binary: &std::path::Path,
    env: Vec<(String, String)>,
    secret: impl Fn() -> String,
) -> Rotations {
    let mut h = Harness::start(vec![]).await;
    let pid = h.start_function_at(Function { name: function, env: env.clone() }, binary);
    let arn = h.create_secret(&unique("bench"), &secret()).await;
    let mut measured = rotations(&h, pid, function, &[&arn]).await;
    drop(h);
    measured.print(title);

    // Cold start: a fresh process and its first event (testSecret of the current version, which logs in).
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..COLD_STARTS {
        let mut fresh = Harness::start(vec![]).await;
        let arn = fresh.create_secret(&unique("cold"), &secret()).await;
        let current = fresh.holding(&arn, "AWSCURRENT").await.unwrap();
        let event = json!({"Step": "testSecret", "SecretId": arn, "ClientRequestToken": current});
        let started = Instant::now();
        fresh.start_function_at(Function { name: function, env: env.clone() }, binary);
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
        fresh.start_function_at(Function { name: function, env: env.clone() }, binary);
        let token = fresh.rotate(&arn, function).await;
        wait_done(&fresh, &arn, &token).await;
        first.push(ms(started.elapsed()));
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
        percentile(&first, 0.5) - measured.median()
    );
    measured.cold_start = Some(percentile(&cold, 0.5));
    measured
}

/// The FIPS build beside the default build, one pair of rows per function: the rotation median, the cold start
/// median and the peak RSS.
fn print_fips(pairs: &[(&str, &Rotations, &Rotations)]) {
    println!("the FIPS build beside the default build (release; medians in ms)");
    println!("  {:<16} {:<8} {:>9} {:>11} {:>14}", "function", "build", "rotation", "cold start", "peak RSS");
    for (function, default, fips) in pairs {
        for (build, r) in [("default", default), ("FIPS", fips)] {
            let cold = r.cold_start.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.2}"));
            println!("  {function:<16} {build:<8} {:>9.2} {cold:>11} {:>14}", r.median(), r.rss);
        }
    }
}

/// A function whose user secret names an admin secret (`masterarn`) that the function's `ADMIN_SECRET_ARNS`
/// allows, set up as the end-to-end tests set one up.
struct AdminCase {
    h: Harness,
    pid: u32,
    function: &'static str,
    arn: String,
    admin_arn: String,
}

impl AdminCase {
    /// A harness running `function` with the end-to-end tests' environment for admin secrets (`ADMIN_SECRET_ARNS`
    /// allowing the secret `admin_name`); `strategy` is `None` for a binary measured with its own default.
    async fn start(function: &'static str, strategy: Option<&str>, ca: PathBuf, admin_name: &str) -> (Harness, u32) {
        let mut env = vec![
            ("ADMIN_SECRET_ARNS".to_string(), format!("{ARN_PREFIX}{admin_name}-*")),
            ("TLS_CA_BUNDLE".to_string(), ca.display().to_string()),
            ("TEST_ATTEMPTS".to_string(), "2".to_string()),
            ("CONNECT_TIMEOUT_SECONDS".to_string(), "2".to_string()),
        ];
        env.extend(strategy.map(|strategy| ("ROTATION_STRATEGY".to_string(), strategy.to_string())));
        let mut h = Harness::start(vec![]).await;
        let pid = h.start_function(Function { name: function, env });
        (h, pid)
    }

    /// Rotations only (no cold start, no first rotation), the admin secret's calls counted with the user's.
    async fn measure(self, title: &str) -> Rotations {
        let measured = rotations(&self.h, self.pid, self.function, &[&self.arn, &self.admin_arn]).await;
        measured.print(title);
        measured
    }
}

/// The ARN prefix of the local endpoint's secrets.
const ARN_PREFIX: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:";

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// As `tests/e2e/postgres.rs`'s `setup`: a database owned by a fresh admin (CREATEROLE), a user that may read a
/// table in it, the admin's secret and the user's.
async fn postgres_case(pg: &postgres_server::PgServer, function: &'static str, strategy: Option<&str>) -> AdminCase {
    wire_case(pg, "postgres", function, strategy).await
}

/// The statement that sets `role`'s password as an `engine`'s server stores it: PostgreSQL's SCRAM verifier, or
/// Redshift's md5 hash (on its stand-in).
fn password_statement(engine: &str, role: &str, password: &str, extra: &str) -> String {
    match engine {
        "redshift" => rotation_redshift::password_statement(role, password, extra),
        _ => rotation_postgres::password_statement(role, password, extra),
    }
}

/// [`postgres_case`] for an `engine` speaking PostgreSQL's protocol: `postgres`, or `redshift` on its stand-in.
async fn wire_case(
    pg: &postgres_server::PgServer,
    engine: &str,
    function: &'static str,
    strategy: Option<&str>,
) -> AdminCase {
    let admin_name = unique("pg-admin");
    let (h, pid) = AdminCase::start(function, strategy, pg.ca(), &admin_name).await;
    let db = unique("db \"q\"; ü");
    let (admin, user) = (unique("admin"), unique("app"));
    let admin_password = uuid::Uuid::new_v4().to_string();
    let password = uuid::Uuid::new_v4().to_string();
    let superuser = pg.superuser("postgres").await;
    for statement in [
        format!("CREATE ROLE {}", quote(&admin)),
        password_statement(engine, &admin, &admin_password, "LOGIN CREATEROLE"),
        format!("CREATE DATABASE {} OWNER {}", quote(&db), quote(&admin)),
        format!("CREATE ROLE {}", quote(&user)),
        password_statement(engine, &user, &password, "LOGIN"),
    ] {
        superuser.batch_execute(&statement).await.unwrap();
    }
    let as_admin = pg.login(&admin, &admin_password, &db).await.unwrap();
    as_admin
        .batch_execute(&format!("CREATE TABLE accounts (id int); GRANT SELECT ON accounts TO {};", quote(&user)))
        .await
        .unwrap();
    let admin_secret = json!({"engine": engine, "host": "127.0.0.1", "port": pg.port, "username": admin, "password": admin_password, "dbname": "postgres"});
    let admin_arn = h.create_secret(&admin_name, &admin_secret.to_string()).await;
    let secret = json!({
        "engine": engine, "host": "127.0.0.1", "port": pg.port.to_string(), "username": user, "password": password,
        "dbname": db, "masterarn": admin_arn, "dbInstanceIdentifier": "kept-unchanged",
    });
    let arn = h.create_secret(&unique("pg-app"), &secret.to_string()).await;
    AdminCase { h, pid, function, arn, admin_arn }
}

/// A MariaDB string literal that means the same under every `sql_mode` (the names here have no backslash).
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// As `tests/e2e/mysql.rs`'s `setup`: an admin with every privilege and GRANT OPTION, a user `'<user>'@'<host>'`
/// that may read a schema (its password set as a hash, as there), and their secrets.
async fn mariadb_case(
    maria: &mariadb_server::MariaDbServer,
    function: &'static str,
    strategy: Option<&str>,
    host: &str,
) -> AdminCase {
    let admin_name = unique("my-admin");
    let (h, pid) = AdminCase::start(function, strategy, maria.ca(), &admin_name).await;
    let (admin, user) = (unique("admin"), unique("app"));
    let admin_password = uuid::Uuid::new_v4().to_string();
    let password = uuid::Uuid::new_v4().to_string();
    let schema = unique("shop").replace('-', "_");
    let identified = |password: &str| format!("IDENTIFIED BY PASSWORD '{}'", rotation_mysql::native_hash(password));
    let mut root = maria.root().await;
    for statement in [
        format!("CREATE USER {}@'127.0.0.1' {}", literal(&admin), identified(&admin_password)),
        format!("GRANT ALL PRIVILEGES ON *.* TO {}@'127.0.0.1' WITH GRANT OPTION", literal(&admin)),
        format!("CREATE USER {}@{} {}", literal(&user), literal(host), identified(&password)),
        format!("CREATE DATABASE `{schema}`"),
        format!("GRANT SELECT ON `{schema}`.* TO {}@{}", literal(&user), literal(host)),
    ] {
        mysql_async::prelude::Queryable::query_drop(&mut root, statement).await.unwrap();
    }
    let admin_secret = json!({"engine": "mariadb", "host": "127.0.0.1", "port": maria.port, "username": admin, "password": admin_password});
    let admin_arn = h.create_secret(&admin_name, &admin_secret.to_string()).await;
    let secret = json!({"engine": "mariadb", "host": "127.0.0.1", "port": maria.port, "username": user, "password": password, "masterarn": admin_arn, "dbClusterIdentifier": "kept"});
    let arn = h.create_secret(&unique("my-app"), &secret.to_string()).await;
    AdminCase { h, pid, function, arn, admin_arn }
}

/// As `tests/e2e/redis_acl.rs`'s `setup` on Redis 7: an ACL user with the application's rules, an admin with
/// `~* &* +@all`, and their secrets.
async fn redis_case(redis: &redis_server::RedisServer, strategy: &str) -> AdminCase {
    const APP_RULES: &[&str] =
        &["resetchannels", "~app:*", "%R~cache:*", "&events:*", "+@read", "+set", "+ping", "-debug"];
    let function = "rotate-redis";
    let admin_name = unique("rd-admin");
    let (h, pid) = AdminCase::start(function, Some(strategy), redis.ca(), &admin_name).await;
    let (admin, user) = (unique("rd-admin-user"), unique("rd-app-user"));
    let admin_password = uuid::Uuid::new_v4().to_string();
    let password = uuid::Uuid::new_v4().to_string();
    let (admin_hash, user_hash) =
        (rotation_redis::password_hash(&admin_password), rotation_redis::password_hash(&password));
    redis.run(&["ACL", "SETUSER", &admin, "on", &admin_hash, "~*", "&*", "+@all"]).await;
    let mut create_user = vec!["ACL", "SETUSER", user.as_str(), "on", user_hash.as_str()];
    create_user.extend(APP_RULES);
    redis.run(&create_user).await;
    let admin_secret = json!({"engine": "redis", "host": "127.0.0.1", "port": redis.tls_port, "username": admin, "password": admin_password});
    let admin_arn = h.create_secret(&admin_name, &admin_secret.to_string()).await;
    let secret = json!({"engine": "redis", "host": "127.0.0.1", "port": redis.tls_port, "username": user, "password": password, "masterarn": admin_arn, "cluster": "kept"});
    let arn = h.create_secret(&unique("rd-app"), &secret.to_string()).await;
    AdminCase { h, pid, function, arn, admin_arn }
}

/// As `tests/e2e/mongodb.rs` sets one up on the DocumentDB stand-in: an admin with `userAdminAnyDatabase`, a user
/// in `admin` with `readWrite` on its own database, their secrets in AWS's MongoDB shape.
async fn mongodb_case(
    mongo: &mongodb_server::MongoServer,
    function: &'static str,
    strategy: Option<&str>,
) -> AdminCase {
    let admin_name = unique("mg-admin");
    let (h, pid) = AdminCase::start(function, strategy, mongo.ca(), &admin_name).await;
    let (admin, user) = (unique("mg-admin-user"), unique("mg-app-user"));
    let admin_password = uuid::Uuid::new_v4().to_string();
    let password = uuid::Uuid::new_v4().to_string();
    let admin_roles = mongodb::bson::bson!([{"role": "userAdminAnyDatabase", "db": "admin"}]);
    mongo.create_user("admin", &admin, &admin_password, admin_roles).await;
    mongo.create_user("admin", &user, &password, mongodb::bson::bson!([{"role": "readWrite", "db": "orders"}])).await;
    let admin_arn =
        h.create_secret(&admin_name, &mongo.secret_json(&admin, &admin_password, "admin").to_string()).await;
    let mut secret = mongo.secret_json(&user, &password, "admin");
    secret["masterarn"] = json!(admin_arn);
    let arn = h.create_secret(&unique("mg-app"), &secret.to_string()).await;
    AdminCase { h, pid, function, arn, admin_arn }
}

/// One row of the summary: an engine, a strategy, and what their rotations measured.
struct Row {
    engine: &'static str,
    strategy: &'static str,
    rotations: Rotations,
}

/// The per-function summary: one row per engine and strategy.
fn print_summary(rows: &[Row]) {
    println!("summary ({ROTATIONS} rotations each; medians in ms; logins and Secrets Manager calls per rotation)");
    println!(
        "  {:<19} {:<18} {:>9} {:>10} {:>11} {:>13} {:>7} {:>9}",
        "engine", "strategy", "rotation", "setSecret", "testSecret", "finishSecret", "logins", "SM calls"
    );
    for row in rows {
        let r = &row.rotations;
        println!(
            "  {:<19} {:<18} {:>9.2} {:>10.2} {:>11.2} {:>13.2} {:>7} {:>9.1}",
            row.engine,
            row.strategy,
            r.median(),
            r.step_median("setSecret"),
            r.step_median("testSecret"),
            r.step_median("finishSecret"),
            r.logins().map_or_else(|| "n/a".to_owned(), |logins| format!("{logins:.1}")),
            r.secrets_manager_calls()
        );
    }
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

/// A directory account changing its own password with the Password Modify operation, over LDAPS (OpenLDAP; the
/// Samba domain the tests run needs root and the endpoint's Directory Service, so it is not measured here).
async fn measure_ldap() -> Rotations {
    let slapd = slapd_server::Slapd::start();
    let env = vec![("TLS_CA_BUNDLE".to_string(), slapd.ca().display().to_string())];
    let mut accounts = Vec::new();
    for _ in 0..=2 * COLD_STARTS {
        let password = format!("Bench-{}", uuid::Uuid::new_v4().simple());
        let dn = slapd.create_user(&unique("bench"), &password).await;
        let secret = json!({"engine": "ldap", "host": "127.0.0.1", "port": slapd.ldaps_port, "username": dn, "password": password});
        accounts.push(secret.to_string());
    }
    let next = std::sync::Mutex::new(accounts.into_iter());
    let title = "OpenLDAP account over LDAPS, its own password (rotate-ldap)";
    measure(title, "rotate-ldap", env, || next.lock().unwrap().next().unwrap()).await
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
    // `... -- directory`: the directory row alone.
    if std::env::args().any(|a| a == "directory") {
        measure_ldap().await;
        return;
    }
    // `... -- fleet`: the fleet scenario alone.
    if std::env::args().any(|a| a == "fleet") {
        measure_fleets().await;
        return;
    }
    println!("rotor benchmark (release build; local endpoint; cargo-lambda's runtime API; this machine)");
    let mut rows = Vec::new();
    let row = |engine, strategy, rotations| Row { engine, strategy, rotations };
    let generated = measure("generated secret (rotate-custom)", "rotate-custom", vec![], || {
        r#"{"password":"abcdefghijklmnopqrstuvwxyzABCD1!","service":"bench"}"#.to_owned()
    })
    .await;
    // The FIPS build (`make bench` builds it in release: rotation-core's `fips`, AWS-LC's FIPS module).
    let title = "generated secret, FIPS build (rotate-custom --features rotation-core/fips)";
    let generated_fips = measure_at(title, "rotate-custom", &harness::fips_binary("rotate-custom"), vec![], || {
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
    // One user for the Parameter Store run, and each of the two builds' rotations, cold starts and first rotations.
    for _ in 0..2 * (2 * COLD_STARTS + 1) + 1 {
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
    let single =
        measure("PostgreSQL single user over verified TLS (rotate-postgres)", "rotate-postgres", env.clone(), || {
            next.lock().unwrap().next().unwrap()
        })
        .await;
    let title = "PostgreSQL single user over verified TLS, FIPS build (rotate-postgres --features rotation-core/fips)";
    let binary = harness::fips_binary("rotate-postgres");
    let single_fips =
        measure_at(title, "rotate-postgres", &binary, env.clone(), || next.lock().unwrap().next().unwrap()).await;
    print_fips(&[("rotate-custom", &generated, &generated_fips), ("rotate-postgres", &single, &single_fips)]);
    // `... -- fips`: the two builds side by side alone (rotatectl, rotate-custom and rotate-postgres built).
    if std::env::args().any(|a| a == "fips") {
        return;
    }
    rows.push(row("generated", "-", generated));
    rows.push(row("generated (FIPS)", "-", generated_fips));
    rows.push(row("PostgreSQL", "single-user", single));
    rows.push(row("PostgreSQL (FIPS)", "single-user", single_fips));
    let title = "PostgreSQL single user in a Parameter Store SecureString (rotate-postgres)";
    measure_parameter(title, "rotate-postgres", env, parameter_user).await;
    let title = "PostgreSQL user, its password set by the admin secret (rotate-postgres, ROTATION_STRATEGY=admin)";
    let admin = postgres_case(&pg, "rotate-postgres", Some("admin")).await.measure(title).await;
    rows.push(row("PostgreSQL", "admin", admin));
    let title = "PostgreSQL alternating users (rotate-postgres-alternating)";
    let alternating = postgres_case(&pg, "rotate-postgres-alternating", None).await.measure(title).await;
    rows.push(row("PostgreSQL", "alternating-users", alternating));

    // Amazon Redshift on its declared stand-in (PostgreSQL with md5 logins): what rotor's side costs beside
    // PostgreSQL's; a Redshift cluster's own latencies are not measured here.
    let rs = postgres_server::PgServer::redshift_stand_in();
    let rs_superuser = rs.superuser("postgres").await;
    let env = vec![("TLS_CA_BUNDLE".to_string(), rs.ca().display().to_string())];
    let mut users = Vec::new();
    for _ in 0..=2 * COLD_STARTS {
        let (user, password) = secret();
        rs_superuser.batch_execute(&format!("CREATE ROLE {user}")).await.unwrap();
        rs_superuser.batch_execute(&password_statement("redshift", &user, &password, "LOGIN")).await.unwrap();
        let value = json!({"engine": "redshift", "host": "127.0.0.1", "port": rs.port, "username": user,
                           "password": password, "dbname": "postgres"});
        users.push(value.to_string());
    }
    let next = std::sync::Mutex::new(users.into_iter());
    let title = "Amazon Redshift single user on its md5 PostgreSQL stand-in (rotate-redshift)";
    let single = measure(title, "rotate-redshift", env, || next.lock().unwrap().next().unwrap()).await;
    rows.push(row("Redshift (stand-in)", "single-user", single));
    let title = "Amazon Redshift user, its password set by the admin secret (rotate-redshift, ROTATION_STRATEGY=admin)";
    let admin = wire_case(&rs, "redshift", "rotate-redshift", Some("admin")).await.measure(title).await;
    rows.push(row("Redshift (stand-in)", "admin", admin));
    let title = "Amazon Redshift alternating users (rotate-redshift-alternating)";
    let alternating = wire_case(&rs, "redshift", "rotate-redshift-alternating", None).await.measure(title).await;
    rows.push(row("Redshift (stand-in)", "alternating-users", alternating));

    // Amazon DocumentDB and MongoDB on the declared stand-in (SecantusDB, SCRAM-SHA-256 over TLS): what rotor's side
    // costs; a DocumentDB cluster's own latencies are not measured here.
    let mongo = mongodb_server::MongoServer::get();
    let env = vec![("TLS_CA_BUNDLE".to_string(), mongo.ca().display().to_string())];
    let own_password = unique("own-password");
    let privileges =
        mongodb::bson::bson!([{"resource": {"db": "", "collection": ""}, "actions": ["changeOwnPassword"]}]);
    mongo.create_role("admin", &own_password, privileges, mongodb::bson::bson!([])).await;
    let mut users = Vec::new();
    for _ in 0..=2 * COLD_STARTS {
        let (user, password) = secret();
        let roles =
            mongodb::bson::bson!([{"role": "readWrite", "db": "orders"}, {"role": &own_password, "db": "admin"}]);
        mongo.create_user("admin", &user, &password, roles).await;
        users.push(mongo.secret_json(&user, &password, "admin").to_string());
    }
    let next = std::sync::Mutex::new(users.into_iter());
    let title = "DocumentDB/MongoDB single user on its SecantusDB stand-in (rotate-mongodb)";
    let single = measure(title, "rotate-mongodb", env, || next.lock().unwrap().next().unwrap()).await;
    rows.push(row("DocumentDB (stand-in)", "single-user", single));
    let title =
        "DocumentDB/MongoDB user, its password set by the admin secret (rotate-mongodb, ROTATION_STRATEGY=admin)";
    let admin = mongodb_case(&mongo, "rotate-mongodb", Some("admin")).await.measure(title).await;
    rows.push(row("DocumentDB (stand-in)", "admin", admin));
    let title = "DocumentDB/MongoDB alternating users (rotate-mongodb-alternating)";
    let alternating = mongodb_case(&mongo, "rotate-mongodb-alternating", None).await.measure(title).await;
    rows.push(row("DocumentDB (stand-in)", "alternating-users", alternating));

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
    let single = measure("MariaDB single user over verified TLS (rotate-mysql)", "rotate-mysql", env, || {
        next.lock().unwrap().next().unwrap()
    })
    .await;
    rows.push(row("MariaDB", "single-user", single));
    let title = "MariaDB user '%', its password set by the admin secret (rotate-mysql, ROTATION_STRATEGY=admin)";
    let admin = mariadb_case(&maria, "rotate-mysql", Some("admin"), "%").await.measure(title).await;
    rows.push(row("MariaDB", "admin", admin));
    let title = "MariaDB alternating users '127.0.0.1' (rotate-mysql-alternating)";
    let alternating = mariadb_case(&maria, "rotate-mysql-alternating", None, "127.0.0.1").await.measure(title).await;
    rows.push(row("MariaDB", "alternating-users", alternating));

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
    let single = measure("Redis single user over verified TLS (rotate-redis)", "rotate-redis", env, || {
        next.lock().unwrap().next().unwrap()
    })
    .await;
    rows.push(row("Redis", "single-user", single));
    let title = "Redis ACL user, its password set by the admin secret (rotate-redis, ROTATION_STRATEGY=admin)";
    let admin = redis_case(&redis, "admin").await.measure(title).await;
    rows.push(row("Redis", "admin", admin));
    let title = "Redis alternating ACL users (rotate-redis, ROTATION_STRATEGY=alternating-users)";
    let alternating = redis_case(&redis, "alternating-users").await.measure(title).await;
    rows.push(row("Redis", "alternating-users", alternating));

    rows.push(row("OpenLDAP", "single-user", measure_ldap().await));
    print_summary(&rows);

    // `... -- single`: the per-function measurements alone (no report, no fleet).
    if std::env::args().any(|a| a == "single") {
        return;
    }
    measure_report(5000);
    measure_fleets().await;
}
