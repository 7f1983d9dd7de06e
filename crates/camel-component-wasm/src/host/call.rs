//! `camel-call`: sending a text payload to another endpoint of the context.
//!
//! rust-camel 0.64 has no producer template, so the call resolves the
//! component, creates the endpoint and a producer, and sends one exchange.
//! A chain of plugins travels with the exchange as an extension, so a call
//! that would come back into a plugin already on the chain is refused
//! instead of recursing.

use std::sync::Arc;

use camel_api::{Body, CamelError, Exchange, Message};
use camel_component_api::{NoOpComponentContext, ProducerContext, RuntimeObservability, parse_uri};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::bindings::wit;
use crate::error::{WasmError, wasm_error_of};
use crate::host_state::WasmHostState;

/// The exchange extension that carries the chain of running plugins.
pub(crate) const CALL_CHAIN_EXTENSION: &str = "camel-wasm.call-chain";
/// Longest chain of plugins calling through other endpoints.
const MAX_CALL_DEPTH: usize = 8;
/// Largest reply body a plugin receives.
const MAX_REPLY_BYTES: usize = 10 * 1024 * 1024;

/// The plugins (module ids) running on an exchange's call chain.
#[derive(Debug, Clone)]
pub(crate) struct CallChain(pub(crate) Arc<[Arc<str>]>);

pub(super) async fn camel_call(
    state: &mut WasmHostState,
    uri: &str,
    payload: String,
) -> Result<String, wit::Error> {
    let plugin = state.plugin.clone();
    let parts = parse_uri(uri)
        .map_err(|e| wit::Error::NotFound(format!("`{uri}` is not an endpoint URI: {e}")))?;
    plugin
        .config
        .call_policy
        .check_parts(&parts)
        .map_err(wit::Error::Denied)?;
    let scheme = parts.scheme.as_str();
    if state.call.chain.len() >= MAX_CALL_DEPTH {
        return Err(wit::Error::Denied(format!(
            "camel-call depth limit reached ({MAX_CALL_DEPTH} plugins on the chain)"
        )));
    }
    let Some(registry) = plugin.registry.clone() else {
        return Err(wit::Error::Denied(
            "camel-call is unavailable: the wasm component was built without a component context"
                .to_string(),
        ));
    };
    let Some(component) = registry.resolve_component(scheme) else {
        return Err(wit::Error::NotFound(format!(
            "no component is registered for scheme `{scheme}`"
        )));
    };
    let observability: Arc<dyn RuntimeObservability> = plugin
        .observability
        .get()
        .cloned()
        .unwrap_or_else(|| Arc::new(NoOpComponentContext));
    let unreachable = |e: CamelError| wit::Error::NotFound(format!("cannot reach `{uri}`: {e}"));
    let endpoint = component
        .create_endpoint(uri, registry.as_ref())
        .map_err(unreachable)?;
    let producer = endpoint
        .create_producer(observability, &ProducerContext::new())
        .map_err(unreachable)?;

    let mut chain: Vec<Arc<str>> = state.call.chain.iter().cloned().collect();
    chain.push(plugin.module_id.clone());
    let mut exchange = Exchange::new_in_out(Message::new(payload));
    exchange.set_extension(CALL_CHAIN_EXTENSION, Arc::new(CallChain(Arc::from(chain))));

    let started = Instant::now();
    // The reply (a stream, say) is read inside the plugin's deadline too.
    let outcome = tokio::time::timeout_at(state.call.deadline, async {
        match producer.oneshot(exchange).await {
            Ok(reply) => reply_text(reply).await,
            Err(err) => Err(callee_error(uri, &err)),
        }
    })
    .await;
    tracing::debug!(
        plugin = %plugin.name,
        scheme,
        elapsed_us = started.elapsed().as_micros() as u64,
        ok = matches!(outcome, Ok(Ok(_))),
        "camel-call"
    );
    outcome.unwrap_or_else(|_| {
        Err(wit::Error::Timeout(format!(
            "`{uri}` did not answer within the plugin's remaining time"
        )))
    })
}

fn callee_error(uri: &str, err: &CamelError) -> wit::Error {
    match wasm_error_of(err) {
        Some(WasmError::Recursion { .. }) => wit::Error::Denied(err.to_string()),
        _ => match err {
            CamelError::EndpointCreationFailed(_) | CamelError::ComponentNotFound(_) => {
                wit::Error::NotFound(format!("`{uri}`: {err}"))
            }
            _ => wit::Error::Io(format!("`{uri}` failed: {err}")),
        },
    }
}

/// The reply body as text: the output message if a step set one, else the
/// input message.
async fn reply_text(reply: Exchange) -> Result<String, wit::Error> {
    let body = match reply.output {
        Some(output) => output.body,
        None => reply.input.body,
    };
    match body {
        Body::Empty => Ok(String::new()),
        Body::Text(s) | Body::Xml(s) => Ok(s),
        Body::Json(v) => Ok(v.to_string()),
        other => {
            let bytes = other
                .into_bytes(MAX_REPLY_BYTES)
                .await
                .map_err(|e| wit::Error::LimitExceeded(format!("reply body: {e}")))?;
            String::from_utf8(bytes.to_vec()).map_err(|_| {
                wit::Error::TypeConversion("the reply body is binary, not UTF-8 text".to_string())
            })
        }
    }
}
