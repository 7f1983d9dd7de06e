//! Routes through plugins: the basic path, init per instance, chaining,
//! async guests, guest errors.

use std::time::Duration;

use camel_api::Value;
use std::sync::Arc;

use camel_component_api::{Endpoint, NoOpComponentContext, RuntimeObservability};
use camel_component_wasm::{GuestError, WasmError, wasm_error_of};
use camel_wasm_test_artifacts as guests;

use crate::support::{TestContext, guest_dir, reply_body, text, wasm_uri};

#[tokio::test(flavor = "multi_thread")]
async fn direct_to_wasm_to_mock() {
    let mut t = TestContext::new().await;
    t.route("upper", &[wasm_uri(guests::UPPERCASE, "")])
        .await
        .unwrap();
    t.start().await;

    let reply = t.send_text("upper", "hello camel").await.unwrap();
    assert_eq!(text(reply_body(&reply)), "HELLO CAMEL");
    assert_eq!(
        reply.input.header("x-uppercased"),
        Some(&Value::String("true".into()))
    );

    let endpoint = t.mock.get_endpoint("upper").expect("mock endpoint");
    endpoint.await_exchanges(1, Duration::from_secs(5)).await;
    let received = endpoint.get_received_exchanges().await;
    assert_eq!(text(&received[0].input.body), "HELLO CAMEL");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_route_chaining_four_plugins() {
    let mut t = TestContext::new().await;
    t.route(
        "chain",
        &[
            wasm_uri(guests::UPPERCASE, ""),
            wasm_uri(guests::REVERSE, ""),
            wasm_uri(guests::ECHO, ""),
            wasm_uri(guests::ASYNC_ECHO, ""),
        ],
    )
    .await
    .unwrap();
    t.start().await;

    for _ in 0..3 {
        let reply = t.send_text("chain", "abc def").await.unwrap();
        assert_eq!(text(reply_body(&reply)), "FED CBA");
        assert_eq!(
            reply.input.header("x-uppercased"),
            Some(&Value::String("true".into()))
        );
        assert_eq!(
            reply.input.header("async"),
            Some(&Value::String("true".into()))
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn init_runs_once_per_instance_and_instances_are_reused() {
    let mut t = TestContext::new().await;
    // One instance: every exchange lands on it.
    t.route(
        "init",
        &[wasm_uri(guests::INIT_COUNTER, "max-concurrent-calls=1")],
    )
    .await
    .unwrap();
    t.start().await;

    for expected in 1..=5u64 {
        let reply = t.send_text("init", "x").await.unwrap();
        assert_eq!(reply.input.header("init-calls"), Some(&Value::from(1u64)));
        assert_eq!(
            reply.input.header("process-calls"),
            Some(&Value::from(expected))
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_error_fails_the_exchange_with_its_message() {
    let mut t = TestContext::new().await;
    t.route("fail", &[wasm_uri(guests::FAILING, "")])
        .await
        .unwrap();
    t.start().await;

    let err = t.send_text("fail", "x").await.unwrap_err();
    match wasm_error_of(&err) {
        Some(WasmError::Guest { plugin, error }) => {
            assert!(plugin.ends_with(".wasm"), "{plugin}");
            assert_eq!(
                error,
                &GuestError::Failed("business rule violated: amount too large".into())
            );
        }
        other => panic!("unexpected {other:?} from {err}"),
    }
    // The endpoint keeps working (and failing the same way).
    assert!(t.send_text("fail", "y").await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn init_failure_names_init_and_carries_the_guest_message() {
    let mut t = TestContext::new().await;
    t.route("badinit", &[wasm_uri(guests::INIT_FAILS, "")])
        .await
        .unwrap();
    t.start().await;

    let err = t.send_text("badinit", "x").await.unwrap_err();
    match wasm_error_of(&err) {
        Some(WasmError::Init { source, .. }) => match source.as_ref() {
            WasmError::Guest { error, .. } => {
                assert!(
                    error.message().contains("missing configuration: api key"),
                    "{error}"
                );
            }
            other => panic!("unexpected {other:?}"),
        },
        other => panic!("unexpected {other:?} from {err}"),
    }
}

/// Regression: a trap inside `init` was reported as a plain trap, without
/// saying it happened in `init`.
#[tokio::test(flavor = "multi_thread")]
async fn a_trap_in_init_says_so() {
    let mut t = TestContext::new().await;
    t.route("panicinit", &[wasm_uri(guests::INIT_PANICS, "")])
        .await
        .unwrap();
    t.start().await;
    let err = t.send_text("panicinit", "x").await.unwrap_err();
    match wasm_error_of(&err) {
        Some(WasmError::Init { source, .. }) => match source.as_ref() {
            WasmError::GuestPanic { message, .. } => {
                assert!(message.contains("config file is corrupt"), "{message}")
            }
            other => panic!("unexpected {other:?}"),
        },
        other => panic!("unexpected {other:?} from {err}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("`init` failed") && msg.contains("panicked"),
        "{msg}"
    );
}

/// 0.2.0 changed the exchange record and added exports: a guest built for
/// the `camel:wasm@0.1.x` contract is refused when its endpoint is made,
/// with the versions and what to do.
#[test]
fn guests_of_the_0_1_contract_are_refused_with_a_rebuild_hint() {
    let component = camel_component_wasm::WasmComponent::new(guest_dir()).unwrap();
    let err = component
        .endpoint(&wasm_uri(guests::COMPAT_V0_1_0, ""))
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, WasmError::WrongWorld { .. }), "{msg}");
    assert!(
        msg.contains("camel:wasm@0.1.0")
            && msg.contains("camel:wasm@0.2.0")
            && msg.contains("rebuild"),
        "{msg}"
    );
}

#[test]
fn wasm_endpoints_cannot_be_consumers() {
    let component = camel_component_wasm::WasmComponent::new(guest_dir()).unwrap();
    let endpoint = component.endpoint(&wasm_uri(guests::ECHO, "")).unwrap();
    let rt: Arc<dyn RuntimeObservability> = Arc::new(NoOpComponentContext);
    let err = endpoint.create_consumer(rt).err().expect("no consumer");
    assert!(
        err.to_string().contains("cannot be used in `from`"),
        "{err}"
    );
}
