//! Authentication at a source's HTTP edge, as rust-camel's own server
//! transports do it: a route with a `security_policy` (or a declared auth
//! provider) gets its compiled plan and provider registry through
//! `Consumer::set_security_context`; each request's credentials are
//! extracted from the sources the plan names and authenticated by the
//! plan's provider before the plugin sees the request. A request that does
//! not authenticate gets `401` and never reaches the plugin; one that does
//! carries its principal on every exchange it leads to, where the route's
//! policy (and rust-camel's check that a secured route's exchange carries a
//! principal) takes over.

use std::sync::Arc;

use camel_api::Exchange;
use camel_api::security_policy::{AccessMode, RouteSecurityPlan};
use camel_auth::{AuthenticatedPrincipal, ProviderRegistry};
use camel_component_api::SecurityContext;
use hyper::header::{HeaderValue, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};

use crate::source::listener::{ResponseBody, plain};

/// What a source's listener checks each request against.
#[derive(Clone, Default)]
pub(crate) enum EdgeAuth {
    /// No security on the route (or a `Public` plan): every request passes.
    #[default]
    Open,
    /// Callers must authenticate with the plan's provider.
    Required {
        plan: Arc<RouteSecurityPlan>,
        providers: Option<Arc<ProviderRegistry>>,
    },
}

impl std::fmt::Debug for EdgeAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EdgeAuth::Open => f.write_str("Open"),
            EdgeAuth::Required { plan, .. } => f
                .debug_struct("Required")
                .field("provider", &plan.provider_ref)
                .finish_non_exhaustive(),
        }
    }
}

/// The principal a request authenticated as, to put on its exchanges.
#[derive(Clone, Default)]
pub(crate) struct Caller(Option<AuthenticatedPrincipal>);

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Who it is stays out of logs.
        f.debug_tuple("Caller")
            .field(&self.0.as_ref().map(|_| "authenticated"))
            .finish()
    }
}

impl Caller {
    /// Puts the principal on `exchange` (nothing for an open route).
    pub(crate) fn install(&self, exchange: &mut Exchange) {
        if let Some(principal) = &self.0 {
            camel_auth::install_carrier(exchange, principal);
        }
    }
}

impl EdgeAuth {
    /// What the route controller delivered: a plan that is not `Public`
    /// requires authentication.
    pub(crate) fn from_context(context: SecurityContext) -> EdgeAuth {
        match context.plan {
            Some(plan) if !matches!(plan.access_mode, AccessMode::Public) => EdgeAuth::Required {
                plan: Arc::new(plan),
                providers: context.providers,
            },
            _ => EdgeAuth::Open,
        }
    }

    /// rust-camel's per-bind exposure gate, for a source's listener: a
    /// route that does not authenticate its callers may listen beyond
    /// loopback only if the operator acknowledged it for that address
    /// (and then it logs a warning each time it starts). `Err` says why
    /// the route may not start.
    pub(crate) fn check_exposure(
        &self,
        address: std::net::SocketAddr,
        acknowledged: bool,
        uri: &str,
    ) -> Result<(), String> {
        if address.ip().is_loopback() || matches!(self, EdgeAuth::Required { .. }) {
            return Ok(());
        }
        if acknowledged {
            tracing::warn!(
                bind = %address,
                %uri,
                "wasm source route without authentication exposed on a non-loopback address \
                 per operator acknowledgement"
            );
            return Ok(());
        }
        Err(format!(
            "{uri}: listening on {address} would expose a route without authentication beyond \
             loopback; give the route a security_policy, listen on 127.0.0.1, or acknowledge it \
             with [binds.\"{address}\"] allow_public_exposure = true in Camel.toml \
             (WasmComponentBuilder::acknowledge_public_exposure)"
        ))
    }

    /// Authenticates one request by its headers and URI; `Err` is the
    /// response to send instead (`401`, with `WWW-Authenticate`).
    pub(crate) async fn authenticate(
        &self,
        headers: &hyper::HeaderMap,
        uri: &hyper::Uri,
    ) -> Result<Caller, Response<ResponseBody>> {
        let EdgeAuth::Required { plan, providers } = self else {
            return Ok(Caller(None));
        };
        let Some(providers) = providers else {
            // A secured route without its providers cannot authenticate
            // anyone: fail closed.
            tracing::warn!("secured wasm source route has no auth providers; request refused");
            return Err(unauthorized("authentication is not available"));
        };
        let Some(credentials) =
            camel_auth::extract_token_multi(headers, uri, &plan.credential_sources)
        else {
            return Err(unauthorized("credentials required"));
        };
        match camel_auth::kernel_authenticate(plan, providers, &credentials).await {
            Ok(principal) => Ok(Caller(Some(principal))),
            Err(err) => {
                // The reason goes to the log, not to the client.
                tracing::info!(error = %err, "wasm source request not authenticated");
                Err(unauthorized("invalid credentials"))
            }
        }
    }
}

/// `401 Unauthorized` with a Bearer challenge.
fn unauthorized(why: &str) -> Response<ResponseBody> {
    let mut response = plain(StatusCode::UNAUTHORIZED, why);
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}
