//! Plugins built for rust-camel's own WASM component (`camel:plugin@1.0.0`)
//! run unchanged: test guests written against that contract with plain
//! wit-bindgen, through real routes, beans and policies.

use std::sync::Arc;

use bytes::Bytes;
use camel_api::{Body, CamelError, Exchange, Message, StreamBody, StreamMetadata};
use camel_auth::permission::{PermissionDecision, PermissionRequest};
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_component_wasm::{GuestError, WasmError, wasm_error_of};
use camel_wasm_test_artifacts as guests;
use futures::StreamExt;
use serde_json::json;

use crate::project::{Project, principal};
use crate::support::{TestContext, reply_body, send_direct, text, typed, wasm_uri, with_headers};

/// A context with the compat plugin at `compat` (granted `query`), and a
/// plain service route it may call.
async fn plugin_context(query: &str) -> TestContext {
    let mut t = TestContext::new().await;
    t.route("compat", &[wasm_uri(guests::COMPAT_PLUGIN, query)])
        .await
        .unwrap();
    let service = RouteBuilder::from("direct:service")
        .route_id("service")
        .to(wasm_uri(guests::UPPERCASE, ""))
        .build()
        .unwrap();
    t.ctx.add_route_definition(service).await.unwrap();
    t.start().await;
    t
}

fn header_text(exchange: &Exchange, name: &str) -> Option<String> {
    exchange
        .input
        .header(name)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_async_process_plugin_runs_in_a_route_unchanged() {
    let t = plugin_context("").await;
    // Identity: the exchange comes back as it went in.
    let reply = t.send_text("compat", "hello").await.unwrap();
    assert_eq!(text(reply_body(&reply)), "hello");

    // Headers and properties cross as text; values that are JSON come back
    // as JSON, as in rust-camel's own host.
    let mut exchange = with_headers("body", &[("mode", "props")]);
    exchange.input.set_header("amount", json!(42));
    exchange.set_property("in", "from-route");
    let reply = t.send("compat", exchange).await.unwrap();
    assert_eq!(
        header_text(&reply, "compat").as_deref(),
        Some("camel:plugin")
    );
    assert_eq!(
        header_text(&reply, "seen-in").as_deref(),
        Some("from-route")
    );
    assert_eq!(reply.input.header("amount"), Some(&json!(42)));
    assert_eq!(reply.input.header("headers"), Some(&json!(2)));
    assert_eq!(header_text(&reply, "route").as_deref(), Some("compat"));
    assert_eq!(reply.property("returned"), Some(&json!("yes")));
    assert_eq!(reply.property("via-host"), Some(&json!("1")));
    assert_eq!(reply.property("in"), Some(&json!("from-route")));
}

#[tokio::test(flavor = "multi_thread")]
async fn camel_call_goes_through_the_call_policy() {
    // Granted: the reply of the called route becomes the body.
    let t = plugin_context("allow-call=direct:service").await;
    let reply = t
        .send(
            "compat",
            with_headers("ping", &[("mode", "call"), ("call-uri", "direct:service")]),
        )
        .await
        .unwrap();
    assert_eq!(header_text(&reply, "call-error"), None);
    assert_eq!(text(reply_body(&reply)), "PING");

    // Not granted: refused (fail-closed), as the contract's processor-error.
    let reply = t
        .send(
            "compat",
            with_headers(
                "ping",
                &[("mode", "call"), ("call-uri", "direct:elsewhere")],
            ),
        )
        .await
        .unwrap();
    let error = header_text(&reply, "call-error").unwrap();
    assert!(error.starts_with("processor-error: denied"), "{error}");

    // Nothing granted at all: every call is refused.
    let t = plugin_context("").await;
    let reply = t
        .send(
            "compat",
            with_headers("ping", &[("mode", "call"), ("call-uri", "direct:service")]),
        )
        .await
        .unwrap();
    let error = header_text(&reply, "call-error").unwrap();
    assert!(error.starts_with("processor-error: denied"), "{error}");

    // camel-poll of an endpoint without a polling consumer.
    let t = plugin_context("allow-call=direct").await;
    let reply = t
        .send(
            "compat",
            with_headers("", &[("mode", "poll"), ("call-uri", "direct:service")]),
        )
        .await
        .unwrap();
    let error = header_text(&reply, "call-error").unwrap();
    assert!(error.starts_with("processor-error: not found"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn its_error_variants_map_to_typed_errors_and_the_next_exchange_works() {
    let t = plugin_context("").await;
    let send = |mode: &'static str| t.send("compat", with_headers("x", &[("mode", mode)]));

    let err = send("fail-processor").await.unwrap_err();
    assert!(
        matches!(typed(&err), WasmError::Guest { error: GuestError::Failed(m), .. } if m == "rejected"),
        "{err:?}"
    );
    let err = send("fail-type").await.unwrap_err();
    assert!(
        matches!(&err, CamelError::TypeConversionFailed(m) if m.contains("not a number")),
        "{err:?}"
    );
    let err = send("fail-io").await.unwrap_err();
    assert!(
        matches!(&err, CamelError::Io(m) if m.contains("disk gone")),
        "{err:?}"
    );
    let err = send("fail-timeout").await.unwrap_err();
    assert!(
        matches!(
            typed(&err),
            WasmError::Guest {
                error: GuestError::Timeout(_),
                ..
            }
        ),
        "{err:?}"
    );
    let reply = t.send_text("compat", "ok").await.unwrap();
    assert_eq!(text(reply_body(&reply)), "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn its_calls_are_bounded_in_time_and_a_timed_out_instance_is_replaced() {
    let t = plugin_context("timeout=1").await;
    let started = std::time::Instant::now();
    let err = t
        .send("compat", with_headers("x", &[("mode", "spin")]))
        .await
        .unwrap_err();
    assert!(matches!(typed(&err), WasmError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let reply = t.send_text("compat", "ok").await.unwrap();
    assert_eq!(text(reply_body(&reply)), "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn its_state_belongs_to_the_endpoint() {
    let t = plugin_context("").await;
    for expected in 1..=3 {
        let reply = t
            .send("compat", with_headers("", &[("mode", "count")]))
            .await
            .unwrap();
        assert_eq!(reply.input.header("count"), Some(&json!(expected)));
    }
}

/// A stream body of `chunks` copies of `piece`.
fn stream_of(piece: &'static [u8], chunks: usize) -> Body {
    let pieces =
        futures::stream::iter(std::iter::repeat_n(Bytes::from_static(piece), chunks).map(Ok));
    Body::Stream(StreamBody {
        stream: Arc::new(tokio::sync::Mutex::new(Some(pieces.boxed()))),
        metadata: StreamMetadata {
            size_hint: None,
            content_type: Some("text/plain".into()),
            origin: None,
        },
    })
}

/// Reads a stream body to its end: its bytes (up to an error) and how it
/// ended, with its content type.
async fn read_to_end(body: &Body) -> (Vec<u8>, Result<(), CamelError>, Option<String>) {
    let Body::Stream(stream) = body else {
        panic!("expected a stream body, got {body:?}");
    };
    let mut out = Vec::new();
    let mut pieces = stream.stream.lock().await.take().expect("unread stream");
    let mut ended = Ok(());
    while let Some(piece) = pieces.next().await {
        match piece {
            Ok(piece) => out.extend_from_slice(&piece),
            Err(err) => {
                ended = Err(err);
                break;
            }
        }
    }
    (out, ended, stream.metadata.content_type.clone())
}

/// Reads a stream body that must end well.
async fn drain(body: &Body) -> (Vec<u8>, Option<String>) {
    let (bytes, ended, content_type) = read_to_end(body).await;
    ended.unwrap();
    (bytes, content_type)
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_bodies_go_in_and_out_as_component_model_streams() {
    let t = plugin_context("").await;
    // 2000 pieces of 13 bytes in, the guest reads them from its stream<u8>
    // and writes them back upper-cased from a task that outlives `process`.
    let mut exchange = Exchange::new_in_out(Message::new(stream_of(b"hello, world ", 2000)));
    exchange.input.set_header("mode", "stream");
    let reply = t.send("compat", exchange).await.unwrap();
    assert_eq!(header_text(&reply, "input-kind").as_deref(), Some("stream"));
    assert_eq!(reply.input.header("read-bytes"), Some(&json!(26_000)));
    let (bytes, content_type) = drain(reply_body(&reply)).await;
    assert_eq!(bytes, b"HELLO, WORLD ".repeat(2000));
    assert_eq!(content_type.as_deref(), Some("text/plain"));

    // A whole body in, a stream out.
    let reply = t
        .send("compat", with_headers("abc", &[("mode", "stream")]))
        .await
        .unwrap();
    assert_eq!(header_text(&reply, "input-kind").as_deref(), Some("whole"));
    assert_eq!(drain(reply_body(&reply)).await.0, b"ABC");

    // The terminal future says the producer broke: the body, read after
    // the call, ends with that error.
    let reply = t
        .send(
            "compat",
            with_headers("abc", &[("mode", "stream"), ("stream-fail", "yes")]),
        )
        .await
        .unwrap();
    let (bytes, ended, _) = read_to_end(reply_body(&reply)).await;
    assert_eq!(bytes, b"ABC");
    let err = ended.unwrap_err();
    assert!(err.to_string().contains("producer broke"), "{err:?}");
    let reply = t.send_text("compat", "ok").await.unwrap();
    assert_eq!(text(reply_body(&reply)), "ok");
}

/// A returned stream is pulled after the call, as its consumer reads: one
/// without end works, `max-stream-bytes` (a bound on bodies the host
/// reads whole) does not cut it, a consumer that stops early frees the
/// instance, and a guest that stops writing is stopped by `stream-timeout`.
#[tokio::test(flavor = "multi_thread")]
async fn a_returned_stream_is_pulled_as_its_consumer_reads() {
    let t = plugin_context("max-stream-bytes=1000&stream-timeout=0.5&max-concurrent-calls=1").await;
    let generate = |size: &str| with_headers("", &[("mode", "generate"), ("size", size)]);

    // 64 MiB, more than max-stream-bytes and than the default max-memory
    // would hold at once; the metadata is the handle's.
    let reply = t.send("compat", generate("67108864")).await.unwrap();
    let Body::Stream(stream) = reply_body(&reply) else {
        panic!("expected a stream body");
    };
    assert_eq!(stream.metadata.size_hint, Some(67_108_864));
    assert_eq!(stream.metadata.origin.as_deref(), Some("generate"));
    let mut pieces = stream.stream.lock().await.take().unwrap();
    let (mut total, mut count) = (0usize, 0usize);
    while let Some(piece) = pieces.next().await {
        let piece = piece.unwrap();
        assert!(piece.len() <= 64 * 1024 && piece.iter().all(|&b| b == b'x'));
        total += piece.len();
        count += 1;
    }
    assert_eq!(total, 64 << 20);
    assert!(count >= 1024, "{count} pieces");

    // Without end: read ten pieces and drop the body. The instance is
    // freed (max-concurrent-calls=1: the next exchange could not run
    // otherwise).
    for _ in 0..3 {
        let reply = t.send("compat", generate("0")).await.unwrap();
        let Body::Stream(stream) = reply_body(&reply) else {
            panic!("expected a stream body");
        };
        let mut pieces = stream.stream.lock().await.take().unwrap();
        for _ in 0..10 {
            assert!(!pieces.next().await.unwrap().unwrap().is_empty());
        }
        drop(pieces);
        drop(reply);
    }
    let reply = t.send_text("compat", "after").await.unwrap();
    assert_eq!(text(reply_body(&reply)), "after");

    // The guest writes 100 KiB and then waits forever: the read after it
    // fails with a timeout, and the next exchange works.
    let mut exchange = generate("1000000");
    exchange.input.set_header("stall-after", "100000");
    let reply = t.send("compat", exchange).await.unwrap();
    let (bytes, ended, _) = read_to_end(reply_body(&reply)).await;
    assert!(
        bytes.len() >= 100_000 && bytes.len() < 1_000_000,
        "{}",
        bytes.len()
    );
    let err = ended.unwrap_err();
    assert!(
        err.to_string().contains("timed out") || err.to_string().contains("timeout"),
        "{err:?}"
    );
    let reply = t.send_text("compat", "still").await.unwrap();
    assert_eq!(text(reply_body(&reply)), "still");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_component_of_the_wrong_world_is_refused_naming_it() {
    let mut t = TestContext::new().await;
    let err = t
        .route("bean-as-step", &[wasm_uri(guests::COMPAT_BEAN, "")])
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("camel:plugin@1.0.0"), "{message}");
    t.start().await;
}

const BEAN_ROUTES: &str = r#"
routes:
  - id: greet
    from: direct:greet
    steps:
      - bean: { name: compat, method: greet }
      - bean: { name: compat, method: shout }
  - id: lookup
    from: direct:lookup-via-bean
    steps:
      - bean: { name: compat, method: lookup }
  - id: lookup-service
    from: direct:lookup
    steps:
      - to: wasm:upper.wasm
  - id: fail
    from: direct:fail
    steps:
      - bean: { name: compat, method: fail }
"#;

const BEAN_TOML: &str = r#"
[components.wasm]
plugins_dir = "plugins"

[beans.compat]
plugin = "compat-bean"
[beans.compat.config]
greeting = "Hello"
[beans.compat.limits]
allow-call-schemes = "direct"
"#;

/// A project with the compat guests in plugins/.
fn project(toml: &str) -> Project {
    Project::new(
        toml,
        &[
            (guests::COMPAT_BEAN, "compat-bean.wasm"),
            (guests::COMPAT_POLICY, "compat-policy.wasm"),
            (guests::UPPERCASE, "upper.wasm"),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bean_of_the_contract_runs_from_bean_steps() {
    let (mut ctx, _) = project(BEAN_TOML)
        .start_with_beans(None, BEAN_ROUTES)
        .await
        .unwrap();
    let send = |route: &'static str, body: &'static str| {
        send_direct(&ctx, route, Exchange::new_in_out(Message::new(body)))
    };
    // init(config) saw the greeting; two async invokes in a row.
    let reply = send("direct:greet", "ada").await.unwrap();
    assert_eq!(text(reply_body(&reply)), "HELLO, ADA");
    assert_eq!(reply.input.header("shouted"), Some(&json!(true)));
    // invoke awaits camel-call, granted by allow-call-schemes.
    let reply = send("direct:lookup-via-bean", "key").await.unwrap();
    assert_eq!(text(reply_body(&reply)), "KEY");
    // A failing method: a typed error.
    let err = send("direct:fail", "x").await.unwrap_err();
    let typed = wasm_error_of(&err).unwrap_or_else(|| panic!("{err:?}"));
    assert!(
        matches!(typed, WasmError::Guest { error: GuestError::Failed(m), .. } if m == "bean says no"),
        "{typed:?}"
    );
    ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bean_whose_init_fails_is_refused_naming_it() {
    let project = project(&BEAN_TOML.replace("greeting = \"Hello\"", "other = \"x\""));
    let Err(err) = project.start_with_beans(None, BEAN_ROUTES).await else {
        panic!("a bean whose init fails was registered");
    };
    let message = crate::support::error_chain_text(&err);
    assert!(message.contains("compat"), "{message}");
    assert!(message.contains("missing greeting"), "{message}");
}

const POLICY_TOML: &str = r#"
[components.wasm]
plugins_dir = "plugins"

[security.policies.wasm.admins]
path = "plugins/compat-policy.wasm"
[security.policies.wasm.admins.config]
role = "admin"

[security.permissions.docs]
provider = "wasm"
path = "plugins/compat-policy.wasm"
[security.permissions.docs.config]
role = "editor"
"#;

const POLICY_ROUTES: &str = r#"
routes:
  - id: admin
    from: direct:admin
    security_policy: { wasm: admins }
    steps:
      - to: mock:admin
"#;

#[tokio::test(flavor = "multi_thread")]
async fn an_authorization_policy_of_the_contract_guards_a_route_and_answers_permissions() {
    let project = project(POLICY_TOML);
    let users = [
        ("root-token", principal("root", &["admin"], &[])),
        ("guest-token", principal("guest", &["reader"], &[])),
    ];
    let secured = project.start_secured(POLICY_ROUTES, &users).await;
    let policies = project.policies().await.unwrap();
    let send_as = async |token: &str, headers: &[(&str, &str)]| {
        secured
            .send_as(token, "admin", with_headers("doc", headers))
            .await
    };

    // The guest read the caller's roles from `camel.auth.roles`.
    send_as("root-token", &[]).await.unwrap();
    match send_as("guest-token", &[]).await {
        Err(CamelError::Unauthorized(m)) => assert!(m.contains("missing role admin"), "{m}"),
        other => panic!("expected a denial, got {other:?}"),
    }
    // A guest error denies (fail-closed).
    match send_as("root-token", &[("explode", "yes")]).await {
        Err(CamelError::Unauthorized(m)) => assert!(m.contains("could not decide"), "{m}"),
        other => panic!("expected a denial, got {other:?}"),
    }

    // Permission checks: the request arrives as `camel.permission.*`.
    let evaluator = policies.permission_evaluators().get("docs").unwrap();
    let request = |action: &str, roles: &[&str]| PermissionRequest {
        principal: principal("someone", roles, &[]),
        resource: "doc-1".to_string(),
        action: action.to_string(),
        requested_scopes: Vec::new(),
        context: json!({}),
    };
    assert_eq!(
        evaluator.evaluate(request("read", &[])).await.unwrap(),
        PermissionDecision::Granted
    );
    assert_eq!(
        evaluator
            .evaluate(request("write", &["editor"]))
            .await
            .unwrap(),
        PermissionDecision::Granted
    );
    assert_eq!(
        evaluator
            .evaluate(request("write", &["reader"]))
            .await
            .unwrap(),
        PermissionDecision::Denied {
            reason: "missing role editor".to_string()
        }
    );
    let mut ctx = secured.ctx;
    ctx.stop().await.unwrap();
}

/// wit-bindgen 0.61 guests leak the memory of an `async` export's
/// indirect arguments (~200 bytes a call): the host replaces such an
/// instance every 1 000 calls, so a small `max-memory` never fills up
/// (without it, this endpoint failed after ~9 800 exchanges).
#[tokio::test(flavor = "multi_thread")]
async fn a_long_lived_instance_is_recycled_before_the_async_argument_leak_fills_it() {
    let t = plugin_context("max-memory=3000000").await;
    for i in 0..25_000u32 {
        if let Err(e) = t.send_text("compat", "hello").await {
            panic!("exchange {i} failed: {e}");
        }
    }
}
