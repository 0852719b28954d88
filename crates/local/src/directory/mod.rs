//! AWS Directory Service (`DirectoryService_20150416.`, JSON 1.1) over a real Active Directory domain controller
//! standing in for AWS Managed Microsoft AD (in the tests, Samba's): `DescribeDirectories` answers the one directory
//! the endpoint is configured with (`Active`, its domain controller's address), and `ResetUserPassword` resets the
//! password on the domain controller over LDAPS as its administrator, as AWS Managed Microsoft AD does it: only for
//! users of the directory's own OU (`OU=<short name>,<domain>`), never for the administrator itself.

use axum::http::StatusCode;
use axum::response::Response;
use rotation_core::{Password, RotationError, TargetErrorKind};
use rotation_database::{DatabaseConfig, LoginFields, TlsMode, TlsRoots};
use rotation_directory::{DirectorySession, Dn, find_by_logon_name, reset_password};
use serde_json::{Value, json};

use crate::clock::Clock;
use crate::json;
use crate::store::Store;

/// The JSON target prefix of Directory Service's calls.
pub const TARGET_PREFIX: &str = "DirectoryService_20150416.";

/// The operation of a Directory Service call, from its `X-Amz-Target`.
pub fn operation(target: &str) -> Option<&str> {
    target.strip_prefix(TARGET_PREFIX)
}

/// The directory the endpoint serves, and how it reaches its domain controller. `Debug` hides the password.
#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    /// Its ID (`d-...`).
    pub id: String,
    /// Its DNS name (`rotor.test`).
    pub name: String,
    /// Its NetBIOS name (`ROTOR`): the OU whose users `ResetUserPassword` may reset.
    pub short_name: String,
    /// The domain controller's LDAPS address and its administrator (a UPN) with its password.
    pub admin: LoginFields,
    /// The CA that signed the domain controller's certificate.
    pub roots: TlsRoots,
}

impl DirectoryConfig {
    /// The directory `name` (`short_name`) with ID `id`, whose domain controller `admin` logs in to, trusting
    /// `roots`.
    pub fn new(id: &str, name: &str, short_name: &str, admin: LoginFields, roots: TlsRoots) -> Result<Self, String> {
        if !rotation_directory::is_directory_id(id) {
            return Err(format!("{id:?} is not a directory ID (d- and ten hex digits)"));
        }
        // The endpoint resets passwords for any local caller: only a domain controller of this machine's own.
        if !admin.host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
            return Err(format!(
                "the directory's domain controller must be on this machine (a loopback address), not {}: the endpoint resets its passwords for any local caller",
                admin.host
            ));
        }
        Ok(Self { id: id.into(), name: name.to_ascii_lowercase(), short_name: short_name.into(), admin, roots })
    }

    /// The domain's DN, `DC=rotor,DC=test`.
    fn domain_dn(&self) -> Result<Dn, Fault> {
        Dn::of_domain(&self.name).map_err(|e| Fault::new("ServiceException", e))
    }
}

/// A Directory Service error: its code, HTTP status and message.
struct Fault {
    code: &'static str,
    message: String,
}

impl Fault {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

/// Answers one Directory Service call.
pub async fn dispatch(
    store: &Store,
    clock: &Clock,
    config: Option<&DirectoryConfig>,
    operation: &str,
    body: &[u8],
) -> Response {
    let input: Result<Value, Fault> = if body.is_empty() {
        Ok(json!({}))
    } else {
        serde_json::from_slice(body).map_err(|e| Fault::new("ClientException", format!("Invalid JSON: {e}")))
    };
    let result = match (config, input) {
        (_, Err(fault)) => Err(fault),
        (None, _) => Err(Fault::new(
            "ClientException",
            "the endpoint serves no directory: start it with --directory-ldap (rotatectl serve --help)",
        )),
        (Some(config), Ok(input)) => match operation {
            "DescribeDirectories" => describe_directories(config, &input),
            "ResetUserPassword" => reset_user_password(config, &input).await,
            other => {
                Err(Fault::new("UnsupportedOperationException", format!("The operation {other} is not supported.")))
            }
        },
    };
    let outcome = result.as_ref().map_or_else(|fault| fault.code, |_| "ok");
    store.audit(clock.now(), &format!("{TARGET_PREFIX}{operation}"), None, outcome);
    match result {
        Ok(answer) => json::respond(StatusCode::OK, &answer, None),
        Err(fault) => json::respond(
            StatusCode::BAD_REQUEST,
            &json!({"__type": fault.code, "Message": fault.message}),
            Some(fault.code),
        ),
    }
}

fn describe_directories(config: &DirectoryConfig, input: &Value) -> Result<Value, Fault> {
    let asked: Vec<&str> =
        input["DirectoryIds"].as_array().map(|ids| ids.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    if let Some(unknown) = asked.iter().find(|id| **id != config.id) {
        return Err(Fault::new("EntityDoesNotExistException", format!("Directory {unknown} does not exist.")));
    }
    Ok(json!({"DirectoryDescriptions": [{
        "DirectoryId": config.id,
        "Name": config.name,
        "ShortName": config.short_name,
        "Type": "MicrosoftAD",
        "Edition": "Standard",
        "Stage": "Active",
        "DnsIpAddrs": [config.admin.host],
    }]}))
}

async fn reset_user_password(config: &DirectoryConfig, input: &Value) -> Result<Value, Fault> {
    let field = |name: &str| {
        input[name]
            .as_str()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Fault::new("InvalidParameterException", format!("{name} is required.")))
    };
    let (id, user, password) = (field("DirectoryId")?, field("UserName")?, field("NewPassword")?);
    if id != config.id {
        return Err(Fault::new("EntityDoesNotExistException", format!("Directory {id} does not exist.")));
    }
    if password.chars().count() > 127 {
        return Err(Fault::new("InvalidPasswordException", "The new password is longer than 127 characters."));
    }
    let login = DatabaseConfig::login_from_env(&rotation_core::Env::from_pairs([(
        "CONNECT_TIMEOUT_SECONDS".to_owned(),
        "5".to_owned(),
    )]))
    .map_err(|e| Fault::new("ServiceException", e.to_string()))?;
    let unavailable = |error: RotationError| {
        Fault::new("DirectoryUnavailableException", format!("The directory is unavailable: {error}"))
    };
    let mut session = DirectorySession::connect(&config.admin, TlsMode::VerifyFull, &config.roots, &[], &login)
        .await
        .map_err(unavailable)?;
    let domain = config.domain_dn()?;
    let found = find_by_logon_name(&mut session, &domain, user).await.map_err(unavailable)?;
    let [dn] = found.as_slice() else {
        return Err(Fault::new("UserDoesNotExistException", format!("User {user} does not exist.")));
    };
    let admin = config.admin.username.split('@').next().unwrap_or_default();
    if user.eq_ignore_ascii_case(admin) {
        return Err(Fault::new(
            "UnsupportedOperationException",
            "The directory's administrator's password is not reset here.",
        ));
    }
    let own_ou = Dn::parse(&format!("OU={},{domain}", rotation_directory::escape_dn_value(&config.short_name)))
        .map_err(|e| Fault::new("ServiceException", e))?;
    if !dn.is_within(&own_ou) {
        return Err(Fault::new(
            "UnsupportedOperationException",
            format!("Resetting the password of {user} is not supported: it is not in the directory's OU."),
        ));
    }
    match reset_password(&mut session, dn, &Password::new(password.to_owned())).await {
        Ok(()) => Ok(json!({})),
        Err(RotationError::Target { kind: TargetErrorKind::Rejected, .. }) => Err(Fault::new(
            "InvalidPasswordException",
            "The new password does not meet the directory's password policy.",
        )),
        Err(error) => Err(unavailable(error)),
    }
}
