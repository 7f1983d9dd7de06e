//! The host side of one instance: WASI context, limits, and the state of the
//! call in progress.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use camel_api::Value;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::guest_output::GuestOutput;
use crate::plugin::PluginContext;

/// Cap on linear memories per store (a component has one or two).
const MAX_MEMORIES: usize = 16;

/// The host-side state of one plugin instance (the `T` of its
/// `wasmtime::Store`).
///
/// It carries what the host functions need during a call: the exchange's
/// properties (copied in before the call and merged back after it), the
/// call chain used by the recursion guard, the deadline, the handle to the
/// endpoint's state store, the memory limiter and the (empty) WASI context.
/// Embedders never build one; it is public so that the type can appear in
/// documentation of the runtime.
pub struct WasmHostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: GuestLimits,
    pub(crate) plugin: Arc<PluginContext>,
    pub(crate) output: GuestOutput,
    pub(crate) call: CallState,
}

impl std::fmt::Debug for WasmHostState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmHostState")
            .field("plugin", &self.plugin.name)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl WasmHostState {
    pub(crate) fn new(plugin: Arc<PluginContext>) -> Self {
        let output = GuestOutput::new(plugin.name.clone());
        // No preopened directories, no environment, no arguments, no network:
        // the builder grants nothing unless asked. Stdio goes to tracing.
        let wasi = WasiCtx::builder()
            .stdout(output.stdout())
            .stderr(output.stderr())
            .build();
        WasmHostState {
            wasi,
            table: ResourceTable::new(),
            limits: GuestLimits::new(&plugin.config),
            plugin,
            output,
            call: CallState::new(Instant::now()),
        }
    }
}

impl WasiView for WasmHostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The state of the call in progress.
#[derive(Debug)]
pub(crate) struct CallState {
    /// When the current guest call must end.
    pub(crate) deadline: Instant,
    /// The exchange's properties, live: `set-property` writes go here too.
    pub(crate) properties: HashMap<String, Value>,
    /// Keys written through `set-property` during this call.
    pub(crate) written: HashSet<String>,
    /// Plugins already running on this call chain (for the recursion guard).
    pub(crate) chain: Arc<[Arc<str>]>,
}

impl CallState {
    /// A call with no properties and no chain that must end by `deadline`.
    pub(crate) fn new(deadline: Instant) -> Self {
        CallState {
            deadline,
            properties: HashMap::new(),
            written: HashSet::new(),
            chain: empty_chain(),
        }
    }
}

/// The empty call chain, shared so that calls outside any chain (nearly all
/// of them) allocate nothing for it.
pub(crate) fn empty_chain() -> Arc<[Arc<str>]> {
    static EMPTY: std::sync::OnceLock<Arc<[Arc<str>]>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Arc::from(Vec::new())).clone()
}

/// The store's resource limiter: memory, tables and instances.
#[derive(Debug)]
pub(crate) struct GuestLimits {
    max_memory: usize,
    max_instances: usize,
    max_tables: usize,
    max_table_elements: usize,
    /// Set when the guest asked for more memory than allowed during this call.
    pub(crate) memory_exhausted: bool,
}

impl GuestLimits {
    fn new(config: &crate::config::WasmEndpointConfig) -> Self {
        GuestLimits {
            max_memory: usize::try_from(config.max_memory).unwrap_or(usize::MAX),
            max_instances: config.max_core_instances,
            max_tables: config.max_tables,
            max_table_elements: config.max_table_elements,
            memory_exhausted: false,
        }
    }
}

impl ResourceLimiter for GuestLimits {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.memory_exhausted = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.max_table_elements)
    }

    fn instances(&self) -> usize {
        self.max_instances
    }

    fn tables(&self) -> usize {
        self.max_tables
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}
