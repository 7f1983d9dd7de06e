//! Beans from `Camel.toml` (`[beans.<name>]`), with rust-camel's own
//! `camel-config` types. Behind the `camel-config` feature.

use std::path::Path;
use std::sync::Mutex;

use camel_bean::BeanRegistry;
use camel_component_api::ComponentBundle;
use camel_config::{CamelConfig, WasmLimitsConfig};

use crate::bundle::WasmBundle;
use crate::component::WasmComponent;
use crate::config::{CallPolicy, WasmEndpointConfig, invalid};
use crate::error::{Result, WasmError};

impl WasmBundle {
    /// A bundle configured from a Camel.toml's `[components.wasm]` table
    /// (`plugins_dir`, default `plugins`, resolved against `project_root`,
    /// plus endpoint defaults).
    ///
    /// # Errors
    ///
    /// [`WasmError::Config`] for a malformed `[components.wasm]` table.
    pub fn from_camel_config(config: &CamelConfig, project_root: &Path) -> Result<Self> {
        let table = config
            .components
            .raw
            .get(<WasmBundle as ComponentBundle>::config_key())
            .cloned()
            .unwrap_or_else(|| toml::Value::Table(Default::default()));
        WasmBundle::from_toml(table)
            .map(|bundle| bundle.rooted_at(project_root))
            .map_err(|e| WasmError::Config {
                reason: e.to_string(),
            })
    }
}

impl WasmComponent {
    /// Loads every `[beans.<name>]` entry of `config` and registers it in
    /// `registry`, before routes are added. Returns the registered names,
    /// sorted.
    ///
    /// Each entry's `plugin` is a plain name resolved as
    /// `<base_dir>/<plugin>.wasm` (the component's base directory is the
    /// plugins directory), its `config` pairs go to the guest's `init`, and
    /// its `limits` apply on top of the component's defaults.
    ///
    /// # Errors
    ///
    /// The first failing entry, as [`WasmError::Bean`] naming it: a bad
    /// plugin name, a missing file, a component of the wrong world, a
    /// failing `init`, an unusable limit, or a name already registered.
    pub async fn register_beans(
        &self,
        config: &CamelConfig,
        registry: &Mutex<BeanRegistry>,
    ) -> Result<Vec<String>> {
        let mut names: Vec<&String> = config.beans.keys().collect();
        names.sort();
        // Load everything first (async), then register under one short lock.
        let mut beans = Vec::with_capacity(names.len());
        for name in names {
            let entry = &config.beans[name];
            let limits = limits_from_config(self.defaults(), &entry.limits).map_err(|source| {
                WasmError::Bean {
                    bean: name.clone(),
                    source: Box::new(source),
                }
            })?;
            let pairs = entry.config.iter().map(|(k, v)| (k.clone(), v.clone()));
            let bean = self.bean(name, &entry.plugin, pairs, limits).await?;
            tracing::info!(bean = %name, plugin = %entry.plugin, "loaded wasm bean");
            beans.push(bean);
        }
        let registry = registry.lock().unwrap_or_else(|p| p.into_inner());
        let mut registered = Vec::with_capacity(beans.len());
        for bean in beans {
            let name = bean.name().to_string();
            registry
                .register(name.clone(), bean)
                .map_err(|e| WasmError::Bean {
                    bean: name.clone(),
                    source: Box::new(WasmError::Host {
                        plugin: name.clone(),
                        source: Box::new(e),
                    }),
                })?;
            registered.push(name);
        }
        Ok(registered)
    }
}

/// Applies a bean's `[beans.<name>.limits]` on top of `defaults`.
///
/// Every `WasmLimitsConfig` field applies: `timeout-secs`, `max-memory`,
/// `max-concurrent-calls` (instances running in parallel), `max-wasm-size`,
/// `allow-call-schemes` (empty denies every call), `max-stream-bytes`,
/// `max-instances` (core instances per plugin instance), `max-tables`,
/// `max-table-elements`, `max-kv-entries`, `max-key-bytes`,
/// `max-value-bytes`. Zero is refused with an error naming the field.
///
/// # Errors
///
/// [`WasmError::InvalidParameter`] naming the field.
pub fn limits_from_config(
    defaults: &WasmEndpointConfig,
    limits: &WasmLimitsConfig,
) -> Result<WasmEndpointConfig> {
    fn positive<T: Copy + Default + PartialEq + ToString>(
        name: &str,
        value: Option<T>,
        target: &mut T,
    ) -> Result<()> {
        if let Some(v) = value {
            if v == T::default() {
                return Err(invalid(name, &v.to_string(), "must be greater than zero"));
            }
            *target = v;
        }
        Ok(())
    }
    let mut cfg = defaults.clone();
    if let Some(secs) = limits.timeout_secs {
        if secs == 0 {
            return Err(invalid("timeout-secs", "0", "must be greater than zero"));
        }
        cfg.timeout = std::time::Duration::from_secs(secs);
    }
    positive("max-memory", limits.max_memory, &mut cfg.max_memory)?;
    positive(
        "max-concurrent-calls",
        limits.max_concurrent_calls,
        &mut cfg.max_instances,
    )?;
    positive(
        "max-wasm-size",
        limits.max_wasm_size,
        &mut cfg.max_module_size,
    )?;
    if let Some(schemes) = &limits.allow_call_schemes {
        cfg.call_policy = if schemes.trim().is_empty() {
            CallPolicy::Deny
        } else {
            CallPolicy::parse(schemes).map_err(|_| {
                invalid(
                    "allow-call-schemes",
                    schemes,
                    "expected a comma-separated list of schemes",
                )
            })?
        };
    }
    if let Some(bytes) = limits.max_stream_bytes {
        let mut v = cfg.max_stream_bytes as u64;
        positive("max-stream-bytes", Some(bytes), &mut v)?;
        cfg.max_stream_bytes = usize::try_from(v).unwrap_or(usize::MAX);
    }
    positive(
        "max-instances",
        limits.max_instances,
        &mut cfg.max_core_instances,
    )?;
    positive("max-tables", limits.max_tables, &mut cfg.max_tables)?;
    positive(
        "max-table-elements",
        limits.max_table_elements,
        &mut cfg.max_table_elements,
    )?;
    positive(
        "max-kv-entries",
        limits.max_kv_entries,
        &mut cfg.max_state_entries,
    )?;
    positive(
        "max-key-bytes",
        limits.max_key_bytes,
        &mut cfg.max_state_key_bytes,
    )?;
    positive(
        "max-value-bytes",
        limits.max_value_bytes,
        &mut cfg.max_state_value_bytes,
    )?;
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_applies() {
        let limits: WasmLimitsConfig = toml::from_str(
            r#"
            timeout-secs = 5
            max-memory = 1048576
            max-concurrent-calls = 3
            max-wasm-size = 2000000
            allow-call-schemes = "direct,log"
            max-stream-bytes = 1000
            max-instances = 7
            max-tables = 8
            max-table-elements = 9
            max-kv-entries = 10
            max-key-bytes = 11
            max-value-bytes = 12
            "#,
        )
        .unwrap();
        let cfg = limits_from_config(&WasmEndpointConfig::default(), &limits).unwrap();
        assert_eq!(cfg.timeout.as_secs(), 5);
        assert_eq!(cfg.max_memory, 1_048_576);
        assert_eq!(cfg.max_instances, 3);
        assert_eq!(cfg.max_module_size, 2_000_000);
        assert_eq!(
            cfg.call_policy,
            CallPolicy::Schemes(vec!["direct".into(), "log".into()])
        );
        assert_eq!(cfg.max_stream_bytes, 1000);
        assert_eq!(
            (
                cfg.max_core_instances,
                cfg.max_tables,
                cfg.max_table_elements
            ),
            (7, 8, 9)
        );
        assert_eq!(
            (
                cfg.max_state_entries,
                cfg.max_state_key_bytes,
                cfg.max_state_value_bytes
            ),
            (10, 11, 12)
        );
    }

    #[test]
    fn empty_allow_list_denies_and_zero_is_refused() {
        let limits: WasmLimitsConfig = toml::from_str("allow-call-schemes = \"\"").unwrap();
        let cfg = limits_from_config(&WasmEndpointConfig::default(), &limits).unwrap();
        assert_eq!(cfg.call_policy, CallPolicy::Deny);
        let limits: WasmLimitsConfig = toml::from_str("max-memory = 0").unwrap();
        let err = limits_from_config(&WasmEndpointConfig::default(), &limits).unwrap_err();
        assert!(err.to_string().contains("max-memory"), "{err}");
    }
}
