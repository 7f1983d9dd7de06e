//! The in-memory state store: one per endpoint (or bean), in this process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{SizeCaps, StateError};
use crate::config::WasmPluginConfig;

/// State of one route endpoint (or bean entry), shared by its instances.
///
/// Kept outside the guest, so it survives instance recycling. The lock is
/// held only for one map operation, never across guest code, which also
/// makes each operation atomic: `store` is last-writer-wins, `increment`
/// and `compare_and_set` never lose a concurrent update.
///
/// An entry stored with a TTL is absent once it has expired; it still
/// counts towards the caps until it is touched again or the store is full
/// (then every expired entry is dropped before anything is refused).
#[derive(Debug)]
pub(crate) struct MemoryStore {
    inner: Mutex<Entries>,
    caps: SizeCaps,
    max_entries: usize,
    max_total_bytes: usize,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<String, Entry>,
    /// Bytes of all keys and values.
    bytes: usize,
}

#[derive(Debug)]
struct Entry {
    value: String,
    /// When the entry expires; `None`: never.
    expires: Option<Instant>,
}

impl Entry {
    /// Whether the entry has expired (reads the clock only if it has a TTL).
    fn expired(&self) -> bool {
        self.expires.is_some_and(|at| at <= Instant::now())
    }
}

impl Entries {
    /// The live entry under `key`; an expired one is removed.
    fn live(&mut self, key: &str) -> Option<&Entry> {
        if self.map.get(key).is_some_and(Entry::expired) {
            if let Some(old) = self.map.remove(key) {
                self.bytes -= key.len() + old.value.len();
            }
            return None;
        }
        self.map.get(key)
    }

    /// Drops every expired entry.
    fn purge_expired(&mut self) {
        let now = Instant::now();
        let mut freed = 0;
        self.map.retain(|key, entry| {
            let keep = entry.expires.is_none_or(|at| at > now);
            if !keep {
                freed += key.len() + entry.value.len();
            }
            keep
        });
        self.bytes -= freed;
    }
}

impl MemoryStore {
    pub(crate) fn new(config: &WasmPluginConfig) -> Self {
        MemoryStore {
            inner: Mutex::new(Entries::default()),
            caps: SizeCaps::new(config),
            max_entries: config.max_state_entries,
            max_total_bytes: config.max_state_bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes `value` under `key` (last writer wins), expiring after `ttl`
    /// if given.
    pub(crate) fn store(
        &self,
        key: String,
        value: String,
        ttl: Option<Duration>,
    ) -> Result<(), StateError> {
        self.caps.check(&key, &value)?;
        let expires = ttl.map(|ttl| Instant::now() + ttl);
        let mut entries = self.lock();
        self.put(&mut entries, key, value, expires)
    }

    pub(crate) fn load(&self, key: &str) -> Option<String> {
        self.lock().live(key).map(|entry| entry.value.clone())
    }

    /// Adds `delta` to the integer under `key` (a missing key counts as 0)
    /// and returns the new value, atomically. The entry keeps its TTL.
    pub(crate) fn increment(&self, key: String, delta: i64) -> Result<i64, StateError> {
        self.caps.check(&key, "")?;
        let mut entries = self.lock();
        let (current, expires) = match entries.live(&key) {
            None => (0, None),
            Some(entry) => (
                entry.value.trim().parse::<i64>().map_err(|_| {
                    StateError::Type(format!(
                        "state `{key}` does not hold an integer, so it cannot be incremented"
                    ))
                })?,
                entry.expires,
            ),
        };
        let next = current.checked_add(delta).ok_or_else(|| {
            StateError::Type(format!(
                "incrementing state `{key}` overflows a 64-bit integer"
            ))
        })?;
        self.put(&mut entries, key, next.to_string(), expires)?;
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
        self.caps.check(&key, &new)?;
        let mut entries = self.lock();
        if entries.live(&key).map(|entry| entry.value.as_str()) != expected {
            return Ok(false);
        }
        self.put(&mut entries, key, new, None)?;
        Ok(true)
    }

    /// Inserts under the entry, byte and count limits.
    fn put(
        &self,
        entries: &mut Entries,
        key: String,
        value: String,
        expires: Option<Instant>,
    ) -> Result<(), StateError> {
        let mut old = entries.map.get(&key).map(|e| key.len() + e.value.len());
        let mut bytes = entries.bytes - old.unwrap_or(0) + key.len() + value.len();
        let full = old.is_none() && entries.map.len() >= self.max_entries;
        if full || bytes > self.max_total_bytes {
            // Make room from expired entries before refusing.
            entries.purge_expired();
            old = entries.map.get(&key).map(|e| key.len() + e.value.len());
            bytes = entries.bytes - old.unwrap_or(0) + key.len() + value.len();
        }
        if old.is_none() && entries.map.len() >= self.max_entries {
            return Err(StateError::Limit(format!(
                "state store is full ({} entries, max-state-entries)",
                self.max_entries
            )));
        }
        if bytes > self.max_total_bytes {
            return Err(StateError::Limit(format!(
                "state store would hold {bytes} bytes, over the {} byte limit (max-state-bytes)",
                self.max_total_bytes
            )));
        }
        entries.bytes = bytes;
        entries.map.insert(key, Entry { value, expires });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(entries: usize, key: usize, value: usize, total: usize) -> MemoryStore {
        MemoryStore::new(&WasmPluginConfig {
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
        s.store("a".into(), "1".into(), None).unwrap();
        assert_eq!(s.load("a").as_deref(), Some("1"));
        assert_eq!(s.load("b"), None);
    }

    #[test]
    fn enforces_limits() {
        let s = store(1, 3, 3, 100);
        assert!(
            matches!(s.store("long".into(), "1".into(), None), Err(StateError::Limit(m)) if m.contains("key"))
        );
        assert!(
            matches!(s.store("k".into(), "long".into(), None), Err(StateError::Limit(m)) if m.contains("value"))
        );
        s.store("k".into(), "1".into(), None).unwrap();
        s.store("k".into(), "2".into(), None).unwrap();
        assert!(
            matches!(s.store("j".into(), "1".into(), None), Err(StateError::Limit(m)) if m.contains("full"))
        );
    }

    #[test]
    fn caps_total_bytes_and_counts_overwrites_once() {
        let s = store(100, 10, 10, 20);
        s.store("aa".into(), "12345678".into(), None).unwrap(); // 10
        s.store("aa".into(), "87654321".into(), None).unwrap(); // still 10
        s.store("bb".into(), "12345678".into(), None).unwrap(); // 20
        let err = s.store("c".into(), "1".into(), None).unwrap_err();
        assert!(matches!(err, StateError::Limit(m) if m.contains("max-state-bytes")));
        s.store("bb".into(), "1".into(), None).unwrap(); // shrinks to 13
        s.store("c".into(), "1".into(), None).unwrap();
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
        s.store("t".into(), "text".into(), None).unwrap();
        assert!(matches!(
            s.increment("t".into(), 1),
            Err(StateError::Type(_))
        ));
        s.store("m".into(), i64::MAX.to_string(), None).unwrap();
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

    #[test]
    fn ttl_entries_expire_and_free_their_room() {
        let s = store(2, 10, 10, 100);
        let ttl = Some(Duration::from_millis(30));
        s.store("t".into(), "1".into(), ttl).unwrap();
        s.store("u".into(), "1".into(), ttl).unwrap();
        // Increment keeps the TTL, compare-and-set sees the live value.
        assert_eq!(s.increment("t".into(), 1).unwrap(), 2);
        assert!(
            s.compare_and_set("u".into(), Some("1"), "x".into())
                .unwrap()
        );
        assert_eq!(s.load("t").as_deref(), Some("2"));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(s.load("t"), None, "expired");
        assert_eq!(
            s.load("u").as_deref(),
            Some("x"),
            "compare-and-set cleared the TTL"
        );
        // An expired entry is absent for every operation ...
        s.store("t".into(), "1".into(), ttl).unwrap();
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(s.increment("t".into(), 5).unwrap(), 5);
        assert!(
            s.compare_and_set("t".into(), Some("5"), "6".into())
                .unwrap()
        );
        // ... and a full store drops expired entries before refusing.
        let s = store(1, 10, 10, 100);
        s.store("a".into(), "1".into(), ttl).unwrap();
        assert!(matches!(
            s.store("b".into(), "1".into(), None),
            Err(StateError::Limit(_))
        ));
        std::thread::sleep(Duration::from_millis(60));
        s.store("b".into(), "1".into(), None).unwrap();
        assert_eq!(s.load("b").as_deref(), Some("1"));
    }
}
