//! Stream bodies through a route, against the same route with a native
//! step, measured in the same run.
//!
//! - `stream/native_relay`: `direct:` → `.process` that passes the body's
//!   stream on piece by piece (a `map` over it) → the consumer drains it;
//!   no byte is touched, pieces are reference-counted (the floor);
//! - `stream/native_copy`: the same, but the step copies each piece (what
//!   any step that reads the bytes and emits them again does at least);
//! - `stream/wasm_relay`: `direct:` → `wasm:stream_relay` (the guest reads
//!   each piece from its input stream as the host pulls its output);
//! - `stream/wasm_count`: `direct:` → `wasm:stream_counter` (the guest reads
//!   the body to its end; nothing comes out).
//!
//! Each iteration sends 1 GiB in 16384 pieces of 64 KiB (the same `Bytes`,
//! so building the body costs nothing) and drains the reply; criterion
//! reports bytes per second. Per-piece overhead = (wasm − native) / 16384.
//!
//! `cargo bench -p camel-component-wasm --bench streams`.

#![allow(
    clippy::result_large_err,
    reason = "stream items are rust-camel's own Result<Bytes, CamelError>"
)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use camel_api::{Body, BoxProcessor, Exchange, Message, StreamBody, StreamMetadata};
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_component_api::ComponentBundle;
use camel_component_direct::DirectComponent;
use camel_component_wasm::{WasmBundle, WasmRuntime};
use camel_core::CamelContext;
use camel_wasm_test_artifacts as guests;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use tower::ServiceExt;

#[allow(dead_code, reason = "each bench uses a part of the shared helpers")]
mod common;

use common::file_name;

const PIECE: usize = 64 * 1024;
const PIECES: usize = 16 * 1024;
const TOTAL: u64 = (PIECE * PIECES) as u64;

/// A 1 GiB stream body of one shared 64 KiB piece.
fn gibibyte(piece: &Bytes) -> Exchange {
    let pieces = futures::stream::iter(std::iter::repeat_n(piece.clone(), PIECES).map(Ok)).boxed();
    Exchange::new_in_out(Message::new(Body::Stream(StreamBody {
        stream: Arc::new(tokio::sync::Mutex::new(Some(pieces))),
        metadata: StreamMetadata {
            size_hint: Some(TOTAL),
            ..StreamMetadata::default()
        },
    })))
}

/// Sends one exchange and drains the reply's stream (if any); returns the
/// bytes drained.
async fn round(producer: &BoxProcessor, piece: &Bytes) -> u64 {
    let reply = producer
        .clone()
        .oneshot(gibibyte(piece))
        .await
        .expect("exchange");
    let body = reply.output.map(|m| m.body).unwrap_or(reply.input.body);
    match body {
        Body::Stream(stream) => {
            let mut stream = stream.stream.lock().await.take().expect("unread stream");
            let mut drained = 0;
            while let Some(piece) = stream.next().await {
                drained += piece.expect("piece").len() as u64;
            }
            drained
        }
        _ => 0,
    }
}

/// A direct producer for `uri`, once the route answers.
async fn direct_producer(ctx: &CamelContext, uri: &str) -> BoxProcessor {
    let empty = || Exchange::new_in_out(Message::new(Body::Empty));
    common::ready_producer(ctx, uri, empty).await.0
}

/// A native step that relays the body's stream, with `each` applied to
/// every piece.
fn relay_step(id: &str, each: fn(Bytes) -> Bytes) -> camel_core::RouteDefinition {
    RouteBuilder::from(&format!("direct:{id}"))
        .route_id(id)
        .process(move |mut ex: Exchange| async move {
            if let Body::Stream(stream) = std::mem::take(&mut ex.input.body) {
                let inner = stream.stream.lock().await.take();
                let relayed = inner.map(|s| s.map(move |piece| piece.map(each)).boxed());
                ex.input.body = Body::Stream(StreamBody {
                    stream: Arc::new(tokio::sync::Mutex::new(relayed)),
                    metadata: stream.metadata,
                });
            }
            Ok(ex)
        })
        .build()
        .expect("native route")
}

async fn fixture() -> (CamelContext, [(&'static str, BoxProcessor); 4]) {
    let mut ctx = CamelContext::builder().build().await.expect("context");
    let guests_dir = Path::new(guests::ECHO).parent().expect("guest directory");
    WasmBundle::new(guests_dir)
        .with_runtime(WasmRuntime::new().expect("runtime"))
        .register_all(&mut ctx);
    ctx.register_component(DirectComponent::new());
    ctx.add_route_definition(relay_step("native", |piece| piece))
        .await
        .expect("native");
    ctx.add_route_definition(relay_step("copy", |piece| Bytes::copy_from_slice(&piece)))
        .await
        .expect("copy");
    for (id, guest) in [
        ("relay", guests::STREAM_RELAY),
        ("count", guests::STREAM_COUNTER),
    ] {
        let route = RouteBuilder::from(&format!("direct:{id}"))
            .route_id(id)
            .to(format!("wasm:{}?max-memory=16777216", file_name(guest)))
            .build()
            .expect("wasm route");
        ctx.add_route_definition(route).await.expect("wasm");
    }
    ctx.start().await.expect("start");
    let producers = [
        ("native_relay", direct_producer(&ctx, "direct:native").await),
        ("native_copy", direct_producer(&ctx, "direct:copy").await),
        ("wasm_relay", direct_producer(&ctx, "direct:relay").await),
        ("wasm_count", direct_producer(&ctx, "direct:count").await),
    ];
    (ctx, producers)
}

fn streams(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (mut ctx, producers) = rt.block_on(fixture());
    let piece = Bytes::from(vec![b'x'; PIECE]);
    // Every variant moves the whole body.
    for (name, producer) in &producers {
        let drained = rt.block_on(round(producer, &piece));
        let expected = if *name == "wasm_count" { 0 } else { TOTAL };
        assert_eq!(drained, expected, "{name}");
    }
    let mut group = c.benchmark_group("stream");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(6));
    group.throughput(Throughput::Bytes(TOTAL));
    for (name, producer) in &producers {
        group.bench_function(*name, |b| {
            b.to_async(&rt).iter(|| round(producer, &piece));
        });
    }
    group.finish();
    rt.block_on(async { ctx.stop().await.expect("stop") });
}

criterion_group!(benches, streams);
criterion_main!(benches);
