//! Persistence: the state as one JSON file written atomically, and the audit log.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};

use crate::error::Error;
use crate::state::{RotationState, State};

const STATE_FILE: &str = "state.json";
const AUDIT_FILE: &str = "audit.jsonl";

/// The state behind a lock, saved after every change so that a restart loses nothing, or (for fleet-scale runs)
/// at an interval by [`Store::flush`].
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    state: Mutex<State>,
    audit: Mutex<File>,
    save_each_change: bool,
    dirty: AtomicBool,
    saving: Mutex<()>,
}

impl Store {
    /// Opens (or creates) the state in `dir`. A rotation that was running when the endpoint stopped is marked
    /// interrupted: its `AWSPENDING` stays, as after a failure.
    pub fn open(dir: &Path) -> io::Result<Self> {
        Self::open_with(dir, true)
    }

    /// [`Store::open`]; unless `save_each_change`, a change is only marked, and saved by the next
    /// [`Store::flush`]: a crash then loses the changes since the last flush. Saving the whole state on every change
    /// costs time in proportion to the fleet, which a run over thousands of secrets cannot afford.
    pub fn open_with(dir: &Path, save_each_change: bool) -> io::Result<Self> {
        // The state holds every secret value: the directory and its files are its owner's alone.
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        let path = dir.join(STATE_FILE);
        let mut state: State = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(e),
        };
        for secret in state.secrets.values_mut().map(std::sync::Arc::make_mut) {
            if let Some(rotation) = secret.last_rotation.as_mut().filter(|r| r.state == RotationState::Running) {
                rotation.state = RotationState::Interrupted;
                rotation.error_message = Some("the endpoint stopped while the rotation ran".into());
            }
        }
        let audit = OpenOptions::new().create(true).append(true).mode(0o600).open(dir.join(AUDIT_FILE))?;
        audit.set_permissions(fs::Permissions::from_mode(0o600))?;
        let store = Self {
            dir: dir.to_owned(),
            state: Mutex::new(state),
            audit: Mutex::new(audit),
            save_each_change,
            dirty: AtomicBool::new(false),
            saving: Mutex::new(()),
        };
        store.save(&store.state.lock().expect("state lock"))?;
        Ok(store)
    }

    /// The audit log's path.
    pub fn audit_path(&self) -> PathBuf {
        self.dir.join(AUDIT_FILE)
    }

    /// Reads the state.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.state.lock().expect("state lock"))
    }

    /// Changes the state: `f` works on a copy, which replaces the state only once saved. A refused or unsaved
    /// change leaves nothing behind.
    pub fn write<R>(&self, f: impl FnOnce(&mut State) -> Result<R, Error>) -> Result<R, Error> {
        let mut state = self.state.lock().expect("state lock");
        // Cheap: secrets are shared until changed (`Arc::make_mut` copies only the one a change touches).
        let mut next = state.clone();
        let result = f(&mut next)?;
        if self.save_each_change {
            self.save(&next).map_err(|e| Error::internal(format!("could not save the endpoint's state: {e}")))?;
        } else {
            self.dirty.store(true, Ordering::Release);
        }
        *state = next;
        Ok(result)
    }

    /// Saves the state if a change is not saved yet (a store opened without saving each change); the copy is
    /// taken under the lock, written outside it.
    pub fn flush(&self) -> io::Result<()> {
        let _saving = self.saving.lock().expect("saving lock");
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let snapshot = self.state.lock().expect("state lock").clone();
        self.save(&snapshot).inspect_err(|_| self.dirty.store(true, Ordering::Release))
    }

    fn save(&self, state: &State) -> io::Result<()> {
        let tmp = self.dir.join(format!("{STATE_FILE}.tmp"));
        let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
        file.write_all(&serde_json::to_vec_pretty(state).map_err(io::Error::other)?)?;
        file.sync_all()?;
        fs::rename(&tmp, self.dir.join(STATE_FILE))?;
        File::open(&self.dir)?.sync_all()
    }

    /// Appends one audit record: time, operation, secret, outcome. Callers never pass a value or token.
    pub fn audit(&self, time: DateTime<Utc>, operation: &str, secret: Option<&str>, outcome: &str) {
        let line = serde_json::json!({
            "time": time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "operation": operation,
            "secret": secret,
            "outcome": outcome,
        });
        let mut audit = self.audit.lock().expect("audit lock");
        if let Err(e) = writeln!(audit, "{line}") {
            tracing::warn!(error = %e, "could not write the audit log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{RotationRecord, SecretRecord};

    fn record(arn: &str) -> SecretRecord {
        let now = Utc::now();
        let mut secret = SecretRecord::new(arn.into(), "n".into(), now);
        secret.rotation_enabled = Some(true);
        secret.last_rotation = Some(RotationRecord {
            token: "t".into(),
            test_only: false,
            state: RotationState::Running,
            step: Some("setSecret".into()),
            error_type: None,
            error_message: None,
            started: now,
            finished: None,
            rotation_token_returned: false,
            rotation_token: Some("never-persisted-rotation-token".into()),
        });
        secret
    }

    #[test]
    fn state_survives_a_restart_and_running_rotations_become_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path()).unwrap();
            store.write(|s| Ok(s.secrets.insert("arn:1".into(), record("arn:1").into()))).unwrap();
            let refused: Result<(), _> = store.write(|s| {
                s.secrets.clear();
                Err(Error::invalid_request("no"))
            });
            assert!(refused.is_err());
        }
        let saved = fs::read_to_string(dir.path().join(STATE_FILE)).unwrap();
        assert!(!saved.contains("never-persisted-rotation-token"));
        let store = Store::open(dir.path()).unwrap();
        store.read(|s| {
            let rotation = s.secrets["arn:1"].last_rotation.as_ref().unwrap();
            assert_eq!(rotation.state, RotationState::Interrupted);
        });
        assert!(!dir.path().join("state.json.tmp").exists());
    }

    #[test]
    fn without_saving_each_change_a_change_reaches_the_file_at_the_flush() {
        let dir = tempfile::tempdir().unwrap();
        let saved = || fs::read_to_string(dir.path().join(STATE_FILE)).unwrap().contains("arn:2");
        {
            let store = Store::open_with(dir.path(), false).unwrap();
            store.write(|s| Ok(s.secrets.insert("arn:2".into(), record("arn:2").into()))).unwrap();
            assert!(store.read(|s| s.secrets.contains_key("arn:2")), "the change is served at once");
            assert!(!saved(), "and not saved before the flush");
            store.flush().unwrap();
            assert!(saved());
        }
        let store = Store::open(dir.path()).unwrap();
        assert!(store.read(|s| s.secrets.contains_key("arn:2")));
    }

    #[test]
    fn audit_lines_are_json() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.audit(Utc::now(), "GetSecretValue", Some("app"), "ok");
        let text = fs::read_to_string(store.audit_path()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(line["operation"], "GetSecretValue");
        assert_eq!(line["outcome"], "ok");
    }
}
