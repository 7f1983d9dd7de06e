//! Calls into a source plugin (`plan`, `on-event`, `on-reply`) on its
//! instance pool, and what they return in host terms.

use std::collections::HashMap;
use std::sync::Arc;

use camel_api::{Body, Exchange, Message};
use wasmtime::Store;

use crate::bindings::source::Source;
use crate::bindings::{wit, wit_source};
use crate::body_stream::{self, Detached};
use crate::call_chain::CallChain;
use crate::call_span::{CallSite, CallSpans};
use crate::convert::{self, OutBodies};
use crate::error::{Result, WasmError};
use crate::host_state::WasmHostState;
use crate::instance_pool::{GuestCall, InstancePool};
use crate::producer::{guest_error, result_error};
use crate::world::SourceWorld;

/// The `plan()` call.
struct AskPlan;

impl GuestCall<SourceWorld> for AskPlan {
    type Output = std::result::Result<wit_source::SourcePlan, wit::Error>;

    async fn call(
        self,
        b: &Source,
        store: &mut Store<WasmHostState>,
    ) -> wasmtime::Result<Self::Output> {
        b.call_plan(store).await
    }
}

/// One `on-event(event)` call.
struct OnEvent<'a>(&'a wit_source::Event);

impl GuestCall<SourceWorld> for OnEvent<'_> {
    type Output = std::result::Result<wit_source::Outcome, wit::Error>;

    async fn call(
        self,
        b: &Source,
        store: &mut Store<WasmHostState>,
    ) -> wasmtime::Result<Self::Output> {
        b.call_on_event(store, self.0).await
    }

    fn detach(output: &mut Self::Output, state: &mut WasmHostState) -> wasmtime::Result<Detached> {
        match output {
            Ok(wit_source::Outcome::Submit(exchange)) => body_stream::detach(state, exchange),
            Ok(wit_source::Outcome::Respond(response)) => detach_response(state, response),
            _ => Ok(None),
        }
    }
}

/// One `on-reply(exchange)` call.
struct OnReply<'a>(&'a wit::Exchange);

impl GuestCall<SourceWorld> for OnReply<'_> {
    type Output = std::result::Result<wit_source::HttpResponse, wit::Error>;

    async fn call(
        self,
        b: &Source,
        store: &mut Store<WasmHostState>,
    ) -> wasmtime::Result<Self::Output> {
        b.call_on_reply(store, self.0).await
    }

    fn detach(output: &mut Self::Output, state: &mut WasmHostState) -> wasmtime::Result<Detached> {
        match output {
            Ok(response) => detach_response(state, response),
            Err(_) => Ok(None),
        }
    }
}

/// Takes a stream handle out of a response body (into the first slot).
fn detach_response(
    state: &mut WasmHostState,
    response: &mut wit_source::HttpResponse,
) -> wasmtime::Result<Detached> {
    match response.body.as_mut() {
        Some(body) => Ok(body_stream::take(state, body)?.map(|r| Box::new([Some(r), None]))),
        None => Ok(None),
    }
}

/// An HTTP response in host terms.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    /// `None`: the route's reply body.
    pub(crate) body: Option<Body>,
}

/// What the plugin made of an event.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Send this exchange through the route.
    Submit(Box<Exchange>),
    /// Answer at once.
    Respond(Response),
    /// Nothing to do.
    Skip,
}

/// The triggers a plugin asked for.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) http_path: Option<String>,
    pub(crate) timer: Option<(std::time::Duration, Option<u32>)>,
}

/// The source plugin's pool, with its calls in host terms.
#[derive(Clone)]
pub(crate) struct SourceGuest {
    pub(crate) pool: Arc<InstancePool<SourceWorld>>,
    pub(crate) route_id: Option<Arc<str>>,
}

impl SourceGuest {
    fn plugin(&self) -> &str {
        &self.pool.plugin.name
    }

    fn guest_failed(&self, error: wit::Error) -> WasmError {
        WasmError::Guest {
            plugin: self.plugin().to_string(),
            error: guest_error(error),
        }
    }

    /// Asks for the plugin's triggers.
    pub(crate) async fn plan(&self) -> Result<Plan> {
        let span = self.span("plan", None);
        self.pool.observe(span, self.plan_traced()).await
    }

    async fn plan_traced(&self) -> Result<Plan> {
        let (outcome, _) = self
            .pool
            .call(
                AskPlan,
                HashMap::new(),
                CallChain::empty(),
                self.route_id.clone(),
            )
            .await;
        let plan = outcome?.0.map_err(|e| self.guest_failed(e))?;
        Ok(Plan {
            http_path: plan.http.map(|h| h.path),
            timer: plan.timer.map(|t| {
                (
                    std::time::Duration::from_millis(u64::from(t.period_ms.max(1))),
                    t.times,
                )
            }),
        })
    }

    /// Turns an event into an outcome.
    pub(crate) async fn on_event(&self, event: &wit_source::Event) -> Result<Outcome> {
        let span = self.span("on-event", None);
        self.pool.observe(span, self.on_event_traced(event)).await
    }

    async fn on_event_traced(&self, event: &wit_source::Event) -> Result<Outcome> {
        let (outcome, mut call) = self
            .pool
            .call(
                OnEvent(event),
                HashMap::new(),
                CallChain::empty(),
                self.route_id.clone(),
            )
            .await;
        let (outcome, bodies) = outcome?;
        match outcome.map_err(|e| self.guest_failed(e))? {
            wit_source::Outcome::Submit(result) => {
                let mut exchange = Exchange::new(Message::new(Body::Empty));
                convert::apply_result(&mut exchange, result, &mut call, bodies)
                    .map_err(|e| result_error(&self.pool.plugin, e))?;
                Ok(Outcome::Submit(Box::new(exchange)))
            }
            wit_source::Outcome::Respond(response) => {
                Ok(Outcome::Respond(self.response(response, bodies, &call)?))
            }
            wit_source::Outcome::Skip => Ok(Outcome::Skip),
        }
    }

    /// Turns the route's reply into the HTTP response.
    pub(crate) async fn on_reply(&self, reply: &Exchange) -> Result<Response> {
        let span = self.span("on-reply", Some(reply));
        self.pool.observe(span, self.on_reply_traced(reply)).await
    }

    fn span(&self, export: &'static str, exchange: Option<&Exchange>) -> CallSpans {
        let site = CallSite::export(export).route(self.route_id.as_deref());
        self.pool.span(match exchange {
            Some(exchange) => site.exchange(exchange),
            None => site,
        })
    }

    async fn on_reply_traced(&self, reply: &Exchange) -> Result<Response> {
        let view = convert::exchange_view(reply);
        let (outcome, call) = self
            .pool
            .call(
                OnReply(&view),
                reply.properties.clone(),
                CallChain::empty(),
                self.route_id.clone(),
            )
            .await;
        let (response, bodies) = outcome?;
        let response = response.map_err(|e| self.guest_failed(e))?;
        self.response(response, bodies, &call)
    }

    fn response(
        &self,
        response: wit_source::HttpResponse,
        bodies: OutBodies,
        call: &crate::host_state::CallState,
    ) -> Result<Response> {
        let body = match (response.body, bodies.0) {
            (None, _) => None,
            (Some(_), Some(bodies)) => {
                let [body, _] = *bodies;
                body
            }
            (Some(body), None) => {
                let mut budget = call.budget;
                Some(
                    convert::body_from_wit(body, &mut budget)
                        .map_err(|e| result_error(&self.pool.plugin, e))?,
                )
            }
        };
        Ok(Response {
            status: response.status,
            headers: response.headers,
            body,
        })
    }
}
