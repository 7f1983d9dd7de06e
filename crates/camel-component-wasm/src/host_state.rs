//! The host side of one instance: WASI context, limits, and the state of the
//! call in progress.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use camel_api::Value;
use tokio::time::Instant;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::random::WasiRandomCtx;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::call_chain::CallChain;
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
pub(crate) struct WasmHostState {
    wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    /// Calls this instance has started, numbering them.
    pub(crate) calls: u64,
    pub(crate) random: WasiRandomCtx,
    pub(crate) limits: GuestLimits,
    pub(crate) plugin: Arc<PluginContext>,
    pub(crate) output: GuestOutput,
    pub(crate) call: CallState,
    /// What a running `camel:plugin` source's `source-host` imports reach
    /// (none for every other plugin).
    pub(crate) source: Option<Arc<crate::compat::source::Link>>,
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
        // the builder grants nothing unless asked (the socket grants are
        // spelled out anyway: `wasi:sockets` is linked, and these refusals
        // are all that keeps a plugin off the network). Stdio goes to tracing.
        let wasi = WasiCtx::builder()
            .stdout(output.stdout())
            .stderr(output.stderr())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        WasmHostState {
            wasi,
            table: ResourceTable::new(),
            calls: 0,
            random: WasiRandomCtx::default(),
            limits: GuestLimits::new(&plugin.config),
            plugin,
            output,
            call: CallState::new(Instant::now()),
            source: None,
        }
    }
}

impl wasmtime_wasi_io::IoView for WasmHostState {
    fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
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
    pub(crate) chain: CallChain,
    /// Bytes the host may still materialise for this call
    /// (`max-result-bytes`): `set-property` writes and, after the call, the
    /// values parsed from the result.
    pub(crate) budget: usize,
    /// The route the call runs in, when the host knows it.
    pub(crate) route_id: Option<Arc<str>>,
    /// The call's number on its instance (stream handles belong to it).
    pub(crate) seq: u64,
    /// Stream handles (resource reps) made during this call and not yet
    /// dropped or handed back.
    pub(crate) streams: Vec<u32>,
}

impl CallState {
    /// A call with no properties and no chain that must end by `deadline`.
    pub(crate) fn new(deadline: Instant) -> Self {
        CallState {
            deadline,
            properties: HashMap::new(),
            written: HashSet::new(),
            chain: CallChain::empty(),
            budget: 0,
            route_id: None,
            seq: 0,
            streams: Vec::new(),
        }
    }
}

/// Bytes a table element is charged against `max-memory` (a pointer).
const TABLE_ELEMENT_BYTES: usize = 8;

/// Which limit refused a growth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tripped {
    /// Memories and tables together would exceed `max-memory`.
    Memory,
    /// One table would exceed `max-table-elements`.
    TableElements,
}

/// The store's resource limiter.
///
/// Every linear memory and every table of the instance is charged to one
/// budget, `max-memory` (tables at 8 bytes an element), so a component
/// cannot multiply its allowance by declaring many memories or tables.
/// Memories and tables never shrink, and a store holds one plugin instance,
/// so the charge only grows for the instance's lifetime.
#[derive(Debug)]
pub(crate) struct GuestLimits {
    max_memory: usize,
    max_instances: usize,
    max_tables: usize,
    max_table_elements: usize,
    /// Bytes charged so far (memories plus table elements).
    charged: usize,
    /// The largest total a refused growth asked for.
    refused_at: usize,
    /// The limit that refused a growth during this call, if any.
    tripped: Option<Tripped>,
}

impl GuestLimits {
    fn new(config: &crate::config::WasmPluginConfig) -> Self {
        GuestLimits {
            max_memory: usize::try_from(config.max_memory).unwrap_or(usize::MAX),
            max_instances: config.max_core_instances,
            max_tables: config.max_tables,
            max_table_elements: config.max_table_elements,
            charged: 0,
            refused_at: 0,
            tripped: None,
        }
    }

    /// Bytes of memories and tables the instance holds.
    pub(crate) fn charged(&self) -> usize {
        self.charged
    }

    /// Forgets a refusal from an earlier call.
    pub(crate) fn begin_call(&mut self) {
        self.tripped = None;
    }

    /// The limit that refused a growth, and the total bytes asked for.
    pub(crate) fn tripped(&self) -> Option<(Tripped, usize)> {
        self.tripped.map(|t| (t, self.refused_at))
    }

    #[cfg(test)]
    pub(crate) fn exhaust_for_test(&mut self) {
        self.tripped = Some(Tripped::Memory);
    }

    fn charge(&mut self, current: usize, desired: usize) -> bool {
        let total = self.charged.saturating_add(desired.saturating_sub(current));
        if total > self.max_memory {
            self.tripped = Some(Tripped::Memory);
            self.refused_at = self.refused_at.max(total);
            return false;
        }
        self.charged = total;
        true
    }
}

impl ResourceLimiter for GuestLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.charge(current, desired))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_table_elements {
            self.tripped = Some(Tripped::TableElements);
            self.refused_at = self.refused_at.max(desired);
            return Ok(false);
        }
        Ok(self.charge(
            current.saturating_mul(TABLE_ELEMENT_BYTES),
            desired.saturating_mul(TABLE_ELEMENT_BYTES),
        ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WasmPluginConfig;

    fn limits(max_memory: u64, max_table_elements: usize) -> GuestLimits {
        GuestLimits::new(&WasmPluginConfig {
            max_memory,
            max_table_elements,
            ..WasmPluginConfig::default()
        })
    }

    #[test]
    fn all_memories_share_one_budget() {
        let mut l = limits(1000, 100);
        assert!(l.memory_growing(0, 600, None).unwrap());
        // A second memory cannot take another full allowance.
        assert!(!l.memory_growing(0, 600, None).unwrap());
        assert_eq!(l.tripped(), Some((Tripped::Memory, 1200)));
        l.begin_call();
        assert!(l.memory_growing(600, 1000, None).unwrap());
        assert!(!l.memory_growing(1000, 1001, None).unwrap());
    }

    #[test]
    fn tables_are_charged_to_the_memory_budget() {
        let mut l = limits(1000, 1000);
        assert!(l.memory_growing(0, 500, None).unwrap());
        assert!(l.table_growing(0, 60, None).unwrap()); // 480 bytes
        assert!(!l.table_growing(0, 10, None).unwrap()); // 80 more: over
        assert_eq!(l.tripped().map(|t| t.0), Some(Tripped::Memory));
        l.begin_call();
        assert!(!l.table_growing(0, 1001, None).unwrap());
        assert_eq!(l.tripped().map(|t| t.0), Some(Tripped::TableElements));
    }
}
