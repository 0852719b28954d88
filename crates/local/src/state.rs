//! The endpoint's state: secrets, their versions and labels, and the rotations it ran; parameters, schedules,
//! events, the ElastiCache users and replication groups, and the Redshift clusters, namespaces and workgroups, each
//! service's records in the one document every service reads and changes.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::schedule::RotationRules;

/// Everything the endpoint knows, persisted as one JSON document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// Secrets by ARN.
    pub secrets: BTreeMap<String, Arc<SecretRecord>>,
    /// The ElastiCache users and user groups.
    #[serde(default)]
    pub cache: CacheState,
    /// The Redshift clusters, and Redshift Serverless's namespaces and workgroups.
    #[serde(default)]
    pub redshift: RedshiftState,
    /// Parameter Store's parameters by name.
    #[serde(default)]
    pub parameters: BTreeMap<String, ParameterRecord>,
    /// Parameter rotation schedules (EventBridge Scheduler's part) by parameter name.
    #[serde(default)]
    pub schedules: BTreeMap<String, ScheduleRecord>,
    /// The events put with EventBridge's `PutEvents` (the last 1,000).
    #[serde(default)]
    pub events: Vec<EventRecord>,
}

/// One event put on a bus.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventRecord {
    /// Its id.
    pub id: String,
    /// When it was put.
    pub time: DateTime<Utc>,
    /// The bus.
    pub bus: String,
    /// `source`.
    pub source: String,
    /// `detail-type`.
    pub detail_type: String,
    /// `resources`.
    pub resources: Vec<String>,
    /// `detail`.
    pub detail: serde_json::Value,
}

/// A schedule that rotates one parameter: each run invokes the function with `{"ParameterName", "RotationId": the
/// scheduled time}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScheduleRecord {
    /// The parameter.
    pub parameter: String,
    /// The function (name or ARN).
    pub function: String,
    /// `rate(...)` or `cron(...)`.
    pub expression: String,
    /// The next scheduled time.
    pub next: DateTime<Utc>,
    /// The last run: its scheduled time, attempts, outcome.
    pub last: Option<ScheduleRun>,
}

/// One scheduled run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScheduleRun {
    /// The scheduled time, sent as the `RotationId`.
    pub rotation_id: String,
    /// `running`, `succeeded` or `failed`.
    pub state: String,
    /// How many invocations it took (a failed one is retried twice, as Lambda retries an asynchronous event).
    pub attempts: u32,
    /// The last failure's type and message.
    pub error_type: Option<String>,
    /// The last failure's message.
    pub error_message: Option<String>,
}

/// One parameter and its history (oldest first).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParameterRecord {
    /// Its name.
    pub name: String,
    /// `String`, `StringList` or `SecureString`.
    pub kind: String,
    /// A SecureString's KMS key.
    pub key_id: Option<String>,
    /// `Standard`, `Advanced` or `Intelligent-Tiering`.
    pub tier: String,
    /// Its description.
    pub description: Option<String>,
    /// Its versions, oldest first, at most 100.
    pub versions: Vec<ParameterVersion>,
    /// Its tags (`rotor:function` binds it to its function), by key.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// One version of a parameter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParameterVersion {
    /// Its number.
    pub version: i64,
    /// Its value.
    pub value: String,
    /// Its labels (each names one version of the parameter).
    pub labels: Vec<String>,
    /// When it was written.
    pub modified: DateTime<Utc>,
}

/// The ElastiCache part of the endpoint's state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CacheState {
    /// Users by id.
    pub users: BTreeMap<String, CacheUser>,
    /// User groups by id: the ids of their users.
    pub user_groups: BTreeMap<String, Vec<String>>,
    /// The replication groups clients reach with an AUTH token, by id.
    #[serde(default)]
    pub replication_groups: BTreeMap<String, CacheReplicationGroup>,
}

/// A replication group whose clients authenticate with an AUTH token (the password of the Redis server's `default`
/// user) rather than as users.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheReplicationGroup {
    /// `ReplicationGroupDescription`.
    pub description: String,
    /// `redis` or `valkey`.
    pub engine: String,
    /// `available` or `modifying`.
    pub status: String,
    /// While `modifying`: `ROTATING` or `SETTING` (`PendingModifiedValues.AuthTokenStatus`).
    pub pending_auth_token: Option<String>,
    /// The tokens the group accepts, oldest first, at most two, in the ACL's SHA-256 form (`#` and hex): the
    /// service remembers the token a `ROTATE` keeps, so the endpoint keeps what Redis's own ACL keeps, never a token.
    pub auth_tokens: Vec<String>,
    /// `AuthTokenLastModifiedDate`: when the last change of its tokens applied.
    pub auth_token_modified: DateTime<Utc>,
    /// `ReplicationGroupCreateTime`.
    pub created: DateTime<Utc>,
}

/// The Redshift part of the endpoint's state: provisioned clusters, Serverless namespaces and workgroups, all over
/// the one PostgreSQL server that stands in for Redshift. It keeps no password of any kind: not the admin's, not its
/// md5 form (which logs in on its own under md5 authentication), only whether a change of it is pending.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RedshiftState {
    /// Provisioned clusters by `ClusterIdentifier` (lower case, as the service keeps it).
    pub clusters: BTreeMap<String, RedshiftCluster>,
    /// Serverless namespaces by `namespaceName`.
    pub namespaces: BTreeMap<String, RedshiftNamespace>,
    /// Serverless workgroups by `workgroupName`.
    pub workgroups: BTreeMap<String, RedshiftWorkgroup>,
}

/// A provisioned cluster. Its endpoint is the stand-in's address, from the endpoint's options, never stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedshiftCluster {
    /// `NodeType`.
    pub node_type: String,
    /// `NumberOfNodes`.
    pub number_of_nodes: u32,
    /// `MasterUsername`: the stand-in's user the master password is set for.
    pub master_username: String,
    /// `DBName`.
    pub db_name: String,
    /// The id in `ClusterNamespaceArn`.
    pub namespace_id: String,
    /// `available`, or `modifying` while a new master password waits to apply.
    pub status: String,
    /// Whether a new master password waits to apply (`PendingModifiedValues.MasterUserPassword` `****`).
    pub password_pending: bool,
    /// `ClusterCreateTime`.
    pub created: DateTime<Utc>,
}

/// A Serverless namespace.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedshiftNamespace {
    /// `namespaceId` (also in `namespaceArn`).
    pub id: String,
    /// `adminUsername`, when one was given.
    pub admin_username: Option<String>,
    /// `dbName`.
    pub db_name: String,
    /// `AVAILABLE`, or `MODIFYING` while a new admin password waits to apply.
    pub status: String,
    /// `creationDate`.
    pub created: DateTime<Utc>,
}

/// A Serverless workgroup: its endpoint is the stand-in's address, from the endpoint's options, never stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedshiftWorkgroup {
    /// `workgroupId` (also in `workgroupArn`).
    pub id: String,
    /// `namespaceName`.
    pub namespace: String,
    /// `AVAILABLE`.
    pub status: String,
    /// `creationDate`.
    pub created: DateTime<Utc>,
}

/// One user, without its passwords.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheUser {
    /// `UserName`: the ACL user's name on the cache.
    pub name: String,
    /// `AccessString`.
    pub access_string: String,
    /// `active` or `modifying`.
    pub status: String,
    /// How many passwords it holds (0: `no-password`).
    pub password_count: usize,
}

/// One secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecretRecord {
    /// The full ARN (`...:secret:name-AbCdEf`).
    pub arn: String,
    /// The name.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// The KMS key id, when one was named.
    pub kms_key_id: Option<String>,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When its value or metadata last changed.
    pub last_changed: DateTime<Utc>,
    /// When a rotation last succeeded.
    pub last_rotated: Option<DateTime<Utc>>,
    /// When the next scheduled rotation window opens.
    pub next_rotation: Option<DateTime<Utc>>,
    /// `RotationEnabled`: `None` until rotation is configured.
    pub rotation_enabled: Option<bool>,
    /// The rotation function's ARN.
    pub rotation_lambda_arn: Option<String>,
    /// The rotation schedule.
    pub rotation_rules: Option<RotationRules>,
    /// Tags, in order.
    pub tags: Vec<(String, String)>,
    /// When a scheduled deletion takes effect.
    pub deleted_date: Option<DateTime<Utc>>,
    /// Versions by id.
    pub versions: BTreeMap<String, VersionRecord>,
    /// The last rotation the endpoint ran or is running.
    pub last_rotation: Option<RotationRecord>,
    /// The Regions the secret is replicated to (`ReplicateSecretToRegions`): they read the primary's versions and
    /// labels, and refuse every change.
    #[serde(default)]
    pub replicas: Vec<String>,
}

/// One version of a secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VersionRecord {
    /// `SecretString`; `None` for the value-less `AWSPENDING` placeholder (or a binary secret).
    pub secret_string: Option<String>,
    /// `SecretBinary`, base64 as on the wire.
    pub secret_binary: Option<String>,
    /// Its staging labels.
    pub stages: Vec<String>,
    /// When it was created.
    pub created: DateTime<Utc>,
}

impl VersionRecord {
    /// Whether the version holds a value (the rotation placeholder does not).
    pub fn has_value(&self) -> bool {
        self.secret_string.is_some() || self.secret_binary.is_some()
    }

    /// Whether it carries `stage`.
    pub fn has_stage(&self, stage: &str) -> bool {
        self.stages.iter().any(|s| s == stage)
    }
}

/// Where a rotation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationState {
    /// The steps are running.
    Running,
    /// All four steps succeeded and `AWSPENDING` was removed.
    Succeeded,
    /// A step failed; `AWSPENDING` stays and new rotations are refused until it is cleared.
    Failed,
    /// The endpoint stopped while the steps ran.
    Interrupted,
    /// `CancelRotateSecret` or a manual `PutSecretValue` abandoned it.
    Cancelled,
}

/// One rotation the endpoint ran: what a person needs to see why it is stuck. Never a value or token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RotationRecord {
    /// The rotation's token (the pending `VersionId`).
    pub token: String,
    /// Whether it only tested the configuration (`RotateImmediately=false`).
    pub test_only: bool,
    /// Where it stands.
    pub state: RotationState,
    /// The last step invoked.
    pub step: Option<String>,
    /// The failed step's `errorType`.
    pub error_type: Option<String>,
    /// The failed step's `errorMessage`.
    pub error_message: Option<String>,
    /// When it started.
    pub started: DateTime<Utc>,
    /// When it ended.
    pub finished: Option<DateTime<Utc>>,
    /// Whether the function passed this rotation's `RotationToken` back on `PutSecretValue`.
    pub rotation_token_returned: bool,
    /// The `RotationToken` issued to the function; kept in memory only, never persisted or shown.
    #[serde(skip)]
    pub rotation_token: Option<String>,
}

impl State {
    /// Finds a secret by full ARN, name, or partial ARN (the ARN without its six-character suffix).
    pub fn find(&self, secret_id: &str) -> Option<&SecretRecord> {
        self.secrets.get(secret_id).map(|s| &**s).or_else(|| {
            self.secrets
                .values()
                .map(|s| &**s)
                .find(|s| s.name == secret_id || s.arn.get(..s.arn.len() - 7) == Some(secret_id))
        })
    }

    /// As [`State::find`], mutably.
    pub fn find_mut(&mut self, secret_id: &str) -> Option<&mut SecretRecord> {
        let arn = self.find(secret_id)?.arn.clone();
        self.secrets.get_mut(&arn).map(Arc::make_mut)
    }
}

impl SecretRecord {
    /// A new secret with no versions, no rotation and no tags.
    pub fn new(arn: String, name: String, now: DateTime<Utc>) -> Self {
        Self {
            arn,
            name,
            description: None,
            kms_key_id: None,
            created: now,
            last_changed: now,
            last_rotated: None,
            next_rotation: None,
            rotation_enabled: None,
            rotation_lambda_arn: None,
            rotation_rules: None,
            tags: Vec::new(),
            deleted_date: None,
            versions: BTreeMap::new(),
            last_rotation: None,
            replicas: Vec::new(),
        }
    }

    /// The version carrying `stage`.
    pub fn holding(&self, stage: &str) -> Option<&str> {
        self.versions.iter().find(|(_, v)| v.has_stage(stage)).map(|(id, _)| id.as_str())
    }

    /// Puts `stage` on `version`, taking it from wherever it was. Moving `AWSCURRENT` puts `AWSPREVIOUS` on the
    /// version it left, as Secrets Manager does.
    pub fn attach(&mut self, stage: &str, version: &str) {
        let previous_holder = self.holding(stage).map(str::to_owned);
        if previous_holder.as_deref() == Some(version) {
            return;
        }
        if let Some(holder) = &previous_holder {
            self.detach(stage, holder);
        }
        if let Some(target) = self.versions.get_mut(version) {
            target.stages.push(stage.to_owned());
        }
        if stage == "AWSCURRENT"
            && let Some(holder) = previous_holder
        {
            self.attach("AWSPREVIOUS", &holder);
        }
    }

    /// Removes `stage` from `version`.
    pub fn detach(&mut self, stage: &str, version: &str) {
        if let Some(v) = self.versions.get_mut(version) {
            v.stages.retain(|s| s != stage);
        }
    }

    /// `AWSPENDING` on a version that is not `AWSCURRENT`: an unfinished rotation that blocks new ones.
    pub fn stuck_pending(&self) -> Option<&str> {
        let pending = self.holding("AWSPENDING")?;
        (Some(pending) != self.holding("AWSCURRENT")).then_some(pending)
    }

    /// Whether a rotation is running now.
    pub fn rotating(&self) -> bool {
        self.last_rotation.as_ref().is_some_and(|r| r.state == RotationState::Running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretRecord {
        let now = Utc::now();
        let version = |stages: &[&str]| VersionRecord {
            secret_string: Some("v".into()),
            secret_binary: None,
            stages: stages.iter().map(|s| s.to_string()).collect(),
            created: now,
        };
        let mut secret = SecretRecord::new(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf".into(),
            "app".into(),
            now,
        );
        secret.versions = [
            ("a".to_string(), version(&["AWSPREVIOUS"])),
            ("b".into(), version(&["AWSCURRENT"])),
            ("c".into(), version(&[])),
        ]
        .into();
        secret
    }

    #[test]
    fn moving_current_moves_previous_and_each_label_stays_unique() {
        let mut s = secret();
        s.attach("AWSCURRENT", "c");
        assert_eq!(s.holding("AWSCURRENT"), Some("c"));
        assert_eq!(s.holding("AWSPREVIOUS"), Some("b"));
        assert!(s.versions["a"].stages.is_empty());
        s.attach("AWSPENDING", "a");
        assert_eq!(s.stuck_pending(), Some("a"));
        s.attach("AWSPENDING", "c");
        assert_eq!(s.stuck_pending(), None);
    }

    #[test]
    fn find_by_name_arn_and_partial_arn() {
        let mut state = State::default();
        let s = secret();
        state.secrets.insert(s.arn.clone(), Arc::new(s));
        assert!(state.find("app").is_some());
        assert!(state.find("arn:aws:secretsmanager:us-east-1:123456789012:secret:app-AbCdEf").is_some());
        assert!(state.find("arn:aws:secretsmanager:us-east-1:123456789012:secret:app").is_some());
        assert!(state.find("ap").is_none());
    }
}
