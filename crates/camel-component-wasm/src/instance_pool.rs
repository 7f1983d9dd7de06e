//! Per-endpoint pool of ready instances, and the one protocol every guest
//! call follows.
//!
//! A call takes a permit (bounded wait), asks the crash-loop breaker, takes
//! an idle instance (or makes one from the `InstancePre` and runs `init`),
//! sets the per-call host state, runs the export under the call's deadline,
//! and gives the instance back. An instance that trapped, timed out or was
//! abandoned mid-call is dropped instead, so the next call gets a fresh one.
//! The pool's lock guards only a `Vec` push/pop; guest code never runs under
//! it, and a semaphore bounds how many instances run at once.
//!
//! Every guest entry (instantiate + `init`, and each export call) is bounded
//! twice: by an epoch deadline, which stops a guest that computes, and by a
//! wall-clock timer around the call's future, which stops a guest blocked in
//! a host call (a WASI sleep, say).
//!
//! A call whose result carries a body the guest produces keeps its
//! instance: the lease goes to the produced body (`produced_body.rs`), which
//! gives it back when the body ends or its consumer goes away.

use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use camel_api::Value;
use std::collections::HashMap;
use tokio::sync::{Semaphore, TryAcquireError};
use tokio::time::Instant;
use tracing::Instrument;
use wasmtime::{Store, UpdateDeadline};

use crate::body_stream::{Detached, Returned};
use crate::call_chain::CallChain;
use crate::config::Isolation;
use crate::convert::OutBodies;
use crate::crash_guard::{Admission, CrashGuard};
use crate::deadline::{Elapsed, within};
use crate::error::{GuestError, Result, WasmError};
use crate::guest_text;
use crate::host_state::{CallState, WasmHostState};
use crate::metrics::{Discard, Interruption};
use crate::plugin::PluginContext;
use crate::runtime::{LoadedModule, WasmRuntime};
use crate::trap::classify;
use crate::world::PluginWorld;

/// Longest pause between two idle-trimming passes.
const MAX_TRIM_PERIOD: Duration = Duration::from_secs(60);
/// Shortest pause between two idle-trimming passes.
const MIN_TRIM_PERIOD: Duration = Duration::from_millis(100);

/// One call of an export of world `W` on a ready instance.
pub(crate) trait GuestCall<W: PluginWorld>: Send {
    /// What the export returns (including the guest's own WIT errors).
    type Output: Send;

    /// Calls the export.
    fn call(
        self,
        bindings: &W::Bindings,
        store: &mut Store<WasmHostState>,
    ) -> impl Future<Output = wasmtime::Result<Self::Output>> + Send;

    /// Takes the stream bodies out of a successful output, while the
    /// instance's handles are still valid: by message, input then output.
    fn detach(
        _output: &mut Self::Output,
        _state: &mut WasmHostState,
    ) -> wasmtime::Result<Detached> {
        Ok(None)
    }
}

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
    engine: wasmtime::Engine,
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
    /// instance is created until the first call. Inside a tokio runtime, a
    /// background task drops instances that idled out, so that a burst
    /// followed by silence does not keep their memory.
    pub(crate) fn new(
        runtime: WasmRuntime,
        module: &LoadedModule,
        plugin: Arc<PluginContext>,
        init_args: W::InitArgs,
    ) -> Result<Arc<Self>> {
        let (pre, engine) = runtime.instance_pre::<W>(module)?;
        let permits = Semaphore::new(plugin.config.max_concurrent_calls);
        let guard = Arc::new(CrashGuard::reporting_to(plugin.metrics.clone()));
        let pool = Arc::new(InstancePool {
            plugin,
            engine,
            pre,
            init_args,
            idle: Mutex::new(Vec::new()),
            permits,
            guard,
        });
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let period = pool
                .plugin
                .config
                .idle_timeout
                .clamp(MIN_TRIM_PERIOD, MAX_TRIM_PERIOD);
            handle.spawn(trim_periodically(Arc::downgrade(&pool), period));
        }
        Ok(pool)
    }

    /// Runs `call` on an instance, with the exchange's `properties` and call
    /// `chain` as the per-call host state. Returns the outcome with the
    /// stream bodies taken out of it, and the properties as the call left
    /// them (including `set-property` writes), also when the call failed.
    pub(crate) async fn call<C: GuestCall<W>>(
        self: &Arc<Self>,
        call: C,
        properties: HashMap<String, Value>,
        chain: CallChain,
        route_id: Option<Arc<str>>,
    ) -> (Result<(C::Output, OutBodies)>, CallState) {
        let (mut lease, now) = match self.lease().await {
            Ok(leased) => leased,
            Err(err) => {
                let state = CallState {
                    properties,
                    ..CallState::new(Instant::now())
                };
                return (Err(err), state);
            }
        };
        let deadline = self.deadline(now);
        start_call(
            &mut lease.instance.store,
            CallState {
                deadline,
                budget: self.plugin.config.result_budget(),
                properties,
                chain,
                route_id,
                ..CallState::new(deadline)
            },
        );
        let outcome = within(
            deadline,
            call.call(&lease.instance.bindings, &mut lease.instance.store),
        )
        .await;
        let outcome = match outcome {
            Ok(Ok(mut output)) => match C::detach(&mut output, lease.instance.store.data_mut()) {
                Ok(returned) => Ok(Ok((output, returned))),
                Err(err) => Ok(Err(err)),
            },
            Ok(Err(err)) => Ok(Err(err)),
            Err(elapsed) => Err(elapsed),
        };
        let mut state = end_call(&mut lease.instance.store);
        if let Some(metrics) = &self.plugin.metrics {
            metrics.memory(lease.instance.store.data().limits.charged());
        }
        // Stream handles end with their call, unless the plugin produces a
        // body: its pulls continue the call (a relay reads its input while
        // it produces its output), and the produced body ends them.
        let produces = matches!(&outcome, Ok(Ok((_, Some(returned))))
            if returned.iter().any(|r| matches!(r, Some(Returned::Produced(_)))));
        let call = Continuation {
            seq: state.seq,
            streams: std::mem::take(&mut state.streams),
        };
        if !produces {
            finish_streams(&mut lease.instance.store, &call.streams);
        }
        let result = match outcome {
            Ok(Ok((output, returned))) => self
                .finish(lease, returned, call)
                .map(|bodies| (output, bodies)),
            Ok(Err(err)) => {
                let err = classify(&mut lease.instance.store, err);
                if matches!(err, WasmError::Timeout { .. }) {
                    self.interrupted(Interruption::Epoch);
                }
                Err(lease.fail(err))
            }
            Err(_elapsed) => {
                self.interrupted(Interruption::WallClock);
                let err = self.timeout();
                Err(lease.fail(err))
            }
        };
        (result, state)
    }

    /// Turns the stream bodies a call returned into rust-camel bodies, and
    /// gives the instance back, unless a produced body needs it: then the
    /// lease goes to that body.
    fn finish(&self, lease: Lease<W>, returned: Detached, call: Continuation) -> Result<OutBodies> {
        let Some(returned) = returned else {
            lease.release();
            return Ok(OutBodies(None));
        };
        let mut lease = Some(lease);
        let mut call = Some(call);
        let mut bodies = [None, None];
        for (slot, returned) in bodies.iter_mut().zip(*returned) {
            *slot = match returned {
                None => None,
                Some(Returned::Stream(stream)) => Some(camel_api::Body::Stream(stream)),
                Some(Returned::Produced(id)) => match (lease.take(), call.take()) {
                    (Some(lease), Some(call)) => {
                        Some(crate::produced_body::stream(lease, id, call))
                    }
                    _ => {
                        return Err(WasmError::Conversion {
                            plugin: self.plugin.name.to_string(),
                            reason: "a result may carry at most one body the plugin produces"
                                .to_string(),
                        });
                    }
                },
            };
        }
        if let Some(lease) = lease {
            lease.release();
        }
        Ok(OutBodies(Some(Box::new(bodies))))
    }

    /// Takes an instance for a call its caller drives itself, past the
    /// per-call protocol of [`InstancePool::call`] (a `camel:plugin`
    /// source's long-lived `run`): a permit, the breaker's admission and a
    /// ready instance, or the error that refused them.
    pub(crate) async fn lease_for_caller(self: &Arc<Self>) -> Result<Lease<W>> {
        self.lease().await.map(|(lease, _)| lease)
    }

    /// Drops instances that have been idle for longer than `idle-timeout`.
    pub(crate) fn trim(&self, now: Instant) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        self.trim_locked(&mut idle, now);
    }

    fn trim_locked(&self, idle: &mut Vec<Instance<W>>, now: Instant) {
        let timeout = self.plugin.config.idle_timeout;
        // Oldest first.
        let stale = idle
            .iter()
            .take_while(|i| now.saturating_duration_since(i.idle_since) > timeout)
            .count();
        if stale > 0 {
            idle.drain(..stale);
            self.discarded(Discard::Idle, stale);
            tracing::debug!(plugin = %self.plugin.name, stale, "trimmed idle instances");
        }
    }

    /// Idle instances kept by the pool.
    #[cfg(any(test, feature = "test-support"))]
    pub(crate) fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn discarded(&self, reason: Discard, count: usize) {
        if let Some(metrics) = &self.plugin.metrics {
            metrics.instances_discarded(reason, count);
        }
    }

    fn interrupted(&self, cause: Interruption) {
        if let Some(metrics) = &self.plugin.metrics {
            metrics.interrupted(cause);
        }
    }

    fn deadline(&self, now: Instant) -> Instant {
        // The configured timeout is validated to at most a day.
        now + self.plugin.config.timeout
    }

    fn timeout(&self) -> WasmError {
        WasmError::Timeout {
            plugin: self.plugin.name.to_string(),
            timeout_secs: self.plugin.config.timeout.as_secs_f64(),
        }
    }

    /// Takes a permit (waiting at most `timeout`), asks the breaker, and
    /// takes or makes an instance. Returns the lease and when it was had.
    async fn lease(self: &Arc<Self>) -> Result<(Lease<W>, Instant)> {
        let name = &self.plugin.name;
        let permit = match self.permits.try_acquire() {
            Ok(permit) => Ok(permit),
            Err(TryAcquireError::NoPermits) => {
                let wait = self.deadline(Instant::now());
                within(wait, self.permits.acquire())
                    .await
                    .map_err(|Elapsed| ())
                    .and_then(|acquired| acquired.map_err(|_closed| ()))
            }
            Err(TryAcquireError::Closed) => Err(()),
        };
        let permit = match permit {
            Ok(permit) => permit,
            Err(()) => {
                return Err(WasmError::Busy {
                    plugin: name.to_string(),
                    reason: format!(
                        "all {} instances stayed busy for {:.3} s (max-concurrent-calls)",
                        self.plugin.config.max_concurrent_calls,
                        self.plugin.config.timeout.as_secs_f64()
                    ),
                });
            }
        };
        let now = Instant::now();
        let admission = self.guard.admit(name, now)?;
        // The ticket gives the permit back when it is dropped (it may outlive
        // this borrow: a produced body owns it).
        permit.forget();
        let ticket = Ticket {
            pool: self.clone(),
            admission,
            decided: false,
        };
        let idle = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            self.trim_locked(&mut idle, now);
            idle.pop()
        };
        let (instance, now) = match idle {
            Some(instance) => (instance, now),
            None => match self.create().await {
                Ok(instance) => (instance, Instant::now()),
                Err(err) => return Err(ticket.fail(err)),
            },
        };
        Ok((Lease { instance, ticket }, now))
    }

    /// Makes a fresh instance and runs its `init`, under one deadline.
    async fn create(&self) -> Result<Instance<W>> {
        let mut store = Store::new(&self.engine, WasmHostState::new(self.plugin.clone()));
        store.limiter(|state| &mut state.limits);
        store.set_hostcall_fuel(self.plugin.config.result_budget());
        store.epoch_deadline_callback(|ctx| {
            if Instant::now() >= ctx.data().call.deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                // Hand the worker back to tokio at every tick, through its
                // own yield so that timers and I/O are serviced in between.
                Ok(UpdateDeadline::YieldCustom(
                    1,
                    Box::pin(tokio::task::yield_now()),
                ))
            }
        });
        let deadline = self.deadline(Instant::now());
        start_call(
            &mut store,
            CallState {
                budget: self.plugin.config.result_budget(),
                ..CallState::new(deadline)
            },
        );
        let span = tracing::info_span!(
            target: "camel_wasm::call",
            "wasm.init",
            plugin = %self.plugin.name,
            kind = W::NAME,
        );
        let outcome = within(
            deadline,
            async {
                let bindings = W::instantiate(&self.pre, &mut store)
                    .await
                    .map_err(Setup::Instantiate)?;
                match W::init(&bindings, &mut store, &self.init_args).await {
                    Ok(Ok(())) => Ok(bindings),
                    Ok(Err(message)) => Err(Setup::Refused(message)),
                    Err(err) => Err(Setup::Trapped(err)),
                }
            }
            .instrument(span),
        )
        .await;
        let init = end_call(&mut store);
        finish_streams(&mut store, &init.streams);
        let plugin = self.plugin.name.to_string();
        let in_init = |source: WasmError| WasmError::Init {
            plugin: plugin.clone(),
            source: Box::new(source),
        };
        match outcome {
            Ok(Ok(bindings)) => {
                tracing::debug!(plugin = %self.plugin.name, world = W::NAME, "instance ready");
                if let Some(metrics) = &self.plugin.metrics {
                    metrics.instance_created();
                    metrics.memory(store.data().limits.charged());
                }
                Ok(Instance {
                    store,
                    bindings,
                    uses: 0,
                    idle_since: Instant::now(),
                })
            }
            Ok(Err(Setup::Instantiate(err))) => Err(match classify(&mut store, err) {
                WasmError::Host { plugin, source } => WasmError::Instantiate { plugin, source },
                other => other,
            }),
            Ok(Err(Setup::Refused(message))) => Err(in_init(WasmError::Guest {
                plugin: plugin.clone(),
                error: GuestError::Failed(guest_text::summary_owned(message)),
            })),
            Ok(Err(Setup::Trapped(err))) => {
                let err = classify(&mut store, err);
                if matches!(err, WasmError::Timeout { .. }) {
                    self.interrupted(Interruption::Epoch);
                }
                Err(in_init(err))
            }
            Err(_elapsed) => {
                self.interrupted(Interruption::WallClock);
                Err(in_init(self.timeout()))
            }
        }
    }
}

impl<W: PluginWorld> Drop for InstancePool<W> {
    fn drop(&mut self) {
        let idle = self.idle.get_mut().map_or(0, |idle| idle.len());
        if idle > 0 {
            self.discarded(Discard::Closed, idle);
        }
    }
}

/// How making an instance ready failed.
enum Setup {
    Instantiate(wasmtime::Error),
    Refused(String),
    Trapped(wasmtime::Error),
}

/// Drops idle-timed-out instances every `period` until the pool is gone.
async fn trim_periodically<W: PluginWorld>(pool: Weak<InstancePool<W>>, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(pool) = pool.upgrade() else { break };
        pool.trim(Instant::now());
    }
}

/// A permit to run one call, and the breaker's verdict on it.
///
/// It must be decided with [`Ticket::succeed`] or [`Ticket::fail`]; dropping
/// it undecided (the caller's future was cancelled) frees a half-open
/// breaker's probe slot for the next call.
///
/// It holds one of the pool's permits (taken with `forget`) and gives it
/// back when dropped.
struct Ticket<W: PluginWorld> {
    pool: Arc<InstancePool<W>>,
    admission: Admission,
    decided: bool,
}

impl<W: PluginWorld> Ticket<W> {
    fn succeed(mut self) {
        self.decided = true;
        self.pool.guard.record_success(self.admission);
    }

    fn fail(self, err: WasmError) -> WasmError {
        self.decide_failed(err, false)
    }

    /// Records a failed call; `breaking` counts it against the breaker
    /// whatever its kind.
    fn decide_failed(mut self, err: WasmError, breaking: bool) -> WasmError {
        self.decided = true;
        let plugin = &self.pool.plugin.name;
        tracing::warn!(%plugin, error = %crate::error::error_chain(&err), "plugin call failed");
        let guard = &self.pool.guard;
        if breaking {
            guard.record_breaking_failure(plugin, self.admission, &err, Instant::now());
        } else {
            guard.record_failure(plugin, self.admission, &err, Instant::now());
        }
        err
    }
}

impl<W: PluginWorld> Drop for Ticket<W> {
    fn drop(&mut self) {
        self.pool.permits.add_permits(1);
        if !self.decided {
            tracing::debug!(plugin = %self.pool.plugin.name, "abandoned call; instance discarded");
            self.pool.discarded(Discard::Abandoned, 1);
            if self.admission == Admission::Probe {
                self.pool.guard.abandon_probe(Instant::now());
            }
        }
    }
}

/// One instance taken from the pool for one call (or for the body it
/// produces). [`Lease::release`] gives it back; [`Lease::fail`] and dropping
/// the lease discard it.
pub(crate) struct Lease<W: PluginWorld> {
    pub(crate) instance: Instance<W>,
    ticket: Ticket<W>,
}

impl<W: PluginWorld> Lease<W> {
    /// The plugin the instance belongs to.
    pub(crate) fn plugin(&self) -> &Arc<PluginContext> {
        &self.ticket.pool.plugin
    }

    /// Returns the instance to the pool for the next call (unless the
    /// isolation or recycling settings retire it).
    pub(crate) fn release(self) {
        let Lease {
            mut instance,
            ticket,
        } = self;
        let pool = ticket.pool.clone();
        ticket.succeed();
        instance.uses += 1;
        let config = &pool.plugin.config;
        let retire = config.isolation == Isolation::Exchange
            || config
                .recycle_after
                .or(W::RECYCLE_AFTER)
                .is_some_and(|n| instance.uses >= n);
        if retire {
            pool.discarded(Discard::Retired, 1);
            return;
        }
        instance.idle_since = Instant::now();
        pool.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(instance);
    }

    /// The instance, and a handle to report that a call still running has
    /// shown the plugin sound (see [`Progress::serving`]).
    pub(crate) fn split(&mut self) -> (&mut Instance<W>, Progress<'_, W>) {
        (&mut self.instance, Progress(&mut self.ticket))
    }

    /// Discards the instance after a call that ended well but leaves it
    /// unfit to serve again (a source's `run` that returned).
    pub(crate) fn retire(self) {
        let pool = self.ticket.pool.clone();
        self.ticket.succeed();
        pool.discarded(Discard::Retired, 1);
    }

    /// The timeout error of this lease's plugin.
    pub(crate) fn timeout(&self) -> WasmError {
        self.ticket.pool.timeout()
    }

    /// Discards the instance after a failed call and reports `err`.
    pub(crate) fn fail(self, err: WasmError) -> WasmError {
        self.ticket.pool.discarded(Discard::Failed, 1);
        self.ticket.fail(err)
    }

    /// As [`Lease::fail`], counting `err` against the crash-loop breaker
    /// even if it is the guest's own error (see
    /// [`CrashGuard::record_breaking_failure`]).
    pub(crate) fn fail_breaking(self, err: WasmError) -> WasmError {
        self.ticket.pool.discarded(Discard::Failed, 1);
        self.ticket.decide_failed(err, true)
    }
}

/// Reports on a call that lasts (a source's `run`) before it ends.
pub(crate) struct Progress<'a, W: PluginWorld>(&'a mut Ticket<W>);

impl<W: PluginWorld> Progress<'_, W> {
    /// The call has done its work once: a success for the crash-loop
    /// breaker (closing it if the call was its probe). If the call fails
    /// later, that counts as an ordinary failure.
    pub(crate) fn serving(&mut self) {
        let ticket = &mut *self.0;
        ticket.pool.guard.record_success(ticket.admission);
        ticket.admission = Admission::Normal;
    }
}

/// A call that goes on after its export returned: the pulls of a body it
/// produces run as part of it (same number, same stream handles).
#[derive(Debug)]
pub(crate) struct Continuation {
    pub(crate) seq: u64,
    pub(crate) streams: Vec<u32>,
}

/// Sets the per-call host state (numbering the call on its instance).
pub(crate) fn start_call(store: &mut Store<WasmHostState>, mut call: CallState) {
    let data = store.data_mut();
    data.calls += 1;
    call.seq = data.calls;
    enter(store, call);
}

/// Sets the host state for more of call `continuation` (a pull).
pub(crate) fn resume_call(
    store: &mut Store<WasmHostState>,
    mut call: CallState,
    continuation: &Continuation,
) {
    call.seq = continuation.seq;
    enter(store, call);
}

fn enter(store: &mut Store<WasmHostState>, call: CallState) {
    let data = store.data_mut();
    data.call = call;
    data.limits.begin_call();
    data.output.begin_call();
    store.set_epoch_deadline(1);
}

/// Ends the call (or one pull of it) and returns its host state.
pub(crate) fn end_call(store: &mut Store<WasmHostState>) -> CallState {
    let data = store.data_mut();
    data.output.end_call();
    let deadline = data.call.deadline;
    std::mem::replace(&mut data.call, CallState::new(deadline))
}

/// Ends the stream handles of a finished call (the ones the guest kept:
/// reading them fails from now on, and their sources are dropped).
pub(crate) fn finish_streams(store: &mut Store<WasmHostState>, streams: &[u32]) {
    let data = store.data_mut();
    for rep in streams {
        let handle =
            wasmtime::component::Resource::<crate::body_stream::BodyStream>::new_borrow(*rep);
        if let Ok(stream) = data.table.get_mut(&handle) {
            stream.finish();
        }
    }
}
