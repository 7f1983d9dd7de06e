//! An HTTP request through a WASM source, against a bare hyper server
//! doing the same work, measured in the same run (multi-thread runtime, 2
//! workers; client and servers on 127.0.0.1).
//!
//! - `native_hyper`: a hyper server that parses the JSON order and answers
//!   `201 {"accepted": id}` (the floor: no rust-camel, no wasm);
//! - `wasm_source`: `from("wasm:source_webhook.wasm?listen=…")` (the guest
//!   parses and validates the order, submits it) → `.concurrent(8)` route
//!   `.process` answering `201 {"accepted": id}` → the guest's `on-reply`;
//! - `compat_source`: `from("wasm:compat_source.wasm?bind=…")`, rust-camel's
//!   own `camel:plugin@1.0.0` source contract: the guest's `run` loop
//!   accepts the request and submits its body stream to the route, and the
//!   client gets `202 accepted` once the body has been handed over, as that
//!   contract answers (the route's work is not in the client's time).
//!
//! `one` sends one request at a time over a kept-alive connection
//! (latency); `batch64` sends 1000 requests from 64 concurrent clients
//! (throughput; criterion reports requests/s).
//!
//! `cargo bench -p camel-component-wasm --bench sources`.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use camel_api::{Body, Exchange};
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_component_api::ComponentBundle;
use camel_component_wasm::{WasmBundle, WasmRuntime};
use camel_core::CamelContext;
use camel_wasm_test_artifacts as guests;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;

#[allow(dead_code, reason = "each bench uses a part of the shared helpers")]
mod common;

use common::{file_name, guest_dir};

const BATCH: usize = 1000;
const CLIENTS: usize = 64;

/// The bare hyper server: same parsing and answer as the route.
async fn native_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = service_fn(|request: Request<hyper::body::Incoming>| async move {
                    let body = request.into_body().collect().await.map(|b| b.to_bytes());
                    let order: serde_json::Value =
                        serde_json::from_slice(&body.unwrap_or_default()).unwrap_or_default();
                    let answer = json!({ "accepted": order.get("id") }).to_string();
                    let mut response = Response::new(Full::new(Bytes::from(answer)));
                    *response.status_mut() = hyper::StatusCode::CREATED;
                    Ok::<_, Infallible>(response)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    port
}

/// A port the OS just handed out.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// One context with both source routes; returns it (kept alive) and the
/// ports of `wasm_source` and `compat_source`.
async fn wasm_sources() -> (CamelContext, u16, u16) {
    let (port, compat_port) = (free_port(), free_port());
    let mut ctx = CamelContext::builder().build().await.expect("context");
    WasmBundle::new(guest_dir())
        .with_runtime(WasmRuntime::new().expect("runtime"))
        .register_all(&mut ctx);
    let ours = RouteBuilder::from(&format!(
        "wasm:{}?listen=127.0.0.1:{port}&max-pending=256",
        file_name(guests::SOURCE_WEBHOOK)
    ))
    .route_id("hook")
    .concurrent(8)
    .process(|mut ex: Exchange| async move {
        let id = ex.input.header("order-id").cloned().unwrap_or_default();
        ex.input.body = Body::Json(json!({ "accepted": id }));
        ex.input.set_header("CamelHttpResponseCode", 201);
        Ok(ex)
    });
    let compat = RouteBuilder::from(&format!(
        "wasm:{}?bind=127.0.0.1:{compat_port}&max-pending=256",
        file_name(guests::COMPAT_SOURCE)
    ))
    .route_id("compat-hook")
    .process(|ex: Exchange| async move {
        // Drain the body the guest passed on, as a real step would.
        if let Body::Stream(stream) = &ex.input.body
            && let Some(mut pieces) = stream.stream.lock().await.take()
        {
            while futures::StreamExt::next(&mut pieces).await.is_some() {}
        }
        Ok(ex)
    });
    for route in [ours, compat] {
        let route = route.build().expect("route");
        ctx.add_route_definition(route).await.expect("add route");
    }
    ctx.start().await.expect("start");
    (ctx, port, compat_port)
}

async fn order(client: &reqwest::Client, url: &str, id: usize, status: u16) {
    let response = client
        .post(url)
        .body(format!(r#"{{"id": {id}}}"#))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), status);
    response.bytes().await.expect("body");
}

async fn batch(client: &reqwest::Client, url: &str, status: u16) {
    let mut lanes = tokio::task::JoinSet::new();
    for lane in 0..CLIENTS {
        let client = client.clone();
        let url = url.to_string();
        lanes.spawn(async move {
            for id in (lane..BATCH).step_by(CLIENTS) {
                order(&client, &url, id, status).await;
            }
        });
    }
    while let Some(lane) = lanes.join_next().await {
        lane.expect("lane");
    }
}

fn sources(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let native = rt.block_on(native_server());
    let (mut ctx, wasm, compat) = rt.block_on(wasm_sources());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .expect("client");
    let targets = [
        (
            "native_hyper",
            format!("http://127.0.0.1:{native}/orders"),
            201,
        ),
        (
            "wasm_source",
            format!("http://127.0.0.1:{wasm}/orders"),
            201,
        ),
        (
            "compat_source",
            format!("http://127.0.0.1:{compat}/orders"),
            202,
        ),
    ];
    // Each answers before anything is timed.
    for (_, url, status) in &targets {
        rt.block_on(order(&client, url, 1, *status));
    }

    let mut group = c.benchmark_group("source/one");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    for (name, url, status) in &targets {
        group.bench_function(*name, |b| {
            b.to_async(&rt).iter(|| order(&client, url, 7, *status));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("source/batch64");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(6));
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, url, status) in &targets {
        group.bench_function(*name, |b| {
            b.to_async(&rt).iter(|| batch(&client, url, *status));
        });
    }
    group.finish();
    rt.block_on(async { ctx.stop().await.expect("stop") });
}

criterion_group!(benches, sources);
criterion_main!(benches);
