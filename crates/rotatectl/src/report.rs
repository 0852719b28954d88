//! `rotatectl report`: every secret of the account and region (and, with `--parameter-path`, every parameter under
//! it) against a rotation policy: rotation on, rotated within `--max-age`, no rotation stuck. A table or `--json`;
//! the exit code is non-zero when anything violates the policy, so it runs in CI. Values are never read. With
//! `--html FILE`, the report is also written as a self-contained page ([`html`]).

mod html;

use std::process::ExitCode;
use std::time::Duration;

use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_smithy_types::DateTime;
use chrono::Utc;
use rotation_core::{PENDING_SUFFIX, Versions};
use serde::Serialize;
use serde_json::json;

use crate::client::describe_error;
use crate::status::time;

/// Options of `report`.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// Secrets Manager (and Parameter Store) endpoint (else the standard AWS configuration).
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Days after which a secret not rotated is overdue (the AWS Config rule's default is 90).
    #[arg(long, default_value_t = 90)]
    max_age: i64,
    /// Report the rotated SecureString parameters under this path too (`/rotor/prod/`).
    #[arg(long)]
    parameter_path: Option<String>,
    /// One JSON document instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write the report as a self-contained HTML page (a chart of the ages against the policy, then every
    /// secret, those violating it first) to this file.
    #[arg(long, value_name = "FILE")]
    html: Option<std::path::PathBuf>,
    /// At most this many lookups at once (a failure's cause on rotor's endpoint; replicas with --replicas).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// List each secret's replica Regions too (one DescribeSecret per secret).
    #[arg(long)]
    replicas: bool,
}

/// One secret or parameter, as the report shows it.
#[derive(Debug, Clone, Serialize)]
struct Entry {
    kind: &'static str,
    name: String,
    arn: String,
    rotation_enabled: bool,
    function: Option<String>,
    schedule: Option<String>,
    last_rotated: Option<String>,
    next_rotation: Option<String>,
    age_days: Option<i64>,
    overdue: bool,
    stuck: Option<String>,
    last_failure: Option<String>,
    /// The Region the secret is rotated in, when it is replicated (a replica lists its primary's).
    primary_region: Option<String>,
    /// The Regions it is replicated to (with `--replicas`).
    replicas: Vec<String>,
    violations: Vec<String>,
}

impl Entry {
    /// What the report calls it: a secret's name, a parameter's `ssm:` ARN.
    fn shown_name(&self) -> &str {
        if self.kind == "parameter" { &self.arn } else { &self.name }
    }
}

fn days_since(date: &DateTime, now: i64) -> i64 {
    (now - date.secs()).div_euclid(86_400)
}

/// The time the report judges ages by: rotor's endpoint's clock (which may be a manual one), else now.
async fn now(endpoint: Option<&str>) -> i64 {
    if let Some(base) = endpoint {
        let url = format!("{}/_rotor/clock", base.trim_end_matches('/'));
        if let Ok(answer) = reqwest::get(url).await
            && let Ok(clock) = answer.json::<serde_json::Value>().await
            && let Some(now) = clock["now"].as_f64().map(|n| n as i64)
        {
            return now;
        }
    }
    Utc::now().timestamp()
}

/// Prints the report; fails when anything violates the policy.
pub async fn run(args: &ReportArgs) -> Result<ExitCode, String> {
    let config = crate::client::sdk_config(args.endpoint_url.as_deref())
        .await
        .to_builder()
        // Throttling is retried with the SDK's backoff, longer than a single call would.
        .retry_config(RetryConfig::standard().with_max_attempts(8).with_max_backoff(Duration::from_secs(10)))
        .build();
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let now = now(args.endpoint_url.as_deref()).await;
    let mut entries = Vec::new();
    let mut pages = client.list_secrets().max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        for secret in page.map_err(|e| describe_error(&e))?.secret_list() {
            entries.push(secret_entry(secret, args.max_age, now));
        }
    }
    if let Some(path) = &args.parameter_path {
        entries.extend(parameter_entries(&config, path, args.max_age, now).await?);
    }
    explain_failures(args, &mut entries).await;
    if args.replicas {
        list_replicas(&client, args.concurrency, &mut entries).await?;
    }
    let violating = entries.iter().filter(|e| !e.violations.is_empty()).count();
    if let Some(path) = &args.html {
        let generated_at = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default().to_rfc3339();
        std::fs::write(path, html::page(&entries, args.max_age, &generated_at))
            .map_err(|e| format!("cannot write the HTML report to {}: {e}", path.display()))?;
        eprintln!("wrote the HTML report to {}", path.display());
    }
    if args.json {
        let document = json!({"max_age_days": args.max_age, "entries": entries, "violations": violating});
        println!("{}", serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?);
    } else {
        print_table(&entries, args.max_age);
    }
    Ok(if violating == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn secret_entry(secret: &aws_sdk_secretsmanager::types::SecretListEntry, max_age: i64, now: i64) -> Entry {
    let rotation_enabled = secret.rotation_enabled() == Some(true);
    let schedule =
        secret.rotation_rules().map(|rules| match (rules.schedule_expression(), rules.automatically_after_days()) {
            (Some(expression), _) => expression.to_owned(),
            (None, Some(days)) => format!("every {days} days"),
            (None, None) => "-".into(),
        });
    let since = secret.last_rotated_date().or(secret.created_date());
    let age_days = since.map(|d| days_since(d, now));
    let overdue = age_days.is_some_and(|age| age > max_age);
    let versions = Versions::new(secret.secret_versions_to_stages().cloned().unwrap_or_default());
    let stuck = versions.stuck_pending().map(str::to_owned);
    let mut violations = Vec::new();
    if !rotation_enabled {
        violations.push("rotation is not enabled".to_owned());
    }
    if overdue {
        violations.push(format!("not rotated for {} days (over {max_age})", age_days.unwrap_or_default()));
    }
    if let Some(version) = &stuck {
        violations.push(format!("a rotation is stuck: AWSPENDING is on {version}"));
    }
    Entry {
        kind: "secret",
        name: secret.name().unwrap_or_default().to_owned(),
        arn: secret.arn().unwrap_or_default().to_owned(),
        rotation_enabled,
        function: secret.rotation_lambda_arn().map(str::to_owned),
        schedule,
        last_rotated: secret.last_rotated_date().map(|d| time(Some(d))),
        next_rotation: secret.next_rotation_date().map(|d| time(Some(d))),
        age_days,
        overdue,
        stuck,
        last_failure: None,
        primary_region: secret.primary_region().map(str::to_owned),
        replicas: Vec::new(),
        violations,
    }
}

/// The SecureString parameters under `path` (their companions are locks, not parameters): last written, and a
/// rotation holding the lock.
async fn parameter_entries(
    config: &aws_config::SdkConfig,
    path: &str,
    max_age: i64,
    now: i64,
) -> Result<Vec<Entry>, String> {
    let client = aws_sdk_ssm::Client::new(config);
    let filter = aws_sdk_ssm::types::ParameterStringFilter::builder()
        .key("Name")
        .option("BeginsWith")
        .values(path)
        .build()
        .map_err(|e| e.to_string())?;
    let mut found = Vec::new();
    let mut pages = client.describe_parameters().parameter_filters(filter).into_paginator().send();
    while let Some(page) = pages.next().await {
        found.extend(page.map_err(|e| describe_error(&e))?.parameters().to_vec());
    }
    let names: Vec<String> = found.iter().filter_map(|p| p.name()).map(str::to_owned).collect();
    let mut entries = Vec::new();
    for parameter in found.iter().filter(|p| p.name().is_some_and(|n| !n.ends_with(PENDING_SUFFIX))) {
        let name = parameter.name().unwrap_or_default().to_owned();
        let age_days = parameter.last_modified_date().map(|d| days_since(d, now));
        let overdue = age_days.is_some_and(|age| age > max_age);
        let locked = names.contains(&format!("{name}{PENDING_SUFFIX}"));
        let secure = parameter.r#type().is_some_and(|t| t.as_str() == "SecureString");
        let mut violations = Vec::new();
        if !secure {
            violations.push("not a SecureString".to_owned());
        }
        if overdue {
            violations.push(format!("not rotated for {} days (over {max_age})", age_days.unwrap_or_default()));
        }
        if locked {
            violations.push(format!("a rotation holds {name}{PENDING_SUFFIX}"));
        }
        entries.push(Entry {
            kind: "parameter",
            arn: format!("ssm:{name}"),
            name,
            rotation_enabled: true,
            function: None,
            schedule: None,
            last_rotated: parameter.last_modified_date().map(|d| time(Some(d))),
            next_rotation: None,
            age_days,
            overdue,
            stuck: locked.then(|| "companion".to_owned()),
            last_failure: None,
            primary_region: None,
            replicas: Vec::new(),
            violations,
        });
    }
    Ok(entries)
}

/// Runs `lookup` on each `(index, input)`, at most `concurrency` at once; the answers with their index.
async fn bounded<I, T, F, Fut>(concurrency: usize, inputs: Vec<(usize, I)>, lookup: F) -> Vec<(usize, T)>
where
    T: Send + 'static,
    F: Fn(I) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut running = tokio::task::JoinSet::new();
    for (index, input) in inputs {
        let (limit, job) = (std::sync::Arc::clone(&limit), lookup(input));
        running.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (index, job.await)
        });
    }
    let mut answers = Vec::new();
    while let Some(done) = running.join_next().await {
        answers.extend(done.ok());
    }
    answers
}

/// For stuck secrets, the failure rotor's endpoint recorded (at most `--concurrency` lookups at once); against AWS
/// there is none to ask (the function's logs have it).
async fn explain_failures(args: &ReportArgs, entries: &mut [Entry]) {
    let Some(base) = args.endpoint_url.clone() else { return };
    let base = base.trim_end_matches('/').to_owned();
    let stuck: Vec<(usize, String)> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == "secret" && e.stuck.is_some())
        .map(|(index, e)| (index, format!("{base}/_rotor/rotations/{}", e.arn)))
        .collect();
    let failures = bounded(args.concurrency, stuck, |url| async move {
        let answer: serde_json::Value = reqwest::get(url).await.ok()?.json().await.ok()?;
        let record = &answer["LastRotation"];
        let failed = record["state"] == "failed" || record["state"] == "interrupted";
        failed.then(|| {
            let field = |name: &str| record[name].as_str().unwrap_or("-").to_owned();
            format!("{} at {}: {}", field("error_type"), field("step"), field("error_message"))
        })
    })
    .await;
    for (index, failure) in failures {
        entries[index].last_failure = failure;
    }
}

/// Each secret's replica Regions, from `DescribeSecret` (at most `concurrency` at once).
async fn list_replicas(
    client: &aws_sdk_secretsmanager::Client,
    concurrency: usize,
    entries: &mut [Entry],
) -> Result<(), String> {
    let secrets: Vec<(usize, String)> =
        entries.iter().enumerate().filter(|(_, e)| e.kind == "secret").map(|(i, e)| (i, e.arn.clone())).collect();
    let described = bounded(concurrency, secrets, |arn| {
        let client = client.clone();
        async move {
            let described = client.describe_secret().secret_id(&arn).send().await.map_err(|e| describe_error(&e))?;
            Ok::<_, String>(
                described.replication_status().iter().filter_map(|r| r.region()).map(str::to_owned).collect(),
            )
        }
    })
    .await;
    for (index, regions) in described {
        entries[index].replicas = regions?;
    }
    Ok(())
}

fn print_table(entries: &[Entry], max_age: i64) {
    println!(
        "{:<40} {:<8} {:<22} {:<22} {:>5}  VIOLATIONS",
        "NAME", "ROTATION", "LAST ROTATED", "NEXT ROTATION", "DAYS"
    );
    for entry in entries {
        println!(
            "{:<40} {:<8} {:<22} {:<22} {:>5}  {}",
            entry.shown_name(),
            if entry.rotation_enabled { "on" } else { "off" },
            entry.last_rotated.as_deref().unwrap_or("-"),
            entry.next_rotation.as_deref().unwrap_or("-"),
            entry.age_days.map_or("-".into(), |d| d.to_string()),
            if entry.violations.is_empty() { "-".to_owned() } else { entry.violations.join("; ") }
        );
        if let Some(failure) = &entry.last_failure {
            println!("{:<40} last failure: {failure}", "");
        }
        if !entry.replicas.is_empty() {
            println!("{:<40} replicated to {}", "", entry.replicas.join(", "));
        }
    }
    let violating = entries.iter().filter(|e| !e.violations.is_empty()).count();
    println!(
        "\n{} checked, {violating} violating the policy (rotation on, rotated within {max_age} days, none stuck)",
        entries.len()
    );
}
