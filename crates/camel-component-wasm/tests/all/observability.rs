//! Observability: metrics scraped from a real camel-prometheus server,
//! spans captured by a test subscriber, and the crash guard in health and
//! metrics.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use camel_api::{Exchange, Message, MetricsCollector};
use camel_builder::StepAccumulator;
use camel_component_direct::DirectComponent;
use camel_component_mock::MockComponent;
use camel_component_wasm::WasmComponent;
use camel_component_wasm::test_support::CRASH_LOOP_THRESHOLD;
use camel_core::{CamelContext, RegistryComponentContext};
use camel_prometheus::{MetricsServer, PrometheusMetrics};
use camel_wasm_test_artifacts as guests;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use crate::support::{TestContext, endpoint, guest_dir, send_direct, shared_runtime, wasm_uri};

/// A context reporting to camel-prometheus, with its `/metrics` served on
/// 127.0.0.1, and routes `direct:<id>` → `wasm:<guest>` → `mock:<id>`.
struct Scraped {
    ctx: CamelContext,
    url: String,
    component: WasmComponent,
}

impl Scraped {
    async fn new(routes: &[(&str, &str)]) -> Self {
        let prometheus = Arc::new(PrometheusMetrics::new());
        let mut ctx = CamelContext::builder()
            .metrics(prometheus.clone())
            .build()
            .await
            .expect("context");
        let registry = Arc::new(RegistryComponentContext::new(
            ctx.registry_arc(),
            Some(ctx.metrics()),
            false,
        ));
        let component = WasmComponent::builder(guest_dir())
            .runtime(shared_runtime())
            .context(registry)
            .metrics_interval(Duration::from_millis(20))
            .build()
            .expect("component");
        ctx.register_component(component.clone());
        ctx.register_component(DirectComponent::new());
        ctx.register_component(MockComponent::new());
        for (id, guest) in routes {
            let def = camel_builder::RouteBuilder::from(&format!("direct:{id}"))
                .route_id(*id)
                .to(wasm_uri(guest, ""))
                .to(format!("mock:{id}"))
                .build()
                .expect("route");
            ctx.add_route_definition(def).await.expect("add route");
        }
        ctx.start().await.expect("start");

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the metrics port");
        let url = format!("http://{}/metrics", listener.local_addr().unwrap());
        tokio::spawn(MetricsServer::run_with_listener(listener, prometheus));
        Scraped {
            ctx,
            url,
            component,
        }
    }

    async fn send(&self, id: &str, body: &str) -> Result<Exchange, camel_api::CamelError> {
        let exchange = Exchange::new_in_out(Message::new(body));
        send_direct(&self.ctx, &format!("direct:{id}"), exchange).await
    }

    /// Scrapes until `done` holds for the samples (the wasm metrics are
    /// flushed every 20 ms), or fails after 10 s showing the last scrape.
    async fn scrape_until(&self, done: impl Fn(&Samples) -> bool) -> Samples {
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let text = client
                .get(&self.url)
                .send()
                .await
                .expect("GET /metrics")
                .text()
                .await
                .expect("metrics text");
            let samples = Samples::parse(&text);
            if done(&samples) {
                return samples;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "metrics never got there; last scrape:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A Prometheus text exposition, as (name, labels) → value.
struct Samples(Vec<(String, BTreeMap<String, String>, f64)>);

impl Samples {
    fn parse(text: &str) -> Self {
        let mut samples = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line.rsplit_once(' ').expect("sample line");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').expect("label pair");
                    (k.to_string(), v.trim_matches('"').to_string())
                })
                .collect();
            samples.push((name.to_string(), labels, value.parse().expect("value")));
        }
        Samples(samples)
    }

    /// The value of `name` whose labels include all of `labels` (summed
    /// over the series that match).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| *v)
            .sum()
    }

    fn all(&self, name: &str) -> impl Iterator<Item = &BTreeMap<String, String>> {
        self.0
            .iter()
            .filter(move |(n, ..)| n == name)
            .map(|(_, l, _)| l)
    }
}

fn plugin(guest: &str) -> String {
    wasm_uri(guest, "").trim_start_matches("wasm:").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_shows_calls_errors_latency_instances_and_state() {
    let t = Scraped::new(&[
        ("ok", guests::ECHO),
        ("fail", guests::FAILING),
        ("trap", guests::UNREACHABLE),
        ("state", guests::STATE_OPS),
    ])
    .await;
    for _ in 0..12 {
        t.send("ok", "hello").await.expect("echo");
    }
    for _ in 0..3 {
        t.send("fail", "x").await.expect_err("failing guest");
    }
    for _ in 0..2 {
        t.send("trap", "trap").await.expect_err("trap");
    }
    t.send("trap", "ok").await.expect("the next exchange works");
    for _ in 0..4 {
        let mut m = Message::new("x");
        m.set_header("op", "increment");
        m.set_header("key", "hits");
        send_direct(&t.ctx, "direct:state", Exchange::new_in_out(m))
            .await
            .expect("increment");
    }

    let echo = plugin(guests::ECHO);
    let failing = plugin(guests::FAILING);
    let trap = plugin(guests::UNREACHABLE);
    let state = plugin(guests::STATE_OPS);
    let s = t
        .scrape_until(|s| {
            s.get(
                "camel_wasm_calls_total",
                &[("route", "ok"), ("outcome", "ok")],
            ) == 12.0
                && s.get("camel_wasm_call_errors_total", &[("route", "fail")]) == 3.0
                && s.get("camel_wasm_call_errors_total", &[("route", "trap")]) == 2.0
                && s.get(
                    "camel_wasm_calls_total",
                    &[("route", "trap"), ("outcome", "ok")],
                ) == 1.0
                && s.get("camel_wasm_state_ops_total", &[("route", "state")]) == 4.0
        })
        .await;

    // Calls by plugin, route and outcome.
    let ok = [
        ("plugin", echo.as_str()),
        ("kind", "processor"),
        ("route", "ok"),
    ];
    assert_eq!(
        s.get(
            "camel_wasm_calls_total",
            &[ok[0], ok[1], ok[2], ("outcome", "ok")]
        ),
        12.0
    );
    assert_eq!(
        s.get("camel_wasm_calls_total", &[ok[2], ("outcome", "error")]),
        0.0
    );
    assert_eq!(
        s.get(
            "camel_wasm_calls_total",
            &[
                ("plugin", &failing),
                ("route", "fail"),
                ("outcome", "error")
            ]
        ),
        3.0
    );
    // Errors by class.
    assert_eq!(
        s.get(
            "camel_wasm_call_errors_total",
            &[("route", "fail"), ("class", "guest")]
        ),
        3.0
    );
    assert_eq!(
        s.get(
            "camel_wasm_call_errors_total",
            &[("plugin", &trap), ("route", "trap"), ("class", "trap")]
        ),
        2.0
    );
    // The latency histogram counted every call.
    assert_eq!(s.get("camel_wasm_call_duration_seconds_count", &ok), 12.0);
    let micros = s.get("camel_wasm_call_duration_microseconds_total", &ok);
    assert!(micros > 0.0 && micros < 12e6, "{micros}");
    let fast = s.get(
        "camel_wasm_call_duration_seconds_bucket",
        &[ok[2], ("le", "0.1")],
    );
    assert!(fast <= 12.0, "{fast}");
    assert_eq!(
        s.get(
            "camel_wasm_call_duration_seconds_bucket",
            &[ok[2], ("le", "+Inf")]
        ),
        12.0
    );
    assert_eq!(
        s.get(
            "camel_wasm_call_duration_seconds_count",
            &[("route", "trap")]
        ),
        3.0
    );
    // Instances: made, and the trapped ones discarded.
    assert!(s.get("camel_wasm_instances_created_total", &ok) >= 1.0);
    assert_eq!(
        s.get(
            "camel_wasm_instances_discarded_total",
            &[("route", "trap"), ("reason", "failed")]
        ),
        2.0
    );
    assert!(s.get("camel_wasm_instances_created_total", &[("route", "trap")]) >= 3.0);
    // Guest memory, as a fraction of max-memory.
    let memory = s.get("camel_wasm_guest_memory_peak_ratio_count", &ok);
    assert!(memory >= 1.0, "{memory}");
    assert_eq!(
        s.get(
            "camel_wasm_guest_memory_peak_ratio_bucket",
            &[ok[2], ("le", "1")]
        ),
        memory,
        "within max-memory"
    );
    // State operations by backend, operation and outcome.
    assert_eq!(
        s.get(
            "camel_wasm_state_ops_total",
            &[
                ("plugin", &state),
                ("backend", "memory"),
                ("op", "increment"),
                ("outcome", "ok")
            ]
        ),
        4.0
    );
    // Bounded labels: never an exchange id.
    for name in [
        "camel_wasm_calls_total",
        "camel_wasm_call_errors_total",
        "camel_wasm_call_duration_seconds_bucket",
    ] {
        for labels in s.all(name) {
            for key in labels.keys() {
                assert!(
                    ["plugin", "kind", "route", "outcome", "class", "le"].contains(&key.as_str()),
                    "{name} has label {key}"
                );
            }
        }
    }
    drop(t.component);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_crash_guard_shows_in_health_and_metrics() {
    let t = Scraped::new(&[("loop", guests::PANICKING)]).await;
    let check = wasm_uri(guests::PANICKING, "");
    let health = |report: camel_api::HealthReport| {
        report
            .services
            .into_iter()
            .find(|s| s.name == check)
            .map(|s| (format!("{:?}", s.status), s.message.unwrap_or_default()))
            .expect("the endpoint's health check")
    };
    t.send("loop", "crash").await.expect_err("panics");
    // Degraded: still serving (rust-camel lists it as started), with why.
    let (status, message) = health(t.ctx.health_check().await);
    assert_eq!(status, "Started", "{message}");
    assert!(
        message.contains("1 instance failures in a row") && message.contains("boom"),
        "{message}"
    );
    for _ in 1..CRASH_LOOP_THRESHOLD {
        t.send("loop", "crash").await.expect_err("panics");
    }
    t.send("loop", "ok").await.expect_err("the guard is open");
    let (status, message) = health(t.ctx.health_check().await);
    assert_eq!(status, "Failed");
    assert!(
        message.contains("failures in a row") && message.contains("boom: invariant broken"),
        "{message}"
    );

    let breaker = format!("loop/{check}");
    let s = t
        .scrape_until(|s| s.get("camel_wasm_call_errors_total", &[("route", "loop")]) == 6.0)
        .await;
    assert_eq!(
        s.get(
            "camel_wasm_crash_guard_transitions_total",
            &[("route", "loop"), ("to", "open")]
        ),
        1.0
    );
    assert_eq!(
        s.get("camel_circuit_breaker_state", &[("route", &breaker)]),
        1.0,
        "rust-camel's breaker gauge says open"
    );
    assert_eq!(
        s.get(
            "camel_wasm_call_errors_total",
            &[("route", "loop"), ("class", "guest_panic")]
        ),
        5.0
    );
    assert_eq!(
        s.get(
            "camel_wasm_call_errors_total",
            &[("route", "loop"), ("class", "unhealthy")]
        ),
        1.0
    );
}

/// One counter observation: name, value, labels.
type Observation = (String, f64, HashMap<String, String>);

/// A collector that keeps what it is given.
#[derive(Default)]
struct Recorded(Mutex<Vec<Observation>>);

impl MetricsCollector for Recorded {
    fn record_exchange_duration(&self, _: &str, _: Duration) {}
    fn increment_errors(&self, _: &str, _: &str) {}
    fn increment_exchanges(&self, _: &str) {}
    fn set_queue_depth(&self, _: &str, _: usize) {}
    fn record_circuit_breaker_change(&self, _: &str, _: &str, _: &str) {}
    fn record_counter(&self, name: &str, value: f64, labels: &[(&str, &str)]) {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.0
            .lock()
            .unwrap()
            .push((name.to_string(), value, labels));
    }
}

impl Recorded {
    fn total(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _, l)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, v, _)| *v)
            .sum()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beans_report_metrics_and_a_health_check_of_their_own() {
    let collector = Arc::new(Recorded::default());
    let component = WasmComponent::builder(guest_dir())
        .runtime(shared_runtime())
        .metrics(collector.clone())
        .build()
        .unwrap();
    let bean = component
        .bean(
            "greeter",
            "guest_bean_greeter",
            Vec::new(),
            Default::default(),
        )
        .await
        .unwrap();
    for _ in 0..3 {
        let mut exchange = Exchange::new(Message::new("Camel"));
        bean.invoke("greet", &mut exchange).await.unwrap();
    }
    let mut exchange = Exchange::new(Message::new("Camel"));
    bean.invoke("vanish", &mut exchange).await.unwrap_err();

    let checks = component.health_checks();
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].name(), "wasm-bean:greeter");
    let result = checks[0].check().await;
    assert_eq!(result.status, camel_api::HealthStatus::Healthy);

    // Dropping the bean flushes what is left.
    drop(bean);
    drop(checks);
    drop(component);
    let bean = [("plugin", "greeter"), ("kind", "bean"), ("route", "")];
    assert_eq!(
        collector.total(
            "camel_wasm_calls_total",
            &[bean[0], bean[1], bean[2], ("outcome", "ok")]
        ),
        // `methods` at load, then three `greet`s.
        4.0
    );
    assert_eq!(
        collector.total(
            "camel_wasm_call_errors_total",
            &[bean[0], ("class", "guest")]
        ),
        1.0
    );
    assert_eq!(
        collector.total("camel_wasm_instances_created_total", &bean),
        1.0
    );
}

/// Spans and the events inside them, as the test subscriber saw them.
#[derive(Default, Clone)]
struct Captured(Arc<Mutex<CapturedInner>>);

/// A span's name, its parent's name and its fields.
type SeenSpan = (String, Option<String>, BTreeMap<String, String>);

#[derive(Default)]
struct CapturedInner {
    /// Per span: name, parent's name, fields.
    spans: HashMap<u64, SeenSpan>,
    /// Per event: target and the names of the spans it happened in,
    /// innermost first.
    events: Vec<(String, Vec<String>)>,
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_string(),
            format!("{value:?}").trim_matches('"').to_string(),
        );
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Captured {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let parent = ctx
            .span(id)
            .and_then(|s| s.parent())
            .map(|p| p.name().to_string());
        self.0.lock().unwrap().spans.insert(
            id.into_u64(),
            (attrs.metadata().name().to_string(), parent, fields.0),
        );
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        values.record(&mut fields);
        if let Some(span) = self.0.lock().unwrap().spans.get_mut(&id.into_u64()) {
            span.2.extend(fields.0);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let scope = ctx
            .event_scope(event)
            .map(|scope| scope.map(|s| s.name().to_string()).collect())
            .unwrap_or_default();
        self.0
            .lock()
            .unwrap()
            .events
            .push((event.metadata().target().to_string(), scope));
    }
}

#[tokio::test(flavor = "current_thread")]
async fn every_guest_call_has_a_span_with_the_documented_fields() {
    let mut t = TestContext::new().await;
    t.route("spans", &[wasm_uri(guests::PANICKING, "")])
        .await
        .unwrap();
    t.start().await;

    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry().with(captured.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let ok = Exchange::new_in_out(Message::new("ok"));
    let ok_id = ok.correlation_id.clone();
    t.send("spans", ok).await.expect("ok");
    let crash = Exchange::new_in_out(Message::new("crash"));
    let crash_id = crash.correlation_id.clone();
    t.send("spans", crash).await.expect_err("panics");

    let inner = captured.0.lock().unwrap();
    let calls: Vec<_> = inner
        .spans
        .values()
        .filter(|(name, ..)| name == "wasm.call")
        .map(|(_, _, fields)| fields)
        .collect();
    assert_eq!(calls.len(), 2, "{:?}", inner.spans);
    let by_exchange = |id: &str| {
        calls
            .iter()
            .find(|f| f.get("exchange_id").map(String::as_str) == Some(id))
            .unwrap_or_else(|| panic!("no span for exchange {id}: {calls:?}"))
    };
    let plugin = plugin(guests::PANICKING);
    for (id, outcome) in [(&ok_id, "ok"), (&crash_id, "error")] {
        let fields = by_exchange(id);
        assert_eq!(fields["plugin"], plugin);
        assert_eq!(fields["kind"], "processor");
        assert_eq!(fields["export"], "process");
        assert_eq!(fields["route_id"], "spans");
        assert_eq!(fields["outcome"], outcome);
    }
    assert_eq!(by_exchange(&crash_id)["error_class"], "guest_panic");
    assert!(!by_exchange(&ok_id).contains_key("error_class"));
    // No payload in any field.
    for (_, _, fields) in inner.spans.values() {
        assert!(fields.values().all(|v| !v.contains("crash")), "{fields:?}");
    }
    // The panicked instance was replaced: its `wasm.init` ran inside a call.
    assert!(
        inner
            .spans
            .values()
            .any(|(name, parent, _)| name == "wasm.init" && parent.as_deref() == Some("wasm.call")),
        "{:?}",
        inner.spans
    );
    // The guest's stderr (its panic message) is an event inside the call.
    assert!(
        inner
            .events
            .iter()
            .any(|(target, scope)| target == "camel_wasm::guest"
                && scope.iter().any(|s| s == "wasm.call")),
        "{:?}",
        inner.events
    );
}

/// Finished OpenTelemetry spans.
#[derive(Debug, Default, Clone)]
struct Exported(Arc<Mutex<Vec<opentelemetry_sdk::trace::SpanData>>>);

impl opentelemetry_sdk::trace::SpanExporter for Exported {
    async fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        self.0.lock().unwrap().extend(batch);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_traced_exchange_gets_an_opentelemetry_child_span() {
    use opentelemetry::trace::{Span as _, TraceContextExt, Tracer as _, TracerProvider as _};

    let exported = Exported::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(exported.clone())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    let step = provider.tracer("test").start("step");
    let step_id = step.span_context().span_id();
    let traced = opentelemetry::Context::current_with_span(step);

    let producer = endpoint(guests::FAILING, "").producer();
    let mut exchange = Exchange::new(Message::new("x"));
    exchange.otel_context = traced.clone();
    let id = exchange.correlation_id.clone();
    tower::ServiceExt::oneshot(producer.clone(), exchange)
        .await
        .expect_err("the guest fails");
    // An exchange without an active span makes no OpenTelemetry span.
    let untraced = Exchange::new(Message::new("x"));
    let untraced_id = untraced.correlation_id.clone();
    tower::ServiceExt::oneshot(producer, untraced)
        .await
        .expect_err("the guest fails");
    traced.span().end();

    let spans = exported.0.lock().unwrap();
    let calls: Vec<_> = spans.iter().filter(|s| s.name == "wasm.call").collect();
    let attribute = |span: &opentelemetry_sdk::trace::SpanData, key: &str| {
        span.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    };
    assert!(
        calls
            .iter()
            .all(|s| attribute(s, "camel.correlation_id").as_deref() != Some(&untraced_id)),
        "{calls:?}"
    );
    let call = calls
        .iter()
        .find(|s| attribute(s, "camel.correlation_id").as_deref() == Some(&id))
        .unwrap_or_else(|| panic!("no wasm.call span: {spans:?}"));
    assert_eq!(call.parent_span_id, step_id);
    assert_eq!(
        attribute(call, "camel.wasm.plugin").as_deref(),
        Some(plugin(guests::FAILING).as_str())
    );
    assert_eq!(
        attribute(call, "camel.wasm.kind").as_deref(),
        Some("processor")
    );
    assert_eq!(
        attribute(call, "camel.wasm.outcome").as_deref(),
        Some("error")
    );
    assert_eq!(
        attribute(call, "camel.wasm.error_class").as_deref(),
        Some("guest")
    );
    assert!(matches!(
        call.status,
        opentelemetry::trace::Status::Error { .. }
    ));
}
