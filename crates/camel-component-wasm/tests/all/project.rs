//! Projects as users lay them out: a directory with `Camel.toml` and
//! `plugins/`, loaded by camel-config, with beans registered from it or
//! policies guarding YAML routes whose callers camel-auth authenticates.

use std::path::Path;
use std::sync::{Arc, Mutex};

use camel_api::security_policy::{
    AccessMode, CredentialSource, Principal, RouteSecurityPlan, TransportId,
};
use camel_api::{CamelError, Exchange};
use camel_auth::credential_source::ExtractedToken;
use camel_auth::native_auth::{
    NativeCredential, NativeCredentialSecret, NativeCredentialStore, StaticTokenAuthenticator,
};
use camel_auth::{ProviderEntry, ProviderRegistry, TokenAuthenticator};
use camel_bean::BeanRegistry;
use camel_component_direct::DirectComponent;
use camel_component_mock::MockComponent;
use camel_component_wasm::{WasmBundle, WasmComponent, WasmError, WasmPolicies};
use camel_config::CamelConfig;
use camel_core::{CamelContext, RegistryComponentContext};
use serde_json::json;
use zeroize::Zeroizing;

use crate::support::{send_direct, shared_runtime};

/// A temporary project directory.
pub(crate) struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// Writes `camel_toml` and copies each `(artifact, file name)` into
    /// `plugins/`.
    pub(crate) fn new(camel_toml: &str, plugins: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let plugins_dir = dir.path().join("plugins");
        std::fs::create_dir(&plugins_dir).unwrap();
        for (artifact, name) in plugins {
            std::fs::copy(artifact, plugins_dir.join(name))
                .unwrap_or_else(|e| panic!("{artifact}: {e}"));
        }
        std::fs::write(dir.path().join("Camel.toml"), camel_toml).unwrap();
        Project { dir }
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Camel.toml as camel-config reads it, with `profile` applied.
    pub(crate) fn config(&self, profile: Option<&str>) -> CamelConfig {
        let path = self.root().join("Camel.toml");
        CamelConfig::from_file_with_profile(path.to_str().unwrap(), profile).unwrap()
    }

    /// The wasm component `[components.wasm]` describes, on the tests'
    /// shared runtime; it reports to `ctx`'s metrics when given.
    pub(crate) fn component(
        &self,
        config: &CamelConfig,
        ctx: Option<&CamelContext>,
    ) -> WasmComponent {
        let mut bundle = WasmBundle::from_camel_config(config, self.root())
            .unwrap()
            .with_runtime(shared_runtime());
        if let Some(ctx) = ctx {
            bundle = bundle.with_context(Arc::new(RegistryComponentContext::new(
                ctx.registry_arc(),
                Some(ctx.metrics()),
                false,
            )));
        }
        bundle.build().unwrap()
    }

    /// A started context with the wasm, direct and mock components, the
    /// beans of Camel.toml (`profile` applied) registered, and the YAML
    /// `routes` added.
    pub(crate) async fn start_with_beans(
        &self,
        profile: Option<&str>,
        routes: &str,
    ) -> Result<(CamelContext, MockComponent), WasmError> {
        let config = self.config(profile);
        let beans = Arc::new(Mutex::new(BeanRegistry::new()));
        let mut ctx = CamelContext::builder()
            .beans(beans.clone())
            .build()
            .await
            .unwrap();
        let component = self.component(&config, Some(&ctx));
        ctx.register_component(component.clone());
        component.register_beans(&config, &beans).await?;
        ctx.register_component(DirectComponent::new());
        let mock = MockComponent::new();
        ctx.register_component(mock.clone());
        for route in camel_dsl::parse_yaml(routes).unwrap() {
            ctx.add_route_definition(route).await.unwrap();
        }
        ctx.start().await.unwrap();
        Ok((ctx, mock))
    }

    /// The policies of Camel.toml, registered.
    pub(crate) async fn policies(&self) -> Result<WasmPolicies, WasmError> {
        let config = self.config(None);
        self.component(&config, None)
            .register_policies(&config, self.root())
            .await
    }

    /// A started context (wasm, direct and mock components) whose YAML
    /// `routes` are guarded by the policies of Camel.toml, with callers
    /// authenticated by `users`' tokens.
    pub(crate) async fn start_secured(&self, routes: &str, users: &[(&str, Principal)]) -> Secured {
        let policies = self.policies().await.unwrap();
        let authenticator = authenticator(users);
        let mut security = camel_dsl::SecurityCompileContext::new(
            Some(authenticator.clone()),
            Some(policies.security_policies()),
        );
        security.evaluator_registry = Some(policies.permission_evaluators());
        let mut ctx = CamelContext::builder().build().await.unwrap();
        let component = self.component(&self.config(None), Some(&ctx));
        ctx.register_component(component);
        ctx.register_component(DirectComponent::new());
        let mock = MockComponent::new();
        ctx.register_component(mock.clone());
        let routes = camel_dsl::parse_yaml_with_threshold_and_security(
            routes,
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

/// A started context with secured routes.
pub(crate) struct Secured {
    pub(crate) ctx: CamelContext,
    pub(crate) mock: MockComponent,
    providers: ProviderRegistry,
}

impl Secured {
    /// Sends `exchange` into `direct:<route>` as the holder of `token`,
    /// authenticated the way a server transport's edge does it.
    pub(crate) async fn send_as(
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

    /// How many exchanges `mock:<endpoint>` received.
    pub(crate) async fn received(&self, endpoint: &str) -> usize {
        match self.mock.get_endpoint(endpoint) {
            Some(endpoint) => endpoint.get_received_exchanges().await.len(),
            None => 0,
        }
    }
}

/// A caller with these roles and scopes.
pub(crate) fn principal(subject: &str, roles: &[&str], scopes: &[&str]) -> Principal {
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
pub(crate) fn authenticator(users: &[(&str, Principal)]) -> Arc<dyn TokenAuthenticator> {
    let store = NativeCredentialStore::try_new(
        users
            .iter()
            .map(|(token, principal)| NativeCredential {
                secret: NativeCredentialSecret::Plaintext {
                    value: Zeroizing::new(token.to_string()),
                },
                principal: principal.clone(),
            })
            .collect(),
    )
    .unwrap();
    Arc::new(StaticTokenAuthenticator::new(store))
}
