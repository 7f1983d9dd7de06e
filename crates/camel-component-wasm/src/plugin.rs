//! What one endpoint (or bean entry) knows about its plugin: name, limits,
//! state and the way out to other endpoints.

use std::sync::{Arc, OnceLock};

use camel_component_api::{ComponentContext, RuntimeObservability};

use crate::config::WasmPluginConfig;
use crate::metrics::PluginMetrics;
use crate::state_store::StateStore;

/// Shared by every instance of one endpoint (or bean entry).
pub(crate) struct PluginContext {
    /// Name used in errors and logs (the module path, or the bean name).
    pub(crate) name: Arc<str>,
    /// Identity of the module for the recursion guard (its canonical path).
    pub(crate) module_id: Arc<str>,
    pub(crate) config: WasmPluginConfig,
    pub(crate) state: StateStore,
    /// Resolves endpoints for `camel-call`; `None` when the component was
    /// built without a context.
    pub(crate) registry: Option<Arc<dyn ComponentContext>>,
    /// Observability handed to producers created by `camel-call`; set when
    /// the framework creates our producer.
    pub(crate) observability: OnceLock<Arc<dyn RuntimeObservability>>,
    /// Whether `host-store` and the other state writes are allowed.
    pub(crate) state_writes: bool,
    /// Where calls are counted; `None` with `metrics=false`.
    pub(crate) metrics: Option<Arc<PluginMetrics>>,
}

impl std::fmt::Debug for PluginContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginContext")
            .field("name", &self.name)
            .field("module_id", &self.module_id)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl PluginContext {
    /// A plugin whose state is in memory.
    #[cfg(test)]
    pub(crate) fn new(
        name: Arc<str>,
        module_id: Arc<str>,
        config: WasmPluginConfig,
        registry: Option<Arc<dyn ComponentContext>>,
        state_writes: bool,
    ) -> Self {
        let state = StateStore::Memory(crate::state_store::MemoryStore::new(&config));
        Self::with_state(name, module_id, config, registry, state_writes, state, None)
    }

    /// A plugin whose state is `state`.
    pub(crate) fn with_state(
        name: Arc<str>,
        module_id: Arc<str>,
        config: WasmPluginConfig,
        registry: Option<Arc<dyn ComponentContext>>,
        state_writes: bool,
        state: StateStore,
        metrics: Option<Arc<PluginMetrics>>,
    ) -> Self {
        PluginContext {
            name,
            module_id,
            config,
            state,
            registry,
            observability: OnceLock::new(),
            state_writes,
            metrics,
        }
    }
}
