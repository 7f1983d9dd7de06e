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
