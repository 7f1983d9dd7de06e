//! The guest conformance suite: one list of behaviours (`cases.rs`) that
//! every language's guest must pass through real routes. The Rust guests are
//! `tests/guests/conformance{,_bean}` (camel-wasm-test-artifacts), the
//! Python and JavaScript guests `tests/polyglot/{python,js}/conformance*`
//! (camel-wasm-polyglot-artifacts, built with componentize-py and
//! componentize-js). Each language runs every case; a failure lists every
//! case that failed, not only the first.

#[allow(
    dead_code,
    reason = "shared with the `all` test binary; not every helper is used here"
)]
#[path = "../all/support.rs"]
mod support;

mod cases;
mod harness;

use harness::{Guest, Harness};

async fn passes_the_suite(guest: Guest) {
    let harness = Harness::start(guest).await;
    let mut failures = Vec::new();
    for (name, case) in cases::PROCESSOR {
        if let Err(why) = case(&harness).await {
            failures.push(format!("processor case `{name}`: {why}"));
        }
    }
    for (name, case) in cases::BEAN {
        if let Err(why) = case(&harness).await {
            failures.push(format!("bean case `{name}`: {why}"));
        }
    }
    assert!(
        failures.is_empty(),
        "the {} guest failed {} of {} cases:\n{}",
        guest.language,
        failures.len(),
        cases::PROCESSOR.len() + cases::BEAN.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rust_guest_passes_the_suite() {
    passes_the_suite(Guest::RUST).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_guest_passes_the_suite() {
    passes_the_suite(Guest::PYTHON).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_javascript_guest_passes_the_suite() {
    passes_the_suite(Guest::JAVASCRIPT).await;
}

/// `examples/python-plugin` and `examples/js-plugin`, built with the
/// commands their READMEs give, in a route.
#[tokio::test(flavor = "multi_thread")]
async fn the_example_plugins_work_in_a_route() {
    use camel_wasm_polyglot_artifacts as polyglot;
    use serde_json::json;

    let mut t = support::TestContext::with_base_dir(harness::plugins_dir()).await;
    for (id, plugin) in [
        ("python", polyglot::EXAMPLE_PYTHON_SHOUT),
        ("js", polyglot::EXAMPLE_JS_SHOUT),
    ] {
        t.route(id, &[format!("wasm:{}", harness::file_name(plugin))])
            .await
            .unwrap();
    }
    t.start().await;
    for id in ["python", "js"] {
        let reply = t.send_text(id, "hello from rust-camel").await.unwrap();
        assert_eq!(
            support::text(&reply.input.body),
            "HELLO FROM RUST-CAMEL",
            "{id}"
        );
        assert_eq!(reply.input.header("shouted"), Some(&json!(true)), "{id}");
        assert_eq!(reply.input.header("route"), Some(&json!(id)), "{id}");
        // An empty body is the plugin's typed error.
        let err = t
            .send(
                id,
                camel_api::Exchange::new_in_out(camel_api::Message::default()),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, camel_api::CamelError::TypeConversionFailed(ref m) if m.contains("expected a text body")),
            "{id}: {err:?}"
        );
    }
}
