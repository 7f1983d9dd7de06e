//! Crash-loop protection for one endpoint or bean entry.
//!
//! Every instance-breaking failure (trap, timeout, out of memory, panic,
//! failed `init`) counts; a success resets the count. After
//! [`CRASH_LOOP_THRESHOLD`] failures in a row the endpoint stops creating
//! instances and fails exchanges at once with `Unhealthy`, for a back-off
//! that doubles on every relapse (1 s up to 30 s). When it has passed, the
//! next exchange is let through as a probe: a success closes the guard.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::error::WasmError;

/// Consecutive failures that open the guard.
pub const CRASH_LOOP_THRESHOLD: u32 = 5;
/// First back-off once the guard opens.
pub const CRASH_LOOP_INITIAL_BACKOFF: Duration = Duration::from_secs(1);
/// Longest back-off.
pub const CRASH_LOOP_MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Health of an endpoint as the guard sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GuardStatus {
    /// Serving; `failures` in a row so far.
    Serving { failures: u32 },
    /// Refusing exchanges until the back-off has passed.
    Open { reason: String },
}

#[derive(Debug)]
struct OpenState {
    until: Option<Instant>,
    backoff: Duration,
    last_error: String,
}

/// Counts failures in a row; cheap on the success path (one atomic load).
#[derive(Debug)]
pub(crate) struct CrashGuard {
    failures: AtomicU32,
    open: Mutex<OpenState>,
}

impl CrashGuard {
    pub(crate) fn new() -> Self {
        CrashGuard {
            failures: AtomicU32::new(0),
            open: Mutex::new(OpenState {
                until: None,
                backoff: CRASH_LOOP_INITIAL_BACKOFF,
                last_error: String::new(),
            }),
        }
    }

    /// Whether an exchange may run now.
    pub(crate) fn admit(&self, plugin: &str) -> Result<(), WasmError> {
        if self.failures.load(Ordering::Acquire) < CRASH_LOOP_THRESHOLD {
            return Ok(());
        }
        let state = self.open.lock().unwrap_or_else(|p| p.into_inner());
        match state.until {
            Some(until) if Instant::now() < until => Err(WasmError::Unhealthy {
                plugin: plugin.to_string(),
                reason: format!(
                    "crash loop: {} failures in a row (last: {}); next attempt in {} ms",
                    self.failures.load(Ordering::Acquire),
                    state.last_error,
                    until.saturating_duration_since(Instant::now()).as_millis()
                ),
            }),
            // Back-off over: let this one through as a probe.
            _ => Ok(()),
        }
    }

    pub(crate) fn record_success(&self) {
        if self.failures.load(Ordering::Acquire) != 0 {
            self.failures.store(0, Ordering::Release);
            let mut state = self.open.lock().unwrap_or_else(|p| p.into_inner());
            if state.until.take().is_some() {
                tracing::info!("wasm plugin recovered from a crash loop");
            }
            state.backoff = CRASH_LOOP_INITIAL_BACKOFF;
        }
    }

    /// Counts `err` if it broke an instance.
    pub(crate) fn record_failure(&self, plugin: &str, err: &WasmError) {
        if !breaks_instances(err) {
            return;
        }
        let failures = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
        if failures < CRASH_LOOP_THRESHOLD {
            return;
        }
        let mut state = self.open.lock().unwrap_or_else(|p| p.into_inner());
        state.last_error = err.to_string();
        let backoff = state.backoff;
        state.until = Some(Instant::now() + backoff);
        state.backoff = (backoff * 2).min(CRASH_LOOP_MAX_BACKOFF);
        tracing::warn!(
            plugin,
            failures,
            backoff_ms = backoff.as_millis() as u64,
            error = %err,
            "wasm plugin keeps failing; pausing it"
        );
    }

    pub(crate) fn status(&self) -> GuardStatus {
        let failures = self.failures.load(Ordering::Acquire);
        if failures >= CRASH_LOOP_THRESHOLD {
            let state = self.open.lock().unwrap_or_else(|p| p.into_inner());
            if state.until.is_some_and(|until| Instant::now() < until) {
                return GuardStatus::Open {
                    reason: format!("{failures} failures in a row; last: {}", state.last_error),
                };
            }
        }
        GuardStatus::Serving { failures }
    }
}

/// Failures after which the instance is gone (as opposed to an error the
/// guest returned, or a bad input).
fn breaks_instances(err: &WasmError) -> bool {
    matches!(
        err,
        WasmError::Timeout { .. }
            | WasmError::OutOfMemory { .. }
            | WasmError::Trap { .. }
            | WasmError::GuestPanic { .. }
            | WasmError::Unhealthy { .. }
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

    #[test]
    fn opens_after_the_threshold_and_resets_on_success() {
        let guard = CrashGuard::new();
        for _ in 0..CRASH_LOOP_THRESHOLD - 1 {
            guard.record_failure("p", &trap());
            assert!(guard.admit("p").is_ok());
        }
        guard.record_failure("p", &trap());
        let err = guard.admit("p").unwrap_err();
        assert!(err.to_string().contains("crash loop"), "{err}");
        assert!(matches!(guard.status(), GuardStatus::Open { .. }));

        // Pretend the back-off passed: the probe is admitted, a success closes.
        guard.open.lock().unwrap().until = Some(Instant::now());
        assert!(guard.admit("p").is_ok());
        guard.record_success();
        assert_eq!(guard.status(), GuardStatus::Serving { failures: 0 });
        assert_eq!(
            guard.open.lock().unwrap().backoff,
            CRASH_LOOP_INITIAL_BACKOFF
        );
    }

    #[test]
    fn guest_errors_do_not_count() {
        let guard = CrashGuard::new();
        for _ in 0..10 {
            guard.record_failure(
                "p",
                &WasmError::Guest {
                    plugin: "p".into(),
                    error: crate::GuestError::Failed("no".into()),
                },
            );
        }
        assert!(guard.admit("p").is_ok());
    }

    #[test]
    fn back_off_doubles_up_to_the_cap() {
        let guard = CrashGuard::new();
        for _ in 0..(CRASH_LOOP_THRESHOLD + 10) {
            guard.record_failure("p", &trap());
        }
        assert_eq!(guard.open.lock().unwrap().backoff, CRASH_LOOP_MAX_BACKOFF);
    }
}
