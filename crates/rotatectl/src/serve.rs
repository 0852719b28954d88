//! `rotatectl serve`: the local Secrets Manager endpoint.

use std::io::Write;
use std::path::{Path, PathBuf};
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
    /// Serve ElastiCache's user calls over this Redis server: its administrative URL without the password
    /// (`redis://user@127.0.0.1:port`), where users are applied (or `ROTOR_ELASTICACHE_REDIS`, which may carry
    /// it). The password comes from `ROTOR_ELASTICACHE_REDIS_PASSWORD` or `--elasticache-redis-password-file`,
    /// never from the command line, which every local user can read.
    #[arg(long, requires = "elasticache_endpoint")]
    elasticache_redis: Option<String>,
    /// A file holding the password of `--elasticache-redis`'s user, its owner's alone (mode 0600 or 0400).
    #[arg(long)]
    elasticache_redis_password_file: Option<PathBuf>,
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
    let admin_url = elasticache_admin_url(args.elasticache_redis, args.elasticache_redis_password_file.as_deref())?;
    let elasticache = match (admin_url, args.elasticache_endpoint) {
        (Some(_), None) => return Err("ROTOR_ELASTICACHE_REDIS needs --elasticache-endpoint".into()),
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

/// The Redis administrative URL with its password: the URL from `--elasticache-redis` or
/// `ROTOR_ELASTICACHE_REDIS`, the password from `--elasticache-redis-password-file` or
/// `ROTOR_ELASTICACHE_REDIS_PASSWORD` (or the variable's own URL).
fn elasticache_admin_url(flag: Option<String>, password_file: Option<&Path>) -> Result<Option<String>, String> {
    let (text, on_command_line) = match flag {
        Some(url) => (url, true),
        None => match std::env::var("ROTOR_ELASTICACHE_REDIS") {
            Ok(url) => (url, false),
            Err(_) if password_file.is_some() => {
                return Err("--elasticache-redis-password-file needs --elasticache-redis".into());
            }
            Err(_) => return Ok(None),
        },
    };
    let password = match (password_file, std::env::var("ROTOR_ELASTICACHE_REDIS_PASSWORD").ok()) {
        (Some(_), Some(_)) => {
            return Err("give the Redis password once: --elasticache-redis-password-file or \
                        ROTOR_ELASTICACHE_REDIS_PASSWORD, not both"
                .into());
        }
        (Some(path), None) => Some(read_password_file(path)?),
        (None, from_env) => from_env,
    };
    with_password(&text, on_command_line, password).map(Some)
}

/// `text` (a Redis URL) with `password` in it. A password already in a URL given on the command line is
/// refused: every local user can read a command line. Errors never quote the URL or a password.
fn with_password(text: &str, on_command_line: bool, password: Option<String>) -> Result<String, String> {
    let what = if on_command_line { "--elasticache-redis" } else { "ROTOR_ELASTICACHE_REDIS" };
    let mut url = reqwest::Url::parse(text).map_err(|e| format!("{what} is not a URL ({e})"))?;
    if matches!(url.username(), "" | "default") {
        return Err(format!(
            "{what} must name a Redis user of its own (redis://<user>@host:port), not the default user: an \
             ElastiCache AUTH token the endpoint emulates is the default user's password, and would replace the \
             endpoint's own"
        ));
    }
    match (url.password().is_some(), password) {
        (true, _) if on_command_line => Err("--elasticache-redis carries a password, which every local user can \
             read on a command line (ps, /proc/<pid>/cmdline): give the URL without it, and the password in \
             ROTOR_ELASTICACHE_REDIS_PASSWORD or in a file only you can read, named by \
             --elasticache-redis-password-file"
            .into()),
        (true, Some(_)) => Err("ROTOR_ELASTICACHE_REDIS carries a password and another is given: give it once".into()),
        (_, None) => Ok(url.into()),
        (false, Some(password)) => {
            // Every byte but the unreserved ones percent-encoded, `%` too (the URL parser would leave it as it
            // is): the Redis client decodes the password back to the same bytes.
            let encoded: String = password
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            url.set_password(Some(&encoded))
                .map_err(|()| format!("{what} cannot carry a password: it names no host"))?;
            Ok(url.into())
        }
    }
}

/// A password file's content without its final line break; refused when anyone but its owner may read it.
fn read_password_file(path: &Path) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let mode = std::fs::metadata(path)
        .map_err(|e| format!("--elasticache-redis-password-file {shown}: {e}"))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "--elasticache-redis-password-file {shown} is mode {:o}, readable by others: `chmod 600 {shown}`",
            mode & 0o777
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("--elasticache-redis-password-file {shown}: {e}"))?;
    let password = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
    if password.is_empty() {
        return Err(format!("--elasticache-redis-password-file {shown} is empty"));
    }
    Ok(password.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redis_password_never_comes_from_the_command_line() {
        let error = with_password("redis://admin:on-argv-1234@127.0.0.1:6379", true, None).unwrap_err();
        assert!(error.contains("--elasticache-redis carries a password") && !error.contains("on-argv-1234"), "{error}");
        assert_eq!(
            with_password("redis://admin:from-env@127.0.0.1:6379", false, None).unwrap(),
            "redis://admin:from-env@127.0.0.1:6379",
            "a URL from the environment may carry it"
        );
        let url = with_password("redis://admin@127.0.0.1:6379", true, Some("p@ss:w%41/rd ok".into())).unwrap();
        let parsed = reqwest::Url::parse(&url).unwrap();
        assert_eq!((parsed.username(), parsed.host_str(), parsed.port()), ("admin", Some("127.0.0.1"), Some(6379)));
        assert_eq!(parsed.password(), Some("p%40ss%3Aw%2541%2Frd%20ok"), "what the Redis client decodes back");
        let error = with_password("redis://admin:x@127.0.0.1:6379", false, Some("y".into())).unwrap_err();
        assert!(error.contains("give it once"), "{error}");
    }

    #[test]
    fn the_endpoint_never_administers_redis_as_the_default_user() {
        for url in ["redis://127.0.0.1:6379", "redis://default@127.0.0.1:6379", "redis://:pw@127.0.0.1:6379"] {
            let error = with_password(url, false, None).unwrap_err();
            assert!(error.contains("not the default user") && !error.contains("pw@"), "{url}: {error}");
        }
    }
}
