//! `camel-call`, `camel-call-message` and `camel-poll`: reaching other
//! endpoints of the context.
//!
//! rust-camel 0.64 has no producer template, so a call resolves the
//! component, creates the endpoint and a producer, and sends one exchange;
//! a poll asks the endpoint for its polling consumer. Every target is
//! checked against the plugin's `allow-call` policy first, and every wait
//! ends at the plugin's deadline at the latest. The exchange a call sends
//! carries the caller on its call chain (see [`crate::call_chain`]), so a
//! call that would come back into a plugin already on the chain is refused
//! instead of recursing.

use std::sync::Arc;
use std::time::Duration;

use camel_api::{Body, CamelError, Exchange, Message};
use camel_component_api::{
    Endpoint, NoOpComponentContext, ProducerContext, RuntimeObservability, parse_uri,
};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::bindings::wit;
use crate::body_stream;
use crate::call_chain;
use crate::convert::{self, ConvertError};
use crate::deadline::within;
use crate::error::{WasmError, wasm_error_of};
use crate::host_state::WasmHostState;

/// An endpoint a plugin may reach, resolved.
struct Target {
    endpoint: Box<dyn Endpoint>,
    scheme: String,
}

/// Checks `uri` against the policy and the call chain and creates its
/// endpoint.
fn resolve(state: &WasmHostState, uri: &str) -> Result<Target, wit::Error> {
    let plugin = &state.plugin;
    let parts = parse_uri(uri)
        .map_err(|e| wit::Error::NotFound(format!("`{uri}` is not an endpoint URI: {e}")))?;
    plugin
        .config
        .call_policy
        .check_parts(&parts)
        .map_err(wit::Error::Denied)?;
    if state.call.chain.is_full() {
        return Err(wit::Error::Denied(format!(
            "camel-call depth limit reached ({} plugins on the chain)",
            call_chain::MAX_DEPTH
        )));
    }
    let Some(registry) = plugin.registry.as_ref() else {
        return Err(wit::Error::Denied(
            "camel-call is unavailable: the wasm component was built without a component context"
                .to_string(),
        ));
    };
    let Some(component) = registry.resolve_component(&parts.scheme) else {
        return Err(wit::Error::NotFound(format!(
            "no component is registered for scheme `{}`",
            parts.scheme
        )));
    };
    let endpoint = component
        .create_endpoint(uri, registry.as_ref())
        .map_err(|e| wit::Error::NotFound(format!("cannot reach `{uri}`: {e}")))?;
    Ok(Target {
        endpoint,
        scheme: parts.scheme,
    })
}

/// A call checked and resolved, ready to be sent without the host state.
pub(crate) struct Prepared {
    producer: camel_api::BoxProcessor,
    exchange: Exchange,
    plugin: Arc<crate::plugin::PluginContext>,
    scheme: String,
    uri: String,
    deadline: Instant,
}

/// Checks `uri` against the policy and the call chain, creates its
/// producer and puts the caller on `exchange`'s call chain. Nothing is sent.
pub(crate) fn prepare(
    state: &mut WasmHostState,
    uri: &str,
    mut exchange: Exchange,
    deadline: Instant,
) -> Result<Prepared, wit::Error> {
    let target = resolve(state, uri)?;
    let plugin = state.plugin.clone();
    let observability: Arc<dyn RuntimeObservability> = plugin
        .observability
        .get()
        .cloned()
        .unwrap_or_else(|| Arc::new(NoOpComponentContext));
    let producer = target
        .endpoint
        .create_producer(observability, &ProducerContext::new())
        .map_err(|e| wit::Error::NotFound(format!("cannot reach `{uri}`: {e}")))?;
    state.call.chain.extend_onto(&plugin, &mut exchange);
    Ok(Prepared {
        producer,
        exchange,
        plugin,
        scheme: target.scheme,
        uri: uri.to_string(),
        deadline,
    })
}

impl Prepared {
    /// Sends the exchange and maps the reply with `reply`, all within the
    /// call's deadline (which is never later than the plugin's own).
    pub(crate) async fn send<R, F>(self, reply: impl FnOnce(Exchange) -> F) -> Result<R, wit::Error>
    where
        F: Future<Output = Result<R, wit::Error>>,
    {
        let Prepared {
            producer,
            exchange,
            plugin,
            scheme,
            uri,
            deadline,
        } = self;
        let started = Instant::now();
        // The reply (a stream, say) is read inside the deadline too.
        let outcome = within(deadline, async {
            match producer.oneshot(exchange).await {
                Ok(exchange) => reply(exchange).await,
                Err(err) => Err(callee_error(&uri, &err)),
            }
        })
        .await;
        tracing::debug!(
            plugin = %plugin.name,
            scheme = %scheme,
            elapsed_us = started.elapsed().as_micros() as u64,
            ok = matches!(outcome, Ok(Ok(_))),
            "camel-call"
        );
        outcome.unwrap_or_else(|_| Err(timed_out(&uri)))
    }
}

/// Sends `exchange` to `uri` and maps the reply with `reply`, all within
/// `deadline` (which is never later than the plugin's own).
async fn send<R, F>(
    state: &mut WasmHostState,
    uri: &str,
    exchange: Exchange,
    deadline: Instant,
    reply: impl FnOnce(Exchange) -> F,
) -> Result<R, wit::Error>
where
    F: Future<Output = Result<R, wit::Error>>,
{
    prepare(state, uri, exchange, deadline)?.send(reply).await
}

fn timed_out(uri: &str) -> wit::Error {
    wit::Error::Timeout(format!("`{uri}` did not answer in time"))
}

/// The earlier of the plugin's deadline and `timeout-ms` from now.
fn deadline(state: &WasmHostState, timeout_ms: Option<u32>) -> Instant {
    let plugin_deadline = state.call.deadline;
    match timeout_ms {
        Some(ms) => (Instant::now() + Duration::from_millis(u64::from(ms))).min(plugin_deadline),
        None => plugin_deadline,
    }
}

/// `camel-call` without the host state: checked and resolved, with the
/// limit the reply is read to.
pub(crate) fn prepare_text_call(
    state: &mut WasmHostState,
    uri: &str,
    payload: String,
) -> Result<(Prepared, usize), wit::Error> {
    let max_stream_bytes = state.plugin.config.max_stream_bytes;
    let deadline = state.call.deadline;
    let exchange = Exchange::new_in_out(Message::new(payload));
    Ok((prepare(state, uri, exchange, deadline)?, max_stream_bytes))
}

/// `camel-call`: a text payload out, the reply body as text back.
pub(super) async fn camel_call(
    state: &mut WasmHostState,
    uri: &str,
    payload: String,
) -> Result<String, wit::Error> {
    let max_stream_bytes = state.plugin.config.max_stream_bytes;
    let exchange = Exchange::new_in_out(Message::new(payload));
    let deadline = state.call.deadline;
    send(state, uri, exchange, deadline, |reply| {
        reply_text(reply, max_stream_bytes)
    })
    .await
}

/// `camel-call-message`: a whole message out (headers, any body), the reply
/// message back.
pub(super) async fn camel_call_message(
    state: &mut WasmHostState,
    uri: &str,
    message: wit::Message,
    timeout_ms: Option<u32>,
) -> wasmtime::Result<Result<wit::Message, wit::Error>> {
    let mut message = message;
    // A stream body goes out as a stream (what is left of it).
    let stream = match body_stream::take(state, &mut message.body)? {
        None => None,
        Some(body_stream::Returned::Stream(stream)) => Some(stream),
        Some(body_stream::Returned::Produced(_)) => {
            return Ok(Err(wit::Error::Denied(
                "a body the plugin produces cannot be sent while the plugin is running; \
                 return it from the call instead"
                    .to_string(),
            )));
        }
    };
    let mut message = match convert::message_from_wit(message, &mut state.call.budget) {
        Ok(message) => message,
        Err(err) => return Ok(Err(argument_error(state, err))),
    };
    if let Some(stream) = stream {
        message.body = Body::Stream(stream);
    }
    let max_stream_bytes = state.plugin.config.max_stream_bytes;
    let deadline = deadline(state, timeout_ms);
    Ok(send(
        state,
        uri,
        Exchange::new_in_out(message),
        deadline,
        |reply| async move {
            let message = match reply.output {
                Some(output) => output,
                None => reply.input,
            };
            convert::message_to_wit(message, max_stream_bytes)
                .await
                .map_err(|e| wit::Error::LimitExceeded(format!("reply: {e}")))
        },
    )
    .await)
}

/// A poll checked and resolved, ready to wait without the host state.
pub(crate) struct PreparedPoll {
    consumer: Box<dyn camel_component_api::PollingConsumer>,
    uri: String,
    deadline: Instant,
    max_stream_bytes: usize,
}

/// Checks `uri` and finds its polling consumer; waits at most
/// `timeout_ms`, and never past the plugin's deadline.
pub(crate) fn prepare_poll(
    state: &WasmHostState,
    uri: &str,
    timeout_ms: u32,
) -> Result<PreparedPoll, wit::Error> {
    let target = resolve(state, uri)?;
    let Some(consumer) = target.endpoint.polling_consumer() else {
        return Err(wit::Error::NotFound(format!(
            "`{uri}` cannot be polled: its endpoint has no polling consumer"
        )));
    };
    Ok(PreparedPoll {
        consumer,
        uri: uri.to_string(),
        deadline: deadline(state, Some(timeout_ms)),
        max_stream_bytes: state.plugin.config.max_stream_bytes,
    })
}

impl PreparedPoll {
    /// The limit a polled exchange's streamed body is read to.
    pub(crate) fn max_stream_bytes(&self) -> usize {
        self.max_stream_bytes
    }

    /// Waits for one exchange; `None` if nothing arrived in time. `whole`
    /// maps it (within the same deadline).
    pub(crate) async fn receive<R, F>(
        mut self,
        whole: impl FnOnce(Exchange) -> F,
    ) -> Result<Option<R>, wit::Error>
    where
        F: Future<Output = Result<R, wit::Error>>,
    {
        let wait = self.deadline.saturating_duration_since(Instant::now());
        let uri = self.uri;
        let consumer = &mut self.consumer;
        let outcome = within(self.deadline, async {
            match consumer.receive(wait).await {
                Ok(Some(exchange)) => whole(exchange).await.map(Some),
                Ok(None) => Ok(None),
                Err(err) => Err(wit::Error::Io(format!("polling `{uri}` failed: {err}"))),
            }
        })
        .await;
        // Waiting out the timeout is not an error: nothing arrived.
        outcome.unwrap_or(Ok(None))
    }
}

/// `camel-poll`: one exchange from the endpoint's polling consumer, or
/// `None` if nothing arrived in time.
pub(super) async fn camel_poll(
    state: &mut WasmHostState,
    uri: &str,
    timeout_ms: u32,
) -> Result<Option<wit::Exchange>, wit::Error> {
    let poll = prepare_poll(state, uri, timeout_ms)?;
    let max_stream_bytes = poll.max_stream_bytes();
    poll.receive(|mut exchange| async move {
        convert::exchange_to_wit_whole(&mut exchange, max_stream_bytes)
            .await
            .map_err(|e| wit::Error::LimitExceeded(format!("polled exchange: {e}")))
    })
    .await
}

/// A message argument the host cannot take (JSON over the call's budget).
fn argument_error(state: &WasmHostState, err: ConvertError) -> wit::Error {
    match err {
        ConvertError::Invalid(reason) => wit::Error::TypeConversion(reason),
        ConvertError::OverBudget => wit::Error::LimitExceeded(format!(
            "the message's JSON values take more than the {} bytes left of `max-result-bytes`",
            state.call.budget
        )),
    }
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
pub(crate) async fn reply_text(
    reply: Exchange,
    max_stream_bytes: usize,
) -> Result<String, wit::Error> {
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
