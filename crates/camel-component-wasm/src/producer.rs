//! `WasmProducer`: the per-exchange hot path of a `wasm:` endpoint.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use camel_api::{CamelError, Exchange};
use tower::Service;

use wasmtime::Store;

use crate::bindings::processor::Processor;
use crate::bindings::wit;
use crate::body_stream::{self, Detached};
use crate::call_chain::CallChain;
use crate::call_span::CallSite;
use crate::compat::worlds::CompatProcessorWorld;
use crate::convert::{self, ConvertError, InStreams};
use crate::error::{GuestError, Result, WasmError};
use crate::guest_text;
use crate::host_state::WasmHostState;
use crate::instance_pool::{GuestCall, InstancePool};
use crate::plugin::PluginContext;
use crate::world::ProcessorWorld;

/// Runs each exchange through the endpoint's plugin, as a tower
/// [`Service<Exchange>`].
///
/// Cheap to clone: clones share the endpoint's instance pool and state. The
/// guest runs on the caller's task, and yields back to the executor every
/// epoch tick while it computes.
#[derive(Clone)]
pub struct WasmProducer {
    pool: ProcessorPool,
    /// The route this producer serves, when rust-camel said.
    route_id: Option<Arc<str>>,
}

impl std::fmt::Debug for WasmProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmProducer")
            .field("plugin", &self.pool.plugin().name)
            .finish()
    }
}

impl WasmProducer {
    pub(crate) fn new(pool: ProcessorPool, route_id: Option<Arc<str>>) -> Self {
        WasmProducer { pool, route_id }
    }
}

/// The instances behind a `wasm:` step: a component of this host's own
/// contract, or one of rust-camel's `camel:plugin@1.0.0` (see
/// [`crate::compat`]).
#[derive(Clone)]
pub(crate) enum ProcessorPool {
    /// `camel:wasm`, world `processor`.
    Own(Arc<InstancePool<ProcessorWorld>>),
    /// `camel:plugin@1.0.0`, world `plugin`.
    Compat(Arc<InstancePool<CompatProcessorWorld>>),
}

impl ProcessorPool {
    /// The plugin the instances belong to.
    pub(crate) fn plugin(&self) -> &Arc<PluginContext> {
        match self {
            ProcessorPool::Own(pool) => &pool.plugin,
            ProcessorPool::Compat(pool) => &pool.plugin,
        }
    }

    /// Idle instances kept by the pool.
    #[cfg(feature = "test-support")]
    pub(crate) fn idle_count(&self) -> usize {
        match self {
            ProcessorPool::Own(pool) => pool.idle_count(),
            ProcessorPool::Compat(pool) => pool.idle_count(),
        }
    }
}

impl Service<Exchange> for WasmProducer {
    type Response = Exchange;
    type Error = CamelError;
    type Future = Pin<Box<dyn Future<Output = Result<Exchange, CamelError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), CamelError>> {
        // Instances are taken inside the call future, never reserved here.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, exchange: Exchange) -> Self::Future {
        let route_id = self.route_id.clone();
        match &self.pool {
            ProcessorPool::Own(pool) => {
                let pool = pool.clone();
                Box::pin(async move {
                    let span = pool.span(
                        CallSite::export("process")
                            .route(route_id.as_deref())
                            .exchange(&exchange),
                    );
                    pool.observe(span, process(&pool, route_id, exchange))
                        .await
                        .map_err(CamelError::from)
                })
            }
            ProcessorPool::Compat(pool) => {
                let pool = pool.clone();
                Box::pin(async move {
                    let span = pool.span(
                        CallSite::export("process")
                            .route(route_id.as_deref())
                            .exchange(&exchange),
                    );
                    pool.observe(
                        span,
                        crate::compat::calls::process(&pool, route_id, exchange),
                    )
                    .await
                    .map_err(CamelError::from)
                })
            }
        }
    }
}

/// One `process` call.
struct Process<'a> {
    input: &'a mut wit::Exchange,
    streams: InStreams,
}

impl GuestCall<ProcessorWorld> for Process<'_> {
    type Output = Result<wit::Exchange, wit::Error>;

    async fn call(
        self,
        bindings: &Processor,
        store: &mut Store<WasmHostState>,
    ) -> wasmtime::Result<Self::Output> {
        if self.streams.0.is_some() {
            body_stream::hand_over(store.data_mut(), self.streams, self.input)?;
        }
        bindings.call_process(store, self.input).await
    }

    fn detach(output: &mut Self::Output, state: &mut WasmHostState) -> wasmtime::Result<Detached> {
        match output {
            Ok(exchange) => body_stream::detach(state, exchange),
            Err(_) => Ok(None),
        }
    }
}

/// One exchange through one instance.
async fn process(
    pool: &Arc<InstancePool<ProcessorWorld>>,
    route_id: Option<Arc<str>>,
    mut exchange: Exchange,
) -> Result<Exchange> {
    let plugin = &pool.plugin;
    let chain = CallChain::incoming(plugin, &exchange)?;
    let (mut input, properties, streams) = convert::exchange_to_wit(&mut exchange);
    let call = Process {
        input: &mut input,
        streams,
    };
    let (outcome, mut state) = pool.call(call, properties, chain, route_id).await;
    let (output, bodies) = outcome?;
    match output {
        Ok(result) => {
            convert::apply_result(&mut exchange, result, &mut state, bodies)
                .map_err(|err| result_error(plugin, err))?;
            Ok(exchange)
        }
        Err(error) => Err(WasmError::Guest {
            plugin: plugin.name.to_string(),
            error: guest_error(error),
        }),
    }
}

/// Why a guest's result could not be applied to the exchange.
pub(crate) fn result_error(plugin: &PluginContext, err: ConvertError) -> WasmError {
    match err {
        ConvertError::Invalid(reason) => WasmError::Conversion {
            plugin: plugin.name.to_string(),
            reason: guest_text::summary_owned(reason),
        },
        ConvertError::OverBudget => WasmError::ResourceLimit {
            plugin: plugin.name.to_string(),
            limit: "max-result-bytes",
            detail: format!(
                "the result's JSON values take more than {} bytes once parsed",
                plugin.config.result_budget()
            ),
        },
    }
}

/// A guest's WIT error, with its message made safe for logs.
pub(crate) fn guest_error(error: wit::Error) -> GuestError {
    use wit::Error as E;
    let clean = guest_text::summary_owned;
    match error {
        E::Failed(m) => GuestError::Failed(clean(m)),
        E::TypeConversion(m) => GuestError::TypeConversion(clean(m)),
        E::NotFound(m) => GuestError::NotFound(clean(m)),
        E::Denied(m) => GuestError::Denied(clean(m)),
        E::LimitExceeded(m) => GuestError::LimitExceeded(clean(m)),
        E::Io(m) => GuestError::Io(clean(m)),
        E::Timeout(m) => GuestError::Timeout(clean(m)),
    }
}
