//! The guest's side of a `camel:plugin` source: an instance taken from the
//! pool (permit, crash-loop breaker), `configure` under the call deadline,
//! then `run`, the one guest call that lasts: it has no deadline, and is
//! stopped instead. When the consumer stops, the host's waits end at once
//! (`accept-http` answers `none`, `submit-exchange` `stopped`); a guest that
//! has not returned `grace` later is interrupted at its next epoch tick, and
//! one that cannot be (blocked in WASI, say) is dropped shortly after.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use wasmtime::UpdateDeadline;

use super::host::{Link, ListenerGrant};
use crate::call_span::CallSite;
use crate::compat::bindings::source_host::SourcePlan;
use crate::compat::calls::guest_error;
use crate::compat::worlds::CompatSourceWorld;
use crate::deadline::within;
use crate::error::{Result, WasmError};
use crate::host_state::CallState;
use crate::instance_pool::{InstancePool, Lease, end_call, start_call};
use crate::trap::classify;

/// How long after the interrupt a guest that has still not returned is
/// dropped.
const DROP_AFTER_INTERRUPT: Duration = Duration::from_secs(1);

/// A year: "no deadline" for `run` (a stop ends it instead).
const NO_DEADLINE: Duration = Duration::from_secs(365 * 24 * 3600);

/// An instance whose `configure` has answered.
pub(super) struct Configured {
    lease: Lease<CompatSourceWorld>,
    pub(super) plan: SourcePlan,
}

impl Configured {
    /// Gives the instance up unused, through no fault of its own.
    pub(super) fn release(self) {
        self.lease.retire();
    }

    /// Gives the instance up as failed (its plan was refused), counted by
    /// the breaker.
    pub(super) fn refuse(self, err: WasmError) -> WasmError {
        self.lease.fail_breaking(err)
    }
}

/// How a `run` ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    /// The consumer stopped it.
    Stopped,
    /// It returned by itself.
    Returned,
}

/// Drives one source plugin's `configure` and `run`.
pub(super) struct Runner {
    pub(super) pool: Arc<InstancePool<CompatSourceWorld>>,
    /// What `configure` receives.
    pub(super) config: Vec<(String, String)>,
    pub(super) route_id: Option<Arc<str>>,
    /// How long a stopped `run` may take to return.
    pub(super) grace: Duration,
}

impl Runner {
    fn plugin(&self) -> String {
        self.pool.plugin.name.to_string()
    }

    fn call_state(&self, deadline: Instant) -> CallState {
        CallState {
            budget: self.pool.plugin.config.result_budget(),
            route_id: self.route_id.clone(),
            ..CallState::new(deadline)
        }
    }

    /// Takes an instance and asks it for its plan.
    pub(super) async fn configure(&self) -> Result<Configured> {
        let span = self
            .pool
            .span(CallSite::export("configure").route(self.route_id.as_deref()));
        self.pool.observe(span, self.configure_traced()).await
    }

    async fn configure_traced(&self) -> Result<Configured> {
        let mut lease = self.pool.lease_for_caller().await?;
        let deadline = Instant::now() + self.pool.plugin.config.timeout;
        start_call(&mut lease.instance.store, self.call_state(deadline));
        let instance = &mut lease.instance;
        let answered = within(
            deadline,
            instance
                .bindings
                .call_configure(&mut instance.store, &self.config),
        )
        .await;
        end_call(&mut lease.instance.store);
        match answered {
            Ok(Ok(Ok(plan))) => Ok(Configured { lease, plan }),
            // A source that cannot be configured cannot serve.
            Ok(Ok(Err(error))) => Err(lease.fail_breaking(WasmError::Guest {
                plugin: self.plugin(),
                error: guest_error(error),
            })),
            Ok(Err(trap)) => {
                let err = classify(&mut lease.instance.store, trap);
                Err(lease.fail(err))
            }
            Err(_elapsed) => {
                let err = lease.timeout();
                Err(lease.fail(err))
            }
        }
    }

    /// Runs `configured`'s `run` until it ends, fails, or `stop` ends it.
    pub(super) async fn run(
        &self,
        configured: Configured,
        link: Arc<Link>,
        stop: &CancellationToken,
    ) -> Result<Ended> {
        let span = self
            .pool
            .span(CallSite::export("run").route(self.route_id.as_deref()));
        self.pool
            .observe(span, self.run_traced(configured, link, stop))
            .await
    }

    async fn run_traced(
        &self,
        configured: Configured,
        link: Arc<Link>,
        stop: &CancellationToken,
    ) -> Result<Ended> {
        let Configured { mut lease, .. } = configured;
        let interrupt = CancellationToken::new();
        let store = &mut lease.instance.store;
        store.data_mut().source = Some(link.clone());
        let far = Instant::now()
            .checked_add(NO_DEADLINE)
            .unwrap_or_else(Instant::now);
        start_call(store, self.call_state(far));
        let interrupted = interrupt.clone();
        store.epoch_deadline_callback(move |_| {
            if interrupted.is_cancelled() {
                Ok(UpdateDeadline::Interrupt)
            } else {
                // As for every call: hand the worker back to tokio at each
                // tick.
                Ok(UpdateDeadline::YieldCustom(
                    1,
                    Box::pin(tokio::task::yield_now()),
                ))
            }
        });
        let listener = match store.data_mut().table.push(ListenerGrant) {
            Ok(listener) => listener,
            Err(err) => {
                let err = WasmError::Host {
                    plugin: self.plugin(),
                    source: Box::new(err),
                };
                return Err(lease.fail(err));
            }
        };
        let accepted_before = link.accepted.load(Ordering::Acquire);
        let outcome = {
            let (instance, mut progress) = lease.split();
            let bindings = &instance.bindings;
            let running = instance
                .store
                .run_concurrent(async |accessor| bindings.call_run(accessor, listener).await);
            let cut = async {
                stop.cancelled().await;
                tokio::time::sleep(self.grace).await;
                interrupt.cancel();
                tokio::time::sleep(DROP_AFTER_INTERRUPT).await;
            };
            // Once the route has taken an exchange from this run, the plugin is
            // sound again: the breaker (and health) hear of it then, not only
            // when `run` ends.
            let serving = link.accepted_beyond(accepted_before);
            tokio::pin!(running, cut, serving);
            let mut served = false;
            loop {
                tokio::select! {
                    outcome = &mut running => break Some(outcome),
                    () = &mut cut => break None,
                    () = &mut serving, if !served => {
                        served = true;
                        progress.serving();
                    }
                }
            }
        };
        end_call(&mut lease.instance.store);
        lease.instance.store.data_mut().source = None;
        let overran = || WasmError::Timeout {
            plugin: self.plugin(),
            timeout_secs: self.grace.as_secs_f64(),
        };
        match outcome {
            Some(Ok(Ok(Ok(())))) => {
                lease.retire();
                Ok(if stop.is_cancelled() {
                    Ended::Stopped
                } else {
                    Ended::Returned
                })
            }
            // The source has stopped serving: a crash, for the breaker and
            // health, though the error is the guest's own.
            Some(Ok(Ok(Err(error)))) => Err(lease.fail_breaking(WasmError::Guest {
                plugin: self.plugin(),
                error: guest_error(error),
            })),
            Some(Ok(Err(trap)) | Err(trap)) => {
                if interrupt.is_cancelled() {
                    // Stopped, but only by force: say so.
                    lease.fail(overran());
                    return Ok(Ended::Stopped);
                }
                let err = classify(&mut lease.instance.store, trap);
                Err(lease.fail(err))
            }
            None => {
                lease.fail(overran());
                Ok(Ended::Stopped)
            }
        }
    }
}
