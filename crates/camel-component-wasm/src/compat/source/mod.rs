//! rust-camel's `camel:plugin@1.0.0` `source` world: a plugin that starts
//! routes by running a loop of its own (`run`), taking HTTP requests from
//! the host (`accept-http`) and submitting exchanges (`submit-exchange`).
//!
//! It is the one guest call that runs on a task of its own and lasts; it
//! runs on the same instance pool (crash-loop breaker, limits), HTTP server
//! (`crate::source::listener`) and endpoint options (`listen`, `path`,
//! `max-pending`, `retry-after`, `grace`) as this host's own sources:
//! `plan.rs` checks the plugin's plan against the grants, `requests.rs`
//! answers the HTTP clients, `host.rs` implements `source-host`,
//! `submitted.rs` forwards submitted stream bodies, `runner.rs` drives
//! `configure` and `run`, and `consumer.rs` ties them to the route.

mod consumer;
pub(crate) mod host;
mod plan;
mod requests;
mod runner;
mod submitted;

use std::sync::Arc;

use camel_api::{BoxProcessor, CamelError};
use camel_component_api::{Consumer, Endpoint, ProducerContext, RuntimeObservability};

pub(crate) use host::Link;

use crate::compat::worlds::CompatSourceWorld;
use crate::instance_pool::InstancePool;
use crate::source::options::SourceOptions;

/// Endpoint options that only a `camel:plugin` source takes, passed to its
/// `configure` as rust-camel's own host passes them: `bind` (also granting
/// the listener, like `listen`) and `method`.
pub(crate) const OPTIONS: &[&str] = &["bind", "method"];

/// A `wasm:` endpoint whose plugin is a `camel:plugin` source.
pub(crate) struct CompatSourceEndpoint {
    uri: String,
    pool: Arc<InstancePool<CompatSourceWorld>>,
    options: SourceOptions,
    /// What the plugin's `configure` receives.
    config: Vec<(String, String)>,
}

impl CompatSourceEndpoint {
    pub(crate) fn new(
        uri: String,
        pool: Arc<InstancePool<CompatSourceWorld>>,
        options: SourceOptions,
        config: Vec<(String, String)>,
    ) -> Self {
        CompatSourceEndpoint {
            uri,
            pool,
            options,
            config,
        }
    }
}

impl Endpoint for CompatSourceEndpoint {
    fn uri(&self) -> &str {
        &self.uri
    }

    fn create_consumer(
        &self,
        _rt: Arc<dyn RuntimeObservability>,
    ) -> Result<Box<dyn Consumer>, CamelError> {
        Ok(Box::new(consumer::CompatSource::new(
            self.uri.clone(),
            self.pool.clone(),
            self.options.clone(),
            self.config.clone(),
        )))
    }

    fn create_producer(
        &self,
        _rt: Arc<dyn RuntimeObservability>,
        _ctx: &ProducerContext,
    ) -> Result<BoxProcessor, CamelError> {
        Err(CamelError::EndpointCreationFailed(format!(
            "{}: this plugin is a `camel:plugin@1.0.0` source (it exports `run`): use it in \
             `from`, not as a step",
            self.uri
        )))
    }
}
