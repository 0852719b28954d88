//! `rotate-directory`'s configuration, read once at cold start.

use rotation_core::{Env, ManagedTiming, PasswordPolicy, RotationError};
use rotation_database::ManagedLogin;

/// The longest password Directory Service's `ResetUserPassword` takes.
pub const MAX_PASSWORD_LENGTH: usize = 127;

/// The secret's keys, as AWS's Active Directory functions name them (`DICT_KEY_DIRECTORY`, `DICT_KEY_USERNAME`,
/// `DICT_KEY_PASSWORD`; an empty variable falls back to the default, as theirs does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretKeys {
    /// The directory's ID (`awsSeamlessDomainDirectoryId`).
    pub directory: String,
    /// The account's logon name (`awsSeamlessDomainUsername`).
    pub username: String,
    /// The password (`awsSeamlessDomainPassword`).
    pub password: String,
}

impl SecretKeys {
    fn from_env(env: &Env) -> Self {
        let key = |variable: &str, default: &str| {
            env.get(variable).filter(|value| !value.is_empty()).unwrap_or_else(|| default.to_owned())
        };
        Self {
            directory: key("DICT_KEY_DIRECTORY", "awsSeamlessDomainDirectoryId"),
            username: key("DICT_KEY_USERNAME", "awsSeamlessDomainUsername"),
            password: key("DICT_KEY_PASSWORD", "awsSeamlessDomainPassword"),
        }
    }
}

/// `rotate-directory`'s configuration.
#[derive(Debug, Clone)]
pub struct DirectoryServiceConfig {
    /// `DIRECTORY_IDS` (required): the directories whose users this function may reset, comma-separated, each by its
    /// ID (`d-...`) or its ARN (`arn:<partition>:ds:<region>:<account>:directory/d-...`, as the template passes them).
    pub directories: Vec<String>,
    /// The secret's keys.
    pub keys: SecretKeys,
    /// `KEYTAB_FIELD`: when set, the secret's field that holds the account's keytab (base64), written with each new
    /// password and proved by Kerberos (`keytabContents` is the name AWS's keytab function gives it).
    pub keytab_field: Option<String>,
    /// `KERBEROS_PORT` (default 88): the port of the KDCs at the directory's DNS addresses.
    pub kerberos_port: u16,
    /// The waits for the directory to be `Active` (`MAX_WAITING_TIME_FOR_ACTIVE_IN_SECONDS`,
    /// `WAITING_RETRY_INTERVAL_IN_SECONDS`) and the proofs: `CONNECT_TIMEOUT_SECONDS` bounds each Kerberos exchange
    /// and LDAP bind, `TEST_ATTEMPTS` and `TEST_BACKOFF_*` retry testSecret, the TLS variables verify the LDAPS
    /// fallback.
    pub managed: ManagedLogin,
}

impl DirectoryServiceConfig {
    /// Reads the environment; `policy` must make passwords Directory Service takes (at most 127 characters).
    pub fn from_env(env: &Env, policy: &PasswordPolicy) -> Result<Self, RotationError> {
        let directories: Vec<String> = env
            .get("DIRECTORY_IDS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|entry| match entry.strip_prefix("arn:").and_then(|arn| arn.rsplit_once(":directory/")) {
                Some((_, id)) => id.to_owned(),
                None => entry.to_owned(),
            })
            .collect();
        if directories.is_empty() {
            return Err(RotationError::Config {
                variable: "DIRECTORY_IDS",
                reason: "is not set: name the directories (d-...) whose users this function may reset".into(),
            });
        }
        if let Some(bad) = directories.iter().find(|id| !is_directory_id(id)) {
            return Err(RotationError::Config {
                variable: "DIRECTORY_IDS",
                reason: format!("holds {bad:?}, which is not a directory ID (d- and ten hex digits) or its ARN"),
            });
        }
        if let Some(reason) = refuse_policy(policy) {
            return Err(RotationError::Config { variable: "PASSWORD_LENGTH", reason });
        }
        let keytab_field = env.get("KEYTAB_FIELD").filter(|field| !field.trim().is_empty());
        if rotation_core::FIPS_BUILD && keytab_field.is_some() {
            return Err(RotationError::Config {
                variable: "KEYTAB_FIELD",
                reason: "must not be set in the FIPS build: a keytab's keys are derived with Kerberos's PBKDF2 and AES-CTS outside AWS-LC's FIPS module".into(),
            });
        }
        Ok(Self {
            directories,
            keys: SecretKeys::from_env(env),
            keytab_field,
            kerberos_port: u16::try_from(env.number("KERBEROS_PORT", 88, 1..=65535)?).unwrap_or(88),
            managed: ManagedLogin::from_env(env, "Directory Service's ResetUserPassword")?,
        })
    }

    /// How the target waits for the directory and retries testSecret.
    pub fn timing(&self) -> ManagedTiming {
        self.managed.timing()
    }
}

/// Whether `id` is a Directory Service directory ID: `d-` and ten hex digits.
pub fn is_directory_id(id: &str) -> bool {
    id.strip_prefix("d-").is_some_and(|hex| hex.len() == 10 && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Why Directory Service would refuse passwords `policy` makes.
pub fn refuse_policy(policy: &PasswordPolicy) -> Option<String> {
    (policy.length > MAX_PASSWORD_LENGTH)
        .then(|| format!("must be at most {MAX_PASSWORD_LENGTH}: Directory Service refuses longer passwords"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<DirectoryServiceConfig, RotationError> {
        let env = Env::from_pairs(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        DirectoryServiceConfig::from_env(&env, &PasswordPolicy::default())
    }

    #[test]
    fn directories_are_named_by_id_or_arn_and_the_secret_keys_default_to_aws() {
        let ids = "d-1234567890, arn:aws:ds:us-east-1:123456789012:directory/d-abcdef0123";
        let read = config(&[("DIRECTORY_IDS", ids), ("DICT_KEY_USERNAME", "")]).unwrap();
        assert_eq!(read.directories, ["d-1234567890", "d-abcdef0123"]);
        assert_eq!(read.keys.username, "awsSeamlessDomainUsername", "an empty key falls back, as AWS's does");
        for (pairs, says) in [
            (&[][..], "DIRECTORY_IDS is not set"),
            (&[("DIRECTORY_IDS", "corp.example.com")][..], "not a directory ID"),
            (
                &[("DIRECTORY_IDS", "d-1234567890"), ("ADMIN_SECRET_ARNS", "arn:x")][..],
                "ADMIN_SECRET_ARNS must not be set",
            ),
        ] {
            let error = config(pairs).unwrap_err().to_string();
            assert!(error.contains(says), "{pairs:?}: {error}");
        }
        let env = Env::from_pairs([("DIRECTORY_IDS".to_owned(), "d-1234567890".to_owned())]);
        let long = PasswordPolicy { length: 128, ..PasswordPolicy::default() };
        let error = DirectoryServiceConfig::from_env(&env, &long).unwrap_err().to_string();
        assert!(error.contains("at most 127"), "{error}");
    }

    /// `make test` runs this in both builds: the FIPS build (`--features rotation-core/fips`) refuses keytabs,
    /// whose keys would be derived outside the module; the default build writes them.
    #[test]
    fn the_fips_build_refuses_keytabs() {
        let keytab = config(&[("DIRECTORY_IDS", "d-1234567890"), ("KEYTAB_FIELD", "keytabContents")]);
        match rotation_core::FIPS_BUILD {
            true => assert!(keytab.unwrap_err().to_string().contains("FIPS"), "the FIPS build refuses a keytab"),
            false => assert_eq!(keytab.unwrap().keytab_field.as_deref(), Some("keytabContents")),
        }
    }
}
