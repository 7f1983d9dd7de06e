//! `camel-call`: reaching other endpoints, failures as WIT errors, and the
//! recursion guard.

use camel_api::{Exchange, Message};
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_wasm_test_artifacts as guests;
use serde_json::json;

use crate::queue::QueueComponent;
use crate::support::{TestContext, reply_body, text, wasm_uri, with_headers};
use camel_component_wasm::WasmError;

fn call(uri: &str, body: &str) -> Exchange {
    let mut m = Message::new(body);
    m.set_header("call-uri", uri);
    Exchange::new_in_out(m)
}

async fn context_with_caller(query: &str) -> TestContext {
    let mut t = TestContext::new().await;
    t.route("caller", &[wasm_uri(guests::CALLER, query)])
        .await
        .unwrap();
    t.route("hop", &[wasm_uri(guests::CALLER, query)])
        .await
        .unwrap();
    // A plain route the plugin can call: uppercases through another plugin.
    let def = RouteBuilder::from("direct:service")
        .route_id("service")
        .to(wasm_uri(guests::UPPERCASE, ""))
        .build()
        .unwrap();
    t.ctx.add_route_definition(def).await.unwrap();
    t.start().await;
    t
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_another_route_and_gets_its_reply() {
    let t = context_with_caller("allow-call=direct:service").await;
    let reply = t
        .send("caller", call("direct:service", "ping"))
        .await
        .unwrap();
    assert_eq!(reply.input.header("call-error"), None);
    assert_eq!(text(reply_body(&reply)), "PING");
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_come_back_as_wit_errors() {
    let t = context_with_caller("allow-call=*").await;
    for (uri, kind) in [
        ("nosuch:thing", "not-found"),
        ("not a uri", "not-found"),
        ("direct:nobody-listens", "not-found"),
    ] {
        let reply = t.send("caller", call(uri, "x")).await.unwrap();
        assert_eq!(
            reply.input.header("call-error-kind"),
            Some(&json!(kind)),
            "{uri}: {:?}",
            reply.input.header("call-error")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_to_a_wasm_uri_is_refused() {
    let t = context_with_caller("allow-call=*?*").await;
    let reply = t
        .send("caller", call(&wasm_uri(guests::ECHO, ""), "x"))
        .await
        .unwrap();
    assert_eq!(
        reply.input.header("call-error-kind"),
        Some(&json!("denied"))
    );
    let msg = reply.input.header("call-error").unwrap().to_string();
    assert!(msg.contains("recursive wasm calls not supported"), "{msg}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_indirect_loop_back_into_the_plugin_is_refused() {
    let t = context_with_caller("allow-call=direct").await;
    // caller → direct:hop → the same module in another route.
    let reply = t.send("caller", call("direct:hop", "x")).await.unwrap();
    assert_eq!(
        reply.input.header("call-error-kind"),
        Some(&json!("denied"))
    );
    let msg = reply.input.header("call-error").unwrap().to_string();
    assert!(msg.contains("recursive wasm calls not supported"), "{msg}");
    // The endpoint still serves normal calls afterwards.
    let reply = t
        .send("caller", call("direct:service", "ok"))
        .await
        .unwrap();
    assert_eq!(text(reply_body(&reply)), "OK");
}

/// Regression: `camel-call` used to be allowed to every scheme by default,
/// so an untrusted plugin reached `mock:anything-it-names`.
#[tokio::test(flavor = "multi_thread")]
async fn nothing_is_callable_unless_allowed() {
    let t = context_with_caller("").await;
    for uri in ["mock:anything-it-names", "direct:service", "log:x"] {
        let reply = t.send("caller", call(uri, "x")).await.unwrap();
        assert_eq!(
            reply.input.header("call-error-kind"),
            Some(&json!("denied")),
            "{uri}"
        );
        let msg = reply.input.header("call-error").unwrap().to_string();
        assert!(msg.contains("allow-call"), "{msg}");
    }
    assert!(t.mock.get_endpoint("anything-it-names").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn exact_endpoints_and_query_options() {
    let t = context_with_caller("allow-call=direct:service").await;
    // Another endpoint of an allowed scheme is refused...
    let reply = t.send("caller", call("direct:hop", "x")).await.unwrap();
    assert_eq!(
        reply.input.header("call-error-kind"),
        Some(&json!("denied"))
    );
    // ...and so are query options the plugin adds on its own.
    let reply = t
        .send("caller", call("direct:service?timeout=1", "x"))
        .await
        .unwrap();
    assert_eq!(
        reply.input.header("call-error-kind"),
        Some(&json!("denied"))
    );
    let msg = reply.input.header("call-error").unwrap().to_string();
    assert!(msg.contains("query options"), "{msg}");

    // `?*` allows them.
    let t = context_with_caller("allow-call=direct:service?*").await;
    let reply = t
        .send("caller", call("direct:service?timeout=5000", "ok"))
        .await
        .unwrap();
    assert_eq!(reply.input.header("call-error"), None);
    assert_eq!(text(reply_body(&reply)), "OK");
}

#[tokio::test(flavor = "multi_thread")]
async fn allow_call_restricts_schemes() {
    let t = context_with_caller("allow-call=mock").await;
    let reply = t.send("caller", call("direct:service", "x")).await.unwrap();
    assert_eq!(
        reply.input.header("call-error-kind"),
        Some(&json!("denied"))
    );
    let msg = reply.input.header("call-error").unwrap().to_string();
    assert!(msg.contains("allow-call"), "{msg}");
}

/// A context with `caller` (policy `query`) and `direct:mirror`, a native
/// route that marks what it saw and answers with the message it got.
async fn context_with_mirror(query: &str) -> TestContext {
    let mut t = TestContext::new().await;
    t.route("caller", &[wasm_uri(guests::CALLER, query)])
        .await
        .unwrap();
    let def = RouteBuilder::from("direct:mirror")
        .route_id("mirror")
        .process(|mut ex: Exchange| async move {
            let kind = match &ex.input.body {
                camel_api::Body::Bytes(b) => format!("bytes:{}", b.len()),
                other => format!("{other:?}").chars().take(20).collect(),
            };
            ex.input.set_header("mirror-saw", kind);
            Ok(ex)
        })
        .build()
        .unwrap();
    t.ctx.add_route_definition(def).await.unwrap();
    let def = RouteBuilder::from("direct:slow")
        .route_id("slow")
        .process(|ex: Exchange| async move {
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            Ok(ex)
        })
        .build()
        .unwrap();
    t.ctx.add_route_definition(def).await.unwrap();
    t.start().await;
    t
}

#[tokio::test(flavor = "multi_thread")]
async fn camel_call_message_round_trips_headers_and_a_binary_body() {
    let t = context_with_mirror("allow-call=direct:mirror").await;
    let body: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let reply = t
        .send(
            "caller",
            with_headers(
                body.clone(),
                &[
                    ("call-uri", "direct:mirror"),
                    ("call-mode", "message"),
                    ("tenant", "acme"),
                ],
            ),
        )
        .await
        .unwrap();
    assert_eq!(reply.input.header("call-error"), None);
    // The callee saw the binary body and the caller's headers, not the
    // caller's control headers; the reply came back whole.
    assert_eq!(
        reply.input.header("mirror-saw"),
        Some(&json!("bytes:1048576"))
    );
    assert_eq!(reply.input.header("tenant"), Some(&json!("acme")));
    assert_eq!(reply.input.header("call-uri"), None);
    match reply_body(&reply) {
        camel_api::Body::Bytes(b) => assert_eq!(b.as_ref(), body.as_slice()),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn camel_call_message_has_its_own_timeout() {
    let t = context_with_mirror("allow-call=direct:slow&timeout=10").await;
    let started = std::time::Instant::now();
    let reply = t
        .send(
            "caller",
            with_headers(
                "x",
                &[
                    ("call-uri", "direct:slow"),
                    ("call-mode", "message"),
                    ("call-timeout-ms", "200"),
                ],
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        reply.input.header("call-error-kind"),
        Some(&json!("timeout"))
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    // Never past the plugin's own deadline, whatever the guest asks for.
    let t = context_with_mirror("allow-call=direct:slow&timeout=0.3").await;
    let started = std::time::Instant::now();
    let outcome = t
        .send(
            "caller",
            with_headers(
                "x",
                &[
                    ("call-uri", "direct:slow"),
                    ("call-mode", "message"),
                    ("call-timeout-ms", "60000"),
                ],
            ),
        )
        .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    match outcome {
        Ok(reply) => assert_eq!(
            reply.input.header("call-error-kind"),
            Some(&json!("timeout"))
        ),
        Err(err) => assert!(
            matches!(crate::support::typed(&err), WasmError::Timeout { .. }),
            "{err}"
        ),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn camel_call_message_obeys_allow_call() {
    let t = context_with_mirror("").await;
    let reply = t
        .send(
            "caller",
            with_headers(
                "x",
                &[("call-uri", "direct:mirror"), ("call-mode", "message")],
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        reply.input.header("call-error-kind"),
        Some(&json!("denied"))
    );
}

async fn context_with_queue(query: &str) -> (TestContext, QueueComponent) {
    let mut t = TestContext::new().await;
    let queues = QueueComponent::default();
    t.ctx.register_component(queues.clone());
    t.route("caller", &[wasm_uri(guests::CALLER, query)])
        .await
        .unwrap();
    t.start().await;
    (t, queues)
}

#[tokio::test(flavor = "multi_thread")]
async fn camel_poll_receives_from_a_polling_consumer() {
    let (t, queues) = context_with_queue("allow-call=queue:orders").await;
    let mut queued = Message::new("order #1");
    queued.set_header("priority", 3);
    queues.queue("orders").push(Exchange::new(queued));

    let poll = |timeout: &'static str| {
        with_headers(
            "",
            &[
                ("call-uri", "queue:orders"),
                ("call-mode", "poll"),
                ("call-timeout-ms", timeout),
            ],
        )
    };
    let reply = t.send("caller", poll("1000")).await.unwrap();
    assert_eq!(reply.input.header("call-error"), None);
    assert_eq!(reply.input.header("polled"), Some(&json!(true)));
    assert_eq!(reply.input.header("priority"), Some(&json!(3)));
    assert_eq!(text(reply_body(&reply)), "order #1");

    // Empty: `none` after the timeout, not an error.
    let started = std::time::Instant::now();
    let reply = t.send("caller", poll("150")).await.unwrap();
    assert_eq!(reply.input.header("call-error"), None);
    assert_eq!(reply.input.header("polled"), Some(&json!(false)));
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(150)
            && waited < std::time::Duration::from_secs(2),
        "{waited:?}"
    );

    // An exchange that arrives while the plugin waits is received.
    let queue = queues.queue("orders");
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        queue.push(Exchange::new(Message::new("late")));
    });
    let reply = t.send("caller", poll("2000")).await.unwrap();
    assert_eq!(text(reply_body(&reply)), "late");
}

#[tokio::test(flavor = "multi_thread")]
async fn camel_poll_obeys_allow_call_and_needs_a_polling_consumer() {
    let (t, _queues) = context_with_queue("allow-call=queue:orders,direct").await;
    for (uri, kind) in [("queue:other", "denied"), ("direct:nothing", "not-found")] {
        let reply = t
            .send(
                "caller",
                with_headers("", &[("call-uri", uri), ("call-mode", "poll")]),
            )
            .await
            .unwrap();
        assert_eq!(
            reply.input.header("call-error-kind"),
            Some(&json!(kind)),
            "{uri}: {:?}",
            reply.input.header("call-error")
        );
    }
}
