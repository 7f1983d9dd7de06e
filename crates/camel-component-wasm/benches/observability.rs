//! What observability costs on the hot path, in the same run: the same
//! `direct:` → `wasm:echo.wasm` route (a 100-byte text body, one exchange at
//! a time) in a context that reports to camel-prometheus,
//!
//! - `metrics_off`: with `metrics=false` (no counting, spans only);
//! - `metrics_on`: the default: counted per call, flushed to
//!   camel-prometheus every second by a task on the same runtime, so the
//!   flush's cost is inside the measurement;
//! - `metrics_on_spans_recorded`: the default with a tracing subscriber
//!   that records INFO spans (`tracing_subscriber::fmt` writing to a sink),
//!   so every call's `wasm.call` span is really created.
//!
//! Group `seq/ct/identity/text-100B` runs on tokio's current-thread runtime
//! (the figure the README's budget is about); `inflight/mt2/identity/
//! text-100B/8` keeps 8 exchanges in flight on a `.concurrent(0)` route on
//! 2 workers (throughput, so the flush task competes for the cores).
//!
//! `cargo bench -p camel-component-wasm --bench observability`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use camel_api::{Body, BoxProcessor, Exchange, Message};
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_component_api::ComponentBundle;
use camel_component_direct::DirectComponent;
use camel_component_wasm::WasmBundle;
use camel_core::{CamelContext, RegistryComponentContext};
use camel_prometheus::PrometheusMetrics;
use camel_wasm_test_artifacts as guests;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tower::ServiceExt;

#[allow(dead_code, reason = "each bench uses a part of the shared helpers")]
mod common;

use common::{current_thread, direct_producer, file_name, guest_dir, ready_producer};

const IN_FLIGHT: usize = 8;

/// A started context reporting to camel-prometheus, with routes
/// `metrics_off` and `metrics_on` (and their `-concurrent` twins).
async fn context() -> CamelContext {
    let file = file_name(guests::ECHO);
    let mut ctx = CamelContext::builder()
        .metrics(Arc::new(PrometheusMetrics::new()))
        .build()
        .await
        .expect("context");
    let registry = Arc::new(RegistryComponentContext::new(
        ctx.registry_arc(),
        Some(ctx.metrics()),
        false,
    ));
    WasmBundle::new(guest_dir())
        .with_context(registry)
        .register_all(&mut ctx);
    ctx.register_component(DirectComponent::new());
    for (id, query) in [("metrics_off", "?metrics=false"), ("metrics_on", "")] {
        for concurrent in [false, true] {
            let id = route_id(id, concurrent);
            let mut route = RouteBuilder::from(&format!("direct:{id}")).route_id(&id);
            if concurrent {
                route = route.concurrent(0);
            }
            let route = route
                .to(format!("wasm:{file}{query}"))
                .build()
                .expect("route");
            ctx.add_route_definition(route).await.expect("add route");
        }
    }
    ctx.start().await.expect("start");
    ctx
}

fn route_id(id: &str, concurrent: bool) -> String {
    if concurrent {
        format!("{id}-concurrent")
    } else {
        id.to_string()
    }
}

/// The exchange that checks a route answers before it is measured.
fn warm_up() -> Exchange {
    Exchange::new_in_out(Message::new("warm-up"))
}

/// `iters` exchanges through `producer`, each carrying the last reply's
/// body.
async fn lane(producer: BoxProcessor, iters: u64) {
    let mut body = Body::Text("x".repeat(100));
    for _ in 0..iters {
        let reply = producer
            .clone()
            .oneshot(Exchange::new_in_out(Message::new(body)))
            .await
            .unwrap_or_else(|e| panic!("exchange failed: {e}"));
        let Exchange { input, output, .. } = reply;
        body = output.unwrap_or(input).body;
    }
}

fn sequential(c: &mut Criterion) {
    let rt = current_thread();
    let ctx = rt.block_on(context());
    let mut group = c.benchmark_group("seq/ct/identity/text-100B");
    group.throughput(Throughput::Bytes(100));
    let variants = [
        ("metrics_off", "metrics_off", false),
        ("metrics_on", "metrics_on", false),
        ("metrics_on_spans_recorded", "metrics_on", true),
    ];
    for (name, route, traced) in variants {
        let (producer, _) = rt.block_on(ready_producer(&ctx, &format!("direct:{route}"), warm_up));
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let _subscriber = traced.then(|| {
                    tracing::subscriber::set_default(
                        tracing_subscriber::fmt()
                            .with_max_level(tracing::Level::INFO)
                            .with_writer(std::io::sink)
                            .finish(),
                    )
                });
                rt.block_on(async {
                    let started = Instant::now();
                    lane(producer.clone(), iters).await;
                    started.elapsed()
                })
            })
        });
    }
    group.finish();
}

fn in_flight(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ctx = rt.block_on(context());
    let mut group = c.benchmark_group("inflight/mt2/identity/text-100B");
    group.throughput(Throughput::Elements(IN_FLIGHT as u64));
    for name in ["metrics_off", "metrics_on"] {
        let id = route_id(name, true);
        let uri = format!("direct:{id}");
        rt.block_on(ready_producer(&ctx, &uri, warm_up));
        let lanes: Vec<BoxProcessor> = (0..IN_FLIGHT)
            .map(|_| direct_producer(&ctx, &uri))
            .collect();
        group.bench_with_input(BenchmarkId::new(name, IN_FLIGHT), &lanes, |b, lanes| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let started = Instant::now();
                    let running: Vec<_> = lanes
                        .iter()
                        .cloned()
                        .map(|p| tokio::spawn(lane(p, iters)))
                        .collect();
                    for lane in running {
                        lane.await.expect("lane");
                    }
                    started.elapsed()
                })
            })
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6))
}

criterion_group! {
    name = benches;
    config = config();
    targets = sequential, in_flight
}
criterion_main!(benches);
