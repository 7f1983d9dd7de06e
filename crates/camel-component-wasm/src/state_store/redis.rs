//! The Redis state backend.
//!
//! One connection per server URL and component ([`RedisConnections`]),
//! shared by every endpoint, bean and policy: a `redis` crate
//! `ConnectionManager`, which multiplexes concurrent requests over one
//! socket and reconnects on its own after the server went away. Each
//! operation is bounded by the plugin call's deadline (less a small
//! margin, so the guest gets the `timeout` error and can still answer);
//! an unreachable server fails at once with an `io` error.
//!
//! Increment is `INCRBY`, compare-and-set a Lua script (atomic on the
//! server), a TTL `SET … PX`. Keys and values never reach a log.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, RedisError, Script, ServerErrorKind};
use tokio::time::Instant;

use super::keys::key_prefix;
use super::{SizeCaps, StateError};
use crate::config::WasmPluginConfig;
use crate::deadline::within;
use crate::state_backend::redact;

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Connection attempts after the first, per reconnection; few, so that an
/// operation on a stopped server fails fast. The next operation starts a
/// new reconnection.
const RECONNECT_RETRIES: usize = 1;
/// Pause before a repeated connection attempt.
const RECONNECT_DELAY: Duration = Duration::from_millis(10);
/// How long the health check waits for `PING`.
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// Most of the call's time kept back from a state operation, so that the
/// guest gets a `timeout` error to handle before its own deadline.
const MAX_DEADLINE_MARGIN: Duration = Duration::from_millis(50);

/// Compare-and-set in one step on the server. `ARGV[1]` is `1` when a
/// value is expected (`ARGV[2]`), `0` when the key must be absent;
/// `ARGV[3]` is the new value (stored without a TTL, like `SET`).
const COMPARE_AND_SET: &str = r"
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
";

/// The Redis connections of one component, one per server URL.
#[derive(Debug, Default)]
pub(crate) struct RedisConnections {
    by_url: Mutex<HashMap<String, Arc<RedisConnection>>>,
}

impl RedisConnections {
    /// The connection to `url`, made on first request (without connecting:
    /// that happens with the first operation).
    pub(crate) fn get(&self, url: &str) -> Result<Arc<RedisConnection>, String> {
        let mut by_url = self.by_url.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(connection) = by_url.get(url) {
            return Ok(connection.clone());
        }
        let client = redis::Client::open(url)
            .map_err(|e| format!("`{}` is not a usable Redis URL: {e}", redact(url)))?;
        let connection = Arc::new(RedisConnection {
            client,
            manager: Mutex::new(None),
            reachable: AtomicBool::new(true),
            shown: redact(url),
            compare_and_set: Script::new(COMPARE_AND_SET),
        });
        by_url.insert(url.to_string(), connection.clone());
        Ok(connection)
    }
}

/// One Redis server, shared by the endpoints that use it.
pub(crate) struct RedisConnection {
    client: redis::Client,
    /// Made by the first operation, inside the tokio runtime that then
    /// drives its background tasks.
    manager: Mutex<Option<ConnectionManager>>,
    /// Whether the last operation reached the server (to log changes once).
    reachable: AtomicBool,
    /// The URL without its password, for errors and logs.
    shown: String,
    compare_and_set: Script,
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConnection")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

impl RedisConnection {
    /// A handle on the (reconnecting) connection; cheap to clone.
    fn manager(&self) -> Result<ConnectionManager, StateError> {
        let mut slot = self.manager.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(manager) = slot.as_ref() {
            return Ok(manager.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            // Operations are bounded by the call's deadline instead.
            .set_response_timeout(None)
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_min_delay(RECONNECT_DELAY)
            .set_max_delay(RECONNECT_DELAY);
        let manager = ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            .map_err(|e| StateError::Io(format!("state backend {}: {e}", self.shown)))?;
        *slot = Some(manager.clone());
        Ok(manager)
    }

    fn succeeded(&self, plugin: &str) {
        if !self.reachable.load(Ordering::Relaxed) && !self.reachable.swap(true, Ordering::Relaxed)
        {
            tracing::info!(plugin, state_backend = %self.shown, "state backend reachable again");
        }
    }

    fn unreachable(&self, plugin: &str, error: &RedisError) {
        if self.reachable.swap(false, Ordering::Relaxed) {
            tracing::warn!(
                plugin,
                state_backend = %self.shown,
                %error,
                "state backend unreachable; state operations fail until it is back"
            );
        }
    }
}

/// The state of one endpoint (or bean or policy) in Redis: every key under
/// `<state-prefix>:<namespace>:`.
#[derive(Debug)]
pub(crate) struct RedisStore {
    connection: Arc<RedisConnection>,
    plugin: Arc<str>,
    key_prefix: String,
    caps: SizeCaps,
    margin: Duration,
}

/// Which operation failed, for mapping server errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Store,
    Load,
    Increment,
    CompareAndSet,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Store => "store",
            Op::Load => "load",
            Op::Increment => "increment",
            Op::CompareAndSet => "compare-and-set",
        }
    }
}

impl RedisStore {
    pub(crate) fn new(
        connection: Arc<RedisConnection>,
        plugin: Arc<str>,
        namespace: &str,
        config: &WasmPluginConfig,
    ) -> Self {
        RedisStore {
            connection,
            plugin,
            key_prefix: key_prefix(&config.state_prefix, namespace),
            caps: SizeCaps::new(config),
            margin: (config.timeout / 20).min(MAX_DEADLINE_MARGIN),
        }
    }

    /// The Redis key of the guest's `key`.
    fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.key_prefix.len() + key.len());
        full.push_str(&self.key_prefix);
        full.push_str(key);
        full
    }

    /// Runs one request, bounded by `deadline` (less the margin), and maps
    /// its failure.
    async fn run<T>(
        &self,
        op: Op,
        deadline: Instant,
        request: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StateError> {
        let until = deadline.checked_sub(self.margin).unwrap_or(deadline);
        match within(until, request).await {
            Ok(Ok(value)) => {
                self.connection.succeeded(&self.plugin);
                Ok(value)
            }
            Ok(Err(error)) => Err(self.failure(op, &error)),
            Err(_) => {
                tracing::debug!(plugin = %self.plugin, op = op.name(), "state operation timed out");
                Err(StateError::Timeout(format!(
                    "state backend {} did not answer `{}` before the plugin's deadline",
                    self.connection.shown,
                    op.name()
                )))
            }
        }
    }

    fn failure(&self, op: Op, error: &RedisError) -> StateError {
        let wrong_type = error.code() == Some("WRONGTYPE");
        // INCRBY answers `ERR value is not an integer or out of range` or
        // `ERR increment or decrement would overflow`.
        let not_integer = op == Op::Increment
            && error.kind() == ErrorKind::Server(ServerErrorKind::ResponseError);
        if not_integer {
            return StateError::Type(
                "the stored state value is not a decimal integer, or adding overflows 64 bits"
                    .to_string(),
            );
        }
        if wrong_type {
            return StateError::Type(format!(
                "the stored state value is not a Redis string, so `{}` cannot use it",
                op.name()
            ));
        }
        if error.is_io_error()
            || error.is_connection_refusal()
            || error.is_connection_dropped()
            || error.is_timeout()
        {
            self.connection.unreachable(&self.plugin, error);
        }
        tracing::debug!(plugin = %self.plugin, op = op.name(), %error, "state operation failed");
        StateError::Io(format!(
            "state backend {} failed `{}`: {error}",
            self.connection.shown,
            op.name()
        ))
    }

    pub(crate) async fn store(
        &self,
        key: &str,
        value: &str,
        ttl: Option<Duration>,
        deadline: Instant,
    ) -> Result<(), StateError> {
        self.caps.check(key, value)?;
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.key(key)).arg(value);
        if let Some(ttl) = ttl {
            cmd.arg("PX")
                .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        }
        let mut conn = self.connection.manager()?;
        self.run(Op::Store, deadline, async move {
            cmd.query_async::<()>(&mut conn).await
        })
        .await
    }

    pub(crate) async fn load(
        &self,
        key: &str,
        deadline: Instant,
    ) -> Result<Option<String>, StateError> {
        if self.caps.check(key, "").is_err() {
            // Never stored: a key over the cap is refused by every write.
            return Ok(None);
        }
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.key(key));
        let mut conn = self.connection.manager()?;
        let bytes = self
            .run(Op::Load, deadline, async move {
                cmd.query_async::<Option<Vec<u8>>>(&mut conn).await
            })
            .await?;
        bytes
            .map(|bytes| {
                String::from_utf8(bytes).map_err(|_| {
                    StateError::Type("the stored state value is not UTF-8 text".to_string())
                })
            })
            .transpose()
    }

    pub(crate) async fn increment(
        &self,
        key: &str,
        delta: i64,
        deadline: Instant,
    ) -> Result<i64, StateError> {
        self.caps.check(key, "")?;
        let mut cmd = redis::cmd("INCRBY");
        cmd.arg(self.key(key)).arg(delta);
        let mut conn = self.connection.manager()?;
        self.run(Op::Increment, deadline, async move {
            cmd.query_async::<i64>(&mut conn).await
        })
        .await
    }

    pub(crate) async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<&str>,
        new: &str,
        deadline: Instant,
    ) -> Result<bool, StateError> {
        self.caps.check(key, new)?;
        let mut invocation = self.connection.compare_and_set.key(self.key(key));
        match expected {
            Some(expected) => invocation.arg("1").arg(expected),
            None => invocation.arg("0").arg(""),
        };
        invocation.arg(new);
        let mut conn = self.connection.manager()?;
        let wrote = self
            .run(Op::CompareAndSet, deadline, async move {
                invocation.invoke_async::<i64>(&mut conn).await
            })
            .await?;
        Ok(wrote == 1)
    }

    /// `PING`, bounded by [`PING_TIMEOUT`].
    pub(crate) async fn ping(&self) -> Result<(), String> {
        let mut conn = self
            .connection
            .manager()
            .map_err(StateError::into_message)?;
        let ping = async move { redis::cmd("PING").query_async::<()>(&mut conn).await };
        match tokio::time::timeout(PING_TIMEOUT, ping).await {
            Ok(Ok(())) => {
                self.connection.succeeded(&self.plugin);
                Ok(())
            }
            Ok(Err(error)) => {
                self.connection.unreachable(&self.plugin, &error);
                Err(format!(
                    "state backend {} unreachable: {error}",
                    self.connection.shown
                ))
            }
            Err(_) => Err(format!(
                "state backend {} did not answer PING within {}s",
                self.connection.shown,
                PING_TIMEOUT.as_secs()
            )),
        }
    }
}
