//! `WasmRuntime::inspect`: what a file is, by the checks route creation runs.

use camel_component_wasm::{PluginKind, WasmError, WasmRuntime};
use camel_wasm_test_artifacts as guests;

#[test]
fn each_world_is_recognised_with_its_contract() {
    let runtime = WasmRuntime::new().unwrap();
    for (path, kind) in [
        (guests::ECHO, PluginKind::Processor),
        (guests::BEAN_GREETER, PluginKind::Bean),
        (guests::POLICY_ROLES, PluginKind::Policy),
        (guests::SOURCE_TIMER, PluginKind::Source),
    ] {
        let report = runtime.inspect(path).unwrap();
        assert_eq!(report.kind(), Some(kind), "{path}: {report:?}");
        assert!(report.loads() && report.problem().is_none(), "{report:?}");
        assert_eq!(report.contract.as_deref(), Some("camel:wasm@0.2.0"));
        assert_eq!(report.host_contract, "camel:wasm@0.2.0");
        assert!(report.imports.iter().all(|i| i.problem.is_none()));
        // The other worlds say why not.
        for (other, fit) in &report.worlds {
            assert_eq!(fit.is_ok(), *other == kind, "{other}: {fit:?}");
        }
    }
}

#[test]
fn what_does_not_load_says_why() {
    let runtime = WasmRuntime::new().unwrap();

    // `wasi:sockets` is linked refusing everything (Python's C library
    // imports it in every component): such a plugin loads, without network.
    let report = runtime.inspect(guests::NET_PROBE).unwrap();
    assert_eq!(report.kind(), Some(PluginKind::Processor), "{report:?}");
    assert!(
        report
            .imports
            .iter()
            .any(|i| i.name.starts_with("wasi:sockets") && i.problem.is_none())
    );

    let report = runtime.inspect(guests::COMPAT_V0_1_0).unwrap();
    assert_eq!(report.contract.as_deref(), Some("camel:wasm@0.1.0"));
    assert!(!report.loads());
    assert!(report.problem().unwrap().contains("rebuild"), "{report:?}");

    let dir = tempfile::tempdir().unwrap();
    let echo = std::fs::read(guests::ECHO).unwrap();
    let truncated = dir.path().join("truncated.wasm");
    std::fs::write(&truncated, &echo[..echo.len() / 2]).unwrap();
    let err = runtime.inspect(&truncated).unwrap_err();
    assert!(matches!(err, WasmError::InvalidModule { .. }), "{err}");
    assert!(err.to_string().contains("it is truncated"), "{err}");

    let err = runtime
        .inspect(dir.path().join("missing.wasm"))
        .unwrap_err();
    assert!(matches!(err, WasmError::ModuleNotFound { .. }), "{err}");
}
