//! `WasmEndpoint`: one `wasm:` URI in one route step.

use std::sync::Arc;

use camel_api::{BoxProcessor, CamelError};
use camel_component_api::{Consumer, Endpoint, ProducerContext, RuntimeObservability};

use crate::config::WasmPluginConfig;
use crate::producer::{ProcessorPool, WasmProducer};

/// A `wasm:` endpoint: a compiled, type-checked processor plugin with its
/// own instance pool and state.
///
/// Created at route-creation time; everything that can be checked before
/// the first exchange (path, parameters, module, world) has been checked.
pub struct WasmEndpoint {
    uri: String,
    pool: ProcessorPool,
}

impl std::fmt::Debug for WasmEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmEndpoint")
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

impl WasmEndpoint {
    pub(crate) fn new(uri: String, pool: ProcessorPool) -> Self {
        WasmEndpoint { uri, pool }
    }

    /// The endpoint's effective configuration.
    pub fn config(&self) -> &WasmPluginConfig {
        &self.pool.plugin().config
    }

    /// Idle instances the endpoint keeps ready (for tests of pooling).
    #[cfg(feature = "test-support")]
    #[doc(hidden)]
    pub fn idle_instances(&self) -> usize {
        self.pool.idle_count()
    }

    /// A producer for this endpoint (what route steps call).
    pub fn producer(&self) -> WasmProducer {
        WasmProducer::new(self.pool.clone(), None)
    }
}

impl Endpoint for WasmEndpoint {
    fn uri(&self) -> &str {
        &self.uri
    }

    fn create_consumer(
        &self,
        _rt: Arc<dyn RuntimeObservability>,
    ) -> Result<Box<dyn Consumer>, CamelError> {
        Err(CamelError::EndpointCreationFailed(format!(
            "{}: this plugin is a processor and cannot be used in `from` (a plugin of the `source` world can)",
            self.uri
        )))
    }

    fn create_producer(
        &self,
        rt: Arc<dyn RuntimeObservability>,
        ctx: &ProducerContext,
    ) -> Result<BoxProcessor, CamelError> {
        // The first producer's observability also serves camel-call.
        let _ = self.pool.plugin().observability.set(rt);
        let route_id = ctx.route_id().map(Arc::from);
        Ok(BoxProcessor::new(WasmProducer::new(
            self.pool.clone(),
            route_id,
        )))
    }
}
