//! Endpoint configuration: defaults and `wasm:` URI parameters.

use std::collections::HashMap;
use std::time::Duration;

use crate::error::{Result, WasmError};

/// Default time one guest call may run: 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on a guest's linear memory: 50 MiB.
pub const DEFAULT_MAX_MEMORY: u64 = 50 * 1024 * 1024;
/// Default cap on the size of a `.wasm` file: 64 MiB.
pub const DEFAULT_MAX_MODULE_SIZE: u64 = 64 * 1024 * 1024;
/// Default cap on entries in an endpoint's state store.
pub const DEFAULT_MAX_STATE_ENTRIES: usize = 1024;
/// Default cap on a state key, in bytes.
pub const DEFAULT_MAX_STATE_KEY_BYTES: usize = 256;
/// Default cap on a state value, in bytes: 1 MiB.
pub const DEFAULT_MAX_STATE_VALUE_BYTES: usize = 1024 * 1024;
/// Default cap on core wasm instances one plugin instance may create.
pub const DEFAULT_MAX_CORE_INSTANCES: usize = 64;
/// Default cap on tables per plugin instance.
pub const DEFAULT_MAX_TABLES: usize = 64;
/// Default cap on elements in one table.
pub const DEFAULT_MAX_TABLE_ELEMENTS: usize = 1_000_000;
/// Default cap on a body read from a stream before calling the guest: 10 MiB.
pub const DEFAULT_MAX_STREAM_BYTES: usize = 10 * 1024 * 1024;

/// Default time an idle instance is kept before it is dropped: 5 minutes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

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

/// Which endpoint schemes a plugin may reach through `camel-call`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CallPolicy {
    /// Any registered scheme except `wasm` (the default).
    #[default]
    Any,
    /// No scheme: every `camel-call` is refused.
    Deny,
    /// Only these schemes.
    Schemes(Vec<String>),
}

impl CallPolicy {
    /// Whether `scheme` may be called.
    pub fn allows(&self, scheme: &str) -> bool {
        match self {
            CallPolicy::Any => true,
            CallPolicy::Deny => false,
            CallPolicy::Schemes(list) => list.iter().any(|s| s == scheme),
        }
    }

    pub(crate) fn parse(value: &str) -> Result<Self> {
        let value = value.trim();
        match value {
            "*" => return Ok(CallPolicy::Any),
            "none" | "" => return Ok(CallPolicy::Deny),
            _ => {}
        }
        let mut schemes = Vec::new();
        for scheme in value.split(',').map(str::trim) {
            let valid = !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '+' || c == '.');
            if !valid {
                return Err(invalid(
                    "allow-call",
                    value,
                    "expected `*`, `none` or a comma-separated list of schemes",
                ));
            }
            schemes.push(scheme.to_string());
        }
        Ok(CallPolicy::Schemes(schemes))
    }
}

/// Limits and options of one `wasm:` endpoint (or bean).
///
/// Every field has a documented default; [`WasmEndpointConfig::from_params`]
/// reads the URI parameters listed in the README.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WasmEndpointConfig {
    /// How long one guest call (`init` or `process`) may run (`timeout`, in
    /// seconds). Wall-clock time, including time spent in host calls.
    pub timeout: Duration,
    /// Cap on the guest's linear memory in bytes (`max-memory`).
    pub max_memory: u64,
    /// How many instances may run exchanges in parallel (`max-instances`).
    /// Further exchanges wait for an instance to come free.
    pub max_instances: usize,
    /// Cap on the `.wasm` file size in bytes (`max-module-size`).
    pub max_module_size: u64,
    /// Which schemes `camel-call` may reach (`allow-call`).
    pub call_policy: CallPolicy,
    /// Cap on entries in the state store (`max-state-entries`).
    pub max_state_entries: usize,
    /// Cap on a state key in bytes (`max-state-key-bytes`).
    pub max_state_key_bytes: usize,
    /// Cap on a state value in bytes (`max-state-value-bytes`).
    pub max_state_value_bytes: usize,
    /// Cap on a streamed body read before the call (`max-stream-bytes`).
    pub max_stream_bytes: usize,
    /// Cap on core instances inside one plugin instance (`max-core-instances`).
    pub max_core_instances: usize,
    /// Cap on tables inside one plugin instance (`max-tables`).
    pub max_tables: usize,
    /// Cap on elements of one table (`max-table-elements`).
    pub max_table_elements: usize,
    /// Whether instances are reused across exchanges (`isolation`).
    pub isolation: Isolation,
    /// Drop an instance after this many calls (`recycle-after`); `None`
    /// keeps it until it fails or idles out.
    pub recycle_after: Option<u64>,
    /// Drop instances idle for longer than this (`idle-timeout`, seconds).
    pub idle_timeout: Duration,
}

impl Default for WasmEndpointConfig {
    fn default() -> Self {
        WasmEndpointConfig {
            timeout: DEFAULT_TIMEOUT,
            max_memory: DEFAULT_MAX_MEMORY,
            max_instances: default_max_instances(),
            max_module_size: DEFAULT_MAX_MODULE_SIZE,
            call_policy: CallPolicy::default(),
            max_state_entries: DEFAULT_MAX_STATE_ENTRIES,
            max_state_key_bytes: DEFAULT_MAX_STATE_KEY_BYTES,
            max_state_value_bytes: DEFAULT_MAX_STATE_VALUE_BYTES,
            max_stream_bytes: DEFAULT_MAX_STREAM_BYTES,
            max_core_instances: DEFAULT_MAX_CORE_INSTANCES,
            max_tables: DEFAULT_MAX_TABLES,
            max_table_elements: DEFAULT_MAX_TABLE_ELEMENTS,
            isolation: Isolation::default(),
            recycle_after: None,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// Default for `max-instances`: twice the available cores, at least 4.
pub fn default_max_instances() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(4)
        .max(4)
}

impl WasmEndpointConfig {
    /// Applies URI parameters on top of `self`.
    ///
    /// # Errors
    ///
    /// [`WasmError::InvalidParameter`] naming the parameter, for an unknown
    /// name or an unparsable, zero or out-of-range value.
    pub fn from_params(mut self, params: &HashMap<String, String>) -> Result<Self> {
        // Sorted, so the first bad parameter reported does not depend on hashing.
        let mut names: Vec<&String> = params.keys().collect();
        names.sort();
        for name in names {
            let value = params[name].as_str();
            match name.as_str() {
                "timeout" => self.timeout = parse_seconds(name, value)?,
                "max-memory" => self.max_memory = parse_positive(name, value)?,
                "max-instances" => {
                    let n: usize = parse_positive(name, value)?;
                    if n > 4096 {
                        return Err(invalid(name, value, "must be at most 4096"));
                    }
                    self.max_instances = n;
                }
                "max-module-size" => self.max_module_size = parse_positive(name, value)?,
                "allow-call" => self.call_policy = CallPolicy::parse(value)?,
                "max-state-entries" => self.max_state_entries = parse_positive(name, value)?,
                "max-state-key-bytes" => self.max_state_key_bytes = parse_positive(name, value)?,
                "max-state-value-bytes" => {
                    self.max_state_value_bytes = parse_positive(name, value)?
                }
                "max-stream-bytes" => self.max_stream_bytes = parse_positive(name, value)?,
                "max-core-instances" => self.max_core_instances = parse_positive(name, value)?,
                "max-tables" => self.max_tables = parse_positive(name, value)?,
                "max-table-elements" => self.max_table_elements = parse_positive(name, value)?,
                "isolation" => {
                    self.isolation = match value.trim() {
                        "instance" => Isolation::Instance,
                        "exchange" => Isolation::Exchange,
                        _ => return Err(invalid(name, value, "expected `instance` or `exchange`")),
                    }
                }
                "recycle-after" => self.recycle_after = Some(parse_positive(name, value)?),
                "idle-timeout" => self.idle_timeout = parse_seconds(name, value)?,
                _ => {
                    return Err(invalid(
                        name,
                        value,
                        &format!("unknown parameter; known: {}", KNOWN_PARAMS.join(", ")),
                    ));
                }
            }
        }
        Ok(self)
    }

    /// The timeout in (possibly fractional) seconds, for error messages.
    pub(crate) fn timeout_secs(&self) -> f64 {
        self.timeout.as_secs_f64()
    }
}

/// Every parameter [`WasmEndpointConfig::from_params`] understands.
pub const KNOWN_PARAMS: &[&str] = &[
    "timeout",
    "max-memory",
    "max-instances",
    "max-module-size",
    "allow-call",
    "max-state-entries",
    "max-state-key-bytes",
    "max-state-value-bytes",
    "max-stream-bytes",
    "max-core-instances",
    "max-tables",
    "max-table-elements",
    "isolation",
    "recycle-after",
    "idle-timeout",
];

pub(crate) fn invalid(name: &str, value: &str, reason: &str) -> WasmError {
    WasmError::InvalidParameter {
        name: name.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

fn parse_positive<T>(name: &str, value: &str) -> Result<T>
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

fn parse_seconds(name: &str, value: &str) -> Result<Duration> {
    let secs: f64 = value
        .trim()
        .parse()
        .map_err(|_| invalid(name, value, "expected a number of seconds"))?;
    if !secs.is_finite() || secs <= 0.0 {
        return Err(invalid(name, value, "must be greater than zero"));
    }
    if secs > 86_400.0 {
        return Err(invalid(name, value, "must be at most 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_without_parameters() {
        let cfg = WasmEndpointConfig::default()
            .from_params(&HashMap::new())
            .unwrap();
        assert_eq!(cfg.timeout, Duration::from_secs(30));
        assert_eq!(cfg.max_memory, 50 * 1024 * 1024);
        assert!(cfg.max_instances >= 4);
        assert_eq!(cfg.call_policy, CallPolicy::Any);
    }

    #[test]
    fn parses_every_known_parameter() {
        let cfg = WasmEndpointConfig::default()
            .from_params(&params(&[
                ("timeout", "0.5"),
                ("max-memory", "1048576"),
                ("max-instances", "3"),
                ("max-module-size", "1000"),
                ("allow-call", "direct, log"),
                ("max-state-entries", "7"),
                ("max-state-key-bytes", "8"),
                ("max-state-value-bytes", "9"),
                ("max-stream-bytes", "10"),
                ("isolation", "exchange"),
                ("recycle-after", "100"),
                ("idle-timeout", "2.5"),
            ]))
            .unwrap();
        assert_eq!(cfg.timeout, Duration::from_millis(500));
        assert_eq!(cfg.max_memory, 1_048_576);
        assert_eq!(cfg.max_instances, 3);
        assert_eq!(cfg.max_module_size, 1000);
        assert_eq!(
            cfg.call_policy,
            CallPolicy::Schemes(vec!["direct".into(), "log".into()])
        );
        assert_eq!(
            (
                cfg.max_state_entries,
                cfg.max_state_key_bytes,
                cfg.max_state_value_bytes,
                cfg.max_stream_bytes
            ),
            (7, 8, 9, 10)
        );
        assert_eq!(cfg.isolation, Isolation::Exchange);
        assert_eq!(cfg.recycle_after, Some(100));
        assert_eq!(cfg.idle_timeout, Duration::from_millis(2500));
    }

    #[test]
    fn rejects_bad_values_naming_the_parameter() {
        for (name, value) in [
            ("timeout", "0"),
            ("timeout", "-1"),
            ("timeout", "abc"),
            ("timeout", "NaN"),
            ("max-memory", "0"),
            ("max-memory", "lots"),
            ("max-instances", "100000"),
            ("allow-call", "dir ect"),
            ("isolation", "none"),
            ("recycle-after", "0"),
            ("idle-timeout", "0"),
        ] {
            let err = WasmEndpointConfig::default()
                .from_params(&params(&[(name, value)]))
                .unwrap_err();
            match err {
                WasmError::InvalidParameter { name: n, .. } => assert_eq!(n, name),
                other => panic!("{name}={value}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_unknown_parameters() {
        let err = WasmEndpointConfig::default()
            .from_params(&params(&[("timout", "5")]))
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`timout=5`"), "{msg}");
        assert!(msg.contains("unknown parameter"), "{msg}");
    }

    #[test]
    fn call_policy_keywords() {
        assert!(CallPolicy::parse("*").unwrap().allows("http"));
        assert!(!CallPolicy::parse("none").unwrap().allows("direct"));
        let some = CallPolicy::parse("direct").unwrap();
        assert!(some.allows("direct") && !some.allows("log"));
    }
}
