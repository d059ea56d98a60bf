//! `state`: a small key/value store per toolset, persisted atomically as one JSON file under
//! the server's state dir (`<state_dir>/toolsets/<name>.json`). Needs the `state` capability.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use super::{CapabilityDef, parse_bool_grant};
use crate::runtime::CallState;
use crate::runtime::bindings::obi::toolset::state::Host;
use crate::runtime::bindings::obi::toolset::types::HostError;

/// The capability definition.
pub const CAPABILITY: CapabilityDef = CapabilityDef {
    name: "state",
    summary: "keep a small key/value store that survives restarts (grant: true/false)",
    parse: parse_bool_grant,
};

/// Longest key.
pub const MAX_KEY: usize = 256;
/// Largest value.
pub const MAX_VALUE: usize = 1024 * 1024;
/// Largest total size per toolset.
pub const MAX_TOTAL: usize = 16 * 1024 * 1024;

/// One toolset's store: loaded lazily, every change written atomically before it is visible.
#[derive(Debug)]
pub struct StateStore {
    path: PathBuf,
    data: Mutex<Option<BTreeMap<String, String>>>,
}

/// Why a state operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Key or value outside the limits.
    #[error("{0}")]
    Invalid(String),
    /// The state file is unreadable or cannot be written.
    #[error("{0}")]
    Io(String),
}

impl StateStore {
    /// A store backed by `path` (not read until first use).
    pub fn new(path: PathBuf) -> StateStore {
        StateStore {
            path,
            data: Mutex::new(None),
        }
    }

    /// The backing file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, String>) -> Result<R, StateError>,
    ) -> Result<R, StateError> {
        let mut guard = self
            .data
            .lock()
            .map_err(|_| StateError::Io("state store lock poisoned".into()))?;
        if guard.is_none() {
            let map = match std::fs::read(&self.path) {
                Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                    StateError::Io(format!(
                        "state file {} is corrupt ({e}); move it away to start fresh",
                        self.path.display()
                    ))
                })?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
                Err(e) => {
                    return Err(StateError::Io(format!(
                        "cannot read state file {}: {e}",
                        self.path.display()
                    )));
                }
            };
            *guard = Some(map);
        }
        f(guard.as_mut().expect("loaded above"))
    }

    fn persist(&self, map: &BTreeMap<String, String>) -> Result<(), StateError> {
        let bytes = serde_json::to_vec_pretty(map)
            .map_err(|e| StateError::Io(format!("cannot encode state: {e}")))?;
        crate::fsutil::write_atomic(&self.path, &bytes, true).map_err(|e| {
            StateError::Io(format!(
                "cannot write state file {}: {e}",
                self.path.display()
            ))
        })
    }

    fn check_key(key: &str) -> Result<(), StateError> {
        if key.is_empty() || key.len() > MAX_KEY {
            return Err(StateError::Invalid(format!(
                "state keys must be 1 to {MAX_KEY} bytes (got {})",
                key.len()
            )));
        }
        Ok(())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Result<Option<String>, StateError> {
        Self::check_key(key)?;
        self.with(|m| Ok(m.get(key).cloned()))
    }

    /// Sets `key`; the file is written before the change becomes visible.
    pub fn set(&self, key: &str, value: String) -> Result<(), StateError> {
        Self::check_key(key)?;
        if value.len() > MAX_VALUE {
            return Err(StateError::Invalid(format!(
                "state value of {} bytes exceeds the limit of {MAX_VALUE} bytes",
                value.len()
            )));
        }
        self.with(|m| {
            let total: usize = m
                .iter()
                .filter(|(k, _)| k.as_str() != key)
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
                + key.len()
                + value.len();
            if total > MAX_TOTAL {
                return Err(StateError::Invalid(format!(
                    "state would grow to {total} bytes, over the limit of {MAX_TOTAL} bytes per toolset"
                )));
            }
            let mut next = m.clone();
            next.insert(key.to_string(), value);
            self.persist(&next)?;
            *m = next;
            Ok(())
        })
    }

    /// Deletes `key`; returns whether it existed.
    pub fn delete(&self, key: &str) -> Result<bool, StateError> {
        Self::check_key(key)?;
        self.with(|m| {
            if !m.contains_key(key) {
                return Ok(false);
            }
            let mut next = m.clone();
            next.remove(key);
            self.persist(&next)?;
            *m = next;
            Ok(true)
        })
    }

    /// Keys with `prefix`, sorted.
    pub fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StateError> {
        self.with(|m| {
            Ok(m.range(prefix.to_string()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .map(|(k, _)| k.clone())
                .collect())
        })
    }
}

impl From<StateError> for HostError {
    fn from(e: StateError) -> Self {
        match e {
            StateError::Invalid(m) => HostError::Invalid(m),
            StateError::Io(m) => HostError::Failed(m),
        }
    }
}

impl CallState {
    fn state_grant(&self, subject: impl FnOnce() -> String) -> Result<(), HostError> {
        self.shared
            .grants
            .check::<()>(CAPABILITY.name, subject)
            .map(|_| ())
            .map_err(|d| HostError::Denied(d.to_string()))
    }
}

impl Host for CallState {
    async fn get(&mut self, key: String) -> Result<Option<String>, HostError> {
        self.state_grant(|| format!("read key {key:?}"))?;
        Ok(self.shared.state.get(&key)?)
    }

    async fn set(&mut self, key: String, value: String) -> Result<(), HostError> {
        self.state_grant(|| format!("write key {key:?}"))?;
        Ok(self.shared.state.set(&key, value)?)
    }

    async fn delete(&mut self, key: String) -> Result<bool, HostError> {
        self.state_grant(|| format!("delete key {key:?}"))?;
        Ok(self.shared.state.delete(&key)?)
    }

    async fn list_keys(&mut self, prefix: String) -> Result<Vec<String>, HostError> {
        self.state_grant(|| format!("list keys with prefix {prefix:?}"))?;
        Ok(self.shared.state.list_keys(&prefix)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(tag: &str) -> (StateStore, PathBuf) {
        let dir = std::env::temp_dir().join(format!("obi-mcp-state-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        (StateStore::new(dir.join("t.json")), dir)
    }

    #[test]
    fn set_get_delete_list_persist() {
        let (s, dir) = store("basic");
        s.set("a/1", "x".into()).unwrap();
        s.set("a/2", "y".into()).unwrap();
        s.set("b", "z".into()).unwrap();
        assert_eq!(s.get("a/1").unwrap().as_deref(), Some("x"));
        assert_eq!(s.list_keys("a/").unwrap(), vec!["a/1", "a/2"]);
        assert!(s.delete("b").unwrap());
        assert!(!s.delete("b").unwrap());
        let again = StateStore::new(s.path().to_path_buf());
        assert_eq!(again.get("a/2").unwrap().as_deref(), Some("y"));
        assert_eq!(again.get("b").unwrap(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn limits_are_enforced_and_nothing_is_written() {
        let (s, dir) = store("limits");
        assert!(matches!(s.set("", "x".into()), Err(StateError::Invalid(_))));
        assert!(matches!(
            s.set(&"k".repeat(MAX_KEY + 1), "x".into()),
            Err(StateError::Invalid(_))
        ));
        assert!(matches!(
            s.set("k", "v".repeat(MAX_VALUE + 1)),
            Err(StateError::Invalid(_))
        ));
        assert!(!s.path().exists());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn corrupt_file_is_reported_not_overwritten() {
        let (s, dir) = store("corrupt");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(s.path(), b"{not json").unwrap();
        let err = s.set("a", "b".into()).unwrap_err().to_string();
        assert!(err.contains("corrupt"), "{err}");
        assert_eq!(std::fs::read(s.path()).unwrap(), b"{not json");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
