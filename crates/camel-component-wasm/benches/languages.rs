//! The same identity processor written in Rust, Python (componentize-py)
//! and JavaScript (componentize-js), each measured in the same run:
//!
//! - `per_exchange/<language>`: one exchange (100 B text) through a `wasm:`
//!   producer with a reused instance: what a plugin step costs per exchange;
//! - `first_exchange_no_cache/<language>`: new runtime → context → route →
//!   start → first reply, the component compiled by Cranelift from scratch;
//! - `first_exchange_compile_cache/<language>`: the same with a warm on-disk
//!   compile cache (a restart of an application that sets `compile_cache`).
//!
//! Read the Python and JavaScript figures as ratios to the Rust ones.
//! `cargo bench -p camel-component-wasm --bench languages` (needs the
//! pinned componentize-py and componentize-js: see the README).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use camel_api::{Exchange, Message};
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_component_api::ComponentBundle;
use camel_component_direct::DirectComponent;
use camel_component_wasm::{WasmBundle, WasmComponent, WasmRuntime};
use camel_core::CamelContext;
use camel_wasm_polyglot_artifacts as polyglot;
use camel_wasm_test_artifacts as rust;
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;

#[allow(dead_code, reason = "each bench uses a part of the shared helpers")]
mod common;

use common::{current_thread, file_name, ready_producer};

const BODY: &str = "the quick brown fox jumps over the lazy dog, the quick brown fox jumps over the lazy dog; 100 bytes!";

/// `(language, identity guest)`.
const LANGUAGES: [(&str, &str); 3] = [
    ("rust", rust::ECHO),
    ("python", polyglot::PYTHON_IDENTITY),
    ("javascript", polyglot::JS_IDENTITY),
];

/// One directory holding the three identity guests.
fn plugins_dir() -> PathBuf {
    // Under the target dir, the same path every run: nothing left in /tmp.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("languages-bench");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for (_, guest) in LANGUAGES {
        std::fs::copy(guest, dir.join(file_name(guest))).unwrap_or_else(|e| panic!("{guest}: {e}"));
    }
    dir
}

fn exchange() -> Exchange {
    Exchange::new_in_out(Message::new(BODY))
}

fn per_exchange(c: &mut Criterion, dir: &Path) {
    let rt = current_thread();
    let component = WasmComponent::builder(dir)
        .runtime(WasmRuntime::new().expect("runtime"))
        .build()
        .expect("component");
    let mut group = c.benchmark_group("per_exchange");
    for (language, guest) in LANGUAGES {
        let producer = component
            .endpoint(&format!("wasm:{}", file_name(guest)))
            .expect("endpoint")
            .producer();
        rt.block_on(producer.clone().oneshot(exchange()))
            .expect("warm-up exchange");
        group.bench_function(language, |b| {
            b.to_async(&rt).iter(|| async {
                let reply = producer
                    .clone()
                    .oneshot(exchange())
                    .await
                    .expect("exchange");
                std::hint::black_box(reply);
            })
        });
    }
    group.finish();
}

/// New runtime → context → route → start → first reply.
async fn first_exchange(dir: &Path, guest: &str, runtime: WasmRuntime) -> Duration {
    let started = Instant::now();
    let mut ctx = CamelContext::builder().build().await.expect("context");
    WasmBundle::new(dir)
        .with_runtime(runtime)
        .register_all(&mut ctx);
    ctx.register_component(DirectComponent::new());
    let route = RouteBuilder::from("direct:first")
        .route_id("first")
        .to(format!("wasm:{}?timeout=30", file_name(guest)))
        .build()
        .expect("route");
    ctx.add_route_definition(route).await.expect("add route");
    ctx.start().await.expect("start");
    let (producer, _) = ready_producer(&ctx, "direct:first", exchange).await;
    let elapsed = started.elapsed();
    drop(producer);
    ctx.stop().await.expect("stop");
    elapsed
}

fn first_exchange_groups(c: &mut Criterion, dir: &Path) {
    // Compiling happens off the executor through `block_in_place`, which
    // needs a multi-threaded runtime.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let cache = tempfile::tempdir().expect("cache dir");
    let cached = || {
        WasmRuntime::builder()
            .compile_cache(cache.path())
            .build()
            .expect("runtime")
    };
    for (_, guest) in LANGUAGES {
        // Fill the on-disk cache once.
        rt.block_on(first_exchange(dir, guest, cached()));
    }
    for (name, use_cache) in [
        ("first_exchange_no_cache", false),
        ("first_exchange_compile_cache", true),
    ] {
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(1));
        group.measurement_time(Duration::from_secs(1));
        for (language, guest) in LANGUAGES {
            group.bench_function(language, |b| {
                b.to_async(&rt).iter_custom(|iters| async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let runtime = if use_cache {
                            cached()
                        } else {
                            WasmRuntime::new().expect("runtime")
                        };
                        total += first_exchange(dir, guest, runtime).await;
                    }
                    total
                })
            });
        }
        group.finish();
    }
}

fn benches(c: &mut Criterion) {
    let dir = plugins_dir();
    per_exchange(c, &dir);
    first_exchange_groups(c, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = languages;
    config = config();
    targets = benches
}
criterion_main!(languages);
