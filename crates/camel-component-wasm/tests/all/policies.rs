//! WASM policies end to end: a Camel.toml with `[security.policies.wasm.*]`
//! and `[security.permissions.*]` entries read by camel-config, YAML routes
//! with `security_policy` compiled by camel-dsl against the registries, a
//! real authenticator (camel-auth's static tokens) establishing the caller,
//! policy guests built from source.

use std::path::Path;
use std::time::{Duration, Instant};

use camel_api::security_policy::Principal;
use camel_api::{CamelError, Exchange, Message};
use camel_auth::permission::{PermissionDecision, PermissionEvaluator, PermissionRequest};
use camel_component_wasm::{PolicyDecision, WasmComponent, WasmError, WasmPluginConfig};
use camel_wasm_test_artifacts as guests;
use serde_json::json;

use crate::project::{Project, principal};
use crate::support::{free_port, guest_dir, send_direct, shared_runtime};

const CAMEL_TOML: &str = r#"
[components.wasm]
plugins_dir = "plugins"

[security.policies.wasm.auditors]
path = "plugins/roles.wasm"
[security.policies.wasm.auditors.config]
role = "auditor"
[security.policies.wasm.auditors.limits]
timeout-secs = 5

[security.policies.wasm.hostile]
path = "plugins/hostile.wasm"
[security.policies.wasm.hostile.limits]
timeout-secs = 1

[security.permissions.orders]
provider = "wasm"
path = "plugins/roles.wasm"
[security.permissions.orders.config]
role = "unused"
"#;

const ROUTES: &str = r#"
routes:
  - id: audit
    from: direct:audit
    security_policy: { wasm: auditors }
    steps:
      - to: mock:audited
  - id: orders
    from: direct:orders
    security_policy:
      permission:
        policy: orders
        resource: { header: resource }
        action: { header: action }
    steps:
      - to: mock:orders
  - id: hostile
    from: direct:hostile
    security_policy: { wasm: hostile }
    steps:
      - to: mock:hostile
"#;

/// The callers: one token per user.
fn users() -> [(&'static str, Principal); 3] {
    [
        ("alice-token", principal("alice", &["auditor"], &[])),
        ("bob-token", principal("bob", &["reader"], &[])),
        ("carol-token", principal("carol", &["writer"], &[])),
    ]
}

/// The project: Camel.toml and the policy guests in plugins/.
fn policy_project(camel_toml: &str) -> Project {
    Project::new(
        camel_toml,
        &[
            (guests::POLICY_ROLES, "roles.wasm"),
            (guests::POLICY_HOSTILE, "hostile.wasm"),
            (guests::ECHO, "processor.wasm"),
            (guests::SOURCE_WEBHOOK, "webhook.wasm"),
            (guests::COMPAT_SOURCE, "compat-source.wasm"),
        ],
    )
}

fn exchange(headers: &[(&str, &str)]) -> Exchange {
    let mut message = Message::new("order");
    for (k, v) in headers {
        message.set_header(*k, *v);
    }
    Exchange::new_in_out(message)
}

fn assert_denied(result: Result<Exchange, CamelError>, reason: &str) {
    match result {
        Err(CamelError::Unauthorized(message)) => {
            assert!(message.contains(reason), "{message}")
        }
        other => panic!("expected Unauthorized({reason}), got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_yaml_route_lets_in_only_the_role_its_camel_toml_config_names() {
    let project = policy_project(CAMEL_TOML);
    let secured = project.start_secured(ROUTES, &users()).await;

    // `role = "auditor"` from Camel.toml reached the guest's init.
    let reply = secured
        .send_as("alice-token", "audit", exchange(&[]))
        .await
        .unwrap();
    assert_eq!(
        reply.property(camel_api::security_policy::PRINCIPAL_SUBJECT_KEY),
        Some(&json!("alice"))
    );
    assert_denied(
        secured.send_as("bob-token", "audit", exchange(&[])).await,
        "`bob` lacks role `auditor`",
    );
    assert_eq!(secured.received("audited").await, 1);

    // No authenticated caller at all: rust-camel refuses before the policy.
    let anonymous = send_direct(&secured.ctx, "direct:audit", exchange(&[])).await;
    assert!(
        matches!(anonymous, Err(CamelError::Unauthenticated(_))),
        "{anonymous:?}"
    );
}

/// `wasm:` source routes with a `security_policy`, of both contracts:
/// their listener authenticates each request with the route's provider
/// before the plugin sees it (401 without valid credentials), and the
/// caller's principal rides on the exchange, where the route's policy
/// decides. Authenticated, a route may listen beyond loopback without an
/// exposure acknowledgement (the `camel:wasm` one binds 0.0.0.0).
#[tokio::test(flavor = "multi_thread")]
async fn wasm_source_routes_authenticate_their_callers_at_the_edge() {
    let (port, compat_port) = (free_port(), free_port());
    let routes = format!(
        r#"
routes:
  - id: hook
    from: "wasm:webhook.wasm?listen=0.0.0.0:{port}"
    security_policy: {{ wasm: auditors }}
    steps:
      - to: mock:hooked
  - id: compat-hook
    from: "wasm:compat-source.wasm?bind=127.0.0.1:{compat_port}"
    security_policy: {{ wasm: auditors }}
    steps:
      - to: mock:compat-hooked
"#
    );
    let project = policy_project(CAMEL_TOML);
    let secured = project.start_secured(&routes, &users()).await;
    let client = reqwest::Client::new();
    let post = |port: u16, path: &str, token: Option<&str>| {
        let request = client
            .post(format!("http://127.0.0.1:{port}{path}"))
            .body(r#"{"id": 7}"#);
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
        .send()
    };
    let subjects = async |endpoint: &str| -> Vec<serde_json::Value> {
        let Some(endpoint) = secured.mock.get_endpoint(endpoint) else {
            return Vec::new();
        };
        let key = camel_api::security_policy::PRINCIPAL_SUBJECT_KEY;
        endpoint
            .get_received_exchanges()
            .await
            .iter()
            .filter_map(|e| e.property(key).cloned())
            .collect()
    };

    for (port, path) in [(port, "/orders"), (compat_port, "/")] {
        let anonymous = post(port, path, None).await.unwrap();
        assert_eq!(anonymous.status(), 401, "{path}");
        assert_eq!(anonymous.headers()["www-authenticate"], "Bearer");
        let forged = post(port, path, Some("forged-token")).await.unwrap();
        assert_eq!(forged.status(), 401, "{path}");
    }

    // `camel:wasm`: the route's reply is the response; without the role
    // the route's policy denies.
    assert_eq!(
        post(port, "/orders", Some("bob-token"))
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        post(port, "/orders", Some("alice-token"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(subjects("hooked").await, [json!("alice")]);

    // `camel:plugin`: 202 once the plugin has the request; the route then
    // denies bob's exchange and takes alice's, with her principal.
    assert_eq!(
        post(compat_port, "/", Some("bob-token"))
            .await
            .unwrap()
            .status(),
        202
    );
    assert_eq!(
        post(compat_port, "/", Some("alice-token"))
            .await
            .unwrap()
            .status(),
        202
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while subjects("compat-hooked").await.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(subjects("compat-hooked").await, [json!("alice")]);
    let mut ctx = secured.ctx;
    ctx.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_yaml_permission_route_asks_the_wasm_evaluator() {
    let project = policy_project(CAMEL_TOML);
    let secured = project.start_secured(ROUTES, &users()).await;
    let cases = [
        ("bob-token", "/orders/1", "read", true),
        ("bob-token", "/orders/1", "write", false),
        ("carol-token", "/orders/1", "write", true),
        ("alice-token", "/orders/1", "read", false),
    ];
    for (token, resource, action, granted) in cases {
        let result = secured
            .send_as(
                token,
                "orders",
                exchange(&[("resource", resource), ("action", action)]),
            )
            .await;
        if granted {
            result.unwrap_or_else(|e| panic!("{token} {action} {resource}: {e}"));
        } else {
            assert_denied(result, &format!("may not {action} {resource}"));
        }
    }
    assert_eq!(secured.received("orders").await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_permission_evaluator_answers_a_matrix() {
    let project = policy_project(CAMEL_TOML);
    let policies = project.policies().await.unwrap();
    let evaluator = policies.permission_evaluators().get("orders").unwrap();
    let reader = principal("bob", &["reader"], &[]);
    let writer = principal("carol", &["writer"], &[]);
    let admin = principal("dave", &["admin"], &["admin:all"]);
    let admin_without_scope = principal("erin", &["admin"], &[]);
    let cases = [
        (&reader, "/orders/7", "read", true),
        (&reader, "/orders/7", "write", false),
        (&reader, "/orders/7", "delete", false),
        (&writer, "/orders/7", "read", true),
        (&writer, "/orders/7", "write", true),
        (&writer, "/admin/users", "read", false),
        (&admin, "/admin/users", "delete", true),
        (&admin_without_scope, "/admin/users", "delete", false),
        (&admin, "/billing/1", "read", false),
    ];
    for (who, resource, action, granted) in cases {
        let decision = evaluator
            .evaluate(PermissionRequest {
                principal: who.clone(),
                resource: resource.to_string(),
                action: action.to_string(),
                requested_scopes: Vec::new(),
                context: json!({}),
            })
            .await
            .unwrap();
        let case = format!("{} {action} {resource}", who.subject);
        match decision {
            PermissionDecision::Granted => assert!(granted, "{case}: granted"),
            PermissionDecision::Denied { reason } => {
                assert!(!granted, "{case}: denied: {reason}");
                assert!(
                    reason.contains(&format!("may not {action} {resource}")),
                    "{reason}"
                );
            }
        }
    }
}

/// A request to the hostile policy: its action is the misbehaviour.
fn hostile_request(mode: &str) -> PermissionRequest {
    PermissionRequest {
        principal: principal("mallory", &[], &[]),
        resource: "/anything".to_string(),
        action: mode.to_string(),
        requested_scopes: Vec::new(),
        context: json!({}),
    }
}

async fn hostile(
    component: &WasmComponent,
    limits: WasmPluginConfig,
) -> camel_component_wasm::WasmPolicy {
    let file = Path::new(guests::POLICY_HOSTILE)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    component
        .policy("hostile", &file, Vec::new(), limits)
        .await
        .unwrap()
}

fn guest_component() -> WasmComponent {
    WasmComponent::builder(guest_dir())
        .runtime(shared_runtime())
        .build()
        .unwrap()
}

fn timeout(secs: &str) -> WasmPluginConfig {
    let mut limits = WasmPluginConfig::default();
    limits.set("timeout", secs).unwrap();
    limits
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_that_traps_panics_spins_sleeps_or_fails_denies_and_the_next_call_works() {
    let policy = hostile(&guest_component(), timeout("0.5")).await;
    for mode in ["trap", "panic", "spin", "sleep", "fail"] {
        let started = Instant::now();
        let result = PermissionEvaluator::evaluate(&policy, hostile_request(mode)).await;
        match result {
            Err(camel_auth::types::AuthError::AuthorizationDenied(reason)) => {
                assert!(reason.contains("access denied"), "{mode}: {reason}")
            }
            other => panic!("{mode}: expected a denial, got {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{mode}: {:?}",
            started.elapsed()
        );
        // The typed error is there for those who ask.
        let typed = policy
            .check_permission(&hostile_request(mode))
            .await
            .unwrap_err();
        let expected = match mode {
            "trap" => matches!(typed, WasmError::Trap { .. }),
            "panic" => matches!(typed, WasmError::GuestPanic { .. }),
            "spin" | "sleep" => matches!(typed, WasmError::Timeout { .. }),
            _ => matches!(typed, WasmError::Guest { .. }),
        };
        assert!(expected, "{mode}: {typed:?}");
        assert_eq!(
            policy
                .check_permission(&hostile_request("ok"))
                .await
                .unwrap(),
            PolicyDecision::Grant,
            "after {mode}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_route_policy_denies_the_exchange_never_grants() {
    let project = policy_project(CAMEL_TOML);
    let secured = project.start_secured(ROUTES, &users()).await;
    for mode in ["trap", "panic", "spin", "fail"] {
        assert_denied(
            secured
                .send_as("alice-token", "hostile", exchange(&[("mode", mode)]))
                .await,
            "could not decide",
        );
        secured
            .send_as("alice-token", "hostile", exchange(&[("mode", "ok")]))
            .await
            .unwrap_or_else(|e| panic!("after {mode}: {e}"));
    }
    assert_eq!(secured.received("hostile").await, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_cannot_call_endpoints_or_write_state_unless_allowed() {
    let component = guest_component();
    let policy = hostile(&component, WasmPluginConfig::default()).await;
    match policy
        .check_permission(&hostile_request("call"))
        .await
        .unwrap()
    {
        PolicyDecision::Deny(reason) => assert!(reason.contains("denied"), "{reason}"),
        other => panic!("camel-call went through: {other:?}"),
    }
    match policy
        .check_permission(&hostile_request("write"))
        .await
        .unwrap()
    {
        PolicyDecision::Deny(reason) => assert!(reason.contains("read-only"), "{reason}"),
        other => panic!("host-store went through: {other:?}"),
    }

    // Granting calls to a policy is refused at load time.
    let mut calls = WasmPluginConfig::default();
    calls.set("allow-call", "direct").unwrap();
    let file = Path::new(guests::POLICY_HOSTILE)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    let err = component
        .policy("calls", file, Vec::new(), calls)
        .await
        .unwrap_err();
    let WasmError::Policy { source, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(
        matches!(&**source, WasmError::InvalidParameter { name, .. } if name == "allow-call"),
        "{source:?}"
    );

    // State writes can be granted explicitly.
    let mut writes = WasmPluginConfig::default();
    writes.set("state-writes", "true").unwrap();
    let writer = hostile(&component, writes).await;
    assert_eq!(
        writer
            .check_permission(&hostile_request("write"))
            .await
            .unwrap(),
        PolicyDecision::Grant
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_policy_entries_fail_with_the_entry_named() {
    // init refuses a missing `role`.
    let project = policy_project(
        r#"
[components.wasm]
plugins_dir = "plugins"
[security.policies.wasm.unconfigured]
path = "plugins/roles.wasm"
"#,
    );
    let err = project.policies().await.unwrap_err();
    assert!(
        matches!(&err, WasmError::Policy { policy, source }
            if policy == "unconfigured" && matches!(**source, WasmError::Init { .. })),
        "{err:?}"
    );

    // A processor is not a policy.
    let project = policy_project(
        r#"
[components.wasm]
plugins_dir = "plugins"
[security.policies.wasm.processor]
path = "plugins/processor.wasm"
"#,
    );
    let err = project.policies().await.unwrap_err();
    assert!(
        matches!(&err, WasmError::Policy { source, .. }
            if matches!(&**source, WasmError::WrongWorld { world, .. } if *world == "policy")),
        "{err:?}"
    );

    // Outside the plugins directory.
    let project = policy_project(
        r#"
[components.wasm]
plugins_dir = "plugins"
[security.permissions.outside]
provider = "wasm"
path = "Camel.toml"
"#,
    );
    let err = project.policies().await.unwrap_err();
    assert!(
        matches!(&err, WasmError::Policy { source, .. }
            if matches!(**source, WasmError::PathNotAllowed { .. })),
        "{err:?}"
    );
}
