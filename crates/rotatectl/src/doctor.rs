//! `rotatectl doctor`: checks a secret (or a parameter) and a function's settings before rotation is turned on,
//! each check with pass or fail and the fix. Each function describes itself ([`Function`]): doctor reads its
//! environment as its cold start does ([`Init::load`]), builds its target with [`Function::build`] (so a setting the
//! function would refuse fails here with the same message), and prints the function's own [`Function::checks`]; it
//! dispatches and copies nothing.

use std::process::ExitCode;

use rotation_core::{Env, FUNCTION_TAG, Function, Init, SecretSettings, TAG_PREFIX, Target};
use rotation_custom::RotateCustom;
use rotation_directory::{RotateDirectory, RotateLdap};
use rotation_iam::RotateIamAccessKey;
use rotation_mongodb::{RotateDocumentDbAdmin, RotateMongoDb, RotateMongoDbAlternating};
use rotation_mysql::{RotateMysql, RotateMysqlAlternating};
use rotation_postgres::{RotatePostgres, RotatePostgresAlternating};
use rotation_redis::{RotateElastiCache, RotateElastiCacheAuthToken, RotateRedis};
use rotation_redshift::{RotateRedshift, RotateRedshiftAdmin, RotateRedshiftAlternating};

use crate::checklist::{Checklist, text};
use crate::client::SecretArgs;
use crate::credential::{Current, start};

/// The rotation functions `doctor` knows, by their names after `rotate-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FunctionName {
    /// `rotate-postgres`.
    Postgres,
    /// `rotate-postgres-alternating` (`ROTATION_STRATEGY` defaults to `alternating-users`).
    PostgresAlternating,
    /// `rotate-redshift`.
    Redshift,
    /// `rotate-redshift-alternating` (`ROTATION_STRATEGY` defaults to `alternating-users`).
    RedshiftAlternating,
    /// `rotate-redshift-admin` (a cluster's or namespace's admin, through the Redshift APIs).
    RedshiftAdmin,
    /// `rotate-mongodb` (Amazon DocumentDB and MongoDB users).
    Mongodb,
    /// `rotate-mongodb-alternating` (`ROTATION_STRATEGY` defaults to `alternating-users`).
    MongodbAlternating,
    /// `rotate-documentdb-admin` (a DocumentDB cluster's master, through the RDS API).
    DocumentdbAdmin,
    /// `rotate-mysql`.
    Mysql,
    /// `rotate-mysql-alternating` (`ROTATION_STRATEGY` defaults to `alternating-users`).
    MysqlAlternating,
    /// `rotate-redis`.
    Redis,
    /// `rotate-elasticache`.
    Elasticache,
    /// `rotate-elasticache-auth-token`.
    ElasticacheAuthToken,
    /// `rotate-custom`.
    Custom,
    /// `rotate-iam-access-key`.
    IamAccessKey,
    /// `rotate-ldap` (accounts of self-managed Active Directory and OpenLDAP directories).
    Ldap,
    /// `rotate-directory` (AWS Directory Service users).
    Directory,
}

/// Options of `doctor`.
#[derive(clap::Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    secret: SecretArgs,
    /// The function that will rotate the secret.
    #[arg(long, value_enum)]
    function: FunctionName,
    /// The function's environment, KEY=VALUE (repeat); the process environment is read too.
    #[arg(long = "env", value_parser = parse_pair)]
    env: Vec<(String, String)>,
}

fn parse_pair(pair: &str) -> Result<(String, String), String> {
    pair.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| format!("{pair:?} is not KEY=VALUE"))
}

/// Runs every check of the function that applies; fails when one does.
pub async fn run(args: &DoctorArgs) -> Result<ExitCode, String> {
    let env = Env::from_pairs(std::env::vars().chain(args.env.iter().cloned()));
    let sdk_config = args.secret.sdk_config().await;
    let id = args.secret.secret_id.as_str();
    Ok(match args.function {
        FunctionName::Postgres => doctor::<RotatePostgres>(id, env, sdk_config).await,
        FunctionName::PostgresAlternating => doctor::<RotatePostgresAlternating>(id, env, sdk_config).await,
        FunctionName::Redshift => doctor::<RotateRedshift>(id, env, sdk_config).await,
        FunctionName::RedshiftAlternating => doctor::<RotateRedshiftAlternating>(id, env, sdk_config).await,
        FunctionName::RedshiftAdmin => doctor::<RotateRedshiftAdmin>(id, env, sdk_config).await,
        FunctionName::Mongodb => doctor::<RotateMongoDb>(id, env, sdk_config).await,
        FunctionName::MongodbAlternating => doctor::<RotateMongoDbAlternating>(id, env, sdk_config).await,
        FunctionName::DocumentdbAdmin => doctor::<RotateDocumentDbAdmin>(id, env, sdk_config).await,
        FunctionName::Mysql => doctor::<RotateMysql>(id, env, sdk_config).await,
        FunctionName::MysqlAlternating => doctor::<RotateMysqlAlternating>(id, env, sdk_config).await,
        FunctionName::Redis => doctor::<RotateRedis>(id, env, sdk_config).await,
        FunctionName::Elasticache => doctor::<RotateElastiCache>(id, env, sdk_config).await,
        FunctionName::ElasticacheAuthToken => doctor::<RotateElastiCacheAuthToken>(id, env, sdk_config).await,
        FunctionName::Custom => doctor::<RotateCustom>(id, env, sdk_config).await,
        FunctionName::IamAccessKey => doctor::<RotateIamAccessKey>(id, env, sdk_config).await,
        FunctionName::Ldap => doctor::<RotateLdap>(id, env, sdk_config).await,
        FunctionName::Directory => doctor::<RotateDirectory>(id, env, sdk_config).await,
    })
}

/// The checks of the function `F` for the credential `id`: its environment and the credential, its target built
/// as at cold start, the secret's `rotor:` tags as its createSecret checks them, then the function's own checks.
async fn doctor<F: Function>(id: &str, env: Env, sdk_config: aws_config::SdkConfig) -> ExitCode {
    let mut checklist = Checklist::default();
    if let Some((init, current)) = start(&mut checklist, id, &F::options(), env, sdk_config).await
        && let Some(target) = checklist.check("the function's settings", F::build(&init).map_err(text))
    {
        check_tags(&mut checklist, &init, &current, &target);
        checklist.checks(F::checks(&target, &init, &current.id, &current.secret).await);
    }
    checklist.exit_code()
}

/// The secret's `rotor:` settings tags, when it has any: read over the function's password policy, then checked by
/// its target, as createSecret reads and checks them.
fn check_tags(checklist: &mut Checklist, init: &Init, current: &Current, target: &impl Target) {
    if !current.tags.iter().any(|(key, _)| key.starts_with(TAG_PREFIX) && key != FUNCTION_TAG) {
        return;
    }
    let settings = SecretSettings::from_tags(&current.id, &current.tags, &init.policy);
    let accepted = settings.and_then(|settings| target.accepts(&current.id, &settings));
    checklist.check("the secret's rotor: settings tags", accepted.map_err(text));
}
