//! `rotatectl serve`: the local Secrets Manager endpoint.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rotation_local::{CacheConfig, Clock, Config, Endpoint, Identity};

/// Options of `serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one; the address is printed).
    #[arg(long, default_value_t = 4566)]
    port: u16,
    /// Directory of the persisted state and the audit log.
    #[arg(long, default_value = ".rotor/state")]
    state_dir: PathBuf,
    /// The Lambda Invoke API that runs rotation functions (cargo lambda watch's address).
    #[arg(long, env = "ROTOR_INVOKE_ENDPOINT", default_value = "http://127.0.0.1:9000")]
    invoke_endpoint: String,
    /// Seconds one step's invocation may take.
    #[arg(long, default_value_t = 120)]
    invoke_timeout: u64,
    /// Run schedules on a manual clock starting at this RFC 3339 time (or now, if given without a value),
    /// moved with `POST /_rotor/clock`.
    #[arg(long, num_args = 0..=1, default_missing_value = "now")]
    manual_clock: Option<String>,
    /// Region in ARNs.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// Account id in ARNs.
    #[arg(long, default_value = "123456789012")]
    account: String,
    /// Milliseconds between the scheduler's looks for due rotations.
    #[arg(long, default_value_t = 1000)]
    scheduler_interval_ms: u64,
    /// Serve ElastiCache's user calls over this Redis server: its administrative URL
    /// (`redis://user:password@127.0.0.1:port`), where users are applied.
    #[arg(long, env = "ROTOR_ELASTICACHE_REDIS", requires = "elasticache_endpoint")]
    elasticache_redis: Option<String>,
    /// The cache's address as clients reach it (`host:port`, its TLS port), answered by
    /// `DescribeReplicationGroups`.
    #[arg(long)]
    elasticache_endpoint: Option<String>,
    /// Milliseconds a modified ElastiCache user stays `modifying` before its passwords apply.
    #[arg(long, default_value_t = 1000)]
    elasticache_modify_ms: u64,
    /// Enforce Secrets Manager's documented per-second quotas (`aws`), answering `ThrottlingException` over them.
    #[arg(long, value_parser = ["aws", "none"], default_value = "none")]
    quotas: String,
    /// Multiply the quotas' rates by this (tests meet throttling with fewer calls at 0.2).
    #[arg(long, default_value_t = 1.0)]
    quota_scale: f64,
    /// Run at most this many function invocations at once, as Lambda's concurrency limit does (others wait).
    #[arg(long)]
    max_concurrent_invocations: Option<usize>,
    /// Save the state every N milliseconds instead of after every change: for runs over thousands of secrets,
    /// where saving the whole state per change would dominate; a crash loses the last interval's changes.
    #[arg(long)]
    save_interval_ms: Option<u64>,
}

/// Serves until killed.
pub async fn run(args: ServeArgs) -> Result<ExitCode, String> {
    let clock = match args.manual_clock.as_deref() {
        None => Clock::System,
        Some("now") => Clock::manual(Utc::now()),
        Some(start) => Clock::manual(
            DateTime::parse_from_rfc3339(start)
                .map_err(|e| format!("--manual-clock {start:?}: {e}"))?
                .with_timezone(&Utc),
        ),
    };
    let elasticache = match (args.elasticache_redis, args.elasticache_endpoint) {
        (Some(admin_url), Some(endpoint)) => {
            let (host, port) = endpoint
                .rsplit_once(':')
                .and_then(|(host, port)| Some((host.to_owned(), port.parse::<u16>().ok()?)))
                .ok_or_else(|| format!("--elasticache-endpoint {endpoint:?} must be host:port"))?;
            Some(CacheConfig {
                admin_url,
                endpoint: (host, port),
                modify_delay: Duration::from_millis(args.elasticache_modify_ms),
            })
        }
        _ => None,
    };
    let config = Config {
        state_dir: args.state_dir.clone(),
        identity: Identity { region: args.region, account: args.account },
        invoke_endpoint: args.invoke_endpoint,
        invoke_timeout: Duration::from_secs(args.invoke_timeout),
        clock,
        scheduler_interval: Duration::from_millis(args.scheduler_interval_ms),
        elasticache,
        quotas: (args.quotas == "aws").then(|| std::sync::Arc::new(rotation_local::Quotas::aws(args.quota_scale))),
        max_concurrent_invocations: args.max_concurrent_invocations,
        save_interval: args.save_interval_ms.map(Duration::from_millis),
    };
    let endpoint =
        Endpoint::open(config).map_err(|e| format!("cannot open state in {}: {e}", args.state_dir.display()))?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("rotor local endpoint listening on http://{address}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    endpoint.serve(listener).await.map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}
