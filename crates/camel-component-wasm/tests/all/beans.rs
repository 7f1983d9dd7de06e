//! WASM beans end to end from real files: a Camel.toml with `[beans.*]`
//! entries read by camel-config, YAML routes with `bean:` steps parsed by
//! camel-dsl, bean guests built from source, a real `CamelContext`.

use camel_api::{Body, CamelError, Exchange, Message};
use camel_component_wasm::{WasmError, wasm_error_of};
use camel_core::CamelContext;
use camel_wasm_test_artifacts as guests;
use serde_json::json;

use crate::project::Project;
use crate::support::{reply_body, send_direct, shared_runtime, text};

const ROUTES: &str = r#"
routes:
  - id: greet
    from: direct:greet
    steps:
      - bean: { name: greeter, method: greet }
      - to: mock:greet
  - id: polite
    from: direct:polite
    steps:
      - bean: { name: polite, method: greet }
      - bean: { name: polite, method: shout }
  - id: config
    from: direct:config
    steps:
      - bean: { name: polite, method: config }
  - id: count-greeter
    from: direct:count-greeter
    steps:
      - bean: { name: greeter, method: count }
  - id: count-polite
    from: direct:count-polite
    steps:
      - bean: { name: polite, method: count }
  - id: call
    from: direct:call
    steps:
      - bean: { name: greeter, method: call }
  - id: call-restricted
    from: direct:call-restricted
    steps:
      - bean: { name: polite, method: call }
  - id: service
    from: direct:service
    steps:
      - to: wasm:upper.wasm
  - id: missing-method
    from: direct:missing-method
    steps:
      - bean: { name: greeter, method: vanish }
"#;

const CAMEL_TOML: &str = r#"
[default.components.wasm]
plugins_dir = "plugins"

[default.beans.greeter]
plugin = "greeter"
[default.beans.greeter.limits]
allow-call-schemes = "direct"

[default.beans.polite]
plugin = "greeter"
[default.beans.polite.config]
greeting = "Good day"
tone = "formal"
[default.beans.polite.limits]
timeout-secs = 5
max-memory = 33554432
allow-call-schemes = "mock"

[prod.beans.polite.config]
greeting = "Welcome"
"#;

/// The project: Camel.toml and the bean guests in plugins/.
fn project(camel_toml: &str) -> Project {
    Project::new(
        camel_toml,
        &[
            (guests::BEAN_GREETER, "greeter.wasm"),
            (guests::BEAN_INIT_FAILS, "strict.wasm"),
            (guests::ECHO, "processor.wasm"),
            (guests::UPPERCASE, "upper.wasm"),
        ],
    )
}

async fn send(ctx: &CamelContext, route: &str, body: &str) -> Result<Exchange, CamelError> {
    send_direct(
        ctx,
        &format!("direct:{route}"),
        Exchange::new_in_out(Message::new(body)),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn methods_dispatch_and_config_reaches_init() {
    let project = project(CAMEL_TOML);
    let (ctx, mock) = project.start_with_beans(None, ROUTES).await.unwrap();

    let reply = send(&ctx, "greet", "Camel").await.unwrap();
    assert_eq!(text(reply_body(&reply)), "Hello, Camel!");
    let received = mock
        .get_endpoint("greet")
        .unwrap()
        .get_received_exchanges()
        .await;
    assert_eq!(text(&received[0].input.body), "Hello, Camel!");

    // The same component, another entry with its own config: two methods.
    let reply = send(&ctx, "polite", "Camel").await.unwrap();
    assert_eq!(text(reply_body(&reply)), "GOOD DAY, CAMEL!");

    let reply = send(&ctx, "config", "").await.unwrap();
    match reply_body(&reply) {
        Body::Json(v) => assert_eq!(v, &json!({"greeting": "Good day", "tone": "formal"})),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn state_is_per_bean_entry() {
    let project = project(CAMEL_TOML);
    let (ctx, _) = project.start_with_beans(None, ROUTES).await.unwrap();
    for n in 1..=3u64 {
        let reply = send(&ctx, "count-greeter", "").await.unwrap();
        assert_eq!(reply.input.header("count"), Some(&json!(n)));
    }
    // Same component, other entry: nothing shared.
    let reply = send(&ctx, "count-polite", "").await.unwrap();
    assert_eq!(reply.input.header("count"), Some(&json!(1)));
}

#[tokio::test(flavor = "multi_thread")]
async fn beans_call_endpoints_within_their_limits() {
    let project = project(CAMEL_TOML);
    let (ctx, _) = project.start_with_beans(None, ROUTES).await.unwrap();

    let mut m = Message::new("ping");
    m.set_header("call-uri", "direct:service");
    let reply = send_direct(&ctx, "direct:call", Exchange::new_in_out(m.clone()))
        .await
        .unwrap();
    assert_eq!(text(reply_body(&reply)), "PING");

    // `polite` may only call mock: (allow-call-schemes), so this is denied.
    let err = send_direct(&ctx, "direct:call-restricted", Exchange::new_in_out(m))
        .await
        .unwrap_err();
    match wasm_error_of(&err) {
        Some(WasmError::Guest { plugin, error }) => {
            assert_eq!(plugin, "polite");
            assert_eq!(error.kind(), "denied");
        }
        other => panic!("unexpected {other:?} from {err}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_method_is_a_clear_error() {
    let project = project(CAMEL_TOML);
    let (ctx, _) = project.start_with_beans(None, ROUTES).await.unwrap();
    let err = send(&ctx, "missing-method", "x").await.unwrap_err();
    assert!(err.to_string().contains("vanish"), "{err}");

    // Called directly, the bean lists its methods.
    let component = camel_component_wasm::WasmComponent::builder(project.root().join("plugins"))
        .runtime(shared_runtime())
        .build()
        .unwrap();
    let bean = component
        .bean("greeter", "greeter", Vec::new(), Default::default())
        .await
        .unwrap();
    assert_eq!(
        bean.method_names(),
        &["greet", "shout", "config", "count", "call"]
    );
    let mut exchange = Exchange::new(Message::new("x"));
    let err = bean.invoke("vanish", &mut exchange).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("no method `vanish`") && msg.contains("greet, shout, config, count, call"),
        "{msg}"
    );
    // A failed call leaves the exchange intact.
    assert_eq!(text(&exchange.input.body), "x");
}

#[tokio::test(flavor = "multi_thread")]
async fn profiles_select_the_bean_config() {
    let project = project(CAMEL_TOML);
    let (ctx, _) = project
        .start_with_beans(Some("prod"), ROUTES)
        .await
        .unwrap();
    let reply = send(&ctx, "polite", "Camel").await.unwrap();
    assert_eq!(text(reply_body(&reply)), "WELCOME, CAMEL!");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_entries_fail_naming_the_bean() {
    for (entry, expected) in [
        ("plugin = \"nope\"", "cannot read wasm module"),
        ("plugin = \"../greeter\"", "plain name"),
        (
            "plugin = \"processor\"",
            "it is a processor (it exports `process`): use it in a `wasm:` endpoint",
        ),
        ("plugin = \"strict\"", "`init` failed"),
        (
            "plugin = \"greeter\"\n[beans.broken.limits]\nmax-memory = 0",
            "max-memory",
        ),
    ] {
        let toml =
            format!("[components.wasm]\nplugins_dir = \"plugins\"\n[beans.broken]\n{entry}\n");
        let project = project(&toml);
        let err = project
            .start_with_beans(None, ROUTES)
            .await
            .err()
            .expect("bad entry");
        let chain = camel_component_wasm_error_chain(&err);
        assert!(chain.contains("wasm bean `broken`"), "{chain}");
        assert!(chain.contains(expected), "{entry}: {chain}");
    }
}

fn camel_component_wasm_error_chain(err: &WasmError) -> String {
    let mut out = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
