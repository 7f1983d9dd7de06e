//! Sources end to end: `from("wasm:…")` routes whose plugin owns an HTTP
//! listener or a timer, driven by a real HTTP client (reqwest) against
//! 127.0.0.1 on OS-assigned ports.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use camel_api::{Body, CamelError, Exchange, RuntimeCommand};
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_component_api::ComponentBundle;
use camel_component_mock::MockComponent;
use camel_component_wasm::WasmBundle;
use camel_core::{CamelContext, RouteDefinition};
use camel_wasm_test_artifacts as guests;
use serde_json::json;

use crate::support::{free_port, guest_dir, shared_runtime};

fn file(artifact: &str) -> String {
    Path::new(artifact)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn webhook_uri(port: u16, query: &str) -> String {
    let uri = format!(
        "wasm:{}?listen=127.0.0.1:{port}",
        file(guests::SOURCE_WEBHOOK)
    );
    if query.is_empty() {
        uri
    } else {
        format!("{uri}&{query}")
    }
}

/// Counts exchanges in the route and the most that were in it at once.
#[derive(Default)]
struct Gauge {
    done: AtomicUsize,
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
        self.done.fetch_add(1, Ordering::SeqCst);
    }
}

/// The webhook route: replies `201 {"accepted": <order id>}` after `delay`.
fn webhook_route(
    uri: &str,
    concurrency: Option<usize>,
    delay: Duration,
    gauge: Arc<Gauge>,
) -> RouteDefinition {
    let builder = RouteBuilder::from(uri).route_id("hook");
    let builder = match concurrency {
        Some(n) => builder.concurrent(n),
        None => builder.sequential(),
    };
    builder
        .process(move |mut ex: Exchange| {
            let gauge = gauge.clone();
            async move {
                gauge.enter();
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let id = ex.input.header("order-id").cloned().unwrap_or_default();
                ex.input.body = Body::Json(json!({ "accepted": id }));
                ex.input.set_header("CamelHttpResponseCode", 201);
                gauge.leave();
                Ok(ex)
            }
        })
        .build()
        .unwrap()
}

async fn context() -> CamelContext {
    let mut ctx = CamelContext::builder().build().await.unwrap();
    WasmBundle::new(guest_dir())
        .with_runtime(shared_runtime())
        .register_all(&mut ctx);
    ctx
}

async fn started(route: RouteDefinition) -> CamelContext {
    let mut ctx = context().await;
    ctx.add_route_definition(route).await.unwrap();
    ctx.start().await.unwrap();
    ctx
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()
        .unwrap()
}

async fn post(client: &reqwest::Client, port: u16, body: &str) -> reqwest::Response {
    client
        .post(format!("http://127.0.0.1:{port}/orders"))
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_validates_submits_and_replies_with_the_routes_result() {
    let port = free_port();
    let gauge = Arc::new(Gauge::default());
    let mut ctx = started(webhook_route(
        &webhook_uri(port, ""),
        Some(4),
        Duration::ZERO,
        gauge.clone(),
    ))
    .await;
    let client = client();

    let ok = post(&client, port, r#"{"id": 7, "item": "tea"}"#).await;
    assert_eq!(ok.status(), 201);
    assert_eq!(
        ok.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    assert_eq!(
        ok.json_value().await,
        json!({ "accepted": 7 }),
        "the route's reply body"
    );

    let bad = post(&client, port, "not json").await;
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("invalid order"));
    let no_id = post(&client, port, r#"{"item": "tea"}"#).await;
    assert_eq!(no_id.status(), 400);

    let get = client
        .get(format!("http://127.0.0.1:{port}/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");
    let elsewhere = client
        .post(format!("http://127.0.0.1:{port}/other"))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 404);

    // Only the valid order went through the route.
    assert_eq!(gauge.done.load(Ordering::SeqCst), 1);
    ctx.stop().await.unwrap();
}

/// Sends `total` orders from `clients` concurrent clients; returns the
/// statuses and reply bodies.
async fn flood(port: u16, clients: usize, total: usize) -> Vec<(u16, String)> {
    let client = client();
    let mut lanes = tokio::task::JoinSet::new();
    for lane in 0..clients {
        let client = client.clone();
        lanes.spawn(async move {
            let mut answers = Vec::new();
            for id in (lane..total).step_by(clients) {
                let response = post(&client, port, &format!(r#"{{"id": {id}}}"#)).await;
                let status = response.status().as_u16();
                answers.push((id, status, response.text().await.unwrap()));
            }
            answers
        });
    }
    let mut answers = Vec::new();
    while let Some(lane) = lanes.join_next().await {
        answers.extend(lane.unwrap());
    }
    answers.sort_by_key(|(id, ..)| *id);
    answers
        .into_iter()
        .enumerate()
        .map(|(i, (id, status, body))| {
            assert_eq!(i, id, "one answer per request");
            (status, body)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_requests_from_64_clients_on_concurrent_8_all_get_their_answer() {
    let port = free_port();
    let gauge = Arc::new(Gauge::default());
    let mut ctx = started(webhook_route(
        &webhook_uri(port, ""),
        Some(8),
        Duration::ZERO,
        gauge.clone(),
    ))
    .await;
    let answers = flood(port, 64, 10_000).await;
    assert_eq!(answers.len(), 10_000);
    for (id, (status, body)) in answers.iter().enumerate() {
        assert_eq!(*status, 201, "request {id}: {body}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(body).unwrap(),
            json!({ "accepted": id })
        );
    }
    assert_eq!(gauge.done.load(Ordering::SeqCst), 10_000, "0 lost");
    let max = gauge.max.load(Ordering::SeqCst);
    assert!(
        (2..=8).contains(&max),
        "at most 8 at once in the route: {max}"
    );
    ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sequential_route_takes_one_request_at_a_time() {
    let port = free_port();
    let gauge = Arc::new(Gauge::default());
    let mut ctx = started(webhook_route(
        &webhook_uri(port, ""),
        None,
        Duration::from_millis(2),
        gauge.clone(),
    ))
    .await;
    let answers = flood(port, 16, 160).await;
    assert!(answers.iter().all(|(status, _)| *status == 201));
    assert_eq!(gauge.done.load(Ordering::SeqCst), 160);
    assert_eq!(gauge.max.load(Ordering::SeqCst), 1);
    ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_route_makes_excess_requests_get_503_with_retry_after() {
    let port = free_port();
    let gauge = Arc::new(Gauge::default());
    let mut ctx = started(webhook_route(
        &webhook_uri(port, "max-pending=4&retry-after=2"),
        Some(4),
        Duration::from_millis(300),
        gauge.clone(),
    ))
    .await;
    let client = client();
    let mut requests = tokio::task::JoinSet::new();
    for id in 0..40 {
        let client = client.clone();
        requests.spawn(async move {
            let response = post(&client, port, &format!(r#"{{"id": {id}}}"#)).await;
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_string());
            (response.status().as_u16(), retry_after)
        });
    }
    let (mut served, mut refused) = (0, 0);
    while let Some(answer) = requests.join_next().await {
        match answer.unwrap() {
            (201, _) => served += 1,
            (503, retry_after) => {
                assert_eq!(retry_after.as_deref(), Some("2"));
                refused += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(served + refused, 40);
    assert!(served >= 4, "{served} served");
    assert!(refused > 0, "nothing was refused");
    // Never more admitted than `max-pending`.
    assert!(gauge.max.load(Ordering::SeqCst) <= 4);
    assert_eq!(gauge.done.load(Ordering::SeqCst), served);
    ctx.stop().await.unwrap();
}

async fn route_command(ctx: &CamelContext, command: RuntimeCommand) {
    ctx.runtime().execute(command).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_the_route_lets_requests_in_flight_finish_and_frees_the_port() {
    let port = free_port();
    let gauge = Arc::new(Gauge::default());
    let mut ctx = started(webhook_route(
        &webhook_uri(port, "grace=5"),
        Some(4),
        Duration::from_millis(400),
        gauge.clone(),
    ))
    .await;
    let client = client();
    let mut in_flight = tokio::task::JoinSet::new();
    for id in 0..4 {
        let client = client.clone();
        in_flight.spawn(async move {
            post(&client, port, &format!(r#"{{"id": {id}}}"#))
                .await
                .status()
                .as_u16()
        });
    }
    while gauge.now.load(Ordering::SeqCst) < 4 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    route_command(
        &ctx,
        RuntimeCommand::StopRoute {
            route_id: "hook".to_string(),
            command_id: "stop-hook".to_string(),
            causation_id: None,
            stop_budget: Some(Duration::from_secs(10)),
        },
    )
    .await;
    while let Some(status) = in_flight.join_next().await {
        let status = status.unwrap();
        assert!(status == 201 || status == 503, "{status}");
    }
    // The port is free again.
    let rebound = std::net::TcpListener::bind(("127.0.0.1", port));
    assert!(rebound.is_ok(), "{rebound:?}");
    drop(rebound);

    // And the route starts again on it.
    route_command(
        &ctx,
        RuntimeCommand::StartRoute {
            route_id: "hook".to_string(),
            command_id: "start-hook".to_string(),
            causation_id: None,
        },
    )
    .await;
    until_served(&client, port).await;
    ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[allow(
    clippy::result_large_err,
    reason = "stream items are rust-camel's own Result<Bytes, CamelError>"
)]
async fn a_streamed_reply_body_streams_to_the_client() {
    let port = free_port();
    let route = RouteBuilder::from(&webhook_uri(port, ""))
        .route_id("stream")
        .process(|mut ex: Exchange| async move {
            // 4 MiB in 64 pieces, produced as the client reads.
            let pieces = futures::stream::iter(
                (0..64u8).map(|i| Ok::<_, CamelError>(bytes::Bytes::from(vec![i; 64 * 1024]))),
            );
            ex.input.body = Body::Stream(camel_api::StreamBody {
                stream: Arc::new(tokio::sync::Mutex::new(Some(Box::pin(pieces)))),
                metadata: Default::default(),
            });
            Ok(ex)
        })
        .build()
        .unwrap();
    let mut ctx = started(route).await;
    let response = post(&client(), port, r#"{"id": 1}"#).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/octet-stream"
    );
    assert!(
        !response.headers().contains_key("content-length"),
        "sent chunked, not materialised"
    );
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), 64 * 64 * 1024);
    assert!(
        body.chunks(64 * 1024)
            .enumerate()
            .all(|(i, piece)| piece.iter().all(|b| usize::from(*b) == i))
    );
    ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_trickles_its_body_gets_408_and_frees_its_admission() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let port = free_port();
    let mut ctx = started(webhook_route(
        &webhook_uri(port, "timeout=0.3&max-pending=1"),
        Some(2),
        Duration::ZERO,
        Arc::new(Gauge::default()),
    ))
    .await;
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    slow.write_all(b"POST /orders HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"id\":")
        .await
        .unwrap();
    let mut answer = vec![0; 256];
    let n = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut answer))
        .await
        .expect("an answer, not a hang")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).to_string();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // The only admission is free again.
    assert_eq!(post(&client(), port, r#"{"id": 1}"#).await.status(), 201);
    ctx.stop().await.unwrap();
}

/// Posts until the source answers 201 (it may still be binding).
async fn until_served(client: &reqwest::Client, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match client
            .post(format!("http://127.0.0.1:{port}/orders"))
            .body(r#"{"id": 9}"#)
            .send()
            .await
        {
            Ok(response) if response.status() == 201 => return,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(20)).await,
            other => panic!("not serving: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn suspending_the_route_closes_the_listener_and_resuming_opens_it() {
    let port = free_port();
    let mut ctx = started(webhook_route(
        &webhook_uri(port, ""),
        Some(2),
        Duration::ZERO,
        Arc::new(Gauge::default()),
    ))
    .await;
    let client = client();
    until_served(&client, port).await;
    route_command(
        &ctx,
        RuntimeCommand::SuspendRoute {
            route_id: "hook".to_string(),
            command_id: "suspend-hook".to_string(),
            causation_id: None,
        },
    )
    .await;
    assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
    route_command(
        &ctx,
        RuntimeCommand::ResumeRoute {
            route_id: "hook".to_string(),
            command_id: "resume-hook".to_string(),
            causation_id: None,
        },
    )
    .await;
    until_served(&client, port).await;
    ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_whose_guest_traps_serves_again_and_a_crash_loop_backs_off() {
    let port = free_port();
    let gauge = Arc::new(Gauge::default());
    let mut ctx = started(webhook_route(
        &webhook_uri(port, "timeout=1"),
        Some(4),
        Duration::ZERO,
        gauge.clone(),
    ))
    .await;
    let client = client();
    let crash = |how: &'static str| {
        client
            .post(format!("http://127.0.0.1:{port}/orders"))
            .header("x-crash", how)
            .body("{}")
            .send()
    };
    assert_eq!(crash("trap").await.unwrap().status(), 500);
    assert_eq!(post(&client, port, r#"{"id": 1}"#).await.status(), 201);
    assert_eq!(crash("spin").await.unwrap().status(), 504);
    assert_eq!(post(&client, port, r#"{"id": 2}"#).await.status(), 201);

    // Failing again and again opens the crash-loop guard: 503 while it
    // backs off, then the source serves again.
    let threshold = camel_component_wasm::test_support::CRASH_LOOP_THRESHOLD;
    for _ in 0..threshold {
        assert_eq!(crash("trap").await.unwrap().status(), 500);
    }
    let refused = post(&client, port, r#"{"id": 3}"#).await;
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    // Health says so, under the endpoint's name.
    let check = format!("wasm:{}", file(guests::SOURCE_WEBHOOK));
    let status = |report: camel_api::HealthReport| {
        report
            .services
            .into_iter()
            .find(|s| s.name == check)
            .map(|s| format!("{:?}", s.status))
    };
    assert_eq!(status(ctx.health_check().await).as_deref(), Some("Failed"));
    tokio::time::sleep(camel_component_wasm::test_support::CRASH_LOOP_INITIAL_BACKOFF * 2).await;
    assert_eq!(post(&client, port, r#"{"id": 4}"#).await.status(), 201);
    assert_eq!(status(ctx.health_check().await).as_deref(), Some("Started"));
    ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timer_source_fires_its_ticks() {
    let mut ctx = context().await;
    let mock = MockComponent::new();
    ctx.register_component(mock.clone());
    let route = RouteBuilder::from(&format!(
        "wasm:{}?allow-timer=true",
        file(guests::SOURCE_TIMER)
    ))
    .route_id("ticks")
    .to("mock:ticks")
    .build()
    .unwrap();
    ctx.add_route_definition(route).await.unwrap();
    ctx.start().await.unwrap();
    let endpoint = loop {
        if let Some(endpoint) = mock.get_endpoint("ticks") {
            break endpoint;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while endpoint.get_received_exchanges().await.len() < 5 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // No sixth.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let received = endpoint.get_received_exchanges().await;
    let bodies: Vec<String> = received
        .iter()
        .map(|ex| crate::support::text(&ex.input.body).to_string())
        .collect();
    assert_eq!(bodies, ["tick 1", "tick 2", "tick 3", "tick 4", "tick 5"]);
    ctx.stop().await.unwrap();
}

async fn start_error(uri: &str) -> String {
    let mut ctx = context().await;
    ctx.register_component(MockComponent::new());
    let route = RouteBuilder::from(uri)
        .route_id("refused")
        .to("mock:never")
        .build()
        .unwrap();
    let added = ctx.add_route_definition(route).await;
    let err = match added {
        Err(err) => err,
        Ok(()) => ctx.start().await.expect_err("the route must not start"),
    };
    let _ = ctx.stop().await;
    err.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_taken_port_fails_the_start_with_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let err = start_error(&webhook_uri(port, "")).await;
    assert!(err.contains("cannot listen on 127.0.0.1"), "{err}");
    drop(taken);
}

/// rust-camel's per-bind exposure gate: a source route without
/// authentication listens beyond loopback only when the operator
/// acknowledged that address (builder or Camel.toml `[binds]`), for both
/// contracts. (A route that authenticates its callers needs no
/// acknowledgement: `policies.rs`.)
#[tokio::test(flavor = "multi_thread")]
async fn an_unauthenticated_source_listens_beyond_loopback_only_when_acknowledged() {
    let port = free_port();
    let public = format!(
        "wasm:{}?listen=0.0.0.0:{port}",
        file(guests::SOURCE_WEBHOOK)
    );
    let err = start_error(&public).await;
    assert!(
        err.contains("beyond loopback")
            && err.contains(&format!(
                "[binds.\"0.0.0.0:{port}\"] allow_public_exposure = true"
            )),
        "{err}"
    );
    let compat = format!("wasm:{}?bind=0.0.0.0:{port}", file(guests::COMPAT_SOURCE));
    let err = start_error(&compat).await;
    assert!(err.contains("beyond loopback"), "{err}");

    // Acknowledged on the builder: it serves.
    let mut ctx = CamelContext::builder().build().await.unwrap();
    WasmBundle::new(guest_dir())
        .with_runtime(shared_runtime())
        .acknowledge_public_exposure(format!("0.0.0.0:{port}"))
        .register_all(&mut ctx);
    let gauge = Arc::new(Gauge::default());
    ctx.add_route_definition(webhook_route(&public, None, Duration::ZERO, gauge))
        .await
        .unwrap();
    ctx.start().await.unwrap();
    let ok = post(&client(), port, r#"{"id": 1}"#).await;
    assert_eq!(ok.status(), 201);
    ctx.stop().await.unwrap();

    // Acknowledged in Camel.toml, as for rust-camel's own listeners.
    let project = crate::project::Project::new(
        &format!(
            "[components.wasm]\nplugins_dir = \"plugins\"\n\n\
             [binds.\"0.0.0.0:{port}\"]\nallow_public_exposure = true\n"
        ),
        &[(guests::COMPAT_SOURCE, "compat-source.wasm")],
    );
    let routes = format!(
        "routes:\n  - id: open\n    from: \"wasm:compat-source.wasm?bind=0.0.0.0:{port}\"\n    \
         steps:\n      - to: mock:open\n"
    );
    let (mut ctx, _) = project.start_with_beans(None, &routes).await.unwrap();
    let accepted = client()
        .post(format!("http://127.0.0.1:{port}/"))
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_gets_only_the_triggers_its_endpoint_grants() {
    // No `listen`: no HTTP listener.
    let err = start_error(&format!("wasm:{}", file(guests::SOURCE_WEBHOOK))).await;
    assert!(
        err.contains("does not grant") && err.contains("listen="),
        "{err}"
    );
    // Another path than the one granted.
    let err = start_error(&webhook_uri(free_port(), "path=/admin")).await;
    assert!(
        err.contains("does not grant") && err.contains("/orders"),
        "{err}"
    );
    // No `allow-timer`: no timer.
    let err = start_error(&format!("wasm:{}", file(guests::SOURCE_TIMER))).await;
    assert!(err.contains("allow-timer=true"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sources_and_processors_stay_in_their_place() {
    // A source as a step.
    let mut ctx = context().await;
    ctx.register_component(camel_component_direct::DirectComponent::new());
    let route = RouteBuilder::from("direct:misused")
        .route_id("misused")
        .to(webhook_uri(free_port(), ""))
        .build()
        .unwrap();
    let err = match ctx.add_route_definition(route).await {
        Err(err) => err,
        Ok(()) => ctx.start().await.expect_err("a source is no step"),
    };
    assert!(err.to_string().contains("source"), "{err}");
    let _ = ctx.stop().await;
    // A processor in `from`.
    let err = start_error(&format!("wasm:{}", file(guests::ECHO))).await;
    assert!(err.contains("cannot be used in `from`"), "{err}");
    // Source options on a processor step.
    let err: CamelError = camel_component_wasm::WasmComponent::builder(guest_dir())
        .runtime(shared_runtime())
        .build()
        .unwrap()
        .endpoint(&format!("wasm:{}?listen=127.0.0.1:1", file(guests::ECHO)))
        .unwrap_err()
        .into();
    assert!(err.to_string().contains("source plugins"), "{err}");
}

/// `reqwest::Response::json` needs a feature; parse the text instead.
trait JsonValue {
    async fn json_value(self) -> serde_json::Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> serde_json::Value {
        serde_json::from_str(&self.text().await.unwrap()).unwrap()
    }
}
