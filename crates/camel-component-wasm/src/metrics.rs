//! Per-plugin metrics: counted on the call path with a few relaxed atomics,
//! handed to rust-camel's `MetricsCollector` in batches.
//!
//! A labelled observation through the collector (camel-prometheus, say)
//! costs about a microsecond (name normalisation, label sorting, map
//! lookups), too much for a path that takes a few. So each endpoint, bean,
//! policy or source counts here, in per-thread shards (so parallel calls do
//! not fight over one cache line), and a background task hands the counts
//! over every interval (and once more when the plugin goes away), one
//! `record_counter` per series with the delta since the last flush.
//!
//! The latency histogram goes over the same way, as the series of a
//! Prometheus histogram: a cumulative counter per bucket
//! (`camel_wasm_call_duration_seconds_bucket{le=…}`) and a
//! `camel_wasm_call_duration_seconds_count`, with the time spent in
//! `camel_wasm_call_duration_microseconds_total` (counters take whole
//! numbers). Replaying each observation through `record_histogram` would
//! cost a microsecond per call; this costs a few dozen calls per flush,
//! whatever the traffic. `histogram_quantile` works on the buckets as on
//! any histogram's.
//!
//! Labels are fixed per plugin (`plugin`, `kind`, `route`) plus one closed
//! set per metric (`outcome`, `class`, `le`, ...): never an exchange id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use camel_api::MetricsCollector;

use crate::error::{ERROR_CLASSES, WasmError};

/// How often counted metrics are handed to the collector, by default.
pub(crate) const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Upper bounds of the latency buckets, in nanoseconds, and as the `le`
/// label: from 10 µs (a call into a small plugin takes a few) to 30 s.
const LATENCY_BUCKETS: [(u64, &str); 20] = [
    (10_000, "0.00001"),
    (25_000, "0.000025"),
    (50_000, "0.00005"),
    (100_000, "0.0001"),
    (250_000, "0.00025"),
    (500_000, "0.0005"),
    (1_000_000, "0.001"),
    (2_500_000, "0.0025"),
    (5_000_000, "0.005"),
    (10_000_000, "0.01"),
    (25_000_000, "0.025"),
    (50_000_000, "0.05"),
    (100_000_000, "0.1"),
    (250_000_000, "0.25"),
    (500_000_000, "0.5"),
    (1_000_000_000, "1"),
    (2_500_000_000, "2.5"),
    (5_000_000_000, "5"),
    (10_000_000_000, "10"),
    (30_000_000_000, "30"),
];
/// Buckets, with the one above the last bound (`+Inf`).
const LATENCY_SLOTS: usize = LATENCY_BUCKETS.len() + 1;

/// Shards of the per-call counters; a thread always uses the same one.
const SHARDS: usize = 8;

/// The counters every call touches, one set per shard, each on its own
/// cache lines.
#[repr(align(128))]
struct CallShard {
    ok: AtomicU64,
    errors: [AtomicU64; ERROR_CLASSES.len()],
    latency: [AtomicU64; LATENCY_SLOTS],
    nanos: AtomicU64,
}

impl CallShard {
    fn new() -> Self {
        CallShard {
            ok: AtomicU64::new(0),
            errors: std::array::from_fn(|_| AtomicU64::new(0)),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
            nanos: AtomicU64::new(0),
        }
    }
}

/// This thread's shard.
fn shard_index() -> usize {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static SHARD: usize = (NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS as u64) as usize;
    }
    SHARD.with(|shard| *shard)
}

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
    calls: Box<[CallShard; SHARDS]>,
    /// Nanoseconds of call time not yet handed over as whole microseconds.
    nanos_carry: AtomicU64,
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
            calls: Box::new(std::array::from_fn(|_| CallShard::new())),
            nanos_carry: AtomicU64::new(0),
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
        let shard = &self.calls[shard_index()];
        match error {
            None => shard.ok.fetch_add(1, Ordering::Relaxed),
            Some(err) => shard.errors[err.class_index()].fetch_add(1, Ordering::Relaxed),
        };
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let slot = LATENCY_BUCKETS
            .iter()
            .position(|(bound, _)| nanos <= *bound)
            .unwrap_or(LATENCY_SLOTS - 1);
        shard.latency[slot].fetch_add(1, Ordering::Relaxed);
        shard.nanos.fetch_add(nanos, Ordering::Relaxed);
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
        let mut ok = 0;
        let mut errors = [0u64; ERROR_CLASSES.len()];
        let mut latency = [0u64; LATENCY_SLOTS];
        let mut nanos = self.nanos_carry.swap(0, Ordering::Relaxed);
        for shard in self.calls.iter() {
            ok += take(&shard.ok);
            for (sum, count) in errors.iter_mut().zip(&shard.errors) {
                *sum += take(count);
            }
            for (sum, count) in latency.iter_mut().zip(&shard.latency) {
                *sum += take(count);
            }
            nanos = nanos.saturating_add(take(&shard.nanos));
        }
        counter("camel_wasm_calls_total", ok, ("outcome", "ok"));
        for (class, count) in ERROR_CLASSES.iter().zip(errors) {
            counter("camel_wasm_call_errors_total", count, ("class", class));
        }
        counter(
            "camel_wasm_calls_total",
            errors.iter().sum(),
            ("outcome", "error"),
        );
        let calls: u64 = latency.iter().sum();
        if calls > 0 {
            // Cumulative, every bucket (a histogram's series all move together).
            let mut below = 0;
            for ((_, le), count) in LATENCY_BUCKETS.iter().zip(latency) {
                below += count;
                collector.record_counter(
                    "camel_wasm_call_duration_seconds_bucket",
                    below as f64,
                    &with(&labels, ("le", le)),
                );
            }
            collector.record_counter(
                "camel_wasm_call_duration_seconds_bucket",
                calls as f64,
                &with(&labels, ("le", "+Inf")),
            );
            collector.record_counter(
                "camel_wasm_call_duration_seconds_count",
                calls as f64,
                &labels,
            );
        }
        let micros = nanos / 1_000;
        self.nanos_carry.fetch_add(nanos % 1_000, Ordering::Relaxed);
        if micros > 0 {
            collector.record_counter(
                "camel_wasm_call_duration_microseconds_total",
                micros as f64,
                &labels,
            );
        }
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
    fn latency_goes_over_as_cumulative_buckets_count_and_time() {
        let recorder = Arc::new(Recorder::default());
        let m = metrics(&recorder);
        for d in [
            Duration::from_micros(3),
            Duration::from_micros(5),
            Duration::from_micros(1_500),
            Duration::from_millis(3),
            Duration::from_secs(40),
        ] {
            m.call(d, None);
        }
        m.flush();
        let bucket =
            |le: &str| recorder.value_with("camel_wasm_call_duration_seconds_bucket", "le", le);
        assert_eq!(bucket("0.00001"), 2.0);
        assert_eq!(bucket("0.001"), 2.0);
        assert_eq!(bucket("0.0025"), 3.0);
        assert_eq!(bucket("0.005"), 4.0);
        assert_eq!(bucket("30"), 4.0);
        assert_eq!(bucket("+Inf"), 5.0);
        assert_eq!(
            recorder.values("camel_wasm_call_duration_seconds_count"),
            [5.0]
        );
        // 40 004 508 µs, whole microseconds; the 0 ns left over carry on.
        assert_eq!(
            recorder.values("camel_wasm_call_duration_microseconds_total"),
            [40_004_508.0]
        );
        // Counts from several threads land in one flush.
        let m2 = m.clone();
        std::thread::spawn(move || m2.call(Duration::from_nanos(1_500), None))
            .join()
            .unwrap();
        m.call(Duration::from_nanos(600), None);
        m.flush();
        assert_eq!(
            recorder.values("camel_wasm_call_duration_seconds_count"),
            [5.0, 2.0]
        );
        assert_eq!(
            recorder.values("camel_wasm_call_duration_microseconds_total"),
            [40_004_508.0, 2.0]
        );
        m.call(Duration::from_nanos(900), None);
        m.flush();
        // 100 ns carried plus 900: one more microsecond.
        assert_eq!(
            recorder.values("camel_wasm_call_duration_microseconds_total"),
            [40_004_508.0, 2.0, 1.0]
        );
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
