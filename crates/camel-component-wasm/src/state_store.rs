//! The key-value state behind `host-store` / `host-load`.

use std::collections::HashMap;
use std::sync::Mutex;

/// State of one route endpoint (or bean entry), shared by its instances.
///
/// Kept outside the guest, so it survives instance recycling. The lock is
/// held only for one map operation, never across guest code.
#[derive(Debug)]
pub(crate) struct StateStore {
    entries: Mutex<HashMap<String, String>>,
    max_entries: usize,
    max_key_bytes: usize,
    max_value_bytes: usize,
}

/// Why a store request was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StateError {
    /// The key or value is too large, or the store is full.
    Limit(String),
}

impl StateStore {
    pub(crate) fn new(max_entries: usize, max_key_bytes: usize, max_value_bytes: usize) -> Self {
        StateStore {
            entries: Mutex::new(HashMap::new()),
            max_entries,
            max_key_bytes,
            max_value_bytes,
        }
    }

    pub(crate) fn store(&self, key: String, value: String) -> Result<(), StateError> {
        if key.len() > self.max_key_bytes {
            return Err(StateError::Limit(format!(
                "state key is {} bytes, over the {} byte limit",
                key.len(),
                self.max_key_bytes
            )));
        }
        if value.len() > self.max_value_bytes {
            return Err(StateError::Limit(format!(
                "state value is {} bytes, over the {} byte limit",
                value.len(),
                self.max_value_bytes
            )));
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            return Err(StateError::Limit(format!(
                "state store is full ({} entries)",
                self.max_entries
            )));
        }
        entries.insert(key, value);
        Ok(())
    }

    pub(crate) fn load(&self, key: &str) -> Option<String> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(key).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_and_loads() {
        let s = StateStore::new(2, 8, 8);
        s.store("a".into(), "1".into()).unwrap();
        assert_eq!(s.load("a").as_deref(), Some("1"));
        assert_eq!(s.load("b"), None);
    }

    #[test]
    fn enforces_limits() {
        let s = StateStore::new(1, 3, 3);
        assert!(
            matches!(s.store("long".into(), "1".into()), Err(StateError::Limit(m)) if m.contains("key"))
        );
        assert!(
            matches!(s.store("k".into(), "long".into()), Err(StateError::Limit(m)) if m.contains("value"))
        );
        s.store("k".into(), "1".into()).unwrap();
        s.store("k".into(), "2".into()).unwrap();
        assert!(
            matches!(s.store("j".into(), "1".into()), Err(StateError::Limit(m)) if m.contains("full"))
        );
    }
}
