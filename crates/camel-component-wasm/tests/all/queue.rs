//! `queue:<name>`: a test component whose endpoints only offer a polling
//! consumer over an in-memory queue, the shape of rust-camel's queue-like
//! endpoints, for `camel-poll`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use camel_api::{BoxProcessor, CamelError, Exchange};
use camel_component_api::{
    Component, ComponentContext, Consumer, Endpoint, PollingConsumer, ProducerContext,
    RuntimeObservability,
};
use tokio::sync::Notify;

/// The component; clones share the queues.
#[derive(Clone, Default)]
pub(crate) struct QueueComponent {
    queues: Arc<Mutex<HashMap<String, Arc<Queue>>>>,
}

#[derive(Default)]
pub(crate) struct Queue {
    items: Mutex<VecDeque<Exchange>>,
    arrived: Notify,
}

impl Queue {
    pub(crate) fn push(&self, exchange: Exchange) {
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(exchange);
        self.arrived.notify_one();
    }

    fn pop(&self) -> Option<Exchange> {
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop_front()
    }
}

impl QueueComponent {
    /// The queue `name` (created on first use).
    pub(crate) fn queue(&self, name: &str) -> Arc<Queue> {
        self.queues
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name.to_string())
            .or_default()
            .clone()
    }
}

impl Component for QueueComponent {
    fn scheme(&self) -> &str {
        "queue"
    }

    fn create_endpoint(
        &self,
        uri: &str,
        _ctx: &dyn ComponentContext,
    ) -> Result<Box<dyn Endpoint>, CamelError> {
        let name = uri
            .strip_prefix("queue:")
            .ok_or_else(|| CamelError::InvalidUri(uri.to_string()))?;
        Ok(Box::new(QueueEndpoint {
            uri: uri.to_string(),
            queue: self.queue(name),
        }))
    }
}

struct QueueEndpoint {
    uri: String,
    queue: Arc<Queue>,
}

impl Endpoint for QueueEndpoint {
    fn uri(&self) -> &str {
        &self.uri
    }

    fn create_consumer(
        &self,
        _rt: Arc<dyn RuntimeObservability>,
    ) -> Result<Box<dyn Consumer>, CamelError> {
        Err(CamelError::EndpointCreationFailed("poll only".into()))
    }

    fn create_producer(
        &self,
        _rt: Arc<dyn RuntimeObservability>,
        _ctx: &ProducerContext,
    ) -> Result<BoxProcessor, CamelError> {
        Err(CamelError::EndpointCreationFailed("poll only".into()))
    }

    fn polling_consumer(&self) -> Option<Box<dyn PollingConsumer>> {
        Some(Box::new(QueuePoller(self.queue.clone())))
    }
}

struct QueuePoller(Arc<Queue>);

#[async_trait]
impl PollingConsumer for QueuePoller {
    async fn receive(&mut self, timeout: Duration) -> Result<Option<Exchange>, CamelError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(exchange) = self.0.pop() {
                return Ok(Some(exchange));
            }
            if tokio::time::timeout_at(deadline, self.0.arrived.notified())
                .await
                .is_err()
            {
                return Ok(None);
            }
        }
    }
}
