//! The key-value state behind `host-store`, `host-store-with-ttl`,
//! `host-load` and the atomic `host-increment` / `host-compare-and-set`:
//! in this process's memory (the default) or in Redis.
//!
//! Both backends enforce the key and value size caps before anything is
//! stored or sent, and give the same answers: a missing key counts as 0 for
//! `increment`, a stored non-integer is a type error, `store` clears a
//! key's TTL and `increment` keeps it.

mod keys;
mod memory;
mod redis;

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::WasmPluginConfig;
use crate::state_backend::StateBackend;

pub(crate) use self::keys::{bean_namespace, endpoint_namespace, policy_namespace};
pub(crate) use self::memory::MemoryStore;
pub(crate) use self::redis::RedisConnections;
use self::redis::RedisStore;

/// The state of one endpoint (or bean or policy), shared by its instances.
///
/// An enum rather than a trait object: the in-memory store, the common
/// case, is called directly and never awaits.
#[derive(Debug)]
pub(crate) enum StateStore {
    /// In this process (a short `std` mutex per operation).
    Memory(MemoryStore),
    /// In Redis, under this endpoint's key prefix.
    Redis(RedisStore),
}

/// Why a state request was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StateError {
    /// The key or value is too large, or the store is full.
    Limit(String),
    /// The stored value is not what the operation needs (not an integer,
    /// say), or the result would not fit.
    Type(String),
    /// The request itself is unusable (a zero TTL).
    Invalid(String),
    /// The backend could not be reached or failed.
    Io(String),
    /// The backend did not answer before the call's deadline.
    Timeout(String),
}

impl StateError {
    /// The message, whatever the kind.
    pub(crate) fn into_message(self) -> String {
        match self {
            StateError::Limit(m)
            | StateError::Type(m)
            | StateError::Invalid(m)
            | StateError::Io(m)
            | StateError::Timeout(m) => m,
        }
    }
}

/// The size caps every backend checks before it stores or sends anything.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SizeCaps {
    max_key_bytes: usize,
    max_value_bytes: usize,
}

impl SizeCaps {
    pub(crate) fn new(config: &WasmPluginConfig) -> Self {
        SizeCaps {
            max_key_bytes: config.max_state_key_bytes,
            max_value_bytes: config.max_state_value_bytes,
        }
    }

    /// Refuses a key over `max-state-key-bytes` or a value over
    /// `max-state-value-bytes`.
    pub(crate) fn check(&self, key: &str, value: &str) -> Result<(), StateError> {
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
}

/// A TTL in milliseconds as a duration; zero is refused.
pub(crate) fn ttl(ttl_ms: u32) -> Result<Duration, StateError> {
    if ttl_ms == 0 {
        return Err(StateError::Invalid(
            "a state TTL must be at least 1 ms".to_string(),
        ));
    }
    Ok(Duration::from_millis(u64::from(ttl_ms)))
}

impl StateStore {
    /// `memory` or `redis`, for metrics.
    pub(crate) fn backend_name(&self) -> &'static str {
        match self {
            StateStore::Memory(_) => "memory",
            StateStore::Redis(_) => "redis",
        }
    }

    /// The store `config.state` names, for the plugin `plugin` whose
    /// derived namespace is `namespace` (`state-namespace` overrides it).
    /// A Redis store shares the component's connection to its server.
    pub(crate) fn new(
        config: &WasmPluginConfig,
        connections: &RedisConnections,
        plugin: &Arc<str>,
        namespace: &str,
    ) -> Result<Self, String> {
        match &config.state {
            StateBackend::Memory => Ok(StateStore::Memory(MemoryStore::new(config))),
            StateBackend::Redis { url } => {
                let connection = connections.get(url)?;
                let namespace = config.state_namespace.as_deref().unwrap_or(namespace);
                Ok(StateStore::Redis(RedisStore::new(
                    connection,
                    plugin.clone(),
                    namespace,
                    config,
                )))
            }
        }
    }

    /// Writes `value` under `key` (last writer wins), to expire after `ttl`
    /// if given (else never: an earlier TTL is cleared).
    pub(crate) async fn store(
        &self,
        key: String,
        value: String,
        ttl: Option<Duration>,
        deadline: Instant,
    ) -> Result<(), StateError> {
        match self {
            StateStore::Memory(store) => store.store(key, value, ttl),
            StateStore::Redis(store) => store.store(&key, &value, ttl, deadline).await,
        }
    }

    /// The value under `key`, if any (and not expired).
    pub(crate) async fn load(
        &self,
        key: &str,
        deadline: Instant,
    ) -> Result<Option<String>, StateError> {
        match self {
            StateStore::Memory(store) => Ok(store.load(key)),
            StateStore::Redis(store) => store.load(key, deadline).await,
        }
    }

    /// Adds `delta` to the integer under `key` (a missing key counts as 0)
    /// and returns the new value, atomically.
    pub(crate) async fn increment(
        &self,
        key: String,
        delta: i64,
        deadline: Instant,
    ) -> Result<i64, StateError> {
        match self {
            StateStore::Memory(store) => store.increment(key, delta),
            StateStore::Redis(store) => store.increment(&key, delta, deadline).await,
        }
    }

    /// Writes `new` under `key` only if its current value is `expected`
    /// (`None`: only if absent), atomically; says whether it wrote.
    pub(crate) async fn compare_and_set(
        &self,
        key: String,
        expected: Option<&str>,
        new: String,
        deadline: Instant,
    ) -> Result<bool, StateError> {
        match self {
            StateStore::Memory(store) => store.compare_and_set(key, expected, new),
            StateStore::Redis(store) => store.compare_and_set(&key, expected, &new, deadline).await,
        }
    }

    /// For the health check: `Err(reason)` while the backend cannot be
    /// reached. The in-memory store is always reachable.
    pub(crate) async fn reachable(&self) -> Result<(), String> {
        match self {
            StateStore::Memory(_) => Ok(()),
            StateStore::Redis(store) => store.ping().await,
        }
    }
}
