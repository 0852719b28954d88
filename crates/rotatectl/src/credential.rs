//! What every function's doctor checks start from: the function's environment read as its cold start reads it
//! ([`Init::load`]: the password policy, the one AWS configuration, the Secrets Manager client), then the credential
//! through the core's store clients: a secret's checks or a parameter's, and its current value.

use rotation_core::{
    AWSCURRENT, Env, Init, LockHolder, PENDING_SUFFIX, ParameterStore, RunOptions, Secret, SecretsManager, Selector,
    Settings,
};

use crate::checklist::{Checklist, text};

/// A little more than the value's length must fit its tier: the next credential may be longer (a longer password,
/// another field).
const ROOM_BYTES: usize = 256;

/// The credential doctor checks.
#[derive(Debug)]
pub struct Current {
    /// The secret's ARN, or the parameter's name.
    pub id: String,
    /// Its current value.
    pub secret: Secret,
    /// A secret's tags (none for a parameter).
    pub tags: Vec<(String, String)>,
}

/// The function's `Init` (`env` over `options`, as its cold start reads it) and the credential `id` names (`ssm:<name>`
/// a parameter), each read checked; `None` when a check stops the rest.
pub async fn start(
    checklist: &mut Checklist,
    id: &str,
    options: &RunOptions,
    env: Env,
    sdk_config: aws_config::SdkConfig,
) -> Option<(Init, Current)> {
    let init = checklist.check("the password policy settings", Init::load(options, env, sdk_config).map_err(text))?;
    let current = match crate::parameter::name_of(id) {
        Some(name) => read_parameter(checklist, &crate::parameter::reader(&init.sdk_config), name).await,
        None => read_secret(checklist, &init.secrets, id).await,
    }?;
    Some((init, current))
}

/// The secret's checks: it exists, no rotation is stuck, AWSCURRENT can be read.
async fn read_secret(checklist: &mut Checklist, secrets: &SecretsManager, id: &str) -> Option<Current> {
    let described = secrets.describe(id).await.map_err(text);
    let described = checklist.check("the secret exists and can be described", described)?;
    let arn = described.arn;
    let stuck = match described.versions.stuck_pending() {
        Some(version) => {
            Err(format!("AWSPENDING is on {version}, not AWSCURRENT; clear it with `rotatectl unstick {arn}`"))
        }
        None => Ok(()),
    };
    checklist.check("no rotation is stuck", stuck);
    let value = secrets.get(&arn, Selector::Stage(AWSCURRENT)).await.map_err(text);
    let value = value.and_then(|value| value.ok_or_else(|| "the secret has none; put the credential first".to_owned()));
    let value = checklist.check("the AWSCURRENT value can be read", value)?;
    Some(Current { secret: Secret::parse(&arn, &value), id: arn, tags: described.tags })
}

/// The parameter's checks: it exists as a SecureString, its value fits its tier with room to grow, and no rotation
/// holds its lock.
async fn read_parameter(checklist: &mut Checklist, store: &ParameterStore, name: &str) -> Option<Current> {
    let missing = || format!("there is no parameter {name}; create it with the credential first");
    let read = store.read_one(name).await.map_err(text).and_then(|found| found.ok_or_else(missing));
    let parameter = checklist.check("the parameter exists and can be read (decrypted)", read)?;
    let secure = match parameter.kind.as_str() {
        "SecureString" => Ok(()),
        kind => Err(format!(
            "it is {kind}; store the credential as a SecureString (a String is readable by anyone who may read it)"
        )),
    };
    checklist.check("the parameter is a SecureString", secure);
    let settings = store.settings(name).await.map_err(text).and_then(|found| found.ok_or_else(missing));
    let room = settings.and_then(|settings| room(&parameter.value, &settings));
    checklist.check("the value leaves room in its tier for a longer credential", room);
    let held = match store.lock_holder(name).await {
        Ok(None) => Ok(()),
        Ok(Some(LockHolder { rotation, base })) => Err(format!(
            "rotation {rotation:?} (from version {base}) holds {name}{PENDING_SUFFIX}; resume it with `rotatectl rotate ssm:{name} --function <its function> --rotation-id {rotation}`"
        )),
        Err(error) => Err(text(error)),
    };
    checklist.check("no rotation holds the parameter's lock", held);
    Some(Current { id: name.to_owned(), secret: Secret::parse(name, &parameter.value), tags: Vec::new() })
}

/// Whether `value` leaves [`ROOM_BYTES`] in its tier.
fn room(value: &str, settings: &Settings) -> Result<(), String> {
    let limit = settings.max_value_bytes();
    if value.len() + ROOM_BYTES <= limit {
        return Ok(());
    }
    let fix = if settings.tier == "Advanced" { "shorten it" } else { "move it to the Advanced tier or shorten it" };
    Err(format!("it holds {} bytes of the {} tier's {limit}; {fix}", value.len(), settings.tier))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_must_leave_room_in_its_tier_and_the_fix_fits_the_tier() {
        let tier = |tier: &str| Settings { key_id: None, tier: tier.to_owned() };
        assert!(room(&"x".repeat(4096 - ROOM_BYTES), &tier("Standard")).is_ok());
        let full = room(&"x".repeat(4000), &tier("Standard")).unwrap_err();
        assert!(full.contains("4000 bytes of the Standard tier's 4096") && full.contains("Advanced tier"), "{full}");
        assert!(room(&"x".repeat(4000), &tier("Advanced")).is_ok());
        let full = room(&"x".repeat(8000), &tier("Advanced")).unwrap_err();
        assert!(full.ends_with("; shorten it"), "{full}");
    }
}
