//! Plugin configuration: defaults, and the one validator every source of
//! options goes through (`wasm:` URI parameters, `[components.wasm]`, and
//! `[beans.<name>.limits]` of a Camel.toml).

use std::collections::HashMap;
use std::time::Duration;

use crate::call_policy::CallPolicy;
use crate::error::{Result, WasmError};
use crate::state_backend::{StateBackend, redact};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_MAX_MEMORY: u64 = 50 * 1024 * 1024;
const DEFAULT_MAX_MODULE_SIZE: u64 = 64 * 1024 * 1024;
const DEFAULT_MAX_STATE_ENTRIES: usize = 1024;
const DEFAULT_MAX_STATE_KEY_BYTES: usize = 256;
const DEFAULT_MAX_STATE_VALUE_BYTES: usize = 1024 * 1024;
const DEFAULT_MAX_STATE_BYTES: usize = 16 * 1024 * 1024;
const DEFAULT_MAX_CORE_INSTANCES: usize = 64;
const DEFAULT_MAX_TABLES: usize = 32;
const DEFAULT_MAX_TABLE_ELEMENTS: usize = 100_000;
const DEFAULT_MAX_STREAM_BYTES: usize = 10 * 1024 * 1024;
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);
const DEFAULT_STREAM_TIMEOUT: Duration = Duration::from_secs(60);
/// What Redis keys start with, unless `state-prefix` says otherwise.
const DEFAULT_STATE_PREFIX: &str = "camel-wasm";
/// Longest `state-prefix`.
const MAX_STATE_PREFIX_BYTES: usize = 64;
/// Longest `state-namespace`.
const MAX_STATE_NAMESPACE_BYTES: usize = 200;

/// Shortest accepted `timeout` / `idle-timeout`.
const MIN_SECONDS: f64 = 0.001;
/// Longest accepted `timeout` / `idle-timeout`: one day.
const MAX_SECONDS: f64 = 86_400.0;
/// Largest accepted `max-concurrent-calls`.
const MAX_CONCURRENT_CALLS: usize = 4096;

/// How exchanges share instances (`isolation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Isolation {
    /// Instances are reused by later exchanges (`isolation=instance`, the
    /// default): fastest; guest globals persist between exchanges.
    #[default]
    Instance,
    /// Every exchange gets a fresh instance, dropped afterwards
    /// (`isolation=exchange`): nothing can leak between exchanges through
    /// guest memory; `init` runs for every exchange.
    Exchange,
}

/// Limits and options of one plugin: a `wasm:` endpoint or a bean entry.
///
/// Every option has one name, the same in a `wasm:` URI, in
/// `[components.wasm]` (as a default for every plugin) and, where
/// rust-camel's Camel.toml has a name for it, in `[beans.<name>.limits]`
/// (accepted as an alias). [`WasmPluginConfig::set`] is the single
/// validator for all of them.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WasmPluginConfig {
    /// `timeout` (alias `timeout-secs`), default 30 s: how long one guest
    /// call (`init`, `process`, a bean method) may run, in wall-clock time
    /// (computing, waiting in host calls or in WASI alike); also the longest
    /// wait for a free instance. Between 0.001 and 86400 seconds.
    pub timeout: Duration,
    /// `max-memory`, default 50 MiB: bytes of all linear memories and
    /// tables (8 bytes an element) of one instance together.
    pub max_memory: u64,
    /// `max-concurrent-calls`, default 2 × cores (at least 4): instances
    /// running calls in parallel; more calls wait (at most `timeout`).
    pub max_concurrent_calls: usize,
    /// `max-module-size` (alias `max-wasm-size`), default 64 MiB: the
    /// largest `.wasm` file accepted.
    pub max_module_size: u64,
    /// `allow-call` (alias `allow-call-schemes`), default none: which
    /// endpoints `camel-call` may reach. See [`CallPolicy`].
    pub call_policy: CallPolicy,
    /// `max-result-bytes`, default `max-memory`: bytes the host
    /// materialises from the guest in one go — one call's result (bodies,
    /// headers, properties, JSON parsed into values), the `set-property`
    /// writes of one call, or the arguments of one host call.
    pub max_result_bytes: Option<u64>,
    /// `max-state-entries` (alias `max-kv-entries`), default 1024.
    pub max_state_entries: usize,
    /// `max-state-key-bytes` (alias `max-key-bytes`), default 256.
    pub max_state_key_bytes: usize,
    /// `max-state-value-bytes` (alias `max-value-bytes`), default 1 MiB.
    pub max_state_value_bytes: usize,
    /// `max-state-bytes`, default 16 MiB: keys and values of the state
    /// store together.
    pub max_state_bytes: usize,
    /// `max-stream-bytes`, default 10 MiB: the largest streamed body read
    /// before the call.
    pub max_stream_bytes: usize,
    /// `max-core-instances` (alias `max-instances`), default 64: core wasm
    /// instances inside one plugin instance.
    pub max_core_instances: usize,
    /// `max-tables`, default 32: tables inside one plugin instance.
    pub max_tables: usize,
    /// `max-table-elements`, default 100 000: elements of one table.
    pub max_table_elements: usize,
    /// `isolation`, default `instance`.
    pub isolation: Isolation,
    /// `recycle-after`, default none: drop an instance after this many
    /// calls.
    pub recycle_after: Option<u64>,
    /// `idle-timeout`, default 300 s: drop instances idle for longer.
    pub idle_timeout: Duration,
    /// `stream-timeout`, default 60 s: how long a body the plugin streams
    /// out may go without progress (one `body-source.next` call, or the
    /// consumer not asking for the next piece) before it fails and the instance
    /// is let go.
    pub stream_timeout: Duration,
    /// `state-writes` (`true` or `false`): whether the plugin may change its
    /// state (`host-store`, `host-increment`, `host-compare-and-set`);
    /// unset, processors and beans may and policies may not.
    pub state_writes: Option<bool>,
    /// `state`, default `memory`: where the plugin's state lives (see
    /// [`StateBackend`]); `redis://host:port/db` shares it between
    /// processes.
    pub state: StateBackend,
    /// `state-prefix`, default `camel-wasm`: the first part of every Redis
    /// key (`<prefix>:<namespace>:<key>`), so several applications can
    /// share one Redis. Letters, digits, `_`, `-` and `.`; at most 64 bytes.
    pub state_prefix: String,
    /// `state-namespace`, default none: names the plugin's state in Redis
    /// instead of the namespace derived from the route and path (or the
    /// bean or policy name). Endpoints given the same namespace (and
    /// prefix and server) share their state. Letters, digits, `_`, `-`,
    /// `.` and `/`; at most 200 bytes. Ignored by `state=memory`.
    pub state_namespace: Option<String>,
    /// `metrics` (`true` or `false`), default `true`: count the plugin's
    /// calls, errors, latency, instances, memory and state operations for
    /// rust-camel's metrics collector (see the README's "Operating it").
    pub metrics: bool,
}

impl Default for WasmPluginConfig {
    fn default() -> Self {
        WasmPluginConfig {
            timeout: DEFAULT_TIMEOUT,
            max_memory: DEFAULT_MAX_MEMORY,
            max_concurrent_calls: default_max_concurrent_calls(),
            max_module_size: DEFAULT_MAX_MODULE_SIZE,
            call_policy: CallPolicy::default(),
            max_result_bytes: None,
            max_state_entries: DEFAULT_MAX_STATE_ENTRIES,
            max_state_key_bytes: DEFAULT_MAX_STATE_KEY_BYTES,
            max_state_value_bytes: DEFAULT_MAX_STATE_VALUE_BYTES,
            max_state_bytes: DEFAULT_MAX_STATE_BYTES,
            max_stream_bytes: DEFAULT_MAX_STREAM_BYTES,
            max_core_instances: DEFAULT_MAX_CORE_INSTANCES,
            max_tables: DEFAULT_MAX_TABLES,
            max_table_elements: DEFAULT_MAX_TABLE_ELEMENTS,
            isolation: Isolation::default(),
            recycle_after: None,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            stream_timeout: DEFAULT_STREAM_TIMEOUT,
            state_writes: None,
            state: StateBackend::Memory,
            state_prefix: DEFAULT_STATE_PREFIX.to_string(),
            state_namespace: None,
            metrics: true,
        }
    }
}

/// Twice the available cores, at least 4.
fn default_max_concurrent_calls() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(4)
        .max(4)
}

/// Every option: its name and its aliases.
const OPTIONS: &[(&str, &[&str])] = &[
    ("timeout", &["timeout-secs"]),
    ("max-memory", &[]),
    ("max-concurrent-calls", &[]),
    ("max-module-size", &["max-wasm-size"]),
    ("allow-call", &["allow-call-schemes"]),
    ("max-result-bytes", &[]),
    ("max-state-entries", &["max-kv-entries"]),
    ("max-state-key-bytes", &["max-key-bytes"]),
    ("max-state-value-bytes", &["max-value-bytes"]),
    ("max-state-bytes", &[]),
    ("max-stream-bytes", &[]),
    ("max-core-instances", &["max-instances"]),
    ("max-tables", &[]),
    ("max-table-elements", &[]),
    ("isolation", &[]),
    ("recycle-after", &[]),
    ("idle-timeout", &[]),
    ("stream-timeout", &[]),
    ("state-writes", &[]),
    ("state", &[]),
    ("state-prefix", &[]),
    ("state-namespace", &[]),
    ("metrics", &[]),
];

/// `true` or `false`.
fn boolean(name: &str, value: &str) -> Result<bool> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(name, value, "expected `true` or `false`")),
    }
}

/// The option `name` stands for (itself, or the option it is an alias of).
fn canonical(name: &str) -> Option<&'static str> {
    OPTIONS
        .iter()
        .find(|(option, aliases)| *option == name || aliases.contains(&name))
        .map(|(option, _)| *option)
}

impl WasmPluginConfig {
    /// Sets the option `name` (or one of its aliases) from its text form.
    ///
    /// # Errors
    ///
    /// [`WasmError::InvalidParameter`] naming the option, for an unknown
    /// name or an unparsable, zero or out-of-range value.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let Some(option) = canonical(name) else {
            let known: Vec<&str> = OPTIONS.iter().map(|(option, _)| *option).collect();
            return Err(invalid(
                name,
                value,
                &format!("unknown option; known: {}", known.join(", ")),
            ));
        };
        match option {
            "timeout" => self.timeout = seconds(name, value)?,
            "max-memory" => self.max_memory = positive(name, value)?,
            "max-concurrent-calls" => {
                self.max_concurrent_calls = at_most(name, value, MAX_CONCURRENT_CALLS)?
            }
            "max-module-size" => self.max_module_size = positive(name, value)?,
            "allow-call" => {
                self.call_policy = CallPolicy::parse(value).map_err(|e| rename(e, name))?
            }
            "max-result-bytes" => self.max_result_bytes = Some(positive(name, value)?),
            "max-state-entries" => self.max_state_entries = positive(name, value)?,
            "max-state-key-bytes" => self.max_state_key_bytes = positive(name, value)?,
            "max-state-value-bytes" => self.max_state_value_bytes = positive(name, value)?,
            "max-state-bytes" => self.max_state_bytes = positive(name, value)?,
            "max-stream-bytes" => self.max_stream_bytes = positive(name, value)?,
            "max-core-instances" => self.max_core_instances = positive(name, value)?,
            "max-tables" => self.max_tables = positive(name, value)?,
            "max-table-elements" => self.max_table_elements = positive(name, value)?,
            "isolation" => {
                self.isolation = match value.trim() {
                    "instance" => Isolation::Instance,
                    "exchange" => Isolation::Exchange,
                    _ => return Err(invalid(name, value, "expected `instance` or `exchange`")),
                }
            }
            "recycle-after" => self.recycle_after = Some(positive(name, value)?),
            "idle-timeout" => self.idle_timeout = seconds(name, value)?,
            "stream-timeout" => self.stream_timeout = seconds(name, value)?,
            "state-writes" => self.state_writes = Some(boolean(name, value)?),
            "state" => {
                self.state =
                    StateBackend::parse(value).map_err(|e| invalid(name, &redact(value), &e))?
            }
            "state-prefix" => {
                self.state_prefix = name_token(name, value, MAX_STATE_PREFIX_BYTES, false)?
            }
            "state-namespace" => {
                self.state_namespace =
                    Some(name_token(name, value, MAX_STATE_NAMESPACE_BYTES, true)?)
            }
            "metrics" => self.metrics = boolean(name, value)?,
            _ => unreachable!("every option in OPTIONS is handled"),
        }
        Ok(())
    }

    /// Applies options (URI parameters, say) on top of `self`, in name order
    /// so the first error reported does not depend on hashing.
    ///
    /// # Errors
    ///
    /// The first [`WasmError::InvalidParameter`], naming the option.
    pub fn with_options(mut self, options: &HashMap<String, String>) -> Result<Self> {
        let mut names: Vec<&String> = options.keys().collect();
        names.sort();
        for name in names {
            self.set(name, &options[name])?;
        }
        Ok(self)
    }

    /// `max-result-bytes` as a byte count (it defaults to `max-memory`).
    pub(crate) fn result_budget(&self) -> usize {
        usize::try_from(self.max_result_bytes.unwrap_or(self.max_memory)).unwrap_or(usize::MAX)
    }

    /// The option names accepted by [`WasmPluginConfig::set`] (not their
    /// aliases).
    pub fn option_names() -> impl Iterator<Item = &'static str> {
        OPTIONS.iter().map(|(option, _)| *option)
    }
}

pub(crate) fn invalid(name: &str, value: &str, reason: &str) -> WasmError {
    WasmError::InvalidParameter {
        name: name.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// Reports an error of a nested parser under the name the user wrote.
fn rename(err: WasmError, name: &str) -> WasmError {
    match err {
        WasmError::InvalidParameter { value, reason, .. } => invalid(name, &value, &reason),
        other => other,
    }
}

fn positive<T>(name: &str, value: &str) -> Result<T>
where
    T: std::str::FromStr + PartialEq + Default,
{
    let parsed: T = value
        .trim()
        .parse()
        .map_err(|_| invalid(name, value, "expected a positive whole number"))?;
    if parsed == T::default() {
        return Err(invalid(name, value, "must be greater than zero"));
    }
    Ok(parsed)
}

/// A `state-prefix` or `state-namespace`: non-empty, at most `max` bytes,
/// letters, digits, `_`, `-`, `.` (and `/` where `slash`): never `:`, which
/// separates the parts of a Redis key.
fn name_token(name: &str, value: &str, max: usize, slash: bool) -> Result<String> {
    let value = value.trim();
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') || (slash && c == '/');
    if value.is_empty() || value.len() > max || !value.chars().all(allowed) {
        let extra = if slash { ", `.` and `/`" } else { " and `.`" };
        return Err(invalid(
            name,
            value,
            &format!("expected 1 to {max} letters, digits, `_`, `-`{extra}"),
        ));
    }
    Ok(value.to_string())
}

fn at_most(name: &str, value: &str, max: usize) -> Result<usize> {
    let n: usize = positive(name, value)?;
    if n > max {
        return Err(invalid(name, value, &format!("must be at most {max}")));
    }
    Ok(n)
}

fn seconds(name: &str, value: &str) -> Result<Duration> {
    let secs: f64 = value
        .trim()
        .parse()
        .map_err(|_| invalid(name, value, "expected a number of seconds"))?;
    if !secs.is_finite() {
        return Err(invalid(name, value, "must be a finite number of seconds"));
    }
    if secs < MIN_SECONDS {
        return Err(invalid(
            name,
            value,
            &format!("must be at least {MIN_SECONDS} seconds"),
        ));
    }
    if secs > MAX_SECONDS {
        return Err(invalid(
            name,
            value,
            &format!("must be at most {MAX_SECONDS} seconds"),
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn with(pairs: &[(&str, &str)]) -> Result<WasmPluginConfig> {
        WasmPluginConfig::default().with_options(&options(pairs))
    }

    #[test]
    fn defaults() {
        let cfg = with(&[]).unwrap();
        assert_eq!(cfg.timeout, Duration::from_secs(30));
        assert_eq!(cfg.max_memory, 50 * 1024 * 1024);
        assert!(cfg.max_concurrent_calls >= 4);
        assert!(cfg.call_policy.is_deny_all());
        assert_eq!(cfg.result_budget(), 50 * 1024 * 1024);
    }

    #[test]
    fn parses_every_option() {
        let cfg = with(&[
            ("timeout", "0.5"),
            ("max-memory", "1048576"),
            ("max-concurrent-calls", "3"),
            ("max-module-size", "1000"),
            ("allow-call", "direct, log"),
            ("max-result-bytes", "4096"),
            ("max-state-entries", "7"),
            ("max-state-key-bytes", "8"),
            ("max-state-value-bytes", "9"),
            ("max-state-bytes", "99"),
            ("max-stream-bytes", "10"),
            ("max-core-instances", "11"),
            ("max-tables", "12"),
            ("max-table-elements", "13"),
            ("isolation", "exchange"),
            ("recycle-after", "100"),
            ("idle-timeout", "2.5"),
            ("stream-timeout", "7"),
            ("state-writes", "false"),
            ("state", "redis://127.0.0.1:6379/3"),
            ("state-prefix", "shop.v2"),
            ("state-namespace", "orders/counter"),
        ])
        .unwrap();
        assert_eq!(cfg.timeout, Duration::from_millis(500));
        assert_eq!(cfg.max_memory, 1_048_576);
        assert_eq!(cfg.max_concurrent_calls, 3);
        assert_eq!(cfg.max_module_size, 1000);
        assert_eq!(cfg.call_policy.to_string(), "direct,log");
        assert_eq!(cfg.result_budget(), 4096);
        assert_eq!(
            (
                cfg.max_state_entries,
                cfg.max_state_key_bytes,
                cfg.max_state_value_bytes,
                cfg.max_state_bytes,
                cfg.max_stream_bytes
            ),
            (7, 8, 9, 99, 10)
        );
        assert_eq!(
            (
                cfg.max_core_instances,
                cfg.max_tables,
                cfg.max_table_elements
            ),
            (11, 12, 13)
        );
        assert_eq!(cfg.isolation, Isolation::Exchange);
        assert_eq!(cfg.recycle_after, Some(100));
        assert_eq!(cfg.idle_timeout, Duration::from_millis(2500));
        assert_eq!(cfg.stream_timeout, Duration::from_secs(7));
        assert_eq!(cfg.state_writes, Some(false));
        assert_eq!(cfg.state.to_string(), "redis://127.0.0.1:6379/3");
        assert_eq!(cfg.state_prefix, "shop.v2");
        assert_eq!(cfg.state_namespace.as_deref(), Some("orders/counter"));
        assert_eq!(with(&[]).unwrap().state, StateBackend::Memory);
        assert_eq!(with(&[]).unwrap().state_prefix, "camel-wasm");
    }

    #[test]
    fn rust_camel_names_are_aliases_with_the_same_meaning() {
        let cfg = with(&[
            ("timeout-secs", "5"),
            ("max-wasm-size", "1000"),
            ("allow-call-schemes", "direct"),
            ("max-kv-entries", "7"),
            ("max-key-bytes", "8"),
            ("max-value-bytes", "9"),
            ("max-instances", "11"),
        ])
        .unwrap();
        assert_eq!(cfg.timeout, Duration::from_secs(5));
        assert_eq!(cfg.max_module_size, 1000);
        assert_eq!(cfg.call_policy.to_string(), "direct");
        assert_eq!(
            (
                cfg.max_state_entries,
                cfg.max_state_key_bytes,
                cfg.max_state_value_bytes
            ),
            (7, 8, 9)
        );
        // `max-instances` means core instances, as in rust-camel.
        assert_eq!(cfg.max_core_instances, 11);
        assert_eq!(
            cfg.max_concurrent_calls,
            WasmPluginConfig::default().max_concurrent_calls
        );
    }

    #[test]
    fn rejects_bad_values_naming_the_option_as_written() {
        for (name, value) in [
            ("timeout", "0"),
            ("timeout", "-1"),
            ("timeout", "abc"),
            ("timeout", "NaN"),
            ("timeout", "inf"),
            ("timeout", "1e-300"),
            ("timeout-secs", "9223372036854775807"),
            ("idle-timeout", "1e-300"),
            ("max-memory", "0"),
            ("max-memory", "lots"),
            ("max-concurrent-calls", "100000"),
            ("max-concurrent-calls", "9223372036854775807"),
            ("allow-call", "dir ect"),
            ("allow-call-schemes", "dir ect"),
            ("isolation", "none"),
            ("recycle-after", "0"),
            ("state", "postgres://db"),
            ("state-prefix", ""),
            ("state-prefix", "a:b"),
            ("state-prefix", "a/b"),
            ("state-namespace", "a:b"),
        ] {
            match with(&[(name, value)]).unwrap_err() {
                WasmError::InvalidParameter { name: n, .. } => assert_eq!(n, name),
                other => panic!("{name}={value}: unexpected {other:?}"),
            }
        }
        let msg = with(&[("timeout", "inf")]).unwrap_err().to_string();
        assert!(msg.contains("finite"), "{msg}");
        let msg = with(&[("timeout", "1e-300")]).unwrap_err().to_string();
        assert!(msg.contains("at least 0.001"), "{msg}");
        // A password in a rejected `state` URL is not repeated.
        let msg = with(&[("state", "redis://u:s3cret@h:x/0")])
            .unwrap_err()
            .to_string();
        assert!(!msg.contains("s3cret") && msg.contains("u:***@h"), "{msg}");
    }

    #[test]
    fn rejects_unknown_options() {
        let msg = with(&[("timout", "5")]).unwrap_err().to_string();
        assert!(msg.contains("`timout=5`"), "{msg}");
        assert!(msg.contains("unknown option"), "{msg}");
    }
}
