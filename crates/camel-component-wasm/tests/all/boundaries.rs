//! What a hostile guest can make the host spend, and for how long: wall
//! time (a guest blocked in WASI), host memory (results that are cheap for
//! the guest and costly for the host), the executor (spinning guests next
//! to healthy routes), and state updates that must not be lost.

use std::sync::Arc;
use std::time::{Duration, Instant};

use camel_api::{Body, CamelError, Exchange, Message};
use camel_component_wasm::{PoolingOptions, WasmComponent, WasmError, WasmRuntime};
use camel_wasm_test_artifacts as guests;
use futures::future::join_all;
use serde_json::json;
use tower::ServiceExt;

use crate::support::{
    TestContext, assert_next_ok, endpoint, guest_dir, one_route, reply_body, typed, wasm_uri,
    with_headers,
};

/// Regression: a guest blocked in `wasi:clocks`/`poll` used to escape its
/// `timeout` (only an epoch check bounded calls, and it fires only while
/// wasm code runs): a 6 s sleep with `timeout=1` returned after 6 s.
#[tokio::test(flavor = "multi_thread")]
async fn a_guest_sleeping_in_wasi_is_stopped_at_its_timeout() {
    let t = one_route("sleep", guests::SLEEPER, "timeout=1").await;
    let started = Instant::now();
    let err = t
        .send("sleep", with_headers("zz", &[("secs", "6")]))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    match typed(&err) {
        WasmError::Timeout { timeout_secs, .. } => assert_eq!(*timeout_secs, 1.0),
        other => panic!("unexpected {other}"),
    }
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
    assert_next_ok(&t, "sleep").await;
}

/// Regression: `sleep(Duration::MAX)` never returned, and with one instance
/// the endpoint stopped serving entirely.
#[tokio::test(flavor = "multi_thread")]
async fn a_guest_sleeping_forever_does_not_take_the_endpoint_down() {
    let t = one_route(
        "sleep",
        guests::SLEEPER,
        "timeout=0.5&max-concurrent-calls=1",
    )
    .await;
    for _ in 0..2 {
        let err = t
            .send("sleep", with_headers("zz", &[("secs", "max")]))
            .await
            .unwrap_err();
        assert!(matches!(typed(&err), WasmError::Timeout { .. }), "{err}");
        assert_next_ok(&t, "sleep").await;
    }
}

/// Regression: a guest could make the host materialise far more than the
/// guest's own memory: the lift of its result is bounded by
/// `max-result-bytes` (wasmtime's hostcall fuel).
#[tokio::test(flavor = "multi_thread")]
async fn a_result_over_max_result_bytes_is_refused_before_it_is_copied() {
    let t = one_route(
        "amp",
        guests::AMPLIFIER,
        "max-memory=33554432&max-result-bytes=4194304",
    )
    .await;
    let err = t
        .send(
            "amp",
            with_headers("x", &[("mode", "bytes-body"), ("size", "8388608")]),
        )
        .await
        .unwrap_err();
    match typed(&err) {
        WasmError::ResourceLimit { limit, .. } => assert_eq!(*limit, "max-result-bytes"),
        other => panic!("unexpected {other}"),
    }
    // Under the budget it goes through.
    let reply = t
        .send(
            "amp",
            with_headers("x", &[("mode", "bytes-body"), ("size", "1048576")]),
        )
        .await
        .unwrap();
    assert!(matches!(reply_body(&reply), Body::Bytes(b) if b.len() == 1 << 20));
    assert_next_ok(&t, "amp").await;
}

/// Regression: a 6 MiB JSON body from a guest capped at 16 MiB grew the host
/// by ~200 MiB once parsed; JSON is now parsed within the call's budget.
#[tokio::test(flavor = "multi_thread")]
async fn json_from_the_guest_is_parsed_within_the_budget() {
    let t = one_route("amp", guests::AMPLIFIER, "max-memory=16777216").await;
    for headers in [
        [("mode", "json-body"), ("size", "6291456"), ("count", "1")],
        // 100 headers of 64 KiB of `[0,0,…]`: 6.4 MiB of text, 100 MiB parsed.
        [
            ("mode", "json-headers"),
            ("size", "65536"),
            ("count", "100"),
        ],
    ] {
        let err = t
            .send("amp", with_headers("x", &headers))
            .await
            .unwrap_err();
        match typed(&err) {
            WasmError::ResourceLimit { limit, detail, .. } => {
                assert_eq!(*limit, "max-result-bytes");
                assert!(detail.contains("JSON"), "{detail}");
            }
            other => panic!("{headers:?}: unexpected {other}"),
        }
        assert_next_ok(&t, "amp").await;
    }
    // Reasonable JSON is fine.
    let reply = t
        .send(
            "amp",
            with_headers("x", &[("mode", "json-body"), ("size", "1000")]),
        )
        .await
        .unwrap();
    assert!(
        matches!(reply_body(&reply), Body::Json(v) if v.as_array().is_some_and(|a| a.len() > 400))
    );
}

/// Regression: 1024 `set-property` calls of 1 MiB from a guest capped at
/// 4 MiB grew the host by ~2 GiB.
#[tokio::test(flavor = "multi_thread")]
async fn set_property_writes_share_the_call_budget() {
    let t = one_route("amp", guests::AMPLIFIER, "max-memory=4194304").await;
    let err = t
        .send(
            "amp",
            with_headers(
                "x",
                &[
                    ("mode", "properties"),
                    ("size", "1048576"),
                    ("count", "1024"),
                ],
            ),
        )
        .await
        .unwrap_err();
    match typed(&err) {
        WasmError::ResourceLimit { limit, detail, .. } => {
            assert_eq!(*limit, "max-result-bytes");
            assert!(detail.contains("set-property"), "{detail}");
        }
        other => panic!("unexpected {other}"),
    }
    assert_next_ok(&t, "amp").await;
}

/// Regression: 401 load/+1/store increments across 8 instances ended at
/// 237. `host-increment` never loses one: every count from 1 to 401 is
/// handed out exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_increments_are_never_lost() {
    let endpoint = endpoint(guests::COUNTER, "max-concurrent-calls=8");
    let calls = (0..401).map(|_| {
        let producer = endpoint.producer();
        tokio::spawn(async move {
            let reply = producer
                .oneshot(Exchange::new(Message::new("x")))
                .await
                .unwrap();
            reply
                .input
                .header("count")
                .and_then(|v| v.as_i64())
                .unwrap()
        })
    });
    let mut counts: Vec<i64> = join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=401).collect::<Vec<i64>>());
}

/// Regression: with `UpdateDeadline::Yield` a spinning guest on a
/// current-thread runtime let timers and I/O run only every ~61 slices, so
/// a healthy route next to it stalled for ~610 ms at a time. Yielding
/// through tokio keeps the healthy route's p99 low (asserted loosely).
#[tokio::test(flavor = "current_thread")]
async fn spinning_guests_do_not_stall_other_routes() {
    for spinners in [1, 4] {
        let mut t = TestContext::new().await;
        t.route("spin", &[wasm_uri(guests::SPIN, "timeout=2")])
            .await
            .unwrap();
        t.route("echo", &[wasm_uri(guests::ECHO, "")])
            .await
            .unwrap();
        t.start().await;
        let t = Arc::new(t);
        t.send_text("echo", "warm").await.unwrap();

        let spinning: Vec<_> = (0..spinners)
            .map(|_| {
                let t = t.clone();
                tokio::spawn(async move { t.send_text("spin", "loop").await })
            })
            .collect();
        tokio::task::yield_now().await;
        // Exchanges are due every 5 ms (a timer, like any client's); the
        // latency counts from when each was due, so a stalled timer shows.
        let mut latencies = Vec::new();
        let mut due = tokio::time::interval(Duration::from_millis(5));
        due.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let window = Instant::now();
        while window.elapsed() < Duration::from_millis(1500) {
            let scheduled = due.tick().await;
            t.send_text("echo", "ping").await.unwrap();
            latencies.push(scheduled.elapsed());
        }
        for spin in spinning {
            let err = spin.await.unwrap().unwrap_err();
            assert!(matches!(typed(&err), WasmError::Timeout { .. }), "{err}");
        }
        latencies.sort();
        let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
        eprintln!(
            "{spinners} spinner(s): healthy p50 {:?}, p99 {p99:?} over {} exchanges",
            latencies[latencies.len() / 2],
            latencies.len()
        );
        assert!(
            p99 < Duration::from_millis(100),
            "{spinners} spinner(s): healthy p99 {p99:?} over {} exchanges",
            latencies.len()
        );
    }
}

/// Regression: when one endpoint's idle instances filled the runtime's
/// instance pool, another endpoint's failures to instantiate counted as
/// crashes and opened its breaker. Running out of pool slots is `Busy`.
#[tokio::test(flavor = "multi_thread")]
async fn pool_exhaustion_is_busy_and_not_a_crash() {
    let runtime = WasmRuntime::builder()
        .pooling(PoolingOptions::new(1, 64 << 20))
        .build()
        .unwrap();
    let component = WasmComponent::builder(guest_dir())
        .runtime(runtime)
        .build()
        .unwrap();
    let holder = component.endpoint(&wasm_uri(guests::ECHO, "")).unwrap();
    let other = component
        .endpoint(&wasm_uri(guests::UPPERCASE, ""))
        .unwrap();
    // The holder's instance stays idle in its pool, keeping the only slot.
    holder
        .producer()
        .oneshot(Exchange::new(Message::new("x")))
        .await
        .unwrap();
    for _ in 0..10 {
        let err = other
            .producer()
            .oneshot(Exchange::new(Message::new("x")))
            .await
            .unwrap_err();
        assert!(matches!(typed(&err), WasmError::Busy { .. }), "{err}");
    }
}

/// A plugin that imports `wasi:sockets` loads (componentize-py's C library
/// imports it in every plugin), but every socket call is refused: a
/// connection to a listener on this machine fails in the guest and never
/// reaches the listener.
#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_that_imports_sockets_loads_but_gets_no_network() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let t = one_route("net", guests::NET_PROBE, "").await;
    for _ in 0..3 {
        let reply = t
            .send("net", with_headers("x", &[("addr", addr.as_str())]))
            .await
            .unwrap();
        assert_eq!(reply.input.header("net"), Some(&json!("denied")));
    }
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the listener was reached: {other:?}"),
    }
}

#[test]
fn an_untrusted_compile_cache_directory_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().unwrap();
    let shared = root.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = WasmRuntime::builder()
        .compile_cache(&shared)
        .build()
        .unwrap_err();
    assert!(matches!(err, WasmError::Runtime { .. }), "{err}");
    let chain = format!("{err:?}");
    assert!(chain.contains("writable by group or others"), "{chain}");
    // A missing directory is created private.
    let fresh = root.path().join("fresh/cache");
    WasmRuntime::builder()
        .compile_cache(&fresh)
        .build()
        .unwrap();
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}

/// Regression: a streamed reply to `camel-call` was read after the call's
/// deadline had been applied, so a reply stream that never ends held the
/// plugin forever.
#[tokio::test(flavor = "multi_thread")]
async fn a_never_ending_reply_stream_is_cut_at_the_deadline() {
    use camel_api::{StreamBody, StreamMetadata};
    use camel_builder::{RouteBuilder, StepAccumulator};

    let mut t = TestContext::new().await;
    t.route(
        "caller",
        &[wasm_uri(
            guests::CALLER,
            "allow-call=direct:endless&timeout=1",
        )],
    )
    .await
    .unwrap();
    let def = RouteBuilder::from("direct:endless")
        .route_id("endless")
        .process(|mut ex: Exchange| async move {
            let stream = futures::stream::pending::<Result<bytes::Bytes, CamelError>>();
            ex.input.body = Body::Stream(StreamBody {
                stream: Arc::new(tokio::sync::Mutex::new(Some(Box::pin(stream)))),
                metadata: StreamMetadata::default(),
            });
            Ok(ex)
        })
        .build()
        .unwrap();
    t.ctx.add_route_definition(def).await.unwrap();
    t.start().await;

    let started = Instant::now();
    let outcome = t
        .send(
            "caller",
            with_headers("x", &[("call-uri", "direct:endless")]),
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    match outcome {
        Ok(reply) => assert_eq!(
            reply.input.header("call-error-kind"),
            Some(&json!("timeout"))
        ),
        Err(err) => assert!(matches!(typed(&err), WasmError::Timeout { .. }), "{err}"),
    }
}
