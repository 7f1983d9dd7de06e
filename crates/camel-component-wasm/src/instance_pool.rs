//! Per-endpoint pool of ready instances.
//!
//! An exchange takes an idle instance (or makes one from the `InstancePre`),
//! runs on it, and gives it back. Instances that trapped, timed out or were
//! abandoned mid-call are dropped instead, so the next exchange gets a fresh
//! one. The pool's lock guards only a `Vec` push/pop; guest code never runs
//! under it, and a semaphore bounds how many instances run at once.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use camel_api::Value;
use std::collections::HashMap;
use tokio::sync::{Semaphore, SemaphorePermit};
use wasmtime::{Store, Trap, UpdateDeadline};

use crate::config::Isolation;
use crate::crash_guard::CrashGuard;
use crate::error::{Result, TrapReason, WasmError};
use crate::host::HostTrap;
use crate::host_state::{CallState, WasmHostState};
use crate::plugin::PluginContext;
use crate::runtime::{LoadedModule, WasmRuntime};
use crate::world::PluginWorld;

/// A live instance and its store.
pub(crate) struct Instance<W: PluginWorld> {
    pub(crate) store: Store<WasmHostState>,
    pub(crate) bindings: W::Bindings,
    /// Calls served so far.
    uses: u64,
    /// When it was last returned to the pool.
    idle_since: Instant,
}

/// The instances of one endpoint or bean entry.
pub(crate) struct InstancePool<W: PluginWorld> {
    pub(crate) plugin: Arc<PluginContext>,
    runtime: WasmRuntime,
    pre: W::Pre,
    init_args: W::InitArgs,
    idle: Mutex<Vec<Instance<W>>>,
    permits: Semaphore,
    pub(crate) guard: Arc<CrashGuard>,
}

impl<W: PluginWorld> std::fmt::Debug for InstancePool<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstancePool")
            .field("world", &W::NAME)
            .field("plugin", &self.plugin.name)
            .field("available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

impl<W: PluginWorld> InstancePool<W> {
    /// Type-checks `module` against the world and prepares the pool. No
    /// instance is created until the first call.
    pub(crate) fn new(
        runtime: WasmRuntime,
        module: &LoadedModule,
        plugin: Arc<PluginContext>,
        init_args: W::InitArgs,
    ) -> Result<Self> {
        let wrong_world = |e: wasmtime::Error| WasmError::WrongWorld {
            path: module.path.clone(),
            world: W::NAME,
            source: e.into(),
        };
        let instance_pre = runtime
            .linker()
            .instantiate_pre(&module.component)
            .map_err(wrong_world)?;
        let pre = W::pre(instance_pre).map_err(wrong_world)?;
        let permits = Semaphore::new(plugin.config.max_instances);
        Ok(InstancePool {
            plugin,
            runtime,
            pre,
            init_args,
            idle: Mutex::new(Vec::new()),
            permits,
            guard: Arc::new(CrashGuard::new()),
        })
    }

    /// Takes an instance for one call, waiting while `max-instances` calls
    /// are running.
    pub(crate) async fn lease(&self) -> Result<Lease<'_, W>> {
        self.guard.admit(&self.plugin.name)?;
        let permit = self.permits.acquire().await.map_err(|e| WasmError::Host {
            plugin: self.plugin.name.to_string(),
            source: e.into(),
        })?;
        let idle = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            // Oldest first: drop the instances that idled out.
            let timeout = self.plugin.config.idle_timeout;
            let stale = idle
                .iter()
                .take_while(|i| i.idle_since.elapsed() > timeout)
                .count();
            if stale > 0 {
                idle.drain(..stale);
                tracing::debug!(plugin = %self.plugin.name, stale, "trimmed idle instances");
            }
            idle.pop()
        };
        let instance = match idle {
            Some(instance) => instance,
            None => match self.create().await {
                Ok(instance) => instance,
                Err(err) => {
                    self.guard.record_failure(&self.plugin.name, &err);
                    return Err(err);
                }
            },
        };
        Ok(Lease {
            pool: self,
            instance: Some(instance),
            _permit: permit,
        })
    }

    /// Makes a fresh instance and runs its `init`.
    async fn create(&self) -> Result<Instance<W>> {
        let mut store = Store::new(
            self.runtime.engine(),
            WasmHostState::new(self.plugin.clone()),
        );
        store.limiter(|state| &mut state.limits);
        store.epoch_deadline_callback(|ctx| {
            if Instant::now() >= ctx.data().call.deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                // Hand the worker back to the executor at every tick.
                Ok(UpdateDeadline::Yield(1))
            }
        });
        let deadline = Instant::now() + self.plugin.config.timeout;
        start_call(&mut store, CallState::new(deadline));
        let bindings = match W::instantiate(&self.pre, &mut store).await {
            Ok(bindings) => bindings,
            Err(err) => {
                let classified = classify(&mut store, err);
                return Err(match classified {
                    WasmError::Host { plugin, source } => WasmError::Instantiate { plugin, source },
                    other => other,
                });
            }
        };
        let outcome = W::init(&bindings, &mut store, &self.init_args).await;
        end_call(&mut store);
        match outcome {
            Ok(Ok(())) => {
                tracing::debug!(plugin = %self.plugin.name, world = W::NAME, "instance ready");
                Ok(Instance {
                    store,
                    bindings,
                    uses: 0,
                    idle_since: Instant::now(),
                })
            }
            Ok(Err(message)) => Err(WasmError::Unhealthy {
                plugin: self.plugin.name.to_string(),
                reason: format!("init failed: {message}"),
            }),
            Err(err) => Err(classify(&mut store, err)),
        }
    }
}

/// One instance taken from the pool for one call.
///
/// [`Lease::release`] gives it back; dropping the lease (after a trap, or
/// when the caller's future is cancelled mid-call) discards the instance.
pub(crate) struct Lease<'a, W: PluginWorld> {
    pool: &'a InstancePool<W>,
    instance: Option<Instance<W>>,
    _permit: SemaphorePermit<'a>,
}

impl<W: PluginWorld> Lease<'_, W> {
    /// The instance (present until released).
    pub(crate) fn instance(&mut self) -> Result<&mut Instance<W>> {
        self.instance.as_mut().ok_or_else(|| WasmError::Host {
            plugin: self.pool.plugin.name.to_string(),
            source: "instance lease used after release".into(),
        })
    }

    /// Sets the per-call host state: properties, call chain, deadline.
    pub(crate) fn begin(
        &mut self,
        properties: HashMap<String, Value>,
        chain: Arc<[Arc<str>]>,
    ) -> Result<()> {
        let deadline = Instant::now() + self.pool.plugin.config.timeout;
        let instance = self.instance()?;
        start_call(
            &mut instance.store,
            CallState {
                properties,
                chain,
                ..CallState::new(deadline)
            },
        );
        Ok(())
    }

    /// Ends the call and returns its host state (properties as the guest
    /// left them, keys written through `set-property`).
    pub(crate) fn end(&mut self) -> Result<CallState> {
        let instance = self.instance()?;
        end_call(&mut instance.store);
        Ok(std::mem::replace(
            &mut instance.store.data_mut().call,
            CallState::new(Instant::now()),
        ))
    }

    /// Classifies a failed call and discards the instance.
    pub(crate) fn fail(mut self, err: wasmtime::Error) -> WasmError {
        let plugin = &self.pool.plugin.name;
        let classified = match self.instance.take() {
            Some(mut instance) => classify(&mut instance.store, err),
            None => WasmError::Host {
                plugin: plugin.to_string(),
                source: err.into(),
            },
        };
        tracing::warn!(%plugin, error = %classified, "plugin call failed; instance discarded");
        self.pool.guard.record_failure(plugin, &classified);
        classified
    }

    /// Returns the instance to the pool for the next exchange.
    pub(crate) fn release(mut self) {
        self.pool.guard.record_success();
        let Some(mut instance) = self.instance.take() else {
            return;
        };
        instance.uses += 1;
        let config = &self.pool.plugin.config;
        let retire = config.isolation == Isolation::Exchange
            || config.recycle_after.is_some_and(|n| instance.uses >= n);
        if retire {
            return;
        }
        instance.idle_since = Instant::now();
        self.pool
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(instance);
    }
}

impl<W: PluginWorld> Drop for Lease<'_, W> {
    fn drop(&mut self) {
        if self.instance.is_some() {
            // Cancelled mid-call: the store may be inside the guest.
            tracing::debug!(plugin = %self.pool.plugin.name, "abandoned call; instance discarded");
        }
    }
}

fn start_call(store: &mut Store<WasmHostState>, call: CallState) {
    let data = store.data_mut();
    data.call = call;
    data.limits.memory_exhausted = false;
    data.output.begin_call();
    store.set_epoch_deadline(1);
}

fn end_call(store: &mut Store<WasmHostState>) {
    store.data().output.end_call();
}

/// Turns a wasmtime error from a guest call into a typed [`WasmError`].
fn classify(store: &mut Store<WasmHostState>, err: wasmtime::Error) -> WasmError {
    let data = store.data();
    let plugin = data.plugin.name.to_string();
    if data.limits.memory_exhausted {
        return WasmError::OutOfMemory {
            plugin,
            max_memory_bytes: data.plugin.config.max_memory,
        };
    }
    let trap = err.downcast_ref::<Trap>().copied();
    if trap == Some(Trap::Interrupt) {
        return WasmError::Timeout {
            plugin,
            timeout_secs: data.plugin.config.timeout_secs(),
        };
    }
    if let Some(host_trap) = err.downcast_ref::<HostTrap>() {
        return WasmError::Trap {
            plugin,
            reason: TrapReason::Other(host_trap.to_string()),
        };
    }
    if let Some(message) = data.output.take_panic_message() {
        return WasmError::GuestPanic { plugin, message };
    }
    let reason = match trap {
        Some(Trap::UnreachableCodeReached) => TrapReason::Unreachable,
        Some(Trap::StackOverflow) => TrapReason::StackOverflow,
        Some(Trap::IntegerDivisionByZero) => TrapReason::IntegerDivisionByZero,
        Some(Trap::IntegerOverflow) => TrapReason::IntegerOverflow,
        Some(Trap::MemoryOutOfBounds) | Some(Trap::HeapMisaligned) => TrapReason::MemoryOutOfBounds,
        Some(Trap::TableOutOfBounds)
        | Some(Trap::IndirectCallToNull)
        | Some(Trap::BadSignature) => TrapReason::BadTableAccess,
        Some(other) => TrapReason::Other(other.to_string()),
        None => {
            return WasmError::Host {
                plugin,
                source: err.into(),
            };
        }
    };
    WasmError::Trap { plugin, reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WasmEndpointConfig;

    fn store() -> Store<WasmHostState> {
        let engine = wasmtime::Engine::default();
        let plugin = Arc::new(PluginContext::new(
            "p.wasm".into(),
            "/abs/p.wasm".into(),
            WasmEndpointConfig::default(),
            None,
        ));
        Store::new(&engine, WasmHostState::new(plugin))
    }

    #[test]
    fn classifies_every_trap_kind() {
        for (trap, reason) in [
            (Trap::UnreachableCodeReached, TrapReason::Unreachable),
            (Trap::StackOverflow, TrapReason::StackOverflow),
            (
                Trap::IntegerDivisionByZero,
                TrapReason::IntegerDivisionByZero,
            ),
            (Trap::IntegerOverflow, TrapReason::IntegerOverflow),
            (Trap::MemoryOutOfBounds, TrapReason::MemoryOutOfBounds),
            (Trap::IndirectCallToNull, TrapReason::BadTableAccess),
            (
                Trap::NullReference,
                TrapReason::Other(Trap::NullReference.to_string()),
            ),
        ] {
            match classify(&mut store(), wasmtime::Error::from(trap)) {
                WasmError::Trap {
                    plugin,
                    reason: got,
                } => {
                    assert_eq!(plugin, "p.wasm");
                    assert_eq!(got, reason);
                }
                other => panic!("{trap:?}: unexpected {other}"),
            }
        }
    }

    #[test]
    fn interrupt_is_a_timeout_and_memory_flag_wins() {
        let mut s = store();
        assert!(matches!(
            classify(&mut s, wasmtime::Error::from(Trap::Interrupt)),
            WasmError::Timeout { .. }
        ));
        s.data_mut().limits.memory_exhausted = true;
        assert!(matches!(
            classify(&mut s, wasmtime::Error::from(Trap::UnreachableCodeReached)),
            WasmError::OutOfMemory { .. }
        ));
    }

    #[test]
    fn host_limit_traps_and_other_errors() {
        let mut s = store();
        match classify(&mut s, HostTrap("too big".into()).into()) {
            WasmError::Trap {
                reason: TrapReason::Other(m),
                ..
            } => assert_eq!(m, "too big"),
            other => panic!("unexpected {other}"),
        }
        assert!(matches!(
            classify(&mut s, wasmtime::Error::msg("weird")),
            WasmError::Host { .. }
        ));
    }
}
