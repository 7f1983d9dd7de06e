//! `camel-call`: sending a text payload to another endpoint of the context.
//!
//! rust-camel 0.64 has no producer template, so the call resolves the
//! component, creates the endpoint and a producer, and sends one exchange.
//! The exchange it sends carries the caller on its call chain (see
//! [`crate::call_chain`]), so a call that would come back into a plugin
//! already on the chain is refused instead of recursing.

use std::sync::Arc;

use camel_api::{Body, CamelError, Exchange, Message};
use camel_component_api::{NoOpComponentContext, ProducerContext, RuntimeObservability, parse_uri};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::bindings::wit;
use crate::call_chain;
use crate::deadline::within;
use crate::error::{WasmError, wasm_error_of};
use crate::host_state::WasmHostState;

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
    if state.call.chain.is_full() {
        return Err(wit::Error::Denied(format!(
            "camel-call depth limit reached ({} plugins on the chain)",
            call_chain::MAX_DEPTH
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

    let mut exchange = Exchange::new_in_out(Message::new(payload));
    state.call.chain.extend_onto(&plugin, &mut exchange);

    let started = Instant::now();
    // The reply (a stream, say) is read inside the plugin's deadline too.
    let outcome = within(state.call.deadline, async {
        match producer.oneshot(exchange).await {
            Ok(reply) => reply_text(reply, plugin.config.max_stream_bytes).await,
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
/// input message. A streamed reply is read up to `max-stream-bytes`.
async fn reply_text(reply: Exchange, max_stream_bytes: usize) -> Result<String, wit::Error> {
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
                .into_bytes(max_stream_bytes)
                .await
                .map_err(|e| wit::Error::LimitExceeded(format!("reply body: {e}")))?;
            String::from_utf8(bytes.to_vec()).map_err(|_| {
                wit::Error::TypeConversion("the reply body is binary, not UTF-8 text".to_string())
            })
        }
    }
}
