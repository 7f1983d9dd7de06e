//! Cost of one policy evaluation: a WASM policy against a native Rust
//! policy making the same decision, in the same run (tokio current-thread).
//!
//! - `route/native`: camel-auth's `RolePolicy` (role `auditor`) as a
//!   `SecurityPolicy`;
//! - `route/wasm`: guest `policy_roles` with `role = "auditor"`, the same
//!   check through `WasmPolicy` as a `SecurityPolicy` (the exchange, 100 B
//!   of text and two headers, is copied for the guest);
//! - `permission/native`: a Rust `PermissionEvaluator` with the guest's
//!   rules;
//! - `permission/wasm`: guest `policy_roles` as a `PermissionEvaluator`.
//!
//! Every evaluation grants (the common case).
//!
//! `cargo bench -p camel-component-wasm --bench policies`.

use std::path::Path;

use async_trait::async_trait;
use camel_api::security_policy::{
    AuthContext, AuthPrincipal, AuthorizationDecision, Principal, SecurityPolicy, TransportId,
};
use camel_api::{Exchange, Message};
use camel_auth::RolePolicy;
use camel_auth::permission::{PermissionDecision, PermissionEvaluator, PermissionRequest};
use camel_auth::types::AuthError;
use camel_component_wasm::{WasmComponent, WasmPluginConfig, WasmRuntime};
use camel_wasm_test_artifacts as guests;
use criterion::{Criterion, criterion_group, criterion_main};

/// The authenticated caller.
struct Caller(Principal);

impl AuthPrincipal for Caller {
    fn principal(&self) -> &Principal {
        &self.0
    }

    fn provider_id(&self) -> &str {
        "bench"
    }
}

/// The guest's permission rules, in Rust.
struct NativeRules;

#[async_trait]
impl PermissionEvaluator for NativeRules {
    async fn evaluate(&self, request: PermissionRequest) -> Result<PermissionDecision, AuthError> {
        let who = &request.principal;
        let granted = if request.resource.starts_with("/orders/") {
            match request.action.as_str() {
                "read" => who.has_role("reader") || who.has_role("writer"),
                "write" => who.has_role("writer"),
                _ => false,
            }
        } else if request.resource.starts_with("/admin/") {
            who.has_role("admin") && who.has_scope("admin:all")
        } else {
            false
        };
        Ok(if granted {
            PermissionDecision::Granted
        } else {
            PermissionDecision::Denied {
                reason: format!(
                    "`{}` may not {} {}",
                    who.subject, request.action, request.resource
                ),
            }
        })
    }
}

fn principal() -> Principal {
    Principal {
        subject: "alice".to_string(),
        issuer: "bench".to_string(),
        audience: vec!["api".to_string()],
        scopes: vec!["orders:read".to_string()],
        roles: vec!["auditor".to_string(), "reader".to_string()],
        claims: serde_json::json!({ "sub": "alice", "tenant": "acme" }),
    }
}

fn exchange() -> Exchange {
    let mut message = Message::new("x".repeat(100));
    message.set_header("resource", "/orders/42");
    message.set_header("action", "read");
    Exchange::new_in_out(message)
}

fn request() -> PermissionRequest {
    PermissionRequest {
        principal: principal(),
        resource: "/orders/42".to_string(),
        action: "read".to_string(),
        requested_scopes: vec!["orders:read".to_string()],
        context: serde_json::json!({}),
    }
}

async fn route_check(policy: &dyn SecurityPolicy, caller: &Caller, exchange: &mut Exchange) {
    let auth = AuthContext {
        principal: caller,
        transport: TransportId::Http,
    };
    let decision = policy.evaluate(exchange, &auth).await.expect("decision");
    assert!(matches!(decision, AuthorizationDecision::Granted { .. }));
}

async fn permission_check(evaluator: &dyn PermissionEvaluator) {
    let decision = evaluator.evaluate(request()).await.expect("decision");
    assert_eq!(decision, PermissionDecision::Granted);
}

fn policies(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let guest = Path::new(guests::POLICY_ROLES);
    let component = WasmComponent::builder(guest.parent().expect("guest directory"))
        .runtime(WasmRuntime::new().expect("runtime"))
        .build()
        .expect("component");
    let file = guest.file_name().expect("file name").to_string_lossy();
    let wasm = rt
        .block_on(component.policy(
            "auditors",
            &file,
            [("role".to_string(), "auditor".to_string())],
            WasmPluginConfig::default(),
        ))
        .expect("policy");
    let native = RolePolicy::new(vec!["auditor".to_string()], false);
    let caller = Caller(principal());
    let mut ex = exchange();

    let mut group = c.benchmark_group("policy/route");
    group.bench_function("native", |b| {
        b.iter(|| rt.block_on(route_check(&native, &caller, &mut ex)));
    });
    group.bench_function("wasm", |b| {
        b.iter(|| rt.block_on(route_check(&wasm, &caller, &mut ex)));
    });
    group.finish();

    let mut group = c.benchmark_group("policy/permission");
    group.bench_function("native", |b| {
        b.iter(|| rt.block_on(permission_check(&NativeRules)));
    });
    group.bench_function("wasm", |b| {
        b.iter(|| rt.block_on(permission_check(&wasm)));
    });
    group.finish();
}

criterion_group!(benches, policies);
criterion_main!(benches);
