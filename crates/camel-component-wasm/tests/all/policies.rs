//! WASM policies end to end: a Camel.toml with `[security.policies.wasm.*]`
//! and `[security.permissions.*]` entries read by camel-config, YAML routes
//! with `security_policy` compiled by camel-dsl against the registries, a
//! real authenticator (camel-auth's static tokens) establishing the caller,
//! policy guests built from source.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use camel_api::security_policy::{
    AccessMode, CredentialSource, Principal, RouteSecurityPlan, TransportId,
};
use camel_api::{CamelError, Exchange, Message};
use camel_auth::credential_source::ExtractedToken;
use camel_auth::native_auth::{
    NativeCredential, NativeCredentialSecret, NativeCredentialStore, StaticTokenAuthenticator,
};
use camel_auth::permission::{PermissionDecision, PermissionEvaluator, PermissionRequest};
use camel_auth::{ProviderEntry, ProviderRegistry, TokenAuthenticator};
use camel_component_direct::DirectComponent;
use camel_component_mock::MockComponent;
use camel_component_wasm::{
    PolicyDecision, WasmBundle, WasmComponent, WasmError, WasmPluginConfig, WasmPolicies,
};
use camel_config::CamelConfig;
use camel_core::CamelContext;
use camel_wasm_test_artifacts as guests;
use serde_json::json;
use zeroize::Zeroizing;

use crate::support::{guest_dir, send_direct, shared_runtime};

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

fn principal(subject: &str, roles: &[&str], scopes: &[&str]) -> Principal {
    Principal {
        subject: subject.to_string(),
        issuer: "test".to_string(),
        audience: Vec::new(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        roles: roles.iter().map(|s| s.to_string()).collect(),
        claims: json!({ "sub": subject }),
    }
}

/// camel-auth's static-token authenticator, with one token per user.
fn authenticator() -> Arc<dyn TokenAuthenticator> {
    let users = [
        ("alice-token", principal("alice", &["auditor"], &[])),
        ("bob-token", principal("bob", &["reader"], &[])),
        ("carol-token", principal("carol", &["writer"], &[])),
    ];
    let store = NativeCredentialStore::try_new(
        users
            .into_iter()
            .map(|(token, principal)| NativeCredential {
                secret: NativeCredentialSecret::Plaintext {
                    value: Zeroizing::new(token.to_string()),
                },
                principal,
            })
            .collect(),
    )
    .unwrap();
    Arc::new(StaticTokenAuthenticator::new(store))
}

/// A project directory with Camel.toml and plugins/, loaded into a started
/// context whose YAML routes use the policies.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(camel_toml: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("plugins")).unwrap();
        std::fs::copy(guests::POLICY_ROLES, dir.path().join("plugins/roles.wasm")).unwrap();
        std::fs::copy(
            guests::POLICY_HOSTILE,
            dir.path().join("plugins/hostile.wasm"),
        )
        .unwrap();
        std::fs::copy(guests::ECHO, dir.path().join("plugins/processor.wasm")).unwrap();
        std::fs::write(dir.path().join("Camel.toml"), camel_toml).unwrap();
        Project { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn config(&self) -> CamelConfig {
        let path = self.root().join("Camel.toml");
        CamelConfig::from_file_with_profile(path.to_str().unwrap(), None).unwrap()
    }

    fn component(&self, config: &CamelConfig) -> WasmComponent {
        WasmBundle::from_camel_config(config, self.root())
            .unwrap()
            .with_runtime(shared_runtime())
            .build()
            .unwrap()
    }

    async fn policies(&self) -> Result<WasmPolicies, WasmError> {
        let config = self.config();
        self.component(&config)
            .register_policies(&config, self.root())
            .await
    }

    async fn start(&self) -> Secured {
        let policies = self.policies().await.unwrap();
        let authenticator = authenticator();
        let mut security = camel_dsl::SecurityCompileContext::new(
            Some(authenticator.clone()),
            Some(policies.security_policies()),
        );
        security.evaluator_registry = Some(policies.permission_evaluators());
        let mut ctx = CamelContext::builder().build().await.unwrap();
        ctx.register_component(DirectComponent::new());
        let mock = MockComponent::new();
        ctx.register_component(mock.clone());
        let routes = camel_dsl::parse_yaml_with_threshold_and_security(
            ROUTES,
            camel_api::stream_cache::DEFAULT_STREAM_CACHE_THRESHOLD,
            security,
        )
        .unwrap();
        for route in routes {
            ctx.add_route_definition(route).await.unwrap();
        }
        ctx.start().await.unwrap();
        let providers = ProviderRegistry::new();
        providers.register(
            "default",
            ProviderEntry {
                authenticator,
                audience_binding: None,
            },
        );
        Secured {
            ctx,
            mock,
            providers,
        }
    }
}

struct Secured {
    ctx: CamelContext,
    mock: MockComponent,
    providers: ProviderRegistry,
}

impl Secured {
    /// Sends `exchange` into `direct:<route>` as the holder of `token`,
    /// authenticated the way a server transport's edge does it.
    async fn send_as(
        &self,
        token: &str,
        route: &str,
        mut exchange: Exchange,
    ) -> Result<Exchange, CamelError> {
        let plan = RouteSecurityPlan {
            access_mode: AccessMode::Authenticated,
            provider_ref: Some("default".to_string()),
            transport: TransportId::Http,
            credential_sources: vec![CredentialSource::AuthorizationHeader],
            audience_binding: None,
        };
        let credentials = ExtractedToken {
            token: token.to_string(),
            source: CredentialSource::AuthorizationHeader,
        };
        let caller = camel_auth::kernel_authenticate(&plan, &self.providers, &credentials).await?;
        camel_auth::install_carrier(&mut exchange, &caller);
        send_direct(&self.ctx, &format!("direct:{route}"), exchange).await
    }

    async fn received(&self, endpoint: &str) -> usize {
        self.mock
            .get_endpoint(endpoint)
            .map(|e| futures::executor::block_on(e.get_received_exchanges()).len())
            .unwrap_or(0)
    }
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
    let project = Project::new(CAMEL_TOML);
    let secured = project.start().await;

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

#[tokio::test(flavor = "multi_thread")]
async fn a_yaml_permission_route_asks_the_wasm_evaluator() {
    let project = Project::new(CAMEL_TOML);
    let secured = project.start().await;
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
    let project = Project::new(CAMEL_TOML);
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
    let project = Project::new(CAMEL_TOML);
    let secured = project.start().await;
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
    let project = Project::new(
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
    let project = Project::new(
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
    let project = Project::new(
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
