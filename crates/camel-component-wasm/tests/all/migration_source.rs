//! rust-camel's `camel:plugin@1.0.0` `source` world runs unchanged: a test
//! guest written against that contract with plain wit-bindgen
//! (`compat_source`) starts routes, driven by a real HTTP client against
//! 127.0.0.1 on OS-assigned ports.

use std::sync::Arc;
use std::time::{Duration, Instant};

use camel_api::{Body, CamelError, Exchange, RuntimeCommand};
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_core::CamelContext;
use camel_wasm_test_artifacts as guests;
use futures::StreamExt;
use tokio::sync::{Semaphore, mpsc};

use crate::support::{TestContext, free_port, wasm_uri};

/// What the route saw of one exchange.
#[derive(Debug)]
struct Seen {
    body: Result<String, String>,
    headers: Vec<(String, String)>,
    source: Option<String>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The whole body, a stream read to its end.
async fn body_text(body: Body) -> Result<String, String> {
    let bytes = match body {
        Body::Stream(stream) => {
            let mut out = Vec::new();
            if let Some(mut pieces) = stream.stream.lock().await.take() {
                while let Some(piece) = pieces.next().await {
                    out.extend_from_slice(&piece.map_err(|e| e.to_string())?);
                }
            }
            out
        }
        Body::Bytes(bytes) => bytes.to_vec(),
        Body::Text(text) => text.into_bytes(),
        Body::Empty => Vec::new(),
        other => return Err(format!("unexpected body {other:?}")),
    };
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// `from(<compat source>?listen=127.0.0.1:<port>&<query>)`, upper-casing
/// each body and reporting it on `seen`; each exchange first takes a
/// permit of `gate`.
async fn source_route(
    port: u16,
    query: &str,
    gate: Arc<Semaphore>,
) -> (TestContext, mpsc::UnboundedReceiver<Seen>) {
    let listen = format!("listen=127.0.0.1:{port}");
    let query = if query.is_empty() {
        listen
    } else {
        format!("{listen}&{query}")
    };
    route_from(&wasm_uri(guests::COMPAT_SOURCE, &query), gate).await
}

async fn route_from(
    uri: &str,
    gate: Arc<Semaphore>,
) -> (TestContext, mpsc::UnboundedReceiver<Seen>) {
    let (tx, seen) = mpsc::unbounded_channel();
    let t = TestContext::new().await;
    let route = RouteBuilder::from(uri)
        .route_id("src")
        .sequential()
        .process(move |mut ex: Exchange| {
            let tx = tx.clone();
            let gate = gate.clone();
            async move {
                let _permit = gate
                    .acquire()
                    .await
                    .map_err(|e| CamelError::ProcessorError(format!("gate closed: {e}")))?;
                let body = body_text(std::mem::take(&mut ex.input.body))
                    .await
                    .map(|text| text.to_uppercase());
                if let Ok(text) = &body {
                    ex.input.body = Body::Text(text.clone());
                }
                let headers = ex
                    .input
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().map_or(v.to_string(), str::to_string)))
                    .collect();
                let source = ex
                    .property("source")
                    .and_then(|v| v.as_str())
                    .map(str::to_string);
                let _ = tx.send(Seen {
                    body,
                    headers,
                    source,
                });
                Ok(ex)
            }
        })
        .build()
        .unwrap();
    t.ctx.add_route_definition(route).await.unwrap();
    (t, seen)
}

fn open() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(Semaphore::MAX_PERMITS))
}

async fn seen(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the route saw the exchange in time")
        .expect("the route is running")
}

async fn post(
    port: u16,
    path: &str,
    mode: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}{path}"))
        .header("content-type", "text/plain")
        .body(body);
    if !mode.is_empty() {
        request = request.header("x-mode", mode);
    }
    request.send().await.expect("the request is answered")
}

async fn stop_route(ctx: &CamelContext) -> Duration {
    let started = Instant::now();
    ctx.runtime()
        .execute(RuntimeCommand::StopRoute {
            route_id: "src".to_string(),
            command_id: "stop-src".to_string(),
            causation_id: None,
            stop_budget: Some(Duration::from_secs(2)),
        })
        .await
        .unwrap();
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_camel_plugin_source_accepts_http_and_submits_streamed_exchanges() {
    let port = free_port();
    let (mut t, mut rx) = source_route(port, "path=/hook", open()).await;
    t.start().await;

    // The client is answered as rust-camel's own host answers it.
    let response = post(port, "/hook", "", "hello camel").await;
    assert_eq!(response.status().as_u16(), 202);
    assert_eq!(response.text().await.unwrap(), "accepted");
    let first = seen(&mut rx).await;
    assert_eq!(first.body.as_deref(), Ok("HELLO CAMEL"));
    assert_eq!(first.header("http-method"), Some("POST"));
    assert_eq!(first.header("http-path"), Some("/hook"));
    assert_eq!(first.header("content-type"), Some("text/plain"));
    assert_eq!(first.source.as_deref(), Some("compat"));

    // A larger body streams through the guest, unread by it, intact.
    let big = "abcdefghij".repeat(50_000);
    let response = post(port, "/hook", "", big.clone()).await;
    assert_eq!(response.status().as_u16(), 202);
    assert_eq!(seen(&mut rx).await.body, Ok(big.to_uppercase()));

    // The same, read by the guest itself.
    let response = post(port, "/hook", "read", "read by the guest").await;
    assert_eq!(response.status().as_u16(), 202);
    let read = seen(&mut rx).await;
    assert_eq!(read.body.as_deref(), Ok("READ BY THE GUEST"));
    assert_eq!(read.header("body-error"), None);

    // Only the granted path is served.
    let response = post(port, "/elsewhere", "", "x").await;
    assert_eq!(response.status().as_u16(), 404);

    t.ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn request_bodies_are_bounded_by_max_stream_bytes() {
    let port = free_port();
    let (mut t, mut rx) = source_route(port, "max-stream-bytes=1024", open()).await;
    t.start().await;
    // The client is told; the guest's stream ends with an `io` error.
    let response = post(port, "/", "read", vec![b'x'; 64 * 1024]).await;
    assert_eq!(response.status().as_u16(), 413);
    let cut = seen(&mut rx).await;
    let error = cut
        .header("body-error")
        .expect("the guest saw the body cut");
    assert!(
        error.starts_with("io:") && error.contains("max-stream-bytes"),
        "{error}"
    );
    assert!(cut.body.map(|b| b.len()).unwrap_or(0) <= 1024);

    // The next request works.
    assert_eq!(post(port, "/", "", "ok").await.status().as_u16(), 202);
    assert_eq!(seen(&mut rx).await.body.as_deref(), Ok("OK"));
    t.ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_route_holds_the_guest_back_and_stopping_answers_its_submit() {
    let port = free_port();
    // The route takes one exchange and then nothing until the gate opens.
    let gate = Arc::new(Semaphore::new(0));
    let (mut t, _rx) = source_route(port, "timeout=0.5&grace=30", gate.clone()).await;
    t.start().await;

    // Each request is taken by the guest and submitted, until the route's
    // queue is full: then `submit-exchange` waits, the guest takes no
    // more requests, and the next client gets 503 after `timeout`.
    let mut accepted = 0;
    let refused = loop {
        let response = post(port, "/", "", "").await;
        match response.status().as_u16() {
            202 => accepted += 1,
            503 => break response,
            other => panic!("unexpected status {other}"),
        }
        assert!(accepted < 1_000, "the guest was never held back");
    };
    assert!(accepted > 1, "{accepted}");
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some("1")
    );
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("did not take the request"),
        "the guest is busy submitting"
    );

    // Stopping answers the waiting `submit-exchange` with `stopped`: the
    // guest returns at once, not after its 30 s grace (the route itself
    // spends its 2 s stop budget on the exchange stuck at the gate).
    let took = stop_route(&t.ctx).await;
    assert!(took < Duration::from_secs(5), "stop took {took:?}");
    let rebound = std::net::TcpListener::bind(("127.0.0.1", port));
    assert!(rebound.is_ok(), "the port is free again: {rebound:?}");
    drop(rebound);
    gate.add_permits(Semaphore::MAX_PERMITS / 2);
    t.ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_an_idle_source_ends_its_pending_accept_at_once() {
    let port = free_port();
    let (mut t, mut rx) = source_route(port, "grace=30", open()).await;
    t.start().await;
    assert_eq!(post(port, "/", "", "one").await.status().as_u16(), 202);
    assert_eq!(seen(&mut rx).await.body.as_deref(), Ok("ONE"));
    // The guest now waits in `accept-http`.
    let took = stop_route(&t.ctx).await;
    assert!(took < Duration::from_secs(2), "stop took {took:?}");
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
    t.ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spinning_source_is_interrupted_when_its_route_stops() {
    let port = free_port();
    let (mut t, _rx) = source_route(port, "grace=0.2", open()).await;
    t.start().await;
    assert_eq!(post(port, "/", "spin", "").await.status().as_u16(), 202);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let took = stop_route(&t.ctx).await;
    assert!(took < Duration::from_secs(3), "stop took {took:?}");
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
    t.ctx.stop().await.unwrap();
}

/// Waits until the source's health check says what `wanted` accepts;
/// returns its status and message.
async fn health_until(t: &TestContext, wanted: impl Fn(&str, &str) -> bool) -> (String, String) {
    let check = wasm_uri(guests::COMPAT_SOURCE, "");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, message) = t
            .ctx
            .health_check()
            .await
            .services
            .into_iter()
            .find(|s| s.name == check)
            .map(|s| (format!("{:?}", s.status), s.message.unwrap_or_default()))
            .expect("the source's health check");
        if wanted(&status, &message) {
            return (status, message);
        }
        assert!(
            Instant::now() < deadline,
            "health stayed {status}: {message}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_traps_or_fails_is_reported_and_restarted() {
    let port = free_port();
    let (mut t, mut rx) = source_route(port, "", open()).await;
    t.start().await;

    // The guest takes the request, then panics in `run`: health says so.
    assert_eq!(post(port, "/", "trap", "").await.status().as_u16(), 202);
    let (status, message) =
        health_until(&t, |_, message| message.contains("source asked to trap")).await;
    assert_eq!(status, "Started", "degraded, still serving: {message}");
    assert!(
        message.contains("1 instance failures in a row"),
        "{message}"
    );

    // A fresh instance takes the next request; once the route has its
    // exchange, the source is sound again.
    assert_eq!(
        post(port, "/", "", "after a trap").await.status().as_u16(),
        202
    );
    assert_eq!(seen(&mut rx).await.body.as_deref(), Ok("AFTER A TRAP"));
    health_until(&t, |status, message| {
        status == "Started" && !message.contains("failures in a row")
    })
    .await;

    // `run` returning an error: the same.
    assert_eq!(post(port, "/", "fail", "").await.status().as_u16(), 202);
    let (_, message) = health_until(&t, |_, message| message.contains("asked to fail")).await;
    assert!(
        message.contains("1 instance failures in a row"),
        "{message}"
    );
    assert_eq!(
        post(port, "/", "", "after a failure")
            .await
            .status()
            .as_u16(),
        202
    );
    assert_eq!(seen(&mut rx).await.body.as_deref(), Ok("AFTER A FAILURE"));
    t.ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listener_the_endpoint_does_not_grant_is_refused() {
    // No `listen`: the guest asks for its default 127.0.0.1:8080.
    let (mut t, _rx) = route_from(&wasm_uri(guests::COMPAT_SOURCE, ""), open()).await;
    let err = t.ctx.start().await.expect_err("the plan is refused");
    let text = err.to_string();
    assert!(
        text.contains("127.0.0.1:8080")
            && text.contains("does not grant")
            && text.contains("listen="),
        "{text}"
    );
    drop(t);

    // `bind` (rust-camel's spelling) grants too, but not against `listen`.
    let port = free_port();
    let uri = wasm_uri(
        guests::COMPAT_SOURCE,
        &format!("listen=127.0.0.1:{port}&bind=127.0.0.1:1"),
    );
    let t = TestContext::new().await;
    let route = RouteBuilder::from(&uri)
        .route_id("src")
        .to("mock:out")
        .build()
        .unwrap();
    let err = match t.ctx.add_route_definition(route).await {
        Err(err) => err,
        Ok(()) => {
            let mut t = t;
            t.ctx.start().await.expect_err("bind and listen disagree")
        }
    };
    assert!(err.to_string().contains("differs from `listen="), "{err}");

    // `bind` is for camel:plugin sources only.
    let err = camel_component_wasm::WasmComponent::builder(crate::support::guest_dir())
        .runtime(crate::support::shared_runtime())
        .build()
        .unwrap()
        .endpoint(&wasm_uri(guests::ECHO, "bind=127.0.0.1:1"))
        .expect_err("a processor takes no `bind`");
    assert!(
        matches!(&err, camel_component_wasm::WasmError::InvalidParameter { name, .. } if name == "bind"),
        "{err:?}"
    );

    // `bind` alone grants it.
    let port = free_port();
    let (mut t, mut rx) = route_from(
        &wasm_uri(guests::COMPAT_SOURCE, &format!("bind=127.0.0.1:{port}")),
        open(),
    )
    .await;
    t.start().await;
    assert_eq!(post(port, "/", "", "bound").await.status().as_u16(), 202);
    assert_eq!(seen(&mut rx).await.body.as_deref(), Ok("BOUND"));
    t.ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_returns_by_itself_closes_the_listener() {
    let port = free_port();
    let (mut t, mut rx) = source_route(port, "", open()).await;
    t.start().await;
    assert_eq!(post(port, "/", "", "first").await.status().as_u16(), 202);
    assert_eq!(seen(&mut rx).await.body.as_deref(), Ok("FIRST"));
    assert_eq!(post(port, "/", "return", "").await.status().as_u16(), 202);
    // The source is done: its port is let go, not restarted.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the listener stayed open");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t.ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_cut_short_by_its_client_ends_the_guests_stream_with_an_error() {
    use tokio::io::AsyncWriteExt;
    let port = free_port();
    let (mut t, mut rx) = source_route(port, "", open()).await;
    t.start().await;
    // Promises 1000 bytes, sends 5, and goes away.
    let mut client = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    client
        .write_all(
            b"POST / HTTP/1.1\r\nhost: test\r\nx-mode: read\r\ncontent-length: 1000\r\n\r\nhello",
        )
        .await
        .unwrap();
    client.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(client);
    let cut = seen(&mut rx).await;
    let error = cut.header("body-error").expect("the guest saw the cut");
    assert!(error.starts_with("io:"), "{error}");
    assert_eq!(cut.body.as_deref(), Ok("HELLO"));
    t.ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_that_keeps_crashing_is_paused_by_the_breaker_and_recovers() {
    let port = free_port();
    let (mut t, mut rx) = source_route(port, "", open()).await;
    t.start().await;
    for _ in 0..5 {
        assert_eq!(post(port, "/", "trap", "").await.status().as_u16(), 202);
    }
    // Five in a row open the breaker: health fails, no instance is made
    // until its back-off has passed.
    let (_, message) = health_until(&t, |status, _| status == "Failed").await;
    assert!(message.contains("source asked to trap"), "{message}");

    // The breaker's probe takes the next request; serving closes it.
    let started = Instant::now();
    assert_eq!(post(port, "/", "", "probe").await.status().as_u16(), 202);
    assert_eq!(seen(&mut rx).await.body.as_deref(), Ok("PROBE"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    health_until(&t, |status, message| {
        status == "Started" && !message.contains("failures in a row")
    })
    .await;
    t.ctx.stop().await.unwrap();
}
