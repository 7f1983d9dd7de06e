//! The compat worlds' calls (`process`, `invoke`, `methods`, `evaluate`),
//! run through the same [`InstancePool::call`] protocol as this host's own
//! worlds: permit, breaker, pooled instance, per-call host state, deadline,
//! result mapping, recovery.

use std::collections::HashMap;
use std::sync::Arc;

use camel_api::security_policy::{Principal, TransportId, store_principal_properties};
use camel_api::{Body, Exchange, Message, StreamMetadata, Value};
use camel_auth::permission::PermissionRequest;
use wasmtime::Store;
use wasmtime::component::Accessor;

use super::bindings::types::{WasmBody, WasmError, WasmExchange, WasmMessage};
use super::bindings::{bean::Bean, plugin::Plugin, policy::AuthorizationPolicy};
use super::convert::{self, Outgoing};
use super::returned;
use super::streams::{self, Collected};
use super::worlds::{CompatBeanWorld, CompatPolicyWorld, CompatProcessorWorld};
use crate::body_stream::{self, Detached};
use crate::call_chain::CallChain;
use crate::convert::OutBodies;
use crate::error::{GuestError, Result, WasmError as HostError};
use crate::guest_text;
use crate::host_state::WasmHostState;
use crate::instance_pool::{GuestCall, InstancePool};
use crate::plugin::PluginContext;
use crate::policy::PolicyDecision;
use crate::producer::result_error;

/// A guest's result with its stream bodies taken: the record (their bodies
/// `empty`), the bodies read during the call (input then output), and the
/// stream pulled after it, if any.
pub(crate) struct Returned {
    exchange: WasmExchange,
    bodies: [Option<Body>; 2],
    lazy: Option<Lazy>,
}

/// A returned stream pulled after the call: which message's body it is
/// (0 input, 1 output), its id in the store, and its metadata.
struct Lazy {
    slot: usize,
    id: u32,
    metadata: StreamMetadata,
}

impl Returned {
    /// Hands the stream pulled after the call to the pool, which gives it the
    /// instance (see [`GuestCall::detach`]).
    fn detach(output: &mut std::result::Result<Returned, Failure>) -> Detached {
        let lazy = output.as_ref().ok()?.lazy.as_ref()?;
        let mut bodies = [None, None];
        bodies[lazy.slot] = Some(body_stream::Returned::Produced(lazy.id));
        Some(Box::new(bodies))
    }

    /// The bodies, with the one pulled after the call (from the pool's
    /// `OutBodies`) in its place.
    fn into_parts(self, out: OutBodies) -> (WasmExchange, [Option<Body>; 2]) {
        let Returned {
            exchange,
            mut bodies,
            lazy,
        } = self;
        if let (Some(lazy), Some(mut produced)) = (lazy, out.0)
            && let Some(Body::Stream(mut stream)) = produced[lazy.slot].take()
        {
            stream.metadata = lazy.metadata;
            bodies[lazy.slot] = Some(Body::Stream(stream));
        }
        (exchange, bodies)
    }
}

/// Why a call's result is not an exchange.
pub(crate) enum Failure {
    /// The guest returned an error, or a stream whose `terminal` failed.
    Guest(WasmError),
    /// A returned stream ran past `max-stream-bytes`.
    TooLong(usize),
}

/// Gives the outgoing exchange its stream handles (in the guest's store).
fn attach(
    accessor: &Accessor<WasmHostState>,
    outgoing: Outgoing,
) -> wasmtime::Result<WasmExchange> {
    let Outgoing {
        mut exchange,
        streams: [input, output],
    } = outgoing;
    if let Some(body) = input {
        exchange.input.body = WasmBody::Stream(streams::hand_over(accessor, body)?);
    }
    if let (Some(body), Some(message)) = (output, exchange.output.as_mut()) {
        message.body = WasmBody::Stream(streams::hand_over(accessor, body)?);
    }
    Ok(exchange)
}

/// Takes the stream bodies of a returned exchange while the call's event
/// loop still runs: the first is pulled after the call, a second is read
/// now.
async fn gather(
    accessor: &Accessor<WasmHostState>,
    result: std::result::Result<WasmExchange, WasmError>,
    max: usize,
) -> wasmtime::Result<std::result::Result<Returned, Failure>> {
    let mut exchange = match result {
        Ok(exchange) => exchange,
        Err(error) => return Ok(Err(Failure::Guest(error))),
    };
    let mut bodies = [None, None];
    let mut lazy = None;
    let messages = std::iter::once(&mut exchange.input).chain(exchange.output.as_mut());
    for (slot, message) in messages.enumerate() {
        if let WasmBody::Stream(_) = message.body {
            let WasmBody::Stream(handle) = std::mem::replace(&mut message.body, WasmBody::Empty)
            else {
                continue;
            };
            if lazy.is_none() {
                let (id, metadata) = returned::start_returning(accessor, handle)?;
                lazy = Some(Lazy { slot, id, metadata });
                continue;
            }
            match streams::collect(accessor, handle, max).await? {
                Ok(body) => bodies[slot] = Some(body),
                Err(Collected::Failed(error)) => return Ok(Err(Failure::Guest(error))),
                Err(Collected::TooLong(max)) => return Ok(Err(Failure::TooLong(max))),
            }
        }
    }
    Ok(Ok(Returned {
        exchange,
        bodies,
        lazy,
    }))
}

/// One `process(exchange)` call.
struct Process {
    outgoing: Outgoing,
    max_stream_bytes: usize,
}

impl GuestCall<CompatProcessorWorld> for Process {
    type Output = std::result::Result<Returned, Failure>;

    fn detach(output: &mut Self::Output, _: &mut WasmHostState) -> wasmtime::Result<Detached> {
        Ok(Returned::detach(output))
    }

    async fn call(
        self,
        bindings: &Plugin,
        store: &mut Store<WasmHostState>,
    ) -> wasmtime::Result<Self::Output> {
        let Process {
            outgoing,
            max_stream_bytes,
        } = self;
        store
            .run_concurrent(async move |accessor| {
                let exchange = attach(accessor, outgoing)?;
                let result = bindings.call_process(accessor, exchange).await?;
                gather(accessor, result, max_stream_bytes).await
            })
            .await?
    }
}

/// One `invoke(method, exchange)` call.
struct Invoke {
    method: String,
    outgoing: Outgoing,
    max_stream_bytes: usize,
}

impl GuestCall<CompatBeanWorld> for Invoke {
    type Output = std::result::Result<Returned, Failure>;

    fn detach(output: &mut Self::Output, _: &mut WasmHostState) -> wasmtime::Result<Detached> {
        Ok(Returned::detach(output))
    }

    async fn call(
        self,
        bindings: &Bean,
        store: &mut Store<WasmHostState>,
    ) -> wasmtime::Result<Self::Output> {
        let Invoke {
            method,
            outgoing,
            max_stream_bytes,
        } = self;
        store
            .run_concurrent(async move |accessor| {
                let exchange = attach(accessor, outgoing)?;
                let result = bindings.call_invoke(accessor, method, exchange).await?;
                gather(accessor, result, max_stream_bytes).await
            })
            .await?
    }
}

/// The `methods()` call.
struct Methods;

impl GuestCall<CompatBeanWorld> for Methods {
    type Output = Vec<String>;

    async fn call(
        self,
        bindings: &Bean,
        store: &mut Store<WasmHostState>,
    ) -> wasmtime::Result<Self::Output> {
        bindings.call_methods(store).await
    }
}

/// Makes a first instance (running `init`) without calling anything else.
struct Warm;

impl GuestCall<CompatPolicyWorld> for Warm {
    type Output = ();

    async fn call(
        self,
        _: &AuthorizationPolicy,
        _: &mut Store<WasmHostState>,
    ) -> wasmtime::Result<()> {
        Ok(())
    }
}

/// One `evaluate(exchange)` call.
struct Evaluate(WasmExchange);

impl GuestCall<CompatPolicyWorld> for Evaluate {
    type Output = std::result::Result<Option<String>, WasmError>;

    async fn call(
        self,
        bindings: &AuthorizationPolicy,
        store: &mut Store<WasmHostState>,
    ) -> wasmtime::Result<Self::Output> {
        bindings.call_evaluate(store, &self.0).await
    }
}

/// The compat contract's error as this host's guest error.
pub(crate) fn guest_error(error: WasmError) -> GuestError {
    crate::producer::guest_error(convert::error_to_wit(error))
}

fn failure_error(plugin: &PluginContext, failure: Failure) -> HostError {
    match failure {
        Failure::Guest(error) => HostError::Guest {
            plugin: plugin.name.to_string(),
            error: guest_error(error),
        },
        Failure::TooLong(max) => HostError::ResourceLimit {
            plugin: plugin.name.to_string(),
            limit: "max-stream-bytes",
            detail: format!("the returned stream body is longer than {max} bytes"),
        },
    }
}

/// One exchange through a compat processor.
pub(crate) async fn process(
    pool: &Arc<InstancePool<CompatProcessorWorld>>,
    route_id: Option<Arc<str>>,
    mut exchange: Exchange,
) -> Result<Exchange> {
    let plugin = &pool.plugin;
    let chain = CallChain::incoming(plugin, &exchange)?;
    let (outgoing, properties) = convert::exchange_to_compat(&mut exchange, route_id.as_deref());
    let call = Process {
        outgoing,
        max_stream_bytes: plugin.config.max_stream_bytes,
    };
    let (outcome, mut state) = pool.call(call, properties, chain, route_id).await;
    match outcome? {
        (Ok(returned), out) => {
            let (result, bodies) = returned.into_parts(out);
            convert::apply_result(&mut exchange, result, &mut state, bodies)
                .map_err(|err| result_error(plugin, err))?;
            Ok(exchange)
        }
        (Err(failure), _) => Err(failure_error(plugin, failure)),
    }
}

/// Reads a compat bean's method list (making its first instance).
pub(crate) async fn methods(pool: &Arc<InstancePool<CompatBeanWorld>>) -> Result<Vec<String>> {
    let (methods, _) = pool
        .call(Methods, HashMap::new(), CallChain::empty(), None)
        .await;
    Ok(methods?
        .0
        .into_iter()
        .map(guest_text::summary_owned)
        .collect())
}

/// Invokes `method` of a compat bean. On failure the exchange keeps its
/// messages (a handed-over stream body comes back `Empty`) and properties.
pub(crate) async fn invoke(
    pool: &Arc<InstancePool<CompatBeanWorld>>,
    method: &str,
    exchange: &mut Exchange,
) -> Result<()> {
    let plugin = &pool.plugin;
    let chain = CallChain::incoming(plugin, exchange)?;
    let (outgoing, properties) = convert::exchange_to_compat(exchange, None);
    let sent = (
        copy_message(&outgoing.exchange.input),
        outgoing.exchange.output.as_ref().map(copy_message),
    );
    let call = Invoke {
        method: method.to_string(),
        outgoing,
        max_stream_bytes: plugin.config.max_stream_bytes,
    };
    let (outcome, mut state) = pool.call(call, properties, chain, None).await;
    let error = match outcome {
        Ok((Ok(returned), out)) => {
            let (result, bodies) = returned.into_parts(out);
            match convert::apply_result(exchange, result, &mut state, bodies) {
                Ok(()) => return Ok(()),
                Err(err) => result_error(plugin, err),
            }
        }
        Ok((Err(failure), _)) => failure_error(plugin, failure),
        Err(err) => err,
    };
    let (input, output) = sent;
    convert::restore_messages(exchange, input, output);
    exchange.properties = state.properties;
    Err(error)
}

/// A copy of a message as sent (a stream body, not yet attached, is `empty`).
fn copy_message(message: &WasmMessage) -> WasmMessage {
    WasmMessage {
        headers: message.headers.clone(),
        body: match &message.body {
            WasmBody::Empty | WasmBody::Stream(_) => WasmBody::Empty,
            WasmBody::Text(s) => WasmBody::Text(s.clone()),
            WasmBody::Bytes(b) => WasmBody::Bytes(b.clone()),
            WasmBody::Json(s) => WasmBody::Json(s.clone()),
            WasmBody::Xml(s) => WasmBody::Xml(s.clone()),
        },
    }
}

/// Makes a compat policy's first instance, so a failing `init` fails the load.
pub(crate) async fn warm(pool: &Arc<InstancePool<CompatPolicyWorld>>) -> Result<()> {
    let (warmed, _) = pool
        .call(Warm, HashMap::new(), CallChain::empty(), None)
        .await;
    warmed.map(drop)
}

/// The properties a compat policy reads for a route check, as rust-camel's
/// own host sets them: the exchange's, plus the caller under `camel.auth.*`.
pub(crate) fn route_check_properties(
    exchange: &Exchange,
    principal: &Principal,
    transport: TransportId,
) -> HashMap<String, Value> {
    let mut carrier = Exchange::new(Message::default());
    carrier.properties = exchange.properties.clone();
    store_principal_properties(&mut carrier, principal);
    let transport = match transport {
        TransportId::Http => "http",
        TransportId::Ws => "ws",
        TransportId::Grpc => "grpc",
        TransportId::Mcp => "mcp",
        TransportId::Wasm => "wasm",
    };
    carrier.set_property("camel.auth.transport", transport);
    carrier.properties
}

/// The properties a compat policy reads for a permission check, as
/// rust-camel's own host sets them: the caller under `camel.auth.*` and the
/// request under `camel.permission.*`, nothing else.
pub(crate) fn permission_check_properties(request: &PermissionRequest) -> HashMap<String, Value> {
    let mut carrier = Exchange::new(Message::default());
    carrier.properties.clear();
    store_principal_properties(&mut carrier, &request.principal);
    carrier.set_property("camel.permission.resource", request.resource.clone());
    carrier.set_property("camel.permission.action", request.action.clone());
    carrier.set_property(
        "camel.permission.requested_scopes",
        serde_json::to_string(&request.requested_scopes).unwrap_or_else(|_| "[]".to_string()),
    );
    carrier.set_property(
        "camel.permission.context",
        serde_json::to_string(&request.context).unwrap_or_else(|_| "null".to_string()),
    );
    carrier
        .properties
        .retain(|k, _| k.starts_with("camel.auth.") || k.starts_with("camel.permission."));
    carrier.properties
}

/// Asks a compat policy about `exchange` with `properties` (see above):
/// `none` grants, a reason denies.
pub(crate) async fn evaluate(
    pool: &Arc<InstancePool<CompatPolicyWorld>>,
    exchange: &Exchange,
    properties: HashMap<String, Value>,
) -> Result<PolicyDecision> {
    let view = convert::exchange_view(exchange, &properties);
    let (outcome, _) = pool
        .call(Evaluate(view), properties, CallChain::empty(), None)
        .await;
    match outcome?.0 {
        Ok(None) => Ok(PolicyDecision::Grant),
        Ok(Some(reason)) => Ok(PolicyDecision::Deny(guest_text::summary_owned(reason))),
        Err(error) => Err(HostError::Guest {
            plugin: pool.plugin.name.to_string(),
            error: guest_error(error),
        }),
    }
}
