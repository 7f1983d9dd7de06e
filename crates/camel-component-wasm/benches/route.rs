//! Cost of a `wasm:` route step, measured against its floors in the same run.
//!
//! Every group holds the route under test and its baselines, so results read
//! as ratios:
//!
//! - `native_route`: `direct:` → `.process(closure)` doing the plugin's work
//!   in Rust (the rust-camel floor);
//! - `raw_wasmtime`: the same guest called straight through wasmtime, with
//!   its own bindings, a reused instance and no rust-camel (the wasm floor);
//! - `wasm_route`: `direct:` → `wasm:<guest>.wasm`, the host under test.
//!
//! Groups `seq/<runtime>/<work>/<payload>` send one exchange at a time
//! (latency; throughput in bytes/s). Groups
//! `inflight/<runtime>/<work>/<payload>` keep N exchanges in flight, one
//! spawned lane per exchange, on a `.concurrent(0)` route (throughput in
//! exchanges/s; the id's parameter is N). `<runtime>` is `ct` (tokio
//! current-thread) or `mt2` (multi-thread, 2 workers). Each lane reuses the
//! previous reply's body, so no time goes into building bodies; the direct
//! producers are created once, after warm-up, and cloned per exchange.
//!
//! `cargo bench -p camel-component-wasm --bench route` runs everything (see
//! `BENCHMARKS.md`); pass a filter such as `-- seq/ct/identity` to run less.

#[allow(dead_code, reason = "each bench uses a part of the shared helpers")]
mod common;
mod support;

use std::time::Duration;

use camel_component_wasm::WasmRuntime;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

use support::raw::RawGuest;
use support::{CamelFixture, Flavor, Payload, RawLanes, Step, Work, run_route_lanes};

/// Exchanges in flight in the `inflight` groups.
const IN_FLIGHT: [usize; 4] = [1, 2, 8, 64];
/// The raw floor is measured up to this many lanes (one instance each): the
/// reference machine has 2 cores, so more lanes cannot run faster.
const RAW_LANES: usize = 2;

fn benches(c: &mut Criterion) {
    let wasm_runtime = WasmRuntime::new().expect("wasm runtime");
    let guests: Vec<(Work, RawGuest)> = Work::ALL
        .iter()
        .map(|&work| (work, RawGuest::load(work.artifact())))
        .collect();
    let max_lanes = IN_FLIGHT.iter().copied().max().unwrap_or(1);
    for flavor in Flavor::ALL {
        let rt = flavor.runtime();
        let fixture = rt.block_on(CamelFixture::start(wasm_runtime.clone(), max_lanes));
        for (work, guest) in &guests {
            let raw = rt.block_on(RawLanes::new(guest, RAW_LANES));
            sequential(c, &rt, flavor, &fixture, &raw, *work);
            in_flight(c, &rt, flavor, &fixture, &raw, *work);
        }
        rt.block_on(fixture.stop());
    }
}

/// One exchange at a time: per-exchange latency of the three variants.
fn sequential(
    c: &mut Criterion,
    rt: &Runtime,
    flavor: Flavor,
    fixture: &CamelFixture,
    raw: &RawLanes,
    work: Work,
) {
    for &payload in work.payloads() {
        let mut group = c.benchmark_group(format!(
            "seq/{}/{}/{}",
            flavor.label(),
            work.label(),
            payload.label()
        ));
        group.throughput(Throughput::Bytes(payload.len() as u64));
        for (name, step) in [("native_route", Step::Native), ("wasm_route", Step::Wasm)] {
            let producer = std::slice::from_ref(fixture.producer(step, work));
            group.bench_function(name, |b| {
                b.to_async(rt)
                    .iter_custom(|iters| run_route_lanes(producer, payload, iters))
            });
        }
        group.bench_function("raw_wasmtime", |b| {
            b.to_async(rt)
                .iter_custom(|iters| raw.run(1, payload, iters))
        });
        group.finish();
    }
}

/// N exchanges in flight: throughput of the three variants.
fn in_flight(
    c: &mut Criterion,
    rt: &Runtime,
    flavor: Flavor,
    fixture: &CamelFixture,
    raw: &RawLanes,
    work: Work,
) {
    for &payload in work.payloads() {
        if matches!(payload, Payload::Bytes(_)) {
            continue;
        }
        let mut group = c.benchmark_group(format!(
            "inflight/{}/{}/{}",
            flavor.label(),
            work.label(),
            payload.label()
        ));
        for n in IN_FLIGHT {
            group.throughput(Throughput::Elements(n as u64));
            for (name, step) in [("native_route", Step::Native), ("wasm_route", Step::Wasm)] {
                let lanes = fixture.lanes(step, work, n);
                group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                    b.to_async(rt)
                        .iter_custom(|iters| run_route_lanes(lanes, payload, iters))
                });
            }
            if n <= RAW_LANES {
                group.bench_with_input(BenchmarkId::new("raw_wasmtime", n), &n, |b, &n| {
                    b.to_async(rt)
                        .iter_custom(|iters| raw.run(n, payload, iters))
                });
            }
        }
        if work == Work::Identity && payload == Payload::Text(100) {
            // The default (sequential) route, 2 in flight: its direct
            // consumer admits one exchange at a time.
            let n = 2;
            let lanes = vec![fixture.producer(Step::Wasm, work).clone(); n];
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(
                BenchmarkId::new("wasm_route_default_admission", n),
                &n,
                |b, _| {
                    b.to_async(rt)
                        .iter_custom(|iters| run_route_lanes(&lanes, payload, iters))
                },
            );
        }
        group.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(15)
        .warm_up_time(Duration::from_millis(400))
        .measurement_time(Duration::from_millis(1500))
}

criterion_group! {
    name = route;
    config = config();
    targets = benches
}
criterion_main!(route);
