//! Per-plugin metrics: counted on the call path with a few relaxed atomics,
//! handed to rust-camel's `MetricsCollector` in batches.
//!
//! A labelled observation through the collector (camel-prometheus, say)
//! costs hundreds of nanoseconds (name normalisation, label sorting, map
//! lookups), too much for a path that takes a few microseconds. So each
//! endpoint, bean, policy or source keeps its own counters and latency
//! buckets here, and a background task flushes them every interval (and
//! once more when the plugin goes away): counters as one `record_counter`
//! per label set, and the latency histogram by replaying each bucket's
//! count with the mean of its observations (exact counts per bucket and an
//! exact sum, since rust-camel's collector takes one observation per call).
//!
//! Labels are fixed per plugin (`plugin`, `kind`, `route`) plus one closed
//! set per metric (`outcome`, `class`, `reason`, ...): never an exchange id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use camel_api::MetricsCollector;

use crate::error::{ERROR_CLASSES, WasmError};

/// How often counted metrics are handed to the collector, by default.
pub(crate) const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Upper bounds (seconds) of the latency buckets: the buckets
/// camel-prometheus gives every dynamic histogram.
const LATENCY_BOUNDS_SECS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// The same bounds in nanoseconds, for the call path.
const LATENCY_BOUNDS_NANOS: [u64; 12] = [
    1_000_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];
/// Buckets, with the one above the last bound.
const LATENCY_SLOTS: usize = LATENCY_BOUNDS_NANOS.len() + 1;

/// Why an instance was let go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Discard {
    /// A call on it failed (trap, timeout, limit, panic).
    Failed,
    /// `isolation=exchange` or `recycle-after` retired it.
    Retired,
    /// It idled longer than `idle-timeout`.
    Idle,
    /// Its call was cancelled midway.
    Abandoned,
    /// The endpoint (or bean, policy) went away.
    Closed,
}

const DISCARD_REASONS: [&str; 5] = ["failed", "retired", "idle", "abandoned", "closed"];

/// What stopped a guest at its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interruption {
    /// The epoch deadline interrupted a computing guest.
    Epoch,
    /// The wall-clock timer stopped a guest waiting in a host call.
    WallClock,
}

const INTERRUPTION_CAUSES: [&str; 2] = ["epoch", "wall_clock"];

/// A state-store operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateOp {
    Load,
    Store,
    Increment,
    CompareAndSet,
}

const STATE_OPS: [&str; 4] = ["load", "store", "increment", "compare_and_set"];

/// How a state-store operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StateOutcome {
    Ok,
    /// Refused: read-only state.
    Denied,
    /// Refused: a size or count cap.
    Limit,
    /// The stored value is not what the operation needs.
    Type,
    /// The request was unusable.
    Invalid,
    /// The backend failed or could not be reached.
    Io,
    /// The backend did not answer in time.
    Timeout,
}

const STATE_OUTCOMES: [&str; 7] = ["ok", "denied", "limit", "type", "invalid", "io", "timeout"];

/// The crash guard's states, as rust-camel's circuit-breaker metrics name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GuardState {
    Closed,
    Open,
    HalfOpen,
}

impl GuardState {
    fn name(self) -> &'static str {
        match self {
            GuardState::Closed => "closed",
            GuardState::Open => "open",
            GuardState::HalfOpen => "half_open",
        }
    }
}

/// Who a plugin's metrics are about.
#[derive(Debug, Clone)]
pub(crate) struct MetricLabels {
    /// The module path, or the bean's or policy's name.
    pub(crate) plugin: Arc<str>,
    /// `processor`, `bean`, `policy` or `source`.
    pub(crate) kind: &'static str,
    /// The route the endpoint belongs to; empty for beans and policies,
    /// which serve any route.
    pub(crate) route: Arc<str>,
}

/// The metrics of one endpoint, bean, policy or source.
pub(crate) struct PluginMetrics {
    collector: Arc<dyn MetricsCollector>,
    labels: MetricLabels,
    /// `max-memory`, to express memory use as a fraction of it.
    max_memory: u64,
    /// `memory` or `redis`.
    state_backend: &'static str,
    calls_ok: AtomicU64,
    errors: [AtomicU64; ERROR_CLASSES.len()],
    latency_counts: [AtomicU64; LATENCY_SLOTS],
    latency_nanos: [AtomicU64; LATENCY_SLOTS],
    created: AtomicU64,
    discarded: [AtomicU64; DISCARD_REASONS.len()],
    interruptions: [AtomicU64; INTERRUPTION_CAUSES.len()],
    /// The most memory (bytes) an instance held after a call since the
    /// last flush.
    memory_peak: AtomicU64,
    state_ops: [[AtomicU64; STATE_OUTCOMES.len()]; STATE_OPS.len()],
}

impl std::fmt::Debug for PluginMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginMetrics")
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

impl PluginMetrics {
    /// Metrics for one plugin, flushed to `collector` every `interval` by a
    /// background task (inside a tokio runtime) and when dropped.
    pub(crate) fn start(
        collector: Arc<dyn MetricsCollector>,
        labels: MetricLabels,
        max_memory: u64,
        state_backend: &'static str,
        interval: Duration,
    ) -> Arc<Self> {
        let metrics = Arc::new(PluginMetrics {
            collector,
            labels,
            max_memory: max_memory.max(1),
            state_backend,
            calls_ok: AtomicU64::new(0),
            errors: std::array::from_fn(|_| AtomicU64::new(0)),
            latency_counts: std::array::from_fn(|_| AtomicU64::new(0)),
            latency_nanos: std::array::from_fn(|_| AtomicU64::new(0)),
            created: AtomicU64::new(0),
            discarded: std::array::from_fn(|_| AtomicU64::new(0)),
            interruptions: std::array::from_fn(|_| AtomicU64::new(0)),
            memory_peak: AtomicU64::new(0),
            state_ops: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
        });
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(flush_periodically(Arc::downgrade(&metrics), interval));
        }
        metrics
    }

    /// One finished guest call: how long it took and how it ended.
    pub(crate) fn call(&self, elapsed: Duration, error: Option<&WasmError>) {
        match error {
            None => self.calls_ok.fetch_add(1, Ordering::Relaxed),
            Some(err) => self.errors[err.class_index()].fetch_add(1, Ordering::Relaxed),
        };
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let slot = LATENCY_BOUNDS_NANOS
            .iter()
            .position(|bound| nanos <= *bound)
            .unwrap_or(LATENCY_SLOTS - 1);
        // Sum before count: a flush that sees the count sees its time.
        self.latency_nanos[slot].fetch_add(nanos, Ordering::Relaxed);
        self.latency_counts[slot].fetch_add(1, Ordering::Relaxed);
    }

    /// An instance holds `bytes` of memory and tables after a call.
    pub(crate) fn memory(&self, bytes: usize) {
        let bytes = bytes as u64;
        if bytes > self.memory_peak.load(Ordering::Relaxed) {
            self.memory_peak.fetch_max(bytes, Ordering::Relaxed);
        }
    }

    /// A fresh instance was made ready.
    pub(crate) fn instance_created(&self) {
        self.created.fetch_add(1, Ordering::Relaxed);
    }

    /// `count` instances were let go for `reason`.
    pub(crate) fn instances_discarded(&self, reason: Discard, count: usize) {
        self.discarded[reason as usize].fetch_add(count as u64, Ordering::Relaxed);
    }

    /// A guest was stopped at its deadline.
    pub(crate) fn interrupted(&self, cause: Interruption) {
        self.interruptions[cause as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A state-store operation ended.
    pub(crate) fn state_op(&self, op: StateOp, outcome: StateOutcome) {
        self.state_ops[op as usize][outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The crash guard moved from `from` to `to`. Rare, so reported at
    /// once: as a transition counter and as rust-camel's circuit-breaker
    /// state (`camel_circuit_breaker_state`).
    pub(crate) fn guard_changed(&self, from: GuardState, to: GuardState) {
        let labels = self.labels();
        self.collector.record_counter(
            "camel_wasm_crash_guard_transitions_total",
            1.0,
            &with(&labels, ("to", to.name())),
        );
        self.collector
            .record_circuit_breaker_change(&self.breaker_name(), from.name(), to.name());
    }

    /// The name the crash guard goes by in rust-camel's circuit-breaker
    /// metrics (their `route` label): the route and the plugin.
    fn breaker_name(&self) -> String {
        let MetricLabels {
            plugin,
            kind,
            route,
        } = &self.labels;
        if route.is_empty() {
            format!("wasm-{kind}:{plugin}")
        } else {
            format!("{route}/wasm:{plugin}")
        }
    }

    fn labels(&self) -> [(&'static str, &str); 3] {
        [
            ("plugin", &self.labels.plugin),
            ("kind", self.labels.kind),
            ("route", &self.labels.route),
        ]
    }

    /// Hands everything counted since the last flush to the collector.
    pub(crate) fn flush(&self) {
        let labels = self.labels();
        let collector = &*self.collector;
        let counter = |name: &str, value: u64, extra: (&'static str, &str)| {
            if value > 0 {
                collector.record_counter(name, value as f64, &with(&labels, extra));
            }
        };
        counter(
            "camel_wasm_calls_total",
            take(&self.calls_ok),
            ("outcome", "ok"),
        );
        let mut failed = 0;
        for (class, count) in ERROR_CLASSES.iter().zip(&self.errors) {
            let count = take(count);
            failed += count;
            counter("camel_wasm_call_errors_total", count, ("class", class));
        }
        counter("camel_wasm_calls_total", failed, ("outcome", "error"));
        self.flush_latency(&labels);
        let created = take(&self.created);
        if created > 0 {
            collector.record_counter(
                "camel_wasm_instances_created_total",
                created as f64,
                &labels,
            );
        }
        for (reason, count) in DISCARD_REASONS.iter().zip(&self.discarded) {
            counter(
                "camel_wasm_instances_discarded_total",
                take(count),
                ("reason", reason),
            );
        }
        for (cause, count) in INTERRUPTION_CAUSES.iter().zip(&self.interruptions) {
            counter(
                "camel_wasm_interruptions_total",
                take(count),
                ("cause", cause),
            );
        }
        let peak = take(&self.memory_peak);
        if peak > 0 {
            collector.record_histogram(
                "camel_wasm_guest_memory_peak_ratio",
                peak as f64 / self.max_memory as f64,
                &labels,
            );
        }
        for (op, outcomes) in STATE_OPS.iter().zip(&self.state_ops) {
            for (outcome, count) in STATE_OUTCOMES.iter().zip(outcomes) {
                let count = take(count);
                if count > 0 {
                    let [plugin, kind, route] = labels;
                    collector.record_counter(
                        "camel_wasm_state_ops_total",
                        count as f64,
                        &[
                            plugin,
                            kind,
                            route,
                            ("backend", self.state_backend),
                            ("op", op),
                            ("outcome", outcome),
                        ],
                    );
                }
            }
        }
    }

    /// Replays each latency bucket: its count, each at the mean of its
    /// observations (kept inside the bucket's bounds).
    fn flush_latency(&self, labels: &[(&'static str, &str); 3]) {
        for slot in 0..LATENCY_SLOTS {
            let count = take(&self.latency_counts[slot]);
            if count == 0 {
                continue;
            }
            let nanos = take(&self.latency_nanos[slot]);
            let lower = slot
                .checked_sub(1)
                .map_or(0.0, |below| LATENCY_BOUNDS_SECS[below]);
            let upper = LATENCY_BOUNDS_SECS
                .get(slot)
                .copied()
                .unwrap_or(f64::INFINITY);
            let mean = (nanos as f64 / count as f64 / 1e9).clamp(next_up(lower), upper);
            for _ in 0..count {
                self.collector
                    .record_histogram("camel_wasm_call_duration_seconds", mean, labels);
            }
        }
    }
}

impl Drop for PluginMetrics {
    fn drop(&mut self) {
        self.flush();
    }
}

/// The labels plus one more.
fn with<'a>(
    labels: &[(&'static str, &'a str); 3],
    extra: (&'static str, &'a str),
) -> [(&'static str, &'a str); 4] {
    let [a, b, c] = *labels;
    [a, b, c, extra]
}

fn take(counter: &AtomicU64) -> u64 {
    counter.swap(0, Ordering::Relaxed)
}

/// The smallest value above a bucket's lower bound (which belongs to the
/// bucket below).
fn next_up(x: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else {
        f64::from_bits(x.to_bits() + 1)
    }
}

/// Flushes `metrics` every `interval` until it is gone.
async fn flush_periodically(metrics: Weak<PluginMetrics>, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(metrics) = metrics.upgrade() else {
            break;
        };
        metrics.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Name, value and labels of one observation.
    type Observation = (String, f64, Vec<(String, String)>);

    /// Every observation the collector was given, as text.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Observation>>);

    impl MetricsCollector for Recorder {
        fn record_exchange_duration(&self, _: &str, _: Duration) {}
        fn increment_errors(&self, _: &str, _: &str) {}
        fn increment_exchanges(&self, _: &str) {}
        fn set_queue_depth(&self, _: &str, _: usize) {}
        fn record_circuit_breaker_change(&self, route: &str, _from: &str, to: &str) {
            self.push("circuit_breaker", 0.0, &[("route", route), ("to", to)]);
        }
        fn record_counter(&self, name: &str, value: f64, labels: &[(&str, &str)]) {
            self.push(name, value, labels);
        }
        fn record_histogram(&self, name: &str, value: f64, labels: &[(&str, &str)]) {
            self.push(name, value, labels);
        }
    }

    impl Recorder {
        fn push(&self, name: &str, value: f64, labels: &[(&str, &str)]) {
            let labels = labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            self.0
                .lock()
                .unwrap()
                .push((name.to_string(), value, labels));
        }

        fn values(&self, name: &str) -> Vec<f64> {
            let seen = self.0.lock().unwrap();
            seen.iter()
                .filter(|(n, _, _)| n == name)
                .map(|(_, v, _)| *v)
                .collect()
        }

        fn value_with(&self, name: &str, key: &str, value: &str) -> f64 {
            let seen = self.0.lock().unwrap();
            seen.iter()
                .filter(|(n, _, labels)| {
                    n == name && labels.iter().any(|(k, v)| k == key && v == value)
                })
                .map(|(_, v, _)| *v)
                .sum()
        }
    }

    fn metrics(recorder: &Arc<Recorder>) -> Arc<PluginMetrics> {
        PluginMetrics::start(
            recorder.clone(),
            MetricLabels {
                plugin: Arc::from("echo.wasm"),
                kind: "processor",
                route: Arc::from("r1"),
            },
            1 << 20,
            "memory",
            Duration::from_secs(3600),
        )
    }

    fn timeout() -> WasmError {
        WasmError::Timeout {
            plugin: "echo.wasm".to_string(),
            timeout_secs: 1.0,
        }
    }

    #[test]
    fn counters_are_flushed_as_deltas_with_bounded_labels() {
        let recorder = Arc::new(Recorder::default());
        let m = metrics(&recorder);
        for _ in 0..5 {
            m.call(Duration::from_micros(4), None);
        }
        m.call(Duration::from_micros(4), Some(&timeout()));
        m.flush();
        m.call(Duration::from_micros(4), None);
        m.flush();
        m.flush();
        assert_eq!(recorder.values("camel_wasm_call_errors_total"), [1.0]);
        assert_eq!(
            recorder.value_with("camel_wasm_calls_total", "outcome", "ok"),
            6.0
        );
        assert_eq!(
            recorder.value_with("camel_wasm_call_errors_total", "class", "timeout"),
            1.0
        );
        let seen = recorder.0.lock().unwrap();
        for (_, _, labels) in seen.iter() {
            let keys: Vec<&str> = labels.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(&keys[..3], ["plugin", "kind", "route"]);
        }
    }

    #[test]
    fn the_latency_replay_keeps_bucket_counts_and_the_sum() {
        let recorder = Arc::new(Recorder::default());
        let m = metrics(&recorder);
        let observed = [
            Duration::from_micros(3),
            Duration::from_micros(5),
            Duration::from_millis(1),
            Duration::from_millis(3),
            Duration::from_millis(7),
            Duration::from_secs(20),
        ];
        for d in observed {
            m.call(d, None);
        }
        m.flush();
        let replayed = recorder.values("camel_wasm_call_duration_seconds");
        assert_eq!(replayed.len(), observed.len());
        let bucket = |v: f64| LATENCY_BOUNDS_SECS.iter().position(|b| v <= *b);
        let mut want: Vec<_> = observed.iter().map(|d| bucket(d.as_secs_f64())).collect();
        let mut got: Vec<_> = replayed.iter().map(|v| bucket(*v)).collect();
        want.sort();
        got.sort();
        assert_eq!(got, want);
        let sum: f64 = replayed.iter().sum();
        let want_sum: f64 = observed.iter().map(Duration::as_secs_f64).sum();
        assert!((sum - want_sum).abs() < 1e-9, "{sum} vs {want_sum}");
    }

    #[test]
    fn memory_peak_is_a_fraction_of_max_memory() {
        let recorder = Arc::new(Recorder::default());
        let m = metrics(&recorder);
        m.memory(1 << 18);
        m.memory(1 << 19);
        m.memory(1 << 17);
        m.flush();
        m.flush();
        assert_eq!(recorder.values("camel_wasm_guest_memory_peak_ratio"), [0.5]);
    }

    #[test]
    fn guard_changes_are_reported_at_once() {
        let recorder = Arc::new(Recorder::default());
        let m = metrics(&recorder);
        m.guard_changed(GuardState::Closed, GuardState::Open);
        assert_eq!(
            recorder.value_with("camel_wasm_crash_guard_transitions_total", "to", "open"),
            1.0
        );
        assert_eq!(
            recorder.value_with("circuit_breaker", "route", "r1/wasm:echo.wasm"),
            0.0
        );
        assert_eq!(recorder.values("circuit_breaker").len(), 1);
    }

    #[test]
    fn what_is_left_is_flushed_when_the_plugin_goes_away() {
        let recorder = Arc::new(Recorder::default());
        let m = metrics(&recorder);
        m.state_op(StateOp::Increment, StateOutcome::Io);
        m.instance_created();
        m.instances_discarded(Discard::Idle, 2);
        m.interrupted(Interruption::WallClock);
        drop(m);
        assert_eq!(
            recorder.value_with("camel_wasm_state_ops_total", "outcome", "io"),
            1.0
        );
        assert_eq!(recorder.values("camel_wasm_instances_created_total"), [1.0]);
        assert_eq!(
            recorder.value_with("camel_wasm_instances_discarded_total", "reason", "idle"),
            2.0
        );
        assert_eq!(
            recorder.value_with("camel_wasm_interruptions_total", "cause", "wall_clock"),
            1.0
        );
    }
}
