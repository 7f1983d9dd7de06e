//! `WasmBundle`: registering the component in a `CamelContext`.

use std::path::PathBuf;
use std::sync::Arc;

use camel_api::CamelError;
use camel_component_api::{ComponentBundle, ComponentContext, ComponentRegistrar};

use crate::component::{WasmComponent, WasmComponentBuilder};
use crate::config::WasmPluginConfig;

/// Default directory for plugins, as in rust-camel's `[components.wasm]`.
const DEFAULT_PLUGINS_DIR: &str = "plugins";

/// Registers the `wasm:` component in a rust-camel context.
///
/// ```no_run
/// use std::sync::Arc;
/// use camel_component_api::ComponentBundle;
/// use camel_component_wasm::WasmBundle;
/// use camel_core::{CamelContext, RegistryComponentContext};
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let mut ctx = CamelContext::builder().build().await?;
///     // Lets plugins reach other endpoints through `camel-call`.
///     let registry = Arc::new(RegistryComponentContext::new(ctx.registry_arc(), Some(ctx.metrics()), false));
///     WasmBundle::new("plugins").with_context(registry).register_all(&mut ctx);
///     Ok(())
/// }
/// ```
#[derive(Debug)]
pub struct WasmBundle {
    builder: WasmComponentBuilder,
}

impl WasmBundle {
    /// A bundle whose `wasm:` paths resolve inside `base_dir`.
    pub fn new(base_dir: impl Into<PathBuf>) -> Self {
        WasmBundle {
            builder: WasmComponent::builder(base_dir),
        }
    }

    /// The context `camel-call` resolves endpoints in (see
    /// [`WasmComponentBuilder::context`]).
    pub fn with_context(mut self, context: Arc<dyn ComponentContext>) -> Self {
        self.builder = self.builder.context(context);
        self
    }

    /// Default limits for every endpoint; URI parameters override them.
    pub fn with_defaults(mut self, defaults: WasmPluginConfig) -> Self {
        self.builder = self.builder.defaults(defaults);
        self
    }

    /// Shares an existing runtime (engine and module cache), e.g. between
    /// several contexts in one process.
    pub fn with_runtime(mut self, runtime: crate::WasmRuntime) -> Self {
        self.builder = self.builder.runtime(runtime);
        self
    }

    /// See [`WasmComponentBuilder::acknowledge_public_exposure`].
    ///
    /// [`WasmComponentBuilder::acknowledge_public_exposure`]: crate::WasmComponentBuilder::acknowledge_public_exposure
    pub fn acknowledge_public_exposure(mut self, bind: impl Into<String>) -> Self {
        self.builder = self.builder.acknowledge_public_exposure(bind);
        self
    }

    /// Resolves a relative base directory against `root`.
    pub fn rooted_at(mut self, root: &std::path::Path) -> Self {
        self.builder = self.builder.rooted_at(root);
        self
    }

    /// Builds the component without registering it.
    ///
    /// # Errors
    ///
    /// If the wasmtime engine cannot be created.
    pub fn build(self) -> crate::Result<WasmComponent> {
        self.builder.build()
    }
}

impl ComponentBundle for WasmBundle {
    fn config_key() -> &'static str {
        "wasm"
    }

    /// Reads `[components.wasm]`: `plugins_dir` (or `base-dir`, default
    /// `plugins`), `compile-cache` (a directory for compiled modules, which
    /// must be private to this user), `metrics-interval` (seconds between
    /// two hand-overs of counted metrics, default 1) and any plugin option (`timeout`,
    /// `max-memory`, `state = "redis://…"`, ...) as a default for every
    /// endpoint and bean. A bundle
    /// made from TOML has no context for `camel-call`; use
    /// [`WasmBundle::with_context`] in code.
    fn from_toml(value: toml::Value) -> Result<Self, CamelError> {
        let table = match value {
            toml::Value::Table(table) => table,
            other => {
                return Err(CamelError::Config(format!(
                    "[components.wasm] must be a table, found {}",
                    other.type_str()
                )));
            }
        };
        let mut base_dir = PathBuf::from(DEFAULT_PLUGINS_DIR);
        let mut compile_cache = None;
        let mut metrics_interval = None;
        let mut defaults = WasmPluginConfig::default();
        for (key, value) in table {
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    return Err(CamelError::Config(format!(
                        "[components.wasm] {key}: unsupported value type {}",
                        other.type_str()
                    )));
                }
            };
            match key.as_str() {
                "plugins_dir" | "plugins-dir" | "base-dir" => base_dir = PathBuf::from(text),
                "compile-cache" => compile_cache = Some(PathBuf::from(text)),
                "metrics-interval" => {
                    metrics_interval = Some(
                        text.trim()
                            .parse::<f64>()
                            .ok()
                            .filter(|s| (0.001..=3600.0).contains(s))
                            .map(std::time::Duration::from_secs_f64)
                            .ok_or_else(|| {
                                CamelError::Config(format!(
                                    "[components.wasm] metrics-interval = {text}: expected seconds between 0.001 and 3600"
                                ))
                            })?,
                    )
                }
                _ => defaults
                    .set(&key, &text)
                    .map_err(|e| CamelError::Config(format!("[components.wasm]: {e}")))?,
            }
        }
        let mut bundle = WasmBundle::new(base_dir).with_defaults(defaults);
        if let Some(interval) = metrics_interval {
            bundle.builder = bundle.builder.metrics_interval(interval);
        }
        if let Some(dir) = compile_cache {
            let runtime = crate::WasmRuntime::builder()
                .compile_cache(dir)
                .build()
                .map_err(|e| CamelError::Config(format!("[components.wasm] compile-cache: {e}")))?;
            bundle = bundle.with_runtime(runtime);
        }
        Ok(bundle)
    }

    fn register_all(self, ctx: &mut dyn ComponentRegistrar) {
        match self.builder.build() {
            Ok(component) => ctx.register_component_dyn(Arc::new(component)),
            Err(err) => tracing::error!(
                error = %crate::error::error_chain(&err),
                "the wasm component could not be created and is not registered"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_toml_reads_dir_and_defaults() {
        let value: toml::Value = toml::from_str("plugins_dir = \"mods\"\ntimeout = 2\n").unwrap();
        let bundle = WasmBundle::from_toml(value).unwrap();
        let component = bundle.build().unwrap();
        assert_eq!(component.base_dir(), std::path::Path::new("mods"));
        assert_eq!(
            component.defaults().timeout,
            std::time::Duration::from_secs(2)
        );
    }

    #[test]
    fn from_toml_selects_the_state_backend() {
        let value: toml::Value =
            toml::from_str("state = \"redis://127.0.0.1:6379/0\"\nstate-prefix = \"orders-app\"\n")
                .unwrap();
        let component = WasmBundle::from_toml(value).unwrap().build().unwrap();
        let defaults = component.defaults();
        assert_eq!(defaults.state.to_string(), "redis://127.0.0.1:6379/0");
        assert_eq!(defaults.state_prefix, "orders-app");
        let value: toml::Value = toml::from_str("state = \"mongodb://x\"\n").unwrap();
        let err = WasmBundle::from_toml(value).unwrap_err();
        assert!(err.to_string().contains("state"), "{err}");
    }

    #[test]
    fn from_toml_takes_booleans_and_the_metrics_interval() {
        let value: toml::Value = toml::from_str(
            "metrics = false
state-writes = true
metrics-interval = 0.5
",
        )
        .unwrap();
        let component = WasmBundle::from_toml(value).unwrap().build().unwrap();
        assert!(!component.defaults().metrics);
        assert_eq!(component.defaults().state_writes, Some(true));
        let value: toml::Value = toml::from_str(
            "metrics-interval = 0
",
        )
        .unwrap();
        let err = WasmBundle::from_toml(value).unwrap_err();
        assert!(err.to_string().contains("metrics-interval"), "{err}");
    }

    #[test]
    fn from_toml_rejects_unknown_keys() {
        let value: toml::Value = toml::from_str("tiemout = 2\n").unwrap();
        let err = WasmBundle::from_toml(value).unwrap_err();
        assert!(err.to_string().contains("tiemout"), "{err}");
    }
}
