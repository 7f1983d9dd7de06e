//! What keeping plugin state in Redis costs, against keeping it in memory,
//! in the same run (tokio current-thread, one exchange at a time):
//!
//! - `state/echo`: `direct:` → `wasm:echo.wasm`, no state at all (the
//!   route's floor);
//! - `state/memory-increment`: `direct:` → `wasm:counter.wasm`, one
//!   `host-increment` per exchange in the in-memory store;
//! - `state/redis-increment`: the same with `state=redis://…`: one
//!   `INCRBY` round trip to a local `redis-server` per exchange.
//!
//! Needs a redis-server at `CAMEL_WASM_TEST_REDIS` (default
//! `redis://127.0.0.1:6379`). `cargo bench -p camel-component-wasm --bench
//! state`.

use std::time::Instant;

use camel_api::{BoxProcessor, Exchange, Message};
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_component_api::ComponentBundle;
use camel_component_direct::DirectComponent;
use camel_component_wasm::WasmBundle;
use camel_core::CamelContext;
use camel_wasm_test_artifacts as guests;
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

#[allow(dead_code, reason = "each bench uses a part of the shared helpers")]
mod common;

use common::{current_thread, file_name, guest_dir, ready_producer};

/// A started context with one `direct:<id>` → `uri` route per entry.
async fn context(routes: &[(&str, String)]) -> CamelContext {
    let mut ctx = CamelContext::builder().build().await.expect("context");
    WasmBundle::new(guest_dir()).register_all(&mut ctx);
    ctx.register_component(DirectComponent::new());
    for (id, uri) in routes {
        let route = RouteBuilder::from(&format!("direct:{id}"))
            .route_id(*id)
            .to(uri.as_str())
            .build()
            .expect("route");
        ctx.add_route_definition(route).await.expect("add route");
    }
    ctx.start().await.expect("start");
    ctx
}

/// One exchange through `producer`.
async fn send(producer: &BoxProcessor) {
    let reply = producer
        .clone()
        .oneshot(Exchange::new_in_out(Message::new("x")))
        .await
        .expect("exchange");
    std::hint::black_box(reply);
}

fn state(c: &mut Criterion) {
    let url = std::env::var("CAMEL_WASM_TEST_REDIS")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_string());
    let rt = current_thread();
    let counter = file_name(guests::COUNTER);
    let prefix = format!("bench-{}", std::process::id());
    let ctx = rt.block_on(context(&[
        ("echo", format!("wasm:{}", file_name(guests::ECHO))),
        ("memory-increment", format!("wasm:{counter}")),
        (
            "redis-increment",
            format!("wasm:{counter}?state={url}&state-prefix={prefix}"),
        ),
    ]));
    let mut group = c.benchmark_group("state");
    group.sample_size(20);
    for id in ["echo", "memory-increment", "redis-increment"] {
        let warm_up = || Exchange::new_in_out(Message::new("x"));
        let (producer, _) = rt.block_on(ready_producer(&ctx, &format!("direct:{id}"), warm_up));
        group.bench_function(id, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let started = Instant::now();
                    for _ in 0..iters {
                        send(&producer).await;
                    }
                    started.elapsed()
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, state);
criterion_main!(benches);
