//! `rotatectl doctor`: checks a secret and a function's settings before rotation is turned on, each check with
//! pass or fail and the fix.

use std::process::ExitCode;

use rotation_core::with_causes;
use rotation_core::{AWSCURRENT, Env, PasswordPolicy, RotationError, Secret};
use rotation_database::{
    Connection, DatabaseConfig, Engine, Purpose, Strategy, check_admin_allowed, check_same_server, other_username,
};
use rotation_mysql::MysqlEngine;
use rotation_postgres::PostgresEngine;
use rotation_redis::{ElastiCacheConfig, ElastiCacheEngine, RedisEngine};

use crate::client::{SecretArgs, describe_error, versions_of};

/// The kinds of rotation function `doctor` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Function {
    /// `rotate-postgres`.
    Postgres,
    /// `rotate-mysql`.
    Mysql,
    /// `rotate-redis`.
    Redis,
    /// `rotate-elasticache`.
    Elasticache,
    /// `rotate-custom`.
    Custom,
    /// `rotate-iam-access-key`.
    IamAccessKey,
}

/// Options of `doctor`.
#[derive(clap::Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    secret: SecretArgs,
    /// The function that will rotate the secret.
    #[arg(long, value_enum)]
    function: Function,
    /// The function's environment, KEY=VALUE (repeat); the process environment is read too.
    #[arg(long = "env", value_parser = parse_pair)]
    env: Vec<(String, String)>,
}

fn parse_pair(pair: &str) -> Result<(String, String), String> {
    pair.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| format!("{pair:?} is not KEY=VALUE"))
}

/// The checks' report.
struct Report {
    failed: usize,
}

impl Report {
    fn check<T>(&mut self, name: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => {
                println!("PASS  {name}");
                Some(value)
            }
            Err(problem) => {
                println!("FAIL  {name}\n      {problem}");
                self.failed += 1;
                None
            }
        }
    }

    /// Prints the verdict; failure when any check failed.
    fn exit_code(&self) -> ExitCode {
        match self.failed {
            0 => println!("all checks passed"),
            failed => println!("{failed} check(s) failed"),
        }
        if self.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
    }
}

fn text(error: RotationError) -> String {
    with_causes(&error)
}

/// Runs every check that applies; fails when one does.
pub async fn run(args: &DoctorArgs) -> Result<ExitCode, String> {
    let env = Env::from_pairs(std::env::vars().chain(args.env.iter().cloned()));
    let mut report = Report { failed: 0 };
    let client = args.secret.client().await;

    let current = match crate::parameter::name_of(&args.secret.secret_id) {
        Some(name) => read_parameter(&mut report, args, name).await,
        None => read_secret(&mut report, &client, args, &env).await,
    };
    let Some(current) = current else { return Ok(ExitCode::FAILURE) };

    match args.function {
        Function::Custom => {
            let policy = report.check(
                "the password policy settings",
                PasswordPolicy::from_env(&env, rotation_core::DEFAULT_EXCLUDE_CHARACTERS).map_err(text),
            );
            if let Some(policy) = policy {
                let target = report.check(
                    "the generated-value settings",
                    rotation_custom::GeneratedSecret::from_env_with_policy(&env, policy).map_err(text),
                );
                if let Some(target) = target {
                    report.check(
                        "the secret has the key to replace",
                        target.value_of(&current).map(|_| ()).map_err(text),
                    );
                }
            }
            if env.get("CUSTOM_TARGET").as_deref() == Some("webhook")
                && let Some(config) =
                    report.check("the webhook settings", rotation_custom::WebhookConfig::from_env(&env).map_err(text))
            {
                let urls: Vec<String> = match config.urls(&current) {
                    Ok(urls) => urls.all().map(str::to_owned).collect(),
                    Err(error) => {
                        report.check("the secret's webhook URLs", Err::<(), _>(text(error)));
                        Vec::new()
                    }
                };
                let client = probe_client(&env);
                for url in urls {
                    let reached = match &client {
                        Ok(client) => reach(client, &url).await,
                        Err(problem) => Err(problem.clone()),
                    };
                    report.check(&format!("{url} answers over verified TLS"), reached);
                }
            }
        }
        Function::Elasticache => check_elasticache(&mut report, args, &env, &current).await,
        Function::IamAccessKey => {
            let config = rotation_iam::IamConfig::from_env(&env).map_err(text);
            let Some(config) = report.check("the function's settings", config) else {
                return Ok(ExitCode::FAILURE);
            };
            let target = rotation_iam::AccessKeyTarget::new(config, &args.secret.sdk_config().await);
            for (name, result) in target.doctor(&current).await {
                report.check(&name, result);
            }
        }
        Function::Postgres | Function::Mysql | Function::Redis => {
            let Some(mut config) =
                report.check("the function's settings", DatabaseConfig::from_env(&env).map_err(text))
            else {
                return Ok(ExitCode::FAILURE);
            };
            if args.function == Function::Mysql {
                check_database(&mut report, &client, &current, &MysqlEngine, &config).await;
                return Ok(report.exit_code());
            }
            let roots =
                report.check("the trusted roots", rotation_database::TlsRoots::load(&config.ca_bundle).map_err(text));
            let Some(roots) = roots else { return Ok(ExitCode::FAILURE) };
            if args.function == Function::Postgres {
                check_database(&mut report, &client, &current, &PostgresEngine::new(roots), &config).await;
            } else {
                if env.get("TEST_QUERY").is_none() {
                    config.test_query = rotation_redis::DEFAULT_TEST_COMMAND.to_owned();
                }
                check_database(&mut report, &client, &current, &RedisEngine::new(roots), &config).await;
            }
        }
    }
    Ok(report.exit_code())
}

/// The ElastiCache checks: the settings (the password policy against ElastiCache's rules), then the database
/// checks over [`ElastiCacheEngine`], whose admin is the function's role.
async fn check_elasticache(report: &mut Report, args: &DoctorArgs, env: &Env, current: &Secret) {
    let policy = PasswordPolicy::from_env(env, rotation_core::DEFAULT_EXCLUDE_CHARACTERS).map_err(text);
    let Some(policy) = report.check("the password policy settings", policy) else { return };
    let settings = ElastiCacheConfig::from_env(env, &policy).map_err(text);
    let Some(settings) = report.check("the ElastiCache settings", settings) else { return };
    let env = env.clone().with_default("ROTATION_STRATEGY", "admin");
    let config = ElastiCacheConfig::database_config(&env).map_err(text);
    let Some(config) = report.check("the function's settings", config) else { return };
    let roots = rotation_database::TlsRoots::load(&config.ca_bundle).map_err(text);
    let Some(roots) = report.check("the trusted roots", roots) else { return };
    let client = aws_sdk_elasticache::config::Builder::from(&args.secret.sdk_config().await);
    let engine = ElastiCacheEngine::new(client, RedisEngine::new(roots), settings);
    let secrets = args.secret.client().await;
    check_database(report, &secrets, current, &engine, &config).await;
}

/// The secret's checks: it exists, no rotation is stuck, AWSCURRENT can be read (and is returned).
async fn read_secret(
    report: &mut Report,
    client: &aws_sdk_secretsmanager::Client,
    args: &DoctorArgs,
    env: &Env,
) -> Option<Secret> {
    let described = client.describe_secret().secret_id(&args.secret.secret_id).send().await;
    let described =
        report.check("the secret exists and can be described", described.map_err(|e| describe_error(&e)))?;
    let arn = described.arn().unwrap_or(&args.secret.secret_id).to_owned();
    let versions = versions_of(&described);
    report.check(
        "no rotation is stuck",
        match versions.stuck_pending() {
            Some(version) => {
                Err(format!("AWSPENDING is on {version}, not AWSCURRENT; clear it with `rotatectl unstick {arn}`"))
            }
            None => Ok(()),
        },
    );
    let tags: Vec<(String, String)> = described
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .collect();
    if tags.iter().any(|(key, _)| key.starts_with(rotation_core::TAG_PREFIX) && key != "rotor:function") {
        // The function's own checks (its strategy, its engine's limits) run at createSecret; this checks the tags.
        let policy = PasswordPolicy::from_env(env, rotation_core::DEFAULT_EXCLUDE_CHARACTERS).unwrap_or_default();
        let settings = rotation_core::SecretSettings::from_tags(&arn, &tags, &policy);
        report.check("the secret's rotor: settings tags", settings.map(drop).map_err(text));
    }
    let value = client.get_secret_value().secret_id(&arn).version_stage(AWSCURRENT).send().await;
    let value = report.check("the AWSCURRENT value can be read", value.map_err(|e| describe_error(&e)))?;
    Some(Secret::parse(arn, value.secret_string().unwrap_or_default()))
}

/// The parameter's checks: it exists as a SecureString, no rotation holds its lock, its value fits its tier with
/// room to grow, and the value (returned) can be read.
async fn read_parameter(report: &mut Report, args: &DoctorArgs, name: &str) -> Option<Secret> {
    let client = aws_sdk_ssm::Client::new(&args.secret.sdk_config().await);
    let read = client.get_parameter().name(name).with_decryption(true).send().await;
    let out = report.check("the parameter exists and can be read (decrypted)", read.map_err(|e| describe_error(&e)))?;
    let parameter = out.parameter()?;
    let kind = parameter.r#type().map_or("?", |t| t.as_str());
    report.check(
        "the parameter is a SecureString",
        if kind == "SecureString" {
            Ok(())
        } else {
            Err(format!(
                "it is {kind}; store the credential as a SecureString (a String is readable by anyone who may read it)"
            ))
        },
    );
    let value = parameter.value().unwrap_or_default().to_owned();
    report.check(
        "the value leaves room in the standard tier (4 KB) for a longer credential",
        if value.len() + 256 <= 4096 {
            Ok(())
        } else {
            Err(format!("it holds {} bytes; move it to the Advanced tier (8 KB) or shorten it", value.len()))
        },
    );
    let flight = crate::parameter::in_flight(&client, name).await;
    report.check(
        "no rotation holds the parameter's lock",
        match flight {
            Ok(None) => Ok(()),
            Ok(Some((rotation, base))) => Err(format!(
                "rotation {rotation:?} (from version {base}) holds {name}{}; resume it with `rotatectl rotate ssm:{name} --function <its function> --rotation-id {rotation}`",
                rotation_core::PENDING_SUFFIX
            )),
            Err(problem) => Err(problem),
        },
    );
    Some(Secret::parse(name, &value))
}

/// The HTTPS client doctor reaches webhooks with: 5 s per request, `TLS_CA_BUNDLE` trusted on top of the
/// system's roots (read once for every URL).
fn probe_client(env: &Env) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).https_only(true);
    for der in rotation_core::ca_bundle_from_env(env).map_err(|e| e.to_string())? {
        builder = builder.tls_certs_merge([reqwest::Certificate::from_der(&der).map_err(|e| e.to_string())?]);
    }
    builder.build().map_err(|e| e.to_string())
}

/// Any HTTP answer from the URL's server (an unsigned request is refused, which still proves the network and the
/// certificate); an error names what failed.
async fn reach(client: &reqwest::Client, url: &str) -> Result<(), String> {
    match client.get(url).send().await {
        Ok(_) => Ok(()),
        Err(error) => Err(format!(
            "{}; check the URL, the network path, and TLS_CA_BUNDLE for the receiver's CA",
            with_causes(&error)
        )),
    }
}

/// The database checks, the same for every engine: the secret's fields, the other user's name, the login, and
/// for the admin strategies the admin secret and its rights.
async fn check_database<E: Engine>(
    report: &mut Report,
    client: &aws_sdk_secretsmanager::Client,
    current: &Secret,
    engine: &E,
    config: &DatabaseConfig,
) {
    let connection = report.check("the secret's fields fit the function", engine.connection(current).map_err(text));
    let mode = report.check("the secret's ssl field", config.tls.for_secret(current).map_err(text));
    let (Some(connection), Some(mode)) = (connection, mode) else { return };
    if config.strategy == Strategy::AlternatingUsers {
        let other = other_username(&connection.username);
        report.check(
            &format!("the other user's name {other:?} is one {} takes", engine.name()),
            engine.check_username(current, &other).map_err(text),
        );
    }
    report.check(
        &format!(
            "{} is reachable over TLS ({}) and the current credential logs in",
            connection.address(),
            mode.as_str()
        ),
        engine.login(config, &connection, mode, Purpose::Rotor).await.map(drop).map_err(text),
    );
    if config.strategy.needs_admin() && E::ADMIN_IS_ROLE {
        check_role_admin(report, &connection, engine, config, mode).await;
    } else if config.strategy.needs_admin() {
        check_admin(report, client, current, &connection, engine, config).await;
    }
}

/// For an engine whose admin is the function's role: the role finds the user under the secret's name, and the
/// user is no administrator (unless allowed).
async fn check_role_admin<E: Engine>(
    report: &mut Report,
    connection: &Connection,
    engine: &E,
    config: &DatabaseConfig,
    mode: rotation_database::TlsMode,
) {
    let Some(mut admin) = report.check("the function's role can act", engine.role_admin(config).await.map_err(text))
    else {
        return;
    };
    let user = engine.user(config, &mut admin, connection, mode).await.map_err(text);
    let Some(user) = report.check("the function's role finds the user under the secret's name", user) else { return };
    let rights = engine.privileged_rights(&mut admin, &user).await.map_err(text);
    let refused = rights.and_then(|rights| {
        let role = rotation_database::Session::connection(&admin);
        rotation_database::refuse_privileged(config, role, engine.user_name(&user), &rights).map_err(text)
    });
    report.check("the user is no administrator (or ALLOW_PRIVILEGED_USERS is set)", refused);
}

async fn check_admin<E: Engine>(
    report: &mut Report,
    client: &aws_sdk_secretsmanager::Client,
    current: &Secret,
    user: &Connection,
    engine: &E,
    config: &DatabaseConfig,
) {
    let Some(arn) =
        report.check("the secret names its admin secret (masterarn)", current.require_str("masterarn").map_err(text))
    else {
        return;
    };
    let described = client.describe_secret().secret_id(arn).send().await.map_err(|e| describe_error(&e));
    let Some(described) = report.check("the admin secret exists", described) else { return };
    let full_arn = described.arn().unwrap_or(arn);
    let allowed = check_admin_allowed(config, full_arn, user).map_err(|_| {
        format!(
            "{full_arn} is not in the function's ADMIN_SECRET_ARNS; add it there (a secret cannot choose its admin)"
        )
    });
    if report.check("the function's ADMIN_SECRET_ARNS allows the admin secret", allowed).is_none() {
        return;
    }
    let value = client.get_secret_value().secret_id(arn).version_stage(AWSCURRENT).send().await;
    let Some(value) = report.check("the admin secret can be read", value.map_err(|e| describe_error(&e))) else {
        return;
    };
    let secret = Secret::parse(arn, value.secret_string().unwrap_or_default());
    if secret.get("host").is_none() {
        println!(
            "INFO  the admin secret has no host: RDS manages it; its database is found through its RDS tag at rotation"
        );
        return;
    }
    let Some(mut admin) = report.check("the admin secret's fields", engine.connection(&secret).map_err(text)) else {
        return;
    };
    let same_server = check_same_server(full_arn, &admin, user).map_err(text);
    if report.check("the admin secret manages the user's own server", same_server).is_none() {
        return;
    }
    admin.dbname = user.dbname.clone();
    let admin = engine.admin_connection(admin);
    let Some(mode) = report.check("the admin secret's ssl field", config.tls.for_secret(&secret).map_err(text)) else {
        return;
    };
    let login = engine.login(config, &admin, mode, Purpose::Rotor).await.map_err(text);
    let Some(mut session) = report.check("the admin logs in", login) else { return };
    report.check(
        "the admin may change other users' passwords",
        match engine.missing_admin_rights(&mut session).await {
            Ok(None) => Ok(()),
            Ok(Some(missing)) => Err(format!("{:?} lacks {missing}; grant it", admin.username)),
            Err(e) => Err(text(e)),
        },
    );
}
