//! Beans from `Camel.toml` (`[beans.<name>]`), with rust-camel's own
//! `camel-config` types. Behind the `camel-config` feature.

use std::path::Path;
use std::sync::Mutex;

use camel_bean::BeanRegistry;
use camel_component_api::ComponentBundle;
use camel_config::{CamelConfig, WasmLimitsConfig};

use crate::bundle::WasmBundle;
use crate::component::WasmComponent;
use crate::config::WasmPluginConfig;
use crate::error::{Result, WasmError};

impl WasmBundle {
    /// A bundle configured from a Camel.toml's `[components.wasm]` table
    /// (`plugins_dir`, default `plugins`, resolved against `project_root`,
    /// plus endpoint defaults), with the `[binds."<addr>"]
    /// allow_public_exposure = true` acknowledgements for sources.
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
        let mut bundle = WasmBundle::from_toml(table)
            .map(|bundle| bundle.rooted_at(project_root))
            .map_err(|e| WasmError::Config {
                reason: e.to_string(),
            })?;
        // rust-camel's per-bind acknowledgements cover wasm sources too.
        for (bind, exposure) in &config.binds {
            if exposure.allow_public_exposure {
                bundle = bundle.acknowledge_public_exposure(bind.clone());
            }
        }
        Ok(bundle)
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
            let limits = self
                .defaults()
                .clone()
                .with_camel_limits(&entry.limits)
                .map_err(|source| WasmError::Bean {
                    bean: name.clone(),
                    source: Box::new(source),
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

impl WasmPluginConfig {
    /// Applies a bean's `[beans.<name>.limits]` (rust-camel's
    /// `WasmLimitsConfig`) on top of `self`, through the same validator as
    /// URI options: each field is the alias of one option (`timeout-secs`
    /// is `timeout`, `max-concurrent-calls` is `max-concurrent-calls`,
    /// `max-wasm-size` is `max-module-size`, `allow-call-schemes` is
    /// `allow-call` (an empty string denies every call), `max-instances` is
    /// `max-core-instances`, `max-kv-entries`/`max-key-bytes`/
    /// `max-value-bytes` are the `max-state-*` options).
    ///
    /// # Errors
    ///
    /// [`WasmError::InvalidParameter`] naming the field, for a zero or
    /// out-of-range value.
    pub fn with_camel_limits(mut self, limits: &WasmLimitsConfig) -> Result<Self> {
        let text = |v: Option<u64>| v.map(|v| v.to_string());
        let count = |v: Option<usize>| v.map(|v| v.to_string());
        let fields = [
            ("timeout-secs", text(limits.timeout_secs)),
            ("max-memory", text(limits.max_memory)),
            ("max-concurrent-calls", count(limits.max_concurrent_calls)),
            ("max-wasm-size", text(limits.max_wasm_size)),
            ("allow-call-schemes", limits.allow_call_schemes.clone()),
            ("max-stream-bytes", text(limits.max_stream_bytes)),
            ("max-instances", count(limits.max_instances)),
            ("max-tables", count(limits.max_tables)),
            ("max-table-elements", count(limits.max_table_elements)),
            ("max-kv-entries", count(limits.max_kv_entries)),
            ("max-key-bytes", count(limits.max_key_bytes)),
            ("max-value-bytes", count(limits.max_value_bytes)),
        ];
        for (name, value) in fields {
            if let Some(value) = value {
                self.set(name, &value)?;
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(text: &str) -> WasmLimitsConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn every_limit_applies() {
        let limits = limits(
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
        );
        let cfg = WasmPluginConfig::default()
            .with_camel_limits(&limits)
            .unwrap();
        assert_eq!(cfg.timeout.as_secs(), 5);
        assert_eq!(cfg.max_memory, 1_048_576);
        assert_eq!(cfg.max_concurrent_calls, 3);
        assert_eq!(cfg.max_module_size, 2_000_000);
        assert_eq!(cfg.call_policy.to_string(), "direct,log");
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
    fn empty_allow_list_denies_and_bad_values_are_refused() {
        let cfg = WasmPluginConfig::default()
            .with_camel_limits(&limits("allow-call-schemes = \"\""))
            .unwrap();
        assert!(cfg.call_policy.is_deny_all());
        for (text, field) in [
            ("max-memory = 0", "max-memory"),
            // Once panicked the host (`Instant + Duration` overflow).
            ("timeout-secs = 9223372036854775807", "timeout-secs"),
            // Once panicked tokio's `Semaphore::new`.
            (
                "max-concurrent-calls = 9223372036854775807",
                "max-concurrent-calls",
            ),
        ] {
            let err = WasmPluginConfig::default()
                .with_camel_limits(&limits(text))
                .unwrap_err();
            assert!(
                matches!(&err, WasmError::InvalidParameter { name, .. } if name == field),
                "{text}: {err}"
            );
        }
    }
}
