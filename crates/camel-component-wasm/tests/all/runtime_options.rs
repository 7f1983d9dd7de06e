//! Runtime and endpoint options: isolation, recycling, the pooling
//! allocator and the on-disk compile cache.

use std::path::Path;

use camel_component_wasm::{PoolingOptions, WasmComponent, WasmError, WasmRuntime};
use camel_wasm_test_artifacts as guests;
use serde_json::json;

use crate::support::{TestContext, guest_dir, wasm_uri};

async fn calls(t: &TestContext, route: &str) -> (serde_json::Value, serde_json::Value) {
    let reply = t.send_text(route, "x").await.unwrap();
    (
        reply.input.header("init-calls").cloned().unwrap(),
        reply.input.header("process-calls").cloned().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn isolation_exchange_gives_every_exchange_a_fresh_instance() {
    let mut t = TestContext::new().await;
    t.route(
        "fresh",
        &[wasm_uri(
            guests::INIT_COUNTER,
            "isolation=exchange&max-concurrent-calls=1",
        )],
    )
    .await
    .unwrap();
    t.route(
        "reused",
        &[wasm_uri(guests::INIT_COUNTER, "max-concurrent-calls=1")],
    )
    .await
    .unwrap();
    t.start().await;
    for n in 1..=3 {
        // Fresh globals every time: this exchange is the instance's first.
        assert_eq!(calls(&t, "fresh").await, (json!(1), json!(1)));
        assert_eq!(calls(&t, "reused").await, (json!(1), json!(n)));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn recycle_after_replaces_instances() {
    let mut t = TestContext::new().await;
    t.route(
        "recycled",
        &[wasm_uri(
            guests::INIT_COUNTER,
            "recycle-after=2&max-concurrent-calls=1",
        )],
    )
    .await
    .unwrap();
    t.start().await;
    let seen: Vec<_> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(calls(&t, "recycled").await.1);
        }
        v
    };
    assert_eq!(seen, vec![json!(1), json!(2), json!(1), json!(2), json!(1)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_instances_are_trimmed() {
    let mut t = TestContext::new().await;
    t.route(
        "idle",
        &[wasm_uri(
            guests::INIT_COUNTER,
            "idle-timeout=0.05&max-concurrent-calls=1",
        )],
    )
    .await
    .unwrap();
    t.start().await;
    assert_eq!(calls(&t, "idle").await.1, json!(1));
    assert_eq!(calls(&t, "idle").await.1, json!(2));
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    // The idle instance was dropped: a new one starts counting again.
    assert_eq!(calls(&t, "idle").await.1, json!(1));
}

/// Regression: idle instances were trimmed only when the endpoint was next
/// used, so a burst followed by silence kept all their memory. A timer
/// trims them (tokio's clock is advanced, not slept).
#[tokio::test(flavor = "current_thread")]
async fn idle_instances_are_trimmed_without_traffic() {
    let endpoint = crate::support::endpoint(guests::ECHO, "idle-timeout=10");
    tower::ServiceExt::oneshot(
        endpoint.producer(),
        camel_api::Exchange::new(camel_api::Message::new("x")),
    )
    .await
    .unwrap();
    assert_eq!(endpoint.idle_instances(), 1);

    tokio::time::pause();
    tokio::time::advance(std::time::Duration::from_secs(9)).await;
    tokio::task::yield_now().await;
    assert_eq!(endpoint.idle_instances(), 1, "not idle for long enough yet");
    tokio::time::advance(std::time::Duration::from_secs(11)).await;
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    assert_eq!(endpoint.idle_instances(), 0);
    tokio::time::resume();
}

/// The wait for a free instance is bounded by `timeout` too: behind a
/// guest that holds the only instance, a queued exchange fails with `Busy`
/// instead of waiting without end.
#[tokio::test(flavor = "multi_thread")]
async fn the_wait_for_a_free_instance_is_bounded() {
    let endpoint = crate::support::endpoint(guests::SLEEPER, "timeout=1&max-concurrent-calls=1");
    let sleep_forever = |delay_ms: u64| {
        let producer = endpoint.producer();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            let mut m = camel_api::Message::new("zz");
            m.set_header("secs", "max");
            tower::ServiceExt::oneshot(producer, camel_api::Exchange::new(m)).await
        })
    };
    // A holds the instance until its timeout (1 s); B queues at once and C
    // half a second later. Whichever of B and C does not get the instance
    // in time fails with Busy; the one that does runs into its timeout.
    let (a, b, c) = (sleep_forever(0), sleep_forever(50), sleep_forever(500));
    let kind = |r: Result<Result<camel_api::Exchange, camel_api::CamelError>, _>| {
        let err = r.unwrap().unwrap_err();
        match camel_component_wasm::wasm_error_of(&err) {
            Some(WasmError::Timeout { .. }) => "timeout",
            Some(WasmError::Busy { .. }) => "busy",
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(kind(a.await), "timeout");
    let mut rest = vec![kind(b.await), kind(c.await)];
    rest.sort();
    assert!(rest.contains(&"busy"), "{rest:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pooling_allocator_serves_fresh_instances() {
    let runtime = WasmRuntime::builder()
        .pooling(PoolingOptions::new(16, 16 * 1024 * 1024))
        .build()
        .unwrap();
    let component = WasmComponent::builder(guest_dir())
        .runtime(runtime)
        .build()
        .unwrap();
    let endpoint = component
        .endpoint(&wasm_uri(
            guests::UPPERCASE,
            "isolation=exchange&max-memory=16777216",
        ))
        .unwrap();
    let producer = endpoint.producer();
    for i in 0..50 {
        let ex = camel_api::Exchange::new(camel_api::Message::new(format!("p{i}")));
        let out = tower::ServiceExt::oneshot(producer.clone(), ex)
            .await
            .unwrap();
        assert_eq!(crate::support::text(&out.input.body), format!("P{i}"));
    }
    // A memory limit over the slot size cannot be honoured: refused up front.
    let err = component
        .endpoint(&wasm_uri(guests::UPPERCASE, "max-memory=33554432"))
        .unwrap_err();
    assert!(
        matches!(&err, WasmError::InvalidParameter { name, .. } if name == "max-memory"),
        "{err}"
    );
}

fn cache_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.components().any(|c| c.as_os_str() == "modules") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn the_compile_cache_survives_restarts_and_ignores_corrupt_entries() {
    let cache = tempfile::tempdir().unwrap();
    let load = || {
        let runtime = WasmRuntime::builder()
            .compile_cache(cache.path())
            .build()
            .unwrap();
        let component = WasmComponent::builder(guest_dir())
            .runtime(runtime.clone())
            .build()
            .unwrap();
        component.endpoint(&wasm_uri(guests::ECHO, "")).unwrap();
        runtime.compile_cache_stats().unwrap()
    };
    // First process: compiled and stored.
    assert_eq!(load().0, 0);
    assert!(!cache_files(cache.path()).is_empty());
    // A new engine (as after a restart) finds it.
    assert_eq!(load().0, 1);
    // Corrupt every entry: entries that do not deserialize are ignored and
    // rebuilt. (A well-formed entry is run as it is: that is why the
    // directory must be private; see `an_untrusted_compile_cache_directory_is_refused`.)
    for file in cache_files(cache.path()) {
        std::fs::write(&file, b"garbage").unwrap();
    }
    assert_eq!(load().0, 0);
    assert_eq!(load().0, 1);
}
