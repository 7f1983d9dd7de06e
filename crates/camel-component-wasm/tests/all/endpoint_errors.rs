//! Route creation fails with a precise error for bad URIs, paths and
//! modules.

use std::path::Path;

use camel_component_wasm::{WasmComponent, WasmError};
use camel_wasm_test_artifacts as guests;

use crate::support::{TestContext, guest_dir, wasm_uri};

fn component(dir: &Path) -> WasmComponent {
    WasmComponent::new(dir).unwrap()
}

fn file_name(artifact: &str) -> String {
    Path::new(artifact)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn path_validation() {
    let c = component(&guest_dir());
    let echo = file_name(guests::ECHO);
    assert!(c.endpoint(&format!("wasm:{echo}")).is_ok());
    assert!(c.endpoint(&format!("wasm:./{echo}")).is_ok());
    for bad in [
        format!("wasm:{}", guests::ECHO),
        format!("wasm:../{echo}"),
        "wasm:".to_string(),
    ] {
        let err = c.endpoint(&bad).unwrap_err();
        assert!(
            matches!(err, WasmError::PathNotAllowed { .. }),
            "{bad}: {err}"
        );
    }
    let err = c.endpoint("wasm:missing.wasm").unwrap_err();
    assert!(matches!(err, WasmError::ModuleNotFound { .. }), "{err}");
    assert!(err.to_string().contains("missing.wasm"), "{err}");
}

#[test]
fn symlink_escape_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(guests::ECHO, dir.path().join("echo.wasm")).unwrap();
    let err = component(dir.path())
        .endpoint("wasm:echo.wasm")
        .unwrap_err();
    assert!(matches!(err, WasmError::PathNotAllowed { .. }), "{err}");
    assert!(
        err.to_string().contains("outside the base directory"),
        "{err}"
    );
}

#[test]
fn uri_parameters() {
    let c = component(&guest_dir());
    let ok = c
        .endpoint(&wasm_uri(guests::ECHO, "timeout=5&max-memory=2097152"))
        .unwrap();
    assert_eq!(ok.config().timeout.as_secs(), 5);
    assert_eq!(ok.config().max_memory, 2_097_152);
    for (query, name) in [
        ("timeout=0", "timeout"),
        ("timeout=soon", "timeout"),
        ("max-memory=-5", "max-memory"),
        ("max-memory=0", "max-memory"),
        ("colour=blue", "colour"),
        ("timeout=inf", "timeout"),
        ("timeout=1e-300", "timeout"),
        ("idle-timeout=1e-300", "idle-timeout"),
        // Below what the module needs: refused now, not at the first exchange.
        ("max-memory=1", "max-memory"),
        ("max-tables=1", "max-tables"),
        ("max-core-instances=1", "max-core-instances"),
        ("max-instances=1", "max-core-instances"),
        ("max-table-elements=1", "max-table-elements"),
    ] {
        let err = c.endpoint(&wasm_uri(guests::ECHO, query)).unwrap_err();
        match &err {
            WasmError::InvalidParameter { name: n, .. } => assert_eq!(n, name, "{query}: {err}"),
            other => panic!("{query}: unexpected {other}"),
        }
    }
}

#[test]
fn limits_the_module_needs_are_named_at_creation() {
    let c = component(&guest_dir());
    let err = c
        .endpoint(&wasm_uri(guests::ECHO, "max-memory=65536"))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("max-memory") && msg.contains("needs at least"),
        "{msg}"
    );
}

#[test]
fn bad_modules_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let echo = std::fs::read(guests::ECHO).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.wasm", vec![], "empty"),
        ("text.wasm", b"not wasm at all".to_vec(), "not WebAssembly"),
        (
            "core.wasm",
            vec![0, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
            "core WebAssembly module",
        ),
        (
            "truncated.wasm",
            echo[..echo.len() / 2].to_vec(),
            "does not compile: it is truncated",
        ),
    ];
    let c = component(dir.path());
    for (name, bytes, expected) in cases {
        std::fs::write(dir.path().join(name), bytes).unwrap();
        let err = c.endpoint(&format!("wasm:{name}")).unwrap_err();
        assert!(
            matches!(err, WasmError::InvalidModule { .. }),
            "{name}: {err}"
        );
        let msg = err.to_string();
        assert!(msg.contains(name) && msg.contains(expected), "{msg}");
    }
}

#[test]
fn a_component_of_the_wrong_world_is_refused() {
    let c = component(&guest_dir());
    let err = c.endpoint(&wasm_uri(guests::BEAN_GREETER, "")).unwrap_err();
    assert!(
        matches!(
            err,
            WasmError::WrongWorld {
                world: "processor",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(&file_name(guests::BEAN_GREETER)));
}

#[test]
fn module_size_cap_is_checked_before_compiling() {
    let c = component(&guest_dir());
    let err = c
        .endpoint(&wasm_uri(guests::ECHO, "max-module-size=1000"))
        .unwrap_err();
    assert!(
        matches!(err, WasmError::ModuleTooLarge { max: 1000, .. }),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn route_creation_fails_through_the_context() {
    let t = TestContext::new().await;
    let err = t
        .route("bad", &["wasm:missing.wasm".to_string()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("missing.wasm"), "{err}");
    let err = t
        .route("bad2", &[wasm_uri(guests::ECHO, "nope=1")])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn modules_are_compiled_once_per_content() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(guests::ECHO, dir.path().join("m.wasm")).unwrap();
    let c = component(dir.path());
    c.endpoint("wasm:m.wasm").unwrap();
    c.endpoint("wasm:m.wasm").unwrap();
    assert_eq!(c.runtime().compilations(), 1);
    // A changed file is recompiled: a different world now fails.
    std::fs::copy(guests::BEAN_GREETER, dir.path().join("m.wasm")).unwrap();
    assert!(matches!(
        c.endpoint("wasm:m.wasm"),
        Err(WasmError::WrongWorld { .. })
    ));
    assert_eq!(c.runtime().compilations(), 2);
}
