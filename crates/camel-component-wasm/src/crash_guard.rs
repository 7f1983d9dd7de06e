//! Crash-loop protection for one endpoint or bean entry: a circuit breaker.
//!
//! Every instance-breaking failure (trap, timeout, out of memory, panic,
//! failed `init`) counts; a success resets the count. After
//! [`THRESHOLD`] failures in a row the breaker opens: exchanges fail at once
//! with `Unhealthy` and no instance is made. When the back-off has passed,
//! exactly one exchange is let through as a probe (half-open); the others
//! keep failing fast until it ends. A successful probe closes the breaker;
//! a failed one reopens it with twice the back-off (1 s up to 30 s).
//! Failures of calls that were already running when the breaker opened do
//! not lengthen the back-off.
//!
//! Time is passed in by the caller, so the state machine is exact to test.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{WasmError, error_chain};
use crate::guest_text;
use crate::metrics::{GuardState, PluginMetrics};

/// Consecutive failures that open the breaker.
pub(crate) const THRESHOLD: u32 = 5;
/// First back-off once the breaker opens.
pub(crate) const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// Longest back-off.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Health of an endpoint as the breaker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GuardStatus {
    /// Serving; `failures` in a row so far, the last one `last`.
    Serving { failures: u32, last: String },
    /// Refusing exchanges (open, or half-open with a probe running).
    Open { reason: String },
}

/// Whether an admitted call is an ordinary one or the half-open probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// The breaker is closed.
    Normal,
    /// The breaker is half-open and this call decides it.
    Probe,
}

#[derive(Debug)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen,
}

#[derive(Debug)]
struct Breaker {
    state: State,
    /// The back-off the next opening (after a failed probe) starts from.
    backoff: Duration,
    last_error: String,
}

/// Counts failures in a row; on the success path it costs one atomic load
/// per admission and one per outcome.
#[derive(Debug)]
pub(crate) struct CrashGuard {
    failures: AtomicU32,
    /// True unless the breaker is closed.
    tripped: AtomicBool,
    breaker: Mutex<Breaker>,
    /// Where state changes are reported, if anywhere.
    metrics: Option<Arc<PluginMetrics>>,
}

impl CrashGuard {
    #[cfg(test)]
    pub(crate) fn new() -> Self {
        Self::reporting_to(None)
    }

    /// A closed breaker whose state changes go to `metrics`.
    pub(crate) fn reporting_to(metrics: Option<Arc<PluginMetrics>>) -> Self {
        CrashGuard {
            metrics,
            failures: AtomicU32::new(0),
            tripped: AtomicBool::new(false),
            breaker: Mutex::new(Breaker {
                state: State::Closed,
                backoff: INITIAL_BACKOFF,
                last_error: String::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Breaker> {
        self.breaker.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a call may run at `now`, and as what.
    pub(crate) fn admit(&self, plugin: &str, now: Instant) -> Result<Admission, WasmError> {
        if !self.tripped.load(Ordering::Acquire) {
            return Ok(Admission::Normal);
        }
        let mut breaker = self.lock();
        match breaker.state {
            State::Closed => Ok(Admission::Normal),
            State::Open { until } if now >= until => {
                breaker.state = State::HalfOpen;
                self.report(GuardState::Open, GuardState::HalfOpen);
                Ok(Admission::Probe)
            }
            State::Open { until } => Err(self.refusal(
                plugin,
                &breaker,
                &format!(
                    "next attempt in {} ms",
                    until.saturating_duration_since(now).as_millis()
                ),
            )),
            State::HalfOpen => Err(self.refusal(plugin, &breaker, "a probe call is running")),
        }
    }

    fn refusal(&self, plugin: &str, breaker: &Breaker, when: &str) -> WasmError {
        WasmError::Unhealthy {
            plugin: plugin.to_string(),
            reason: format!(
                "crash loop: {} failures in a row (last: {}); {when}",
                self.failures.load(Ordering::Acquire),
                breaker.last_error
            ),
        }
    }

    /// A call admitted as `admission` succeeded.
    pub(crate) fn record_success(&self, admission: Admission) {
        if self.failures.load(Ordering::Acquire) != 0 {
            self.failures.store(0, Ordering::Release);
        }
        if admission == Admission::Probe {
            let mut breaker = self.lock();
            breaker.state = State::Closed;
            breaker.backoff = INITIAL_BACKOFF;
            self.tripped.store(false, Ordering::Release);
            self.report(GuardState::HalfOpen, GuardState::Closed);
            tracing::info!("wasm plugin recovered from a crash loop");
        }
    }

    /// A call admitted as `admission` failed with `err` at `now`.
    pub(crate) fn record_failure(
        &self,
        plugin: &str,
        admission: Admission,
        err: &WasmError,
        now: Instant,
    ) {
        if !breaks_instances(err) {
            // Not the plugin's fault: a probe that ends this way decides
            // nothing, so let the next call probe again.
            if admission == Admission::Probe {
                self.abandon_probe(now);
            }
            return;
        }
        self.record_breaking_failure(plugin, admission, err, now);
    }

    /// Counts `err` as a failure that broke the plugin, whatever its kind
    /// (a source's `run` that returned an error has stopped serving, even
    /// though the error is the guest's own).
    pub(crate) fn record_breaking_failure(
        &self,
        plugin: &str,
        admission: Admission,
        err: &WasmError,
        now: Instant,
    ) {
        let failures = self
            .failures
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        if admission == Admission::Probe {
            let mut breaker = self.lock();
            breaker.backoff = (breaker.backoff * 2).min(MAX_BACKOFF);
            let backoff = breaker.backoff;
            breaker.state = State::Open {
                until: now + backoff,
            };
            breaker.last_error = guest_text::summary(&error_chain(err));
            self.report(GuardState::HalfOpen, GuardState::Open);
            tracing::warn!(
                plugin,
                failures,
                backoff_ms = backoff.as_millis() as u64,
                error = %breaker.last_error,
                "wasm plugin probe failed; pausing it again"
            );
            return;
        }
        let mut breaker = self.lock();
        breaker.last_error = guest_text::summary(&error_chain(err));
        if failures < THRESHOLD || self.tripped.load(Ordering::Acquire) {
            return;
        }
        if matches!(breaker.state, State::Closed) {
            let backoff = breaker.backoff;
            breaker.state = State::Open {
                until: now + backoff,
            };
            self.tripped.store(true, Ordering::Release);
            self.report(GuardState::Closed, GuardState::Open);
            tracing::warn!(
                plugin,
                failures,
                backoff_ms = backoff.as_millis() as u64,
                error = %breaker.last_error,
                "wasm plugin keeps failing; pausing it"
            );
        }
    }

    /// The probe ended without an outcome (cancelled, or refused for a
    /// reason that is not the plugin's): the next call may probe at once.
    pub(crate) fn abandon_probe(&self, now: Instant) {
        let mut breaker = self.lock();
        if matches!(breaker.state, State::HalfOpen) {
            breaker.state = State::Open { until: now };
            self.report(GuardState::HalfOpen, GuardState::Open);
        }
    }

    fn report(&self, from: GuardState, to: GuardState) {
        if let Some(metrics) = &self.metrics {
            metrics.guard_changed(from, to);
        }
    }

    pub(crate) fn status(&self, now: Instant) -> GuardStatus {
        let failures = self.failures.load(Ordering::Acquire);
        if failures == 0 && !self.tripped.load(Ordering::Acquire) {
            return GuardStatus::Serving {
                failures,
                last: String::new(),
            };
        }
        let breaker = self.lock();
        let open = match breaker.state {
            State::Closed => false,
            State::Open { until } => now < until,
            State::HalfOpen => true,
        };
        if open {
            return GuardStatus::Open {
                reason: format!("{failures} failures in a row; last: {}", breaker.last_error),
            };
        }
        GuardStatus::Serving {
            failures,
            last: breaker.last_error.clone(),
        }
    }
}

/// Failures after which the instance is gone (as opposed to an error the
/// guest returned, a bad input, or a host that is out of capacity).
fn breaks_instances(err: &WasmError) -> bool {
    matches!(
        err,
        WasmError::Timeout { .. }
            | WasmError::OutOfMemory { .. }
            | WasmError::Trap { .. }
            | WasmError::GuestPanic { .. }
            | WasmError::ResourceLimit { .. }
            | WasmError::Init { .. }
            | WasmError::Instantiate { .. }
            | WasmError::Host { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trap() -> WasmError {
        WasmError::Trap {
            plugin: "p".into(),
            reason: crate::TrapReason::Unreachable,
        }
    }

    fn open(guard: &CrashGuard, now: Instant) {
        for _ in 0..THRESHOLD {
            let admission = guard.admit("p", now).unwrap();
            guard.record_failure("p", admission, &trap(), now);
        }
    }

    #[test]
    fn opens_after_the_threshold_and_a_probe_closes_it() {
        let t0 = Instant::now();
        let guard = CrashGuard::new();
        for _ in 0..THRESHOLD - 1 {
            guard.record_failure("p", Admission::Normal, &trap(), t0);
            assert_eq!(guard.admit("p", t0).unwrap(), Admission::Normal);
        }
        guard.record_failure("p", Admission::Normal, &trap(), t0);
        let err = guard.admit("p", t0).unwrap_err();
        assert!(err.to_string().contains("crash loop"), "{err}");
        assert!(matches!(guard.status(t0), GuardStatus::Open { .. }));

        let later = t0 + INITIAL_BACKOFF;
        assert!(guard.admit("p", later - Duration::from_millis(1)).is_err());
        assert_eq!(guard.admit("p", later).unwrap(), Admission::Probe);
        guard.record_success(Admission::Probe);
        assert_eq!(
            guard.status(later),
            GuardStatus::Serving {
                failures: 0,
                last: String::new()
            }
        );
        assert_eq!(guard.admit("p", later).unwrap(), Admission::Normal);
    }

    #[test]
    fn only_one_probe_while_half_open() {
        let t0 = Instant::now();
        let guard = CrashGuard::new();
        open(&guard, t0);
        let later = t0 + INITIAL_BACKOFF;
        assert_eq!(guard.admit("p", later).unwrap(), Admission::Probe);
        for _ in 0..10 {
            let err = guard.admit("p", later).unwrap_err();
            assert!(err.to_string().contains("probe"), "{err}");
        }
        assert!(matches!(guard.status(later), GuardStatus::Open { .. }));
    }

    #[test]
    fn a_failed_probe_doubles_the_back_off_a_burst_does_not() {
        let t0 = Instant::now();
        let guard = CrashGuard::new();
        open(&guard, t0);
        // A burst of failures from calls that were already running.
        for _ in 0..20 {
            guard.record_failure("p", Admission::Normal, &trap(), t0);
        }
        let t1 = t0 + INITIAL_BACKOFF;
        assert_eq!(guard.admit("p", t1).unwrap(), Admission::Probe);
        guard.record_failure("p", Admission::Probe, &trap(), t1);
        // Reopened for 2 s, not 30 s.
        assert!(guard.admit("p", t1 + Duration::from_millis(1999)).is_err());
        let t2 = t1 + 2 * INITIAL_BACKOFF;
        assert_eq!(guard.admit("p", t2).unwrap(), Admission::Probe);
        guard.record_failure("p", Admission::Probe, &trap(), t2);
        assert!(guard.admit("p", t2 + Duration::from_millis(3999)).is_err());
        assert_eq!(
            guard.admit("p", t2 + 4 * INITIAL_BACKOFF).unwrap(),
            Admission::Probe
        );
    }

    #[test]
    fn back_off_is_capped() {
        let mut now = Instant::now();
        let guard = CrashGuard::new();
        open(&guard, now);
        for _ in 0..10 {
            now += MAX_BACKOFF;
            assert_eq!(guard.admit("p", now).unwrap(), Admission::Probe);
            guard.record_failure("p", Admission::Probe, &trap(), now);
        }
        assert!(
            guard
                .admit("p", now + MAX_BACKOFF - Duration::from_millis(1))
                .is_err()
        );
        assert_eq!(
            guard.admit("p", now + MAX_BACKOFF).unwrap(),
            Admission::Probe
        );
    }

    #[test]
    fn an_abandoned_probe_lets_the_next_call_probe() {
        let t0 = Instant::now();
        let guard = CrashGuard::new();
        open(&guard, t0);
        let t1 = t0 + INITIAL_BACKOFF;
        assert_eq!(guard.admit("p", t1).unwrap(), Admission::Probe);
        guard.abandon_probe(t1);
        assert_eq!(guard.admit("p", t1).unwrap(), Admission::Probe);
    }

    #[test]
    fn guest_errors_and_capacity_do_not_count() {
        let now = Instant::now();
        let guard = CrashGuard::new();
        for _ in 0..10 {
            guard.record_failure(
                "p",
                Admission::Normal,
                &WasmError::Guest {
                    plugin: "p".into(),
                    error: crate::GuestError::Failed("no".into()),
                },
                now,
            );
            guard.record_failure(
                "p",
                Admission::Normal,
                &WasmError::Busy {
                    plugin: "p".into(),
                    reason: "pool full".into(),
                },
                now,
            );
        }
        assert_eq!(guard.admit("p", now).unwrap(), Admission::Normal);
    }
}
