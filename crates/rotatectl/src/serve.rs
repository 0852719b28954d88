//! `rotatectl serve`: the local Secrets Manager endpoint.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rotation_local::{CacheConfig, Clock, Config, DocumentDbConfig, Endpoint, Identity, RedshiftConfig};

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
    /// The PostgreSQL server standing in for Redshift (boxed: the options take room a subcommand's enum would
    /// reserve for every command).
    #[command(flatten)]
    redshift: Box<RedshiftArgs>,
    /// The MongoDB-wire server standing in for DocumentDB (boxed, as Redshift's).
    #[command(flatten)]
    documentdb: Box<DocumentDbArgs>,
    /// The Active Directory domain controller standing in for a Directory Service directory (boxed, as Redshift's).
    #[command(flatten)]
    directory: Box<DirectoryArgs>,
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

/// Options of `serve` for Redshift's calls.
#[derive(clap::Args)]
pub struct RedshiftArgs {
    /// Serve Redshift's cluster calls and Redshift Serverless's namespace and workgroup calls over this PostgreSQL
    /// server standing in for Redshift: its superuser's URL without the password
    /// (`postgres://postgres@127.0.0.1:port/postgres`, on this machine), where admin passwords are applied and
    /// whose host and port the clusters and workgroups answer as their endpoint (or `ROTOR_REDSHIFT_POSTGRES`,
    /// which may carry the password). The password comes from `ROTOR_REDSHIFT_POSTGRES_PASSWORD` or
    /// `--redshift-postgres-password-file`, never from the command line, which every local user can read.
    #[arg(long = "redshift-postgres", value_name = "URL")]
    postgres: Option<String>,
    /// A file holding the password of `--redshift-postgres`'s superuser, its owner's alone (mode 0600 or 0400).
    #[arg(long = "redshift-postgres-password-file", value_name = "FILE")]
    postgres_password_file: Option<PathBuf>,
    /// Milliseconds a modified Redshift cluster or Serverless namespace stays `modifying` before its new admin
    /// password applies.
    #[arg(long = "redshift-modify-ms", value_name = "MS", default_value_t = 500)]
    modify_ms: u64,
}

/// Options of `serve` for DocumentDB's calls.
#[derive(clap::Args)]
pub struct DocumentDbArgs {
    /// Serve DocumentDB's cluster calls (`CreateDBCluster`, `DescribeDBClusters`, `ModifyDBCluster` of the master
    /// password, in the RDS API) over this MongoDB-wire server standing in for DocumentDB: its root user's URL
    /// without the password (`mongodb://root@localhost:port/?authSource=admin&tls=true&tlsCAFile=ca.pem`, on this
    /// machine), where masters are created and their passwords set, and whose port the clusters answer at
    /// `localhost` (or `ROTOR_DOCUMENTDB_MONGODB`, which may carry the password). The password comes from
    /// `ROTOR_DOCUMENTDB_MONGODB_PASSWORD` or `--documentdb-mongodb-password-file`, never from the command line.
    #[arg(long = "documentdb-mongodb", value_name = "URL")]
    mongodb: Option<String>,
    /// A file holding the password of `--documentdb-mongodb`'s root user, its owner's alone (mode 0600 or 0400).
    #[arg(long = "documentdb-mongodb-password-file", value_name = "FILE")]
    mongodb_password_file: Option<PathBuf>,
    /// Milliseconds a modified DocumentDB cluster stays `modifying` before its new master password applies.
    #[arg(id = "documentdb_modify_ms", long = "documentdb-modify-ms", value_name = "MS", default_value_t = 500)]
    modify_ms: u64,
}

/// Options of `serve` for Directory Service's calls.
#[derive(clap::Args)]
pub struct DirectoryArgs {
    /// Serve Directory Service's `DescribeDirectories` and `ResetUserPassword` for one directory over this Active
    /// Directory domain controller (Samba's, in the tests): its administrator's LDAPS URL without the password
    /// (`ldaps://Administrator%40rotor.test@127.0.0.1:636`, the UPN's `@` as `%40`), where passwords are reset and
    /// whose address the directory answers as its `DnsIpAddrs` (or `ROTOR_DIRECTORY_LDAP`, which may carry the
    /// password). The password comes from `ROTOR_DIRECTORY_LDAP_PASSWORD` or `--directory-ldap-password-file`,
    /// never from the command line.
    #[arg(long = "directory-ldap", value_name = "URL", requires = "directory_name", requires = "directory_ca")]
    ldap: Option<String>,
    /// A file holding the password of `--directory-ldap`'s administrator, its owner's alone (mode 0600 or 0400).
    #[arg(long = "directory-ldap-password-file", value_name = "FILE")]
    ldap_password_file: Option<PathBuf>,
    /// The CA bundle (PEM) that verifies the domain controller's certificate.
    #[arg(id = "directory_ca", long = "directory-ca", value_name = "FILE")]
    ca: Option<PathBuf>,
    /// The directory's DNS name (`rotor.test`).
    #[arg(id = "directory_name", long = "directory-name", value_name = "NAME")]
    name: Option<String>,
    /// The directory's NetBIOS name: the OU (`OU=<it>,<domain>`) whose users `ResetUserPassword` may reset.
    #[arg(long = "directory-short-name", value_name = "NAME", default_value = "ROTOR")]
    short_name: String,
    /// The directory's ID.
    #[arg(long = "directory-id", value_name = "ID", default_value = "d-0123456789")]
    id: String,
}

/// The directory the endpoint serves, from `serve`'s options.
fn directory_config(args: DirectoryArgs) -> Result<Option<rotation_local::DirectoryConfig>, String> {
    let DirectoryArgs { ldap, ldap_password_file, ca, name, short_name, id } = args;
    let Some(url) = admin_url(&DIRECTORY_LDAP, ldap, ldap_password_file.as_deref())? else { return Ok(None) };
    let what = DIRECTORY_LDAP.flag;
    let url = reqwest::Url::parse(&url).map_err(|e| format!("{what} is not a URL ({e})"))?;
    if url.scheme() != "ldaps" {
        return Err(format!("{what} must be an ldaps:// URL: the administrator's password crosses it"));
    }
    let decode = |text: &str| {
        let bytes: Vec<u8> = form_urlencoded_decode(text);
        String::from_utf8(bytes).map_err(|_| format!("{what}'s user or password is not UTF-8"))
    };
    let admin = rotation_database::LoginFields {
        engine: None,
        host: url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned(),
        port: url.port().unwrap_or(636),
        dbname: None,
        username: decode(url.username())?,
        password: rotation_core::Password::new(decode(url.password().unwrap_or_default())?),
    };
    let ca = ca.ok_or("--directory-ldap needs --directory-ca")?;
    let env = rotation_core::Env::from_pairs([("TLS_CA_BUNDLE".to_owned(), ca.display().to_string())]);
    let bundle = rotation_database::DatabaseConfig::login_from_env(&env)
        .map_err(|e| format!("--directory-ca {}: {e}", ca.display()))?
        .ca_bundle;
    let roots = rotation_database::TlsRoots::load(&bundle).map_err(|e| e.to_string())?;
    let name = name.ok_or("--directory-ldap needs --directory-name")?;
    rotation_local::DirectoryConfig::new(&id, &name, &short_name, admin, roots).map(Some)
}

/// Percent-decoding of a URL's user or password.
fn form_urlencoded_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(byte) = text.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
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
    let cache_url =
        admin_url(&ELASTICACHE_REDIS, args.elasticache_redis, args.elasticache_redis_password_file.as_deref())?;
    let elasticache = match (cache_url, args.elasticache_endpoint) {
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
    let RedshiftArgs { postgres, postgres_password_file, modify_ms } = *args.redshift;
    let stand_in_url = admin_url(&REDSHIFT_POSTGRES, postgres, postgres_password_file.as_deref())?;
    let redshift = stand_in_url
        .map(|url| RedshiftConfig::new(&url, Duration::from_millis(modify_ms)))
        .transpose()
        .map_err(|e| format!("{} (or {}): {e}", REDSHIFT_POSTGRES.flag, REDSHIFT_POSTGRES.variable))?;
    let DocumentDbArgs { mongodb, mongodb_password_file, modify_ms } = *args.documentdb;
    let documentdb = admin_url(&DOCUMENTDB_MONGODB, mongodb, mongodb_password_file.as_deref())?
        .map(|url| DocumentDbConfig::new(&url, Duration::from_millis(modify_ms)))
        .transpose()
        .map_err(|e| format!("{} (or {}): {e}", DOCUMENTDB_MONGODB.flag, DOCUMENTDB_MONGODB.variable))?;
    let directory = directory_config(*args.directory)?;
    let config = Config {
        state_dir: args.state_dir.clone(),
        identity: Identity { region: args.region, account: args.account },
        invoke_endpoint: args.invoke_endpoint,
        invoke_timeout: Duration::from_secs(args.invoke_timeout),
        clock,
        scheduler_interval: Duration::from_millis(args.scheduler_interval_ms),
        elasticache,
        redshift,
        documentdb,
        directory,
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

/// The names an administrative URL goes by, and the rule its user keeps.
struct AdminUrl {
    /// The flag naming the URL without its password (`--elasticache-redis`).
    flag: &'static str,
    /// The variable that may name it instead, password included.
    variable: &'static str,
    /// The flag naming a file that holds the password.
    password_file_flag: &'static str,
    /// The variable that may hold the password.
    password_variable: &'static str,
    /// What is wrong with the URL's user (empty when it names none) for the endpoint to work as, if anything.
    user_problem: fn(&str) -> Option<&'static str>,
}

/// The Redis server that plays ElastiCache's cache.
const ELASTICACHE_REDIS: AdminUrl = AdminUrl {
    flag: "--elasticache-redis",
    variable: "ROTOR_ELASTICACHE_REDIS",
    password_file_flag: "--elasticache-redis-password-file",
    password_variable: "ROTOR_ELASTICACHE_REDIS_PASSWORD",
    user_problem: |user| {
        matches!(user, "" | "default").then_some(
            "must name a Redis user of its own (redis://<user>@host:port), not the default user: an ElastiCache AUTH \
             token the endpoint emulates is the default user's password, and would replace the endpoint's own",
        )
    },
};

/// The PostgreSQL server that stands in for Redshift.
const REDSHIFT_POSTGRES: AdminUrl = AdminUrl {
    flag: "--redshift-postgres",
    variable: "ROTOR_REDSHIFT_POSTGRES",
    password_file_flag: "--redshift-postgres-password-file",
    password_variable: "ROTOR_REDSHIFT_POSTGRES_PASSWORD",
    user_problem: |user| {
        user.is_empty().then_some("must name the server's superuser (postgres://postgres@127.0.0.1:port/postgres)")
    },
};

/// The MongoDB-wire server that stands in for DocumentDB.
const DOCUMENTDB_MONGODB: AdminUrl = AdminUrl {
    flag: "--documentdb-mongodb",
    variable: "ROTOR_DOCUMENTDB_MONGODB",
    password_file_flag: "--documentdb-mongodb-password-file",
    password_variable: "ROTOR_DOCUMENTDB_MONGODB_PASSWORD",
    user_problem: |user| {
        user.is_empty().then_some("must name the server's root user (mongodb://root@localhost:port/?authSource=admin)")
    },
};

/// The Active Directory domain controller that stands in for a Directory Service directory.
const DIRECTORY_LDAP: AdminUrl = AdminUrl {
    flag: "--directory-ldap",
    variable: "ROTOR_DIRECTORY_LDAP",
    password_file_flag: "--directory-ldap-password-file",
    password_variable: "ROTOR_DIRECTORY_LDAP_PASSWORD",
    user_problem: |user| {
        user.is_empty().then_some("must name the domain's administrator (ldaps://Administrator%40rotor.test@host:636)")
    },
};

/// An administrative URL with its password: the URL from `option`'s flag or variable, the password from its file
/// or its variable (or the variable's own URL).
fn admin_url(option: &AdminUrl, flag: Option<String>, password_file: Option<&Path>) -> Result<Option<String>, String> {
    let (text, on_command_line) = match flag {
        Some(url) => (url, true),
        None => match std::env::var(option.variable) {
            Ok(url) => (url, false),
            Err(_) if password_file.is_some() => {
                return Err(format!("{} needs {}", option.password_file_flag, option.flag));
            }
            Err(_) => return Ok(None),
        },
    };
    let password = match (password_file, std::env::var(option.password_variable).ok()) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "give the password once: {} or {}, not both",
                option.password_file_flag, option.password_variable
            ));
        }
        (Some(path), None) => Some(read_password_file(option, path)?),
        (None, from_env) => from_env,
    };
    with_password(option, &text, on_command_line, password).map(Some)
}

/// `text` (an administrative URL) with `password` in it. A password already in a URL given on the command line is
/// refused: every local user can read a command line. Errors never quote the URL or a password.
fn with_password(
    option: &AdminUrl,
    text: &str,
    on_command_line: bool,
    password: Option<String>,
) -> Result<String, String> {
    let what = if on_command_line { option.flag } else { option.variable };
    let mut url = reqwest::Url::parse(text).map_err(|e| format!("{what} is not a URL ({e})"))?;
    if let Some(problem) = (option.user_problem)(url.username()) {
        return Err(format!("{what} {problem}"));
    }
    match (url.password().is_some(), password) {
        (true, _) if on_command_line => Err(format!(
            "{what} carries a password, which every local user can read on a command line (ps, \
             /proc/<pid>/cmdline): give the URL without it, and the password in {} or in a file only you can read, \
             named by {}",
            option.password_variable, option.password_file_flag
        )),
        (true, Some(_)) => Err(format!("{what} carries a password and another is given: give it once")),
        (_, None) => Ok(url.into()),
        (false, Some(password)) => {
            // Every byte but the unreserved ones percent-encoded, `%` too (the URL parser would leave it as it
            // is): the Redis, PostgreSQL and MongoDB clients decode the password back to the same bytes.
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
fn read_password_file(option: &AdminUrl, path: &Path) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let (flag, shown) = (option.password_file_flag, path.display());
    let mode = std::fs::metadata(path).map_err(|e| format!("{flag} {shown}: {e}"))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!("{flag} {shown} is mode {:o}, readable by others: `chmod 600 {shown}`", mode & 0o777));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{flag} {shown}: {e}"))?;
    let password = text.strip_suffix('\n').map(|t| t.strip_suffix('\r').unwrap_or(t)).unwrap_or(&text);
    if password.is_empty() {
        return Err(format!("{flag} {shown} is empty"));
    }
    Ok(password.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redis(text: &str, on_command_line: bool, password: Option<&str>) -> Result<String, String> {
        with_password(&ELASTICACHE_REDIS, text, on_command_line, password.map(str::to_owned))
    }

    #[test]
    fn the_redis_password_never_comes_from_the_command_line() {
        let error = redis("redis://admin:on-argv-1234@127.0.0.1:6379", true, None).unwrap_err();
        assert!(error.contains("--elasticache-redis carries a password") && !error.contains("on-argv-1234"), "{error}");
        assert_eq!(
            redis("redis://admin:from-env@127.0.0.1:6379", false, None).unwrap(),
            "redis://admin:from-env@127.0.0.1:6379",
            "a URL from the environment may carry it"
        );
        let url = redis("redis://admin@127.0.0.1:6379", true, Some("p@ss:w%41/rd ok")).unwrap();
        let parsed = reqwest::Url::parse(&url).unwrap();
        assert_eq!((parsed.username(), parsed.host_str(), parsed.port()), ("admin", Some("127.0.0.1"), Some(6379)));
        assert_eq!(parsed.password(), Some("p%40ss%3Aw%2541%2Frd%20ok"), "what the Redis client decodes back");
        let error = redis("redis://admin:x@127.0.0.1:6379", false, Some("y")).unwrap_err();
        assert!(error.contains("give it once"), "{error}");
    }

    #[test]
    fn the_endpoint_never_administers_redis_as_the_default_user() {
        for url in ["redis://127.0.0.1:6379", "redis://default@127.0.0.1:6379", "redis://:pw@127.0.0.1:6379"] {
            let error = redis(url, false, None).unwrap_err();
            assert!(error.contains("not the default user") && !error.contains("pw@"), "{url}: {error}");
        }
    }

    #[test]
    fn the_redshift_stand_ins_password_never_comes_from_the_command_line_and_reaches_it_intact() {
        let stand_in = |text: &str, on_command_line: bool, password: Option<&str>| {
            with_password(&REDSHIFT_POSTGRES, text, on_command_line, password.map(str::to_owned))
        };
        let error = stand_in("postgres://postgres:on-argv-1234@127.0.0.1:5433/postgres", true, None).unwrap_err();
        assert!(error.contains("--redshift-postgres carries a password") && !error.contains("on-argv-1234"), "{error}");
        assert!(error.contains("ROTOR_REDSHIFT_POSTGRES_PASSWORD"), "{error}");
        let error = stand_in("postgres://127.0.0.1:5433/postgres", true, Some("pw")).unwrap_err();
        assert!(error.contains("must name the server's superuser"), "{error}");
        let url = stand_in("postgres://postgres@127.0.0.1:5433/postgres", true, Some("p@ss:w%41/rd ok")).unwrap();
        let config = RedshiftConfig::new(&url, Duration::from_millis(500)).unwrap();
        assert!(!format!("{config:?}").contains("p@ss"), "{config:?}");
        assert_eq!(config.endpoint(), ("127.0.0.1", 5433));
        assert!(url.contains("p%40ss%3Aw%2541%2Frd%20ok"), "what tokio-postgres decodes back: {url}");
    }

    #[test]
    fn every_option_of_serve_has_a_name_of_its_own() {
        use clap::Args;
        ServeArgs::augment_args(clap::Command::new("serve")).debug_assert();
    }

    #[test]
    fn the_documentdb_stand_ins_password_comes_from_a_private_file_and_reaches_it_intact() {
        use std::os::unix::fs::PermissionsExt;
        let url = "mongodb://master@localhost:27999/?authSource=admin&tls=true&tlsCAFile=/tmp/sdb/ca.pem";
        let file = std::env::temp_dir().join(format!("rotor-serve-documentdb-{}", std::process::id()));
        std::fs::write(&file, "p@ss:w%41/rd ok\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = admin_url(&DOCUMENTDB_MONGODB, Some(url.into()), Some(&file)).unwrap_err();
        assert!(error.contains("--documentdb-mongodb-password-file") && error.contains("chmod 600"), "{error}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).unwrap();
        let with_password = admin_url(&DOCUMENTDB_MONGODB, Some(url.into()), Some(&file)).unwrap().unwrap();
        let config = DocumentDbConfig::new(&with_password, Duration::from_millis(300)).unwrap();
        assert_eq!((config.root(), config.port()), ("master", 27999));
        assert!(!format!("{config:?}").contains("p@ss"), "{config:?}");
        std::fs::remove_file(&file).unwrap();
        assert!(
            with_password.contains("p%40ss%3Aw%2541%2Frd%20ok") && with_password.contains("tlsCAFile=/tmp/sdb/ca.pem")
        );

        let on_argv = "mongodb://master:on-argv-1234@localhost:27999/?authSource=admin";
        let error = with_password_of(on_argv).unwrap_err();
        assert!(
            error.contains("--documentdb-mongodb carries a password") && !error.contains("on-argv-1234"),
            "{error}"
        );
        let error = with_password_of("mongodb://localhost:27999/").unwrap_err();
        assert!(error.contains("must name the server's root user"), "{error}");
    }

    fn with_password_of(url: &str) -> Result<String, String> {
        with_password(&DOCUMENTDB_MONGODB, url, true, Some("pw".into()))
    }
}
