//! The key-value state behind `host-store`, `host-load` and the atomic
//! `host-increment` / `host-compare-and-set`.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::config::WasmPluginConfig;

/// State of one route endpoint (or bean entry), shared by its instances.
///
/// Kept outside the guest, so it survives instance recycling. The lock is
/// held only for one map operation, never across guest code, which also
/// makes each operation atomic: `store` is last-writer-wins, `increment`
/// and `compare_and_set` never lose a concurrent update.
#[derive(Debug)]
pub(crate) struct StateStore {
    inner: Mutex<Entries>,
    max_entries: usize,
    max_key_bytes: usize,
    max_value_bytes: usize,
    max_total_bytes: usize,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<String, String>,
    /// Bytes of all keys and values.
    bytes: usize,
}

/// Why a state request was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StateError {
    /// The key or value is too large, or the store is full.
    Limit(String),
    /// The stored value is not what the operation needs (not an integer,
    /// say), or the result would not fit.
    Type(String),
}

impl StateStore {
    pub(crate) fn new(config: &WasmPluginConfig) -> Self {
        StateStore {
            inner: Mutex::new(Entries::default()),
            max_entries: config.max_state_entries,
            max_key_bytes: config.max_state_key_bytes,
            max_value_bytes: config.max_state_value_bytes,
            max_total_bytes: config.max_state_bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_sizes(&self, key: &str, value: &str) -> Result<(), StateError> {
        if key.len() > self.max_key_bytes {
            return Err(StateError::Limit(format!(
                "state key is {} bytes, over the {} byte limit (max-state-key-bytes)",
                key.len(),
                self.max_key_bytes
            )));
        }
        if value.len() > self.max_value_bytes {
            return Err(StateError::Limit(format!(
                "state value is {} bytes, over the {} byte limit (max-state-value-bytes)",
                value.len(),
                self.max_value_bytes
            )));
        }
        Ok(())
    }

    /// Writes `value` under `key` (last writer wins).
    pub(crate) fn store(&self, key: String, value: String) -> Result<(), StateError> {
        self.check_sizes(&key, &value)?;
        let mut entries = self.lock();
        self.put(&mut entries, key, value)
    }

    pub(crate) fn load(&self, key: &str) -> Option<String> {
        self.lock().map.get(key).cloned()
    }

    /// Adds `delta` to the integer under `key` (a missing key counts as 0)
    /// and returns the new value, atomically.
    pub(crate) fn increment(&self, key: String, delta: i64) -> Result<i64, StateError> {
        self.check_sizes(&key, "")?;
        let mut entries = self.lock();
        let current = match entries.map.get(&key) {
            None => 0,
            Some(text) => text.trim().parse::<i64>().map_err(|_| {
                StateError::Type(format!(
                    "state `{key}` does not hold an integer, so it cannot be incremented"
                ))
            })?,
        };
        let next = current.checked_add(delta).ok_or_else(|| {
            StateError::Type(format!(
                "incrementing state `{key}` overflows a 64-bit integer"
            ))
        })?;
        self.put(&mut entries, key, next.to_string())?;
        Ok(next)
    }

    /// Writes `new` under `key` only if its current value is `expected`
    /// (`None`: only if the key is absent), atomically. Returns whether it
    /// wrote.
    pub(crate) fn compare_and_set(
        &self,
        key: String,
        expected: Option<&str>,
        new: String,
    ) -> Result<bool, StateError> {
        self.check_sizes(&key, &new)?;
        let mut entries = self.lock();
        if entries.map.get(&key).map(String::as_str) != expected {
            return Ok(false);
        }
        self.put(&mut entries, key, new)?;
        Ok(true)
    }

    /// Inserts under the entry, byte and count limits.
    fn put(&self, entries: &mut Entries, key: String, value: String) -> Result<(), StateError> {
        let old = entries.map.get(&key).map(|v| key.len() + v.len());
        if old.is_none() && entries.map.len() >= self.max_entries {
            return Err(StateError::Limit(format!(
                "state store is full ({} entries, max-state-entries)",
                self.max_entries
            )));
        }
        let bytes = entries.bytes - old.unwrap_or(0) + key.len() + value.len();
        if bytes > self.max_total_bytes {
            return Err(StateError::Limit(format!(
                "state store would hold {bytes} bytes, over the {} byte limit (max-state-bytes)",
                self.max_total_bytes
            )));
        }
        entries.bytes = bytes;
        entries.map.insert(key, value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(entries: usize, key: usize, value: usize, total: usize) -> StateStore {
        StateStore::new(&WasmPluginConfig {
            max_state_entries: entries,
            max_state_key_bytes: key,
            max_state_value_bytes: value,
            max_state_bytes: total,
            ..WasmPluginConfig::default()
        })
    }

    #[test]
    fn stores_and_loads() {
        let s = store(2, 8, 8, 100);
        s.store("a".into(), "1".into()).unwrap();
        assert_eq!(s.load("a").as_deref(), Some("1"));
        assert_eq!(s.load("b"), None);
    }

    #[test]
    fn enforces_limits() {
        let s = store(1, 3, 3, 100);
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

    #[test]
    fn caps_total_bytes_and_counts_overwrites_once() {
        let s = store(100, 10, 10, 20);
        s.store("aa".into(), "12345678".into()).unwrap(); // 10
        s.store("aa".into(), "87654321".into()).unwrap(); // still 10
        s.store("bb".into(), "12345678".into()).unwrap(); // 20
        let err = s.store("c".into(), "1".into()).unwrap_err();
        assert!(matches!(err, StateError::Limit(m) if m.contains("max-state-bytes")));
        s.store("bb".into(), "1".into()).unwrap(); // shrinks to 13
        s.store("c".into(), "1".into()).unwrap();
    }

    #[test]
    fn increments_atomically_across_threads() {
        let s = std::sync::Arc::new(store(10, 10, 30, 100));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        s.increment("n".into(), 1).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(s.load("n").as_deref(), Some("8000"));
        assert_eq!(s.increment("n".into(), -8000).unwrap(), 0);
    }

    #[test]
    fn increment_refuses_non_integers_and_overflow() {
        let s = store(10, 10, 30, 100);
        s.store("t".into(), "text".into()).unwrap();
        assert!(matches!(
            s.increment("t".into(), 1),
            Err(StateError::Type(_))
        ));
        s.store("m".into(), i64::MAX.to_string()).unwrap();
        assert!(matches!(
            s.increment("m".into(), 1),
            Err(StateError::Type(_))
        ));
    }

    #[test]
    fn compare_and_set_writes_only_on_a_match() {
        let s = store(10, 10, 10, 100);
        assert!(s.compare_and_set("k".into(), None, "a".into()).unwrap());
        assert!(!s.compare_and_set("k".into(), None, "b".into()).unwrap());
        assert!(
            !s.compare_and_set("k".into(), Some("x"), "b".into())
                .unwrap()
        );
        assert!(
            s.compare_and_set("k".into(), Some("a"), "b".into())
                .unwrap()
        );
        assert_eq!(s.load("k").as_deref(), Some("b"));
    }
}
