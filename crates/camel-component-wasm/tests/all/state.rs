//! `host-store` / `host-load`: state per route endpoint, kept across calls
//! and instances, with limits.

use camel_api::{Exchange, Message};
use camel_wasm_test_artifacts as guests;
use serde_json::json;

use crate::support::{TestContext, reply_body, text, wasm_uri};

#[tokio::test(flavor = "multi_thread")]
async fn state_survives_calls_and_is_separate_per_route() {
    let mut t = TestContext::new().await;
    t.route("count-a", &[wasm_uri(guests::COUNTER, "")])
        .await
        .unwrap();
    t.route("count-b", &[wasm_uri(guests::COUNTER, "")])
        .await
        .unwrap();
    t.start().await;

    for n in 1..=3u64 {
        let reply = t.send_text("count-a", "x").await.unwrap();
        assert_eq!(reply.input.header("count"), Some(&json!(n)));
        assert_eq!(text(reply_body(&reply)), format!("count={n}"));
    }
    // Same module, other route: its own state.
    let reply = t.send_text("count-b", "x").await.unwrap();
    assert_eq!(reply.input.header("count"), Some(&json!(1)));
    let reply = t.send_text("count-a", "x").await.unwrap();
    assert_eq!(reply.input.header("count"), Some(&json!(4)));
}

#[tokio::test(flavor = "multi_thread")]
async fn state_survives_instance_replacement() {
    let mut t = TestContext::new().await;
    // Two steps of the same route are two endpoints; one instance each.
    t.route(
        "count-one",
        &[wasm_uri(guests::COUNTER, "max-concurrent-calls=1")],
    )
    .await
    .unwrap();
    t.start().await;
    for _ in 0..2 {
        t.send_text("count-one", "x").await.unwrap();
    }
    let reply = t.send_text("count-one", "x").await.unwrap();
    assert_eq!(reply.input.header("count"), Some(&json!(3)));
}

#[tokio::test(flavor = "multi_thread")]
async fn state_limits_are_guest_visible_errors() {
    let mut t = TestContext::new().await;
    t.route(
        "flood",
        &[wasm_uri(
            guests::STORE_FLOOD,
            "max-state-entries=100&max-state-value-bytes=1000&max-state-key-bytes=16",
        )],
    )
    .await
    .unwrap();
    t.start().await;

    let send = |headers: &[(&str, &str)]| {
        let mut m = Message::new("x");
        for (k, v) in headers {
            m.set_header(*k, *v);
        }
        Exchange::new(m)
    };
    // A value over the limit.
    let reply = t
        .send("flood", send(&[("key", "k"), ("value-size", "1001")]))
        .await
        .unwrap();
    assert_eq!(
        reply.input.header("store-error-kind"),
        Some(&json!("limit-exceeded"))
    );
    // A key over the limit.
    let reply = t
        .send(
            "flood",
            send(&[("key", "a-key-longer-than-16-bytes"), ("value-size", "1")]),
        )
        .await
        .unwrap();
    assert_eq!(
        reply.input.header("store-error-kind"),
        Some(&json!("limit-exceeded"))
    );
    // Within limits it works.
    let reply = t
        .send("flood", send(&[("key", "k"), ("value-size", "1000")]))
        .await
        .unwrap();
    assert_eq!(reply.input.header("store-error-kind"), None);
    // Too many entries.
    let reply = t.send("flood", send(&[("mode", "entries")])).await.unwrap();
    assert_eq!(
        reply.input.header("store-error-kind"),
        Some(&json!("limit-exceeded"))
    );
    let msg = reply.input.header("store-error").unwrap().to_string();
    assert!(msg.contains("full"), "{msg}");
}
