//! `camel-call`: reaching other endpoints, failures as WIT errors, and the
//! recursion guard.

use camel_api::{Exchange, Message};
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_wasm_test_artifacts as guests;
use serde_json::json;

use crate::support::{TestContext, reply_body, text, wasm_uri};

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
