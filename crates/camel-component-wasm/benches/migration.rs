//! What a plugin built for rust-camel's own WASM component
//! (`camel:plugin@1.0.0`, an `async` `process`) costs per exchange in this
//! host, next to this host's own contract and the native floor, in the
//! same run.
//!
//! Group `migration/seq/ct/identity/text-100B`, one exchange at a time on a
//! tokio current-thread runtime, each variant a default `direct:` route:
//!
//! - `native_route`: `.process(closure)` returning the exchange (the
//!   rust-camel floor);
//! - `wasm_route`: `wasm:echo.wasm`, this host's own `processor` world;
//! - `compat_route`: `wasm:compat_plugin.wasm`, the same identity written
//!   against `camel:plugin@1.0.0` with plain wit-bindgen, run on the
//!   engine with component-model async.
//!
//! Each exchange is a fresh `Exchange::new_in_out(Message::new(body))`
//! carrying the previous reply's 100-byte text body.
//!
//! Group `migration/stream/produce-64MiB`: a body the plugin streams out
//! after its call, 64 MiB of `x` in 64 KiB pieces, drained by the caller:
//! `wasm_producer` (`wasm:stream_producer.wasm`, this host's `body-source`
//! export pulled piece by piece) against `compat_producer`
//! (`wasm:compat_plugin.wasm`, mode `generate`: a `stream<u8>` written by a
//! task that outlives `process`, pulled through the store's event loop).
//! `cargo bench -p camel-component-wasm --bench migration` (~15 s).

use std::sync::Arc;
use std::time::{Duration, Instant};

use camel_api::{Body, BoxProcessor, CamelError, Exchange, Message};
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_component_api::ComponentBundle;
use camel_component_direct::DirectComponent;
use camel_component_wasm::{WasmBundle, WasmRuntime};
use camel_core::{CamelContext, RegistryComponentContext};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tower::ServiceExt;

#[allow(dead_code, reason = "each bench uses a part of the shared helpers")]
mod common;

use common::{current_thread, file_name, guest_dir, ready_producer};

/// The payload: 100 bytes of ASCII prose.
fn body() -> Body {
    let prose = "The quick brown fox jumps over the lazy dog. ";
    Body::Text(prose.repeat(3)[..100].to_string())
}

/// Starts a context with the three routes; returns their producers, each
/// checked once.
async fn start(runtime: WasmRuntime) -> (CamelContext, Vec<(&'static str, BoxProcessor)>) {
    let mut ctx = CamelContext::builder().build().await.expect("context");
    let registry = Arc::new(RegistryComponentContext::new(
        ctx.registry_arc(),
        Some(ctx.metrics()),
        false,
    ));
    WasmBundle::new(guest_dir())
        .with_runtime(runtime)
        .with_context(registry)
        .register_all(&mut ctx);
    ctx.register_component(DirectComponent::new());
    let routes = [
        ("native_route", None),
        (
            "wasm_route",
            Some(file_name(camel_wasm_test_artifacts::ECHO)),
        ),
        (
            "compat_route",
            Some(file_name(camel_wasm_test_artifacts::COMPAT_PLUGIN)),
        ),
    ];
    for (id, guest) in &routes {
        let builder = RouteBuilder::from(&format!("direct:{id}")).route_id(*id);
        let builder = match guest {
            None => builder.process(|e: Exchange| async move { Ok::<_, CamelError>(e) }),
            Some(file) => builder.to(format!("wasm:{file}")),
        };
        ctx.add_route_definition(builder.build().expect("route"))
            .await
            .expect("add route");
    }
    for (id, guest) in [
        ("wasm_producer", camel_wasm_test_artifacts::STREAM_PRODUCER),
        ("compat_producer", camel_wasm_test_artifacts::COMPAT_PLUGIN),
    ] {
        let route = RouteBuilder::from(&format!("direct:{id}"))
            .route_id(id)
            .to(format!("wasm:{}", file_name(guest)))
            .build()
            .expect("route");
        ctx.add_route_definition(route).await.expect("add route");
    }
    ctx.start().await.expect("start");
    let mut producers = Vec::new();
    for (id, _) in routes {
        let first = || Exchange::new_in_out(Message::new(body()));
        let (producer, reply) = ready_producer(&ctx, &format!("direct:{id}"), first).await;
        assert_eq!(
            format!("{:?}", reply.input.body),
            format!("{:?}", body()),
            "{id}"
        );
        producers.push((id, producer));
    }
    (ctx, producers)
}

/// Sends `iters` exchanges one after the other; returns the time taken.
async fn run(producer: &BoxProcessor, iters: u64) -> Duration {
    let mut body = body();
    let start = Instant::now();
    for _ in 0..iters {
        let reply = producer
            .clone()
            .oneshot(Exchange::new_in_out(Message::new(body)))
            .await
            .expect("exchange");
        body = reply.input.body;
    }
    let elapsed = start.elapsed();
    drop(std::hint::black_box(body));
    elapsed
}

/// 64 MiB, as both producers are asked for it.
const PRODUCED: u64 = 64 << 20;

/// The exchange that asks `route`'s plugin for a produced body.
fn produce_request(route: &str) -> Exchange {
    let mut exchange = Exchange::new_in_out(Message::new(Body::Empty));
    exchange.input.set_header("size", PRODUCED.to_string());
    if route == "compat_producer" {
        exchange.input.set_header("mode", "generate");
    }
    exchange
}

/// One produced body, drained; returns its length.
async fn produce(producer: &BoxProcessor, route: &str) -> u64 {
    let reply = producer
        .clone()
        .oneshot(produce_request(route))
        .await
        .expect("exchange");
    let Exchange { input, output, .. } = reply;
    let Body::Stream(stream) = output.unwrap_or(input).body else {
        panic!("{route}: not a stream body");
    };
    let mut pieces = stream.stream.lock().await.take().expect("unread stream");
    let mut drained = 0;
    while let Some(piece) = futures::StreamExt::next(&mut pieces).await {
        drained += piece.expect("piece").len() as u64;
    }
    drained
}

fn produced_streams(c: &mut Criterion, rt: &tokio::runtime::Runtime, ctx: &CamelContext) {
    let mut group = c.benchmark_group("migration/stream/produce-64MiB");
    group.throughput(Throughput::Bytes(PRODUCED));
    group.sample_size(10);
    for route in ["wasm_producer", "compat_producer"] {
        let uri = format!("direct:{route}");
        let (producer, _) = rt.block_on(ready_producer(ctx, &uri, || produce_request(route)));
        group.bench_function(route, |b| {
            b.to_async(rt).iter(|| async {
                assert_eq!(produce(&producer, route).await, PRODUCED);
            })
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    let rt = current_thread();
    let runtime = WasmRuntime::new().expect("wasm runtime");
    let (ctx, producers) = rt.block_on(start(runtime));
    let mut group = c.benchmark_group("migration/seq/ct/identity/text-100B");
    group.throughput(Throughput::Bytes(100));
    for (name, producer) in &producers {
        group.bench_function(*name, |b| {
            b.to_async(&rt).iter_custom(|iters| run(producer, iters))
        });
    }
    group.finish();
    produced_streams(c, &rt, &ctx);
    rt.block_on(async move {
        let mut ctx = ctx;
        ctx.stop().await.expect("stop");
    });
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(15)
        .warm_up_time(Duration::from_millis(400))
        .measurement_time(Duration::from_millis(1500))
}

criterion_group! {
    name = migration;
    config = config();
    targets = benches
}
criterion_main!(migration);
