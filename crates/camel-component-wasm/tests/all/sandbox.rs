//! The WASI sandbox: no environment, no filesystem (no network: see
//! `boundaries::a_plugin_that_imports_sockets_loads_but_gets_no_network`).

use camel_wasm_test_artifacts as guests;
use serde_json::json;

use crate::support::{TestContext, wasm_uri};

#[tokio::test(flavor = "multi_thread")]
async fn guests_see_no_environment_or_files() {
    // Make sure there is something to leak.
    assert!(std::env::vars().count() > 0);
    let mut t = TestContext::new().await;
    t.route("probe", &[wasm_uri(guests::SANDBOX_PROBE, "")])
        .await
        .unwrap();
    t.start().await;
    let reply = t.send_text("probe", "x").await.unwrap();
    let h = |k: &str| reply.input.header(k).cloned();
    assert_eq!(h("env-vars"), Some(json!(0)));
    assert_eq!(h("args"), Some(json!(0)));
    assert_eq!(h("fs-root"), Some(json!("denied")));
    assert_eq!(h("fs-cwd"), Some(json!("denied")));
    assert_eq!(h("fs-write"), Some(json!("denied")));
    assert!(!std::path::Path::new("/tmp/escape").exists());
}
