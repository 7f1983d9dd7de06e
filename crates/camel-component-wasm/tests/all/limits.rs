//! Hostile guests: every misbehaviour fails its own exchange with a precise,
//! typed error naming the plugin, and the next exchange on the same endpoint
//! works. Each hostile guest behaves (returns the exchange) when the body is
//! the text `ok`.

use std::sync::Arc;

use camel_api::{Exchange, Message};
use camel_component_wasm::test_support::{CRASH_LOOP_INITIAL_BACKOFF, CRASH_LOOP_THRESHOLD};
use camel_component_wasm::{TrapReason, WasmError};
use camel_wasm_test_artifacts as guests;

use crate::support::{TestContext, assert_next_ok, one_route, reply_body, text, typed, wasm_uri};

fn assert_plugin(err: &WasmError, guest: &str) {
    let file = std::path::Path::new(guest)
        .file_name()
        .unwrap()
        .to_string_lossy();
    assert_eq!(err.plugin(), Some(file.as_ref()), "{err}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_spinning_guest_times_out_without_holding_the_worker() {
    let mut t = TestContext::new().await;
    t.route("spin", &[wasm_uri(guests::SPIN, "timeout=3")])
        .await
        .unwrap();
    t.route("echo", &[wasm_uri(guests::ECHO, "")])
        .await
        .unwrap();
    t.start().await;
    let t = Arc::new(t);

    let spinning = tokio::spawn({
        let t = t.clone();
        async move { t.send_text("spin", "loop").await }
    });
    tokio::task::yield_now().await;
    // One worker thread: these only complete if the spinning guest yields.
    for i in 0..20 {
        let reply = t.send_text("echo", &format!("m{i}")).await.unwrap();
        assert_eq!(text(reply_body(&reply)), format!("m{i}"));
    }
    assert!(
        !spinning.is_finished(),
        "the spinning guest should still be running"
    );

    let err = spinning.await.unwrap().unwrap_err();
    match typed(&err) {
        WasmError::Timeout { timeout_secs, .. } => assert_eq!(*timeout_secs, 3.0),
        other => panic!("unexpected {other}"),
    }
    assert_plugin(typed(&err), guests::SPIN);
    assert_next_ok(&t, "spin").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_bomb_is_out_of_memory() {
    let t = one_route("hog", guests::MEMORY_HOG, "max-memory=16777216").await;
    let err = t.send_text("hog", "eat").await.unwrap_err();
    match typed(&err) {
        WasmError::OutOfMemory {
            max_memory_bytes, ..
        } => assert_eq!(*max_memory_bytes, 16 * 1024 * 1024),
        other => panic!("unexpected {other}"),
    }
    assert_plugin(typed(&err), guests::MEMORY_HOG);
    assert_next_ok(&t, "hog").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn traps_are_classified() {
    for (guest, expected) in [
        (guests::STACK_OVERFLOW, TrapReason::StackOverflow),
        (guests::UNREACHABLE, TrapReason::Unreachable),
    ] {
        let t = one_route("trap", guest, "").await;
        let err = t.send_text("trap", "go").await.unwrap_err();
        match typed(&err) {
            WasmError::Trap { reason, .. } => assert_eq!(reason, &expected, "{guest}"),
            other => panic!("{guest}: unexpected {other}"),
        }
        assert_plugin(typed(&err), guest);
        assert_next_ok(&t, "trap").await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panic_carries_the_guest_message() {
    let t = one_route("panic", guests::PANICKING, "").await;
    let err = t.send_text("panic", "go").await.unwrap_err();
    match typed(&err) {
        WasmError::GuestPanic { message, .. } => {
            assert!(message.contains("boom: invariant broken"), "{message}")
        }
        other => panic!("unexpected {other}"),
    }
    assert_plugin(typed(&err), guests::PANICKING);
    assert_next_ok(&t, "panic").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn divide_by_zero_in_rust_is_a_panic_with_its_message() {
    // Rust checks divisors, so the guest panics before the CPU would trap.
    let t = one_route("div", guests::DIVIDE_BY_ZERO, "").await;
    let err = t.send_text("div", "go").await.unwrap_err();
    match typed(&err) {
        WasmError::GuestPanic { message, .. } => {
            assert!(message.contains("divide by zero"), "{message}")
        }
        other => panic!("unexpected {other}"),
    }
    assert_next_ok(&t, "div").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_output_is_bounded_by_guest_memory() {
    let t = one_route("big", guests::BIG_OUTPUT, "max-memory=33554432").await;
    let ask = |size: usize| {
        let mut m = Message::new("big");
        m.set_header("size", size);
        Exchange::new(m)
    };
    let reply = t.send("big", ask(4 << 20)).await.unwrap();
    match reply_body(&reply) {
        camel_api::Body::Bytes(b) => assert_eq!(b.len(), 4 << 20),
        other => panic!("unexpected {other:?}"),
    }
    let err = t.send("big", ask(64 << 20)).await.unwrap_err();
    assert!(
        matches!(typed(&err), WasmError::OutOfMemory { .. }),
        "{err}"
    );
    assert_next_ok(&t, "big").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_init_is_an_init_error_then_a_crash_loop() {
    let t = one_route("init", guests::INIT_FAILS, "").await;
    for _ in 0..CRASH_LOOP_THRESHOLD {
        let err = t.send_text("init", "x").await.unwrap_err();
        match typed(&err) {
            WasmError::Init { .. } => assert!(err.to_string().contains("`init` failed"), "{err}"),
            other => panic!("unexpected {other}"),
        }
    }
    let err = t.send_text("init", "x").await.unwrap_err();
    match typed(&err) {
        WasmError::Unhealthy { reason, .. } => assert!(reason.contains("crash loop"), "{reason}"),
        other => panic!("unexpected {other}"),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_crash_loop_reports_unhealthy_and_recovers_by_itself() {
    let t = one_route("loop", guests::PANICKING, "").await;
    let check_name = wasm_uri(guests::PANICKING, "");
    let status = |report: camel_api::HealthReport| {
        report
            .services
            .into_iter()
            .find(|s| s.name == check_name)
            .map(|s| format!("{:?}", s.status))
    };
    assert_eq!(
        status(t.ctx.health_check().await).as_deref(),
        Some("Started")
    );

    for _ in 0..CRASH_LOOP_THRESHOLD {
        assert!(t.send_text("loop", "crash").await.is_err());
    }
    // Open: even a good exchange is refused at once, without a new instance.
    let err = t.send_text("loop", "ok").await.unwrap_err();
    assert!(
        matches!(typed(&err), WasmError::Unhealthy { reason, .. } if reason.contains("crash loop")),
        "{err}"
    );
    assert_eq!(
        status(t.ctx.health_check().await).as_deref(),
        Some("Failed")
    );

    // After the back-off (on tokio's clock, advanced rather than slept) a
    // probe goes through and closes the guard.
    tokio::time::pause();
    tokio::time::advance(CRASH_LOOP_INITIAL_BACKOFF).await;
    tokio::time::resume();
    assert_next_ok(&t, "loop").await;
    assert_eq!(
        status(t.ctx.health_check().await).as_deref(),
        Some("Started")
    );
}
