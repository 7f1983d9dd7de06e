//! `WasmPolicy`: a component of the `policy` world behind rust-camel's
//! `SecurityPolicy` (a route's `security_policy`) and camel-auth's
//! `PermissionEvaluator` (`security_policy: { permission: … }`).
//!
//! Fail-closed: only a guest's `grant` grants. A `deny`, a guest error, a
//! trap, a timeout, a busy or unhealthy plugin all deny, and the failure is
//! logged with its typed error.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use camel_api::security_policy::{
    AuthContext, AuthorizationDecision, Principal, SecurityPolicy, TransportId,
};
use camel_api::{CamelError, Exchange, Value};
use camel_auth::permission::{PermissionDecision, PermissionEvaluator, PermissionRequest};
use camel_auth::types::AuthError;
use wasmtime::Store;

use crate::bindings::policy::Policy;
use crate::bindings::{wit, wit_policy};
use crate::call_chain::CallChain;
use crate::call_span::CallSite;
use crate::compat::worlds::CompatPolicyWorld;
use crate::convert;
use crate::error::{Result, WasmError, error_chain};
use crate::host_state::WasmHostState;
use crate::instance_pool::{GuestCall, InstancePool};
use crate::producer::guest_error;
use crate::world::PolicyWorld;

/// A WASM authorization policy: one component answering route checks
/// ([`SecurityPolicy`]) and permission checks ([`PermissionEvaluator`]).
///
/// Loaded with [`WasmComponent::policy`](crate::WasmComponent::policy) (or
/// from Camel.toml with `WasmComponent::register_policies`); its `init`
/// runs with the policy's configuration on every new instance, and a first
/// instance is made at load time so a bad configuration fails there.
/// Evaluations share the processor path: pooled instances, limits,
/// recovery and the crash-loop guard. A policy calls no endpoint, and its
/// state is read-only unless `state-writes=true`. Cheap to clone; clones
/// share everything.
#[derive(Clone)]
pub struct WasmPolicy {
    name: Arc<str>,
    pool: PolicyPool,
}

/// The instances behind a policy: this host's own `policy` world, or
/// rust-camel's `camel:plugin@1.0.0` `authorization-policy`.
#[derive(Clone)]
enum PolicyPool {
    Own(Arc<InstancePool<PolicyWorld>>),
    Compat(Arc<InstancePool<CompatPolicyWorld>>),
}

impl std::fmt::Debug for WasmPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmPolicy")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A policy's answer to one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyDecision {
    /// Access granted.
    Grant,
    /// Access denied, with the policy's reason.
    Deny(String),
}

/// Makes the first instance (running `init`) without calling anything else.
struct Warm;

impl GuestCall<PolicyWorld> for Warm {
    type Output = ();

    async fn call(self, _: &Policy, _: &mut Store<WasmHostState>) -> wasmtime::Result<()> {
        Ok(())
    }
}

/// One `evaluate(check)` call.
struct Evaluate<'a>(&'a wit_policy::Check);

impl GuestCall<PolicyWorld> for Evaluate<'_> {
    type Output = std::result::Result<wit_policy::Decision, wit::Error>;

    async fn call(
        self,
        bindings: &Policy,
        store: &mut Store<WasmHostState>,
    ) -> wasmtime::Result<Self::Output> {
        bindings.call_evaluate(store, self.0).await
    }
}

impl WasmPolicy {
    /// Makes a first instance, so a failing `init` fails the load.
    pub(crate) async fn start(
        name: Arc<str>,
        pool: Arc<InstancePool<PolicyWorld>>,
    ) -> Result<Self> {
        let (warmed, _) = pool
            .call(Warm, HashMap::new(), CallChain::empty(), None)
            .await;
        warmed?;
        tracing::debug!(policy = %name, "wasm policy ready");
        Ok(WasmPolicy {
            name,
            pool: PolicyPool::Own(pool),
        })
    }

    /// As [`WasmPolicy::start`], for an `authorization-policy` of
    /// rust-camel's `camel:plugin` contract.
    pub(crate) async fn start_compat(
        name: Arc<str>,
        pool: Arc<InstancePool<CompatPolicyWorld>>,
    ) -> Result<Self> {
        crate::compat::calls::warm(&pool).await?;
        tracing::debug!(policy = %name, "wasm policy (camel:plugin) ready");
        Ok(WasmPolicy {
            name,
            pool: PolicyPool::Compat(pool),
        })
    }

    /// The policy's name (its registry entry).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Asks the policy whether `principal` (established by `provider`, over
    /// `transport`) may run `exchange` through a route. The exchange is not
    /// changed; the guest sees a copy (a streamed body as `empty`) and its
    /// properties through `get-property`.
    ///
    /// # Errors
    ///
    /// The typed [`WasmError`] if the guest failed to answer (its own
    /// error, a trap, a timeout...). The trait impls turn every error into
    /// a denial.
    pub async fn check_route(
        &self,
        exchange: &Exchange,
        principal: &Principal,
        provider: &str,
        transport: TransportId,
    ) -> Result<PolicyDecision> {
        if let PolicyPool::Compat(pool) = &self.pool {
            let properties =
                crate::compat::calls::route_check_properties(exchange, principal, transport);
            let span = pool.span(CallSite::export("evaluate").exchange(exchange));
            return pool
                .observe(
                    span,
                    crate::compat::calls::evaluate(pool, exchange, properties),
                )
                .await;
        }
        let check = wit_policy::Check::Route(wit_policy::RouteCheck {
            principal: principal_to_wit(principal),
            provider: provider.to_string(),
            transport: transport_to_wit(transport),
            exchange: convert::exchange_view(exchange),
        });
        self.evaluate(&check, exchange.properties.clone(), Some(exchange))
            .await
    }

    /// Asks the policy whether the request's principal may perform its
    /// action on its resource.
    ///
    /// # Errors
    ///
    /// As [`WasmPolicy::check_route`].
    pub async fn check_permission(&self, request: &PermissionRequest) -> Result<PolicyDecision> {
        if let PolicyPool::Compat(pool) = &self.pool {
            let properties = crate::compat::calls::permission_check_properties(request);
            let exchange = Exchange::new(camel_api::Message::default());
            let span = pool.span(CallSite::export("evaluate"));
            return pool
                .observe(
                    span,
                    crate::compat::calls::evaluate(pool, &exchange, properties),
                )
                .await;
        }
        let check = wit_policy::Check::Permission(wit_policy::PermissionCheck {
            principal: principal_to_wit(&request.principal),
            resource: request.resource.clone(),
            action: request.action.clone(),
            scopes: request.requested_scopes.clone(),
            context: request.context.to_string(),
        });
        self.evaluate(&check, HashMap::new(), None).await
    }

    async fn evaluate(
        &self,
        check: &wit_policy::Check,
        properties: HashMap<String, Value>,
        exchange: Option<&Exchange>,
    ) -> Result<PolicyDecision> {
        let PolicyPool::Own(pool) = &self.pool else {
            return Err(WasmError::Host {
                plugin: self.name.to_string(),
                source: "a camel:plugin policy answers through its own path".into(),
            });
        };
        let site = CallSite::export("evaluate");
        let span = pool.span(match exchange {
            Some(exchange) => site.exchange(exchange),
            None => site,
        });
        pool.observe(span, evaluate_own(pool, check, properties))
            .await
    }

    /// The denial that stands in for a failed evaluation, after logging it.
    fn failed(&self, err: &WasmError) -> String {
        tracing::warn!(
            policy = %self.name,
            error = %error_chain(err),
            "wasm policy failed to answer; access denied"
        );
        format!(
            "policy `{}` could not decide ({}); access denied",
            self.name,
            failure_class(err)
        )
    }
}

/// One evaluation by a policy of our own contract.
async fn evaluate_own(
    pool: &Arc<InstancePool<PolicyWorld>>,
    check: &wit_policy::Check,
    properties: HashMap<String, Value>,
) -> Result<PolicyDecision> {
    let (outcome, _) = pool
        .call(Evaluate(check), properties, CallChain::empty(), None)
        .await;
    match outcome?.0 {
        Ok(wit_policy::Decision::Grant) => Ok(PolicyDecision::Grant),
        Ok(wit_policy::Decision::Deny(reason)) => Ok(PolicyDecision::Deny(reason)),
        Err(error) => Err(WasmError::Guest {
            plugin: pool.plugin.name.to_string(),
            error: guest_error(error),
        }),
    }
}

/// A short, payload-free name for why a policy did not answer.
fn failure_class(err: &WasmError) -> &'static str {
    match err {
        WasmError::Guest { .. } => "it returned an error",
        WasmError::Timeout { .. } => "timed out",
        WasmError::Trap { .. } => "trapped",
        WasmError::GuestPanic { .. } => "panicked",
        WasmError::OutOfMemory { .. } | WasmError::ResourceLimit { .. } => "exceeded a limit",
        WasmError::Busy { .. } => "busy",
        WasmError::Unhealthy { .. } => "unhealthy",
        _ => "host failure",
    }
}

#[async_trait]
impl SecurityPolicy for WasmPolicy {
    async fn evaluate(
        &self,
        exchange: &mut Exchange,
        auth: &AuthContext<'_>,
    ) -> std::result::Result<AuthorizationDecision, CamelError> {
        let principal = auth.principal.principal();
        let reason = match self
            .check_route(
                exchange,
                principal,
                auth.principal.provider_id(),
                auth.transport,
            )
            .await
        {
            Ok(PolicyDecision::Grant) => {
                return Ok(AuthorizationDecision::Granted {
                    principal: principal.clone(),
                });
            }
            Ok(PolicyDecision::Deny(reason)) => reason,
            Err(err) => self.failed(&err),
        };
        Ok(AuthorizationDecision::Denied {
            reason,
            required: Vec::new(),
            actual: Vec::new(),
        })
    }
}

#[async_trait]
impl PermissionEvaluator for WasmPolicy {
    /// A failed evaluation is `AuthorizationDenied` (an error, so caches in
    /// front of the evaluator do not remember it as a decision).
    async fn evaluate(
        &self,
        request: PermissionRequest,
    ) -> std::result::Result<PermissionDecision, AuthError> {
        match self.check_permission(&request).await {
            Ok(PolicyDecision::Grant) => Ok(PermissionDecision::Granted),
            Ok(PolicyDecision::Deny(reason)) => Ok(PermissionDecision::Denied { reason }),
            Err(err) => Err(AuthError::AuthorizationDenied(self.failed(&err))),
        }
    }
}

fn principal_to_wit(principal: &Principal) -> wit_policy::Principal {
    wit_policy::Principal {
        subject: principal.subject.clone(),
        issuer: principal.issuer.clone(),
        audience: principal.audience.clone(),
        scopes: principal.scopes.clone(),
        roles: principal.roles.clone(),
        claims: principal.claims.to_string(),
    }
}

fn transport_to_wit(transport: TransportId) -> wit_policy::Transport {
    match transport {
        TransportId::Http => wit_policy::Transport::Http,
        TransportId::Ws => wit_policy::Transport::Ws,
        TransportId::Grpc => wit_policy::Transport::Grpc,
        TransportId::Mcp => wit_policy::Transport::Mcp,
        TransportId::Wasm => wit_policy::Transport::Wasm,
    }
}
