//! `WasmProducer`: the per-exchange hot path of a `wasm:` endpoint.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use camel_api::{CamelError, Exchange};
use tower::Service;

use crate::convert;
use crate::error::{GuestError, Result, WasmError};
use crate::host::{CALL_CHAIN_EXTENSION, CallChain};
use crate::instance_pool::InstancePool;
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
    pool: Arc<InstancePool<ProcessorWorld>>,
}

impl std::fmt::Debug for WasmProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmProducer")
            .field("plugin", &self.pool.plugin.name)
            .finish()
    }
}

impl WasmProducer {
    pub(crate) fn new(pool: Arc<InstancePool<ProcessorWorld>>) -> Self {
        WasmProducer { pool }
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
        let pool = self.pool.clone();
        Box::pin(async move { process(&pool, exchange).await.map_err(CamelError::from) })
    }
}

/// One exchange through one instance.
async fn process(pool: &InstancePool<ProcessorWorld>, mut exchange: Exchange) -> Result<Exchange> {
    let plugin = &pool.plugin;
    let chain = incoming_chain(plugin, &exchange)?;
    let (input, properties) =
        convert::exchange_to_wit(&mut exchange, plugin.config.max_stream_bytes)
            .await
            .map_err(|reason| conversion(plugin, reason))?;

    let mut lease = pool.lease().await?;
    lease.begin(properties, chain)?;
    let instance = lease.instance()?;
    let outcome = instance
        .bindings
        .call_process(&mut instance.store, &input)
        .await;
    let call = lease.end()?;
    match outcome {
        Ok(Ok(result)) => {
            lease.release();
            convert::apply_result(&mut exchange, result, call)
                .map_err(|reason| conversion(plugin, reason))?;
            Ok(exchange)
        }
        Ok(Err(error)) => {
            lease.release();
            Err(WasmError::Guest {
                plugin: plugin.name.to_string(),
                error: guest_error(error),
            })
        }
        Err(trap) => Err(lease.fail(trap)),
    }
}

/// The call chain the exchange arrived with; refuses a loop back into this
/// plugin.
pub(crate) fn incoming_chain(
    plugin: &PluginContext,
    exchange: &Exchange,
) -> Result<Arc<[Arc<str>]>> {
    let Some(CallChain(chain)) = exchange.get_extension::<CallChain>(CALL_CHAIN_EXTENSION) else {
        return Ok(crate::host_state::empty_chain());
    };
    if chain.iter().any(|id| **id == *plugin.module_id) {
        return Err(WasmError::Recursion {
            plugin: plugin.name.to_string(),
            reason: "the exchange came back to this plugin through camel-call".to_string(),
        });
    }
    Ok(chain.clone())
}

pub(crate) fn conversion(plugin: &PluginContext, reason: String) -> WasmError {
    WasmError::Conversion {
        plugin: plugin.name.to_string(),
        reason,
    }
}

pub(crate) fn guest_error(error: crate::bindings::wit::Error) -> GuestError {
    use crate::bindings::wit::Error as E;
    match error {
        E::Failed(m) => GuestError::Failed(m),
        E::TypeConversion(m) => GuestError::TypeConversion(m),
        E::NotFound(m) => GuestError::NotFound(m),
        E::Denied(m) => GuestError::Denied(m),
        E::LimitExceeded(m) => GuestError::LimitExceeded(m),
        E::Io(m) => GuestError::Io(m),
        E::Timeout(m) => GuestError::Timeout(m),
    }
}
