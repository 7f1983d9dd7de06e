//! Costs outside the steady per-exchange path, each against a baseline
//! measured in the same run:
//!
//! - `cold_start/{no_cache,compile_cache}`: a new runtime, context start
//!   and the first exchange answered (`direct:` → `wasm:echo`), with every
//!   module compiled from scratch vs loaded from a warm on-disk compile
//!   cache; `cold_start/phase_{runtime,compile}`: creating the runtime, and
//!   reading + compiling + type-checking the module, on their own;
//! - `isolation/{reuse,fresh_on_demand,fresh_pooling}`: one exchange
//!   through a `wasm:` producer (identity guest, 100 B text) with pooled
//!   instances vs `isolation=exchange` (a fresh instance and `init` per
//!   exchange) on the default allocator and on the pooling allocator;
//! - `bean_step/{native,wasm_route,yaml_bean}`: uppercasing a 100 B text
//!   body in a route: a Rust closure, a `wasm:` step, and a `bean:` step of a
//!   YAML route calling a WASM bean;
//! - `camel_call/{text,message}`: a `wasm:` step (guest `caller`) calling a
//!   native identity route with 100 B through `camel-call` (text in, text
//!   out) and through `camel-call-message` (the whole message both ways).
//!
//! `cargo bench -p camel-component-wasm --bench lifecycle`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use camel_api::{BoxProcessor, Exchange, Message};
use camel_bean::BeanRegistry;
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_component_api::ComponentBundle;
use camel_component_direct::DirectComponent;
use camel_component_wasm::{PoolingOptions, WasmBundle, WasmComponent, WasmRuntime};
use camel_core::CamelContext;
use camel_wasm_test_artifacts as guests;
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

#[allow(dead_code, reason = "each bench uses a part of the shared helpers")]
mod common;

use common::{current_thread, file_name, guest_dir};

const BODY: &str = "the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog; 100 bytes!";

/// A direct producer for `uri`, once the route's consumer is registered.
async fn direct_producer(ctx: &CamelContext, uri: &str) -> BoxProcessor {
    direct_producer_warmed_with(ctx, uri, || Exchange::new_in_out(Message::new(BODY))).await
}

/// [`direct_producer`], warming up with an exchange made by `exchange`.
async fn direct_producer_warmed_with(
    ctx: &CamelContext,
    uri: &str,
    exchange: impl Fn() -> Exchange,
) -> BoxProcessor {
    common::ready_producer(ctx, uri, exchange).await.0
}

async fn send(producer: &BoxProcessor) {
    let reply = producer
        .clone()
        .oneshot(Exchange::new_in_out(Message::new(BODY)))
        .await
        .expect("exchange");
    std::hint::black_box(reply);
}

/// New runtime → context → route → start → first reply.
async fn cold_start(runtime: impl FnOnce() -> WasmRuntime) -> Duration {
    let started = Instant::now();
    let runtime = runtime();
    let mut ctx = CamelContext::builder().build().await.expect("context");
    WasmBundle::new(guest_dir())
        .with_runtime(runtime)
        .register_all(&mut ctx);
    ctx.register_component(DirectComponent::new());
    let route = RouteBuilder::from("direct:cold")
        .route_id("cold")
        .to(format!("wasm:{}", file_name(guests::ECHO)))
        .build()
        .expect("route");
    ctx.add_route_definition(route).await.expect("add route");
    ctx.start().await.expect("start");
    let producer = direct_producer(&ctx, "direct:cold").await;
    let elapsed = started.elapsed();
    drop(producer);
    ctx.stop().await.expect("stop");
    elapsed
}

fn cold_start_group(c: &mut Criterion) {
    let rt = current_thread();
    let cache = tempfile::tempdir().expect("cache dir");
    let cached = || {
        WasmRuntime::builder()
            .compile_cache(cache.path())
            .build()
            .expect("runtime")
    };
    // Warm the on-disk cache once.
    rt.block_on(cold_start(cached));

    let mut group = c.benchmark_group("cold_start");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("no_cache", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += cold_start(|| WasmRuntime::new().expect("runtime")).await;
            }
            total
        })
    });
    group.bench_function("compile_cache", |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += cold_start(cached).await;
            }
            total
        })
    });
    // Where the uncached time goes: creating the runtime (engine, linker,
    // epoch ticker), and reading + compiling + type-checking the module.
    group.bench_function("phase_runtime", |b| {
        b.iter(|| std::hint::black_box(WasmRuntime::new().expect("runtime")))
    });
    group.bench_function("phase_compile", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let component = WasmComponent::builder(guest_dir())
                    .runtime(WasmRuntime::new().expect("runtime"))
                    .build()
                    .expect("component");
                let started = Instant::now();
                let endpoint = component
                    .endpoint(&format!("wasm:{}", file_name(guests::ECHO)))
                    .expect("endpoint");
                total += started.elapsed();
                drop(endpoint);
            }
            total
        })
    });
    group.finish();
}

fn isolation_group(c: &mut Criterion) {
    let rt = current_thread();
    let on_demand = WasmRuntime::new().expect("runtime");
    let pooling = WasmRuntime::builder()
        .pooling(PoolingOptions::new(64, 64 << 20))
        .build()
        .expect("pooling runtime");
    let producer = |runtime: &WasmRuntime, query: &str| {
        WasmComponent::builder(guest_dir())
            .runtime(runtime.clone())
            .build()
            .expect("component")
            .endpoint(&format!("wasm:{}{query}", file_name(guests::ECHO)))
            .expect("endpoint")
            .producer()
    };
    let variants = [
        ("reuse", producer(&on_demand, "")),
        (
            "fresh_on_demand",
            producer(&on_demand, "?isolation=exchange"),
        ),
        ("fresh_pooling", producer(&pooling, "?isolation=exchange")),
    ];
    let mut group = c.benchmark_group("isolation");
    for (name, producer) in &variants {
        group.bench_function(*name, |b| {
            b.to_async(&rt).iter(|| async {
                let reply = producer
                    .clone()
                    .oneshot(Exchange::new(Message::new(BODY)))
                    .await
                    .expect("exchange");
                std::hint::black_box(reply);
            })
        });
    }
    group.finish();
}

const YAML: &str = r#"
routes:
  - id: bean
    from: direct:bean
    steps:
      - bean: { name: greeter, method: shout }
"#;

async fn bean_fixture(runtime: WasmRuntime) -> (CamelContext, [(&'static str, BoxProcessor); 3]) {
    let beans = Arc::new(Mutex::new(BeanRegistry::new()));
    let mut ctx = CamelContext::builder()
        .beans(beans.clone())
        .build()
        .await
        .expect("context");
    let component = WasmComponent::builder(guest_dir())
        .runtime(runtime)
        .build()
        .expect("component");
    ctx.register_component(component.clone());
    ctx.register_component(DirectComponent::new());
    let greeter = component
        .bean(
            "greeter",
            &file_name(guests::BEAN_GREETER).replace(".wasm", ""),
            Vec::new(),
            Default::default(),
        )
        .await
        .expect("bean");
    beans
        .lock()
        .expect("bean registry")
        .register("greeter", greeter)
        .expect("register bean");
    for route in camel_dsl::parse_yaml(YAML).expect("yaml") {
        ctx.add_route_definition(route).await.expect("bean route");
    }
    let native = RouteBuilder::from("direct:native")
        .route_id("native")
        .process(|mut ex: Exchange| async move {
            if let camel_api::Body::Text(text) = &ex.input.body {
                ex.input.body = camel_api::Body::Text(text.to_uppercase());
            }
            Ok(ex)
        })
        .build()
        .expect("native route");
    ctx.add_route_definition(native).await.expect("native");
    let wasm = RouteBuilder::from("direct:wasm")
        .route_id("wasm")
        .to(format!("wasm:{}", file_name(guests::ECHO)))
        .build()
        .expect("wasm route");
    ctx.add_route_definition(wasm).await.expect("wasm");
    ctx.start().await.expect("start");
    let producers = [
        ("native", direct_producer(&ctx, "direct:native").await),
        ("wasm_route", direct_producer(&ctx, "direct:wasm").await),
        ("yaml_bean", direct_producer(&ctx, "direct:bean").await),
    ];
    (ctx, producers)
}

fn bean_group(c: &mut Criterion) {
    let rt = current_thread();
    let (mut ctx, producers) = rt.block_on(bean_fixture(WasmRuntime::new().expect("runtime")));
    let mut group = c.benchmark_group("bean_step");
    for (name, producer) in &producers {
        group.bench_function(*name, |b| b.to_async(&rt).iter(|| send(producer)));
    }
    group.finish();
    rt.block_on(async { ctx.stop().await.expect("stop") });
}

/// An exchange for the `caller` guest: `camel-call` (`text`) or
/// `camel-call-message` (`message`) to `direct:target`, 100 B of text.
fn call_exchange(mode: &str) -> Exchange {
    let mut message = Message::new(BODY);
    message.set_header("call-uri", "direct:target");
    message.set_header("call-mode", mode);
    Exchange::new_in_out(message)
}

/// `camel-call` (text) against `camel-call-message` (whole message) to a
/// native identity route, each a route step of the `caller` guest.
fn camel_call_group(c: &mut Criterion) {
    let rt = current_thread();
    let (mut ctx, producer) = rt.block_on(async {
        let mut ctx = CamelContext::builder().build().await.expect("context");
        let registry = Arc::new(camel_core::RegistryComponentContext::new(
            ctx.registry_arc(),
            Some(ctx.metrics()),
            false,
        ));
        WasmBundle::new(guest_dir())
            .with_context(registry)
            .register_all(&mut ctx);
        ctx.register_component(DirectComponent::new());
        let target = RouteBuilder::from("direct:target")
            .route_id("target")
            .process(|ex: Exchange| async move { Ok(ex) })
            .build()
            .expect("target route");
        ctx.add_route_definition(target).await.expect("target");
        let call = RouteBuilder::from("direct:call")
            .route_id("call")
            .to(format!(
                "wasm:{}?allow-call=direct:target",
                file_name(guests::CALLER)
            ))
            .build()
            .expect("call route");
        ctx.add_route_definition(call).await.expect("call");
        ctx.start().await.expect("start");
        direct_producer(&ctx, "direct:target").await;
        let producer =
            direct_producer_warmed_with(&ctx, "direct:call", || call_exchange("text")).await;
        (ctx, producer)
    });
    let mut group = c.benchmark_group("camel_call");
    for mode in ["text", "message"] {
        group.bench_function(mode, |b| {
            b.to_async(&rt).iter(|| async {
                let reply = producer
                    .clone()
                    .oneshot(call_exchange(mode))
                    .await
                    .expect("exchange");
                assert!(reply.input.header("call-error").is_none());
                std::hint::black_box(reply);
            })
        });
    }
    group.finish();
    rt.block_on(async { ctx.stop().await.expect("stop") });
}

criterion_group!(
    benches,
    cold_start_group,
    isolation_group,
    bean_group,
    camel_call_group
);
criterion_main!(benches);
