//! Sources: plugins of the `source` world that start routes
//! (`from("wasm:hook.wasm?listen=127.0.0.1:8080")`).
//!
//! The host owns the inbound side: an HTTP listener (hyper) and a timer,
//! each granted only by the endpoint's options (fail-closed). The plugin
//! says what it needs (`plan`), turns each event into an exchange
//! (`on-event`) and the route's reply into an HTTP response (`on-reply`),
//! one call per event on the same instance pool, limits, crash-loop guard
//! and host functions as processors. A guest that traps loses that
//! instance only; the next event gets a fresh one (after the guard's
//! back-off if it keeps failing).

mod consumer;
pub(crate) mod edge_auth;
mod guest;
mod http;
pub(crate) mod listener;
pub(crate) mod options;
mod timer;

use std::sync::Arc;

use camel_api::{BoxProcessor, CamelError};
use camel_component_api::{Consumer, Endpoint, ProducerContext, RuntimeObservability};

use crate::instance_pool::InstancePool;
use crate::world::SourceWorld;
use options::SourceOptions;

/// A `wasm:` endpoint whose plugin is a source: it starts routes and is no
/// route step.
pub(crate) struct SourceEndpoint {
    uri: String,
    pool: Arc<InstancePool<SourceWorld>>,
    options: SourceOptions,
}

impl SourceEndpoint {
    pub(crate) fn new(
        uri: String,
        pool: Arc<InstancePool<SourceWorld>>,
        options: SourceOptions,
    ) -> Self {
        SourceEndpoint { uri, pool, options }
    }
}

impl Endpoint for SourceEndpoint {
    fn uri(&self) -> &str {
        &self.uri
    }

    fn create_consumer(
        &self,
        _rt: Arc<dyn RuntimeObservability>,
    ) -> Result<Box<dyn Consumer>, CamelError> {
        Ok(Box::new(consumer::WasmSource::new(
            self.uri.clone(),
            self.pool.clone(),
            self.options.clone(),
        )))
    }

    fn create_producer(
        &self,
        _rt: Arc<dyn RuntimeObservability>,
        _ctx: &ProducerContext,
    ) -> Result<BoxProcessor, CamelError> {
        Err(CamelError::EndpointCreationFailed(format!(
            "{}: this plugin is a source (it exports `on-event`): use it in `from`, not as a step",
            self.uri
        )))
    }
}
