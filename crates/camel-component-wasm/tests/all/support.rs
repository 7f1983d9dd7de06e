//! Shared test harness: a `CamelContext` with the wasm, direct and mock
//! components, and a way to send an exchange into a `direct:` route.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use camel_api::{Body, CamelError, Exchange, Message};
use camel_builder::{RouteBuilder, StepAccumulator};
use camel_component_api::{ComponentBundle, NoOpComponentContext, RuntimeObservability};
use camel_component_direct::DirectComponent;
use camel_component_mock::MockComponent;
use camel_component_wasm::{WasmBundle, WasmRuntime};
use camel_core::{CamelContext, RegistryComponentContext};
use tower::ServiceExt;

/// The directory all test guests are built into.
pub(crate) fn guest_dir() -> PathBuf {
    Path::new(camel_wasm_test_artifacts::ECHO)
        .parent()
        .expect("artifact has a parent directory")
        .to_path_buf()
}

/// `wasm:<file name of artifact>` plus an optional query.
pub(crate) fn wasm_uri(artifact: &str, query: &str) -> String {
    let file = Path::new(artifact)
        .file_name()
        .expect("artifact file name")
        .to_string_lossy()
        .into_owned();
    if query.is_empty() {
        format!("wasm:{file}")
    } else {
        format!("wasm:{file}?{query}")
    }
}

/// An endpoint of the test guests on the shared runtime, outside any
/// context (for tests that drive a producer directly).
pub(crate) fn endpoint(artifact: &str, query: &str) -> camel_component_wasm::WasmEndpoint {
    camel_component_wasm::WasmComponent::builder(guest_dir())
        .runtime(shared_runtime())
        .build()
        .expect("component")
        .endpoint(&wasm_uri(artifact, query))
        .expect("endpoint")
}

/// A started context with one route `id` → `guest?query`.
pub(crate) async fn one_route(id: &str, guest: &str, query: &str) -> TestContext {
    let mut t = TestContext::new().await;
    t.route(id, &[wasm_uri(guest, query)]).await.unwrap();
    t.start().await;
    t
}

/// The typed error inside a `CamelError` from this crate.
pub(crate) fn typed(err: &CamelError) -> &camel_component_wasm::WasmError {
    camel_component_wasm::wasm_error_of(err).unwrap_or_else(|| panic!("not a WasmError: {err:?}"))
}

/// Hostile test guests behave when the body is `ok`: the endpoint works.
pub(crate) async fn assert_next_ok(t: &TestContext, id: &str) {
    let reply = t
        .send_text(id, "ok")
        .await
        .expect("the next exchange works");
    assert_eq!(text(reply_body(&reply)), "ok");
}

/// One runtime for the whole test binary, so each guest compiles once.
pub(crate) fn shared_runtime() -> WasmRuntime {
    static RUNTIME: OnceLock<WasmRuntime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| WasmRuntime::new().expect("wasm runtime"))
        .clone()
}

/// A running test context.
pub(crate) struct TestContext {
    pub(crate) ctx: CamelContext,
    pub(crate) mock: MockComponent,
}

impl TestContext {
    /// A context whose wasm component serves the test guests.
    pub(crate) async fn new() -> Self {
        Self::with_base_dir(&guest_dir()).await
    }

    /// A context whose wasm component serves `base_dir`.
    pub(crate) async fn with_base_dir(base_dir: &Path) -> Self {
        init_tracing();
        let mut ctx = CamelContext::builder().build().await.expect("context");
        let registry = Arc::new(RegistryComponentContext::new(
            ctx.registry_arc(),
            Some(ctx.metrics()),
            false,
        ));
        WasmBundle::new(base_dir)
            .with_runtime(shared_runtime())
            .with_context(registry)
            .register_all(&mut ctx);
        ctx.register_component(DirectComponent::new());
        let mock = MockComponent::new();
        ctx.register_component(mock.clone());
        TestContext { ctx, mock }
    }

    /// Adds `direct:<id>` → steps → `mock:<id>` as route `<id>`.
    pub(crate) async fn route(&self, id: &str, steps: &[String]) -> Result<(), CamelError> {
        let mut builder = RouteBuilder::from(&format!("direct:{id}")).route_id(id);
        for step in steps {
            builder = builder.to(step);
        }
        let def = builder.to(format!("mock:{id}")).build()?;
        self.ctx.add_route_definition(def).await
    }

    pub(crate) async fn start(&mut self) {
        self.ctx.start().await.expect("start");
    }

    /// Sends `exchange` into `direct:<id>` and returns the route's reply.
    pub(crate) async fn send(&self, id: &str, exchange: Exchange) -> Result<Exchange, CamelError> {
        send_direct(&self.ctx, &format!("direct:{id}"), exchange).await
    }

    /// Sends a text body.
    pub(crate) async fn send_text(&self, id: &str, text: &str) -> Result<Exchange, CamelError> {
        self.send(id, Exchange::new_in_out(Message::new(text)))
            .await
    }
}

/// Sends into a `direct:` endpoint, retrying while its consumer registers.
pub(crate) async fn send_direct(
    ctx: &CamelContext,
    uri: &str,
    exchange: Exchange,
) -> Result<Exchange, CamelError> {
    let rt: Arc<dyn RuntimeObservability> = Arc::new(NoOpComponentContext);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let direct = ctx.registry().get("direct").expect("direct registered");
        let producer = direct
            .create_endpoint(uri, ctx)?
            .create_producer(rt.clone(), &ctx.producer_context())?;
        match producer.oneshot(exchange.clone()).await {
            Err(CamelError::EndpointCreationFailed(m))
                if m.ends_with("not registered") && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(5)).await
            }
            other => return other,
        }
    }
}

/// A request-reply exchange with `body` and string `headers`.
pub(crate) fn with_headers(body: impl Into<Body>, headers: &[(&str, &str)]) -> Exchange {
    let mut m = Message::new(body);
    for (k, v) in headers {
        m.set_header(*k, *v);
    }
    Exchange::new_in_out(m)
}

/// The body as text (panics on other kinds).
pub(crate) fn text(body: &Body) -> &str {
    match body {
        Body::Text(s) => s,
        other => panic!("expected a text body, got {other:?}"),
    }
}

/// The reply body: output if set, else input.
pub(crate) fn reply_body(exchange: &Exchange) -> &Body {
    exchange
        .output
        .as_ref()
        .map(|m| &m.body)
        .unwrap_or(&exchange.input.body)
}

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// An error and its sources, joined with `: `.
pub(crate) fn error_chain_text(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// A port the OS just handed out (and took back), for a listener a test
/// grants.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind 127.0.0.1:0")
        .local_addr()
        .expect("local address")
        .port()
}
