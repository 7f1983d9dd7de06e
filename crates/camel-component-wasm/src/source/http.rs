//! The requests of a `camel:wasm` source's HTTP listener (served by
//! [`listener`](super::listener)): each request turned into an event for
//! the plugin, its exchange sent through the route, the reply mapped back.
//!
//! Backpressure: at most `max-pending` requests are admitted at once (in
//! the plugin, in the route, or waiting for the route); the next one gets
//! `503 Service Unavailable` with `Retry-After` at once, so memory stays
//! bounded however fast clients send. Stopping closes the listener (the
//! port is free again), answers new requests on open connections with 503,
//! and lets requests in flight finish for up to `grace`.

use std::time::Duration;

use bytes::Bytes;
use camel_api::{Body, CamelError, ExchangePattern};
use camel_component_api::ConsumerContext;
use futures::StreamExt as _;
use http_body_util::{BodyExt, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::bindings::{wit, wit_source};
use crate::error::{GuestError, WasmError};
use crate::source::edge_auth::EdgeAuth;
use crate::source::guest::{self, Outcome, SourceGuest};
use crate::source::listener::{Handler, ResponseBody, busy, plain, whole};

/// What every request handler shares.
pub(crate) struct Served {
    pub(crate) guest: SourceGuest,
    pub(crate) ctx: ConsumerContext,
    pub(crate) path: String,
    pub(crate) admission: Arc<Semaphore>,
    pub(crate) retry_after: Duration,
    pub(crate) max_body: usize,
    /// How long reading a request body may take.
    pub(crate) read_timeout: Duration,
    pub(crate) stop: CancellationToken,
    /// Who may send requests.
    pub(crate) auth: EdgeAuth,
}

impl Handler for Served {
    async fn handle(&self, request: Request<Incoming>) -> Response<ResponseBody> {
        if request.uri().path() != self.path {
            return plain(StatusCode::NOT_FOUND, "not found");
        }
        // Held until the response is ready: counts the request in the
        // plugin, in the route and waiting for the route.
        let Ok(_admitted) = self.admission.clone().try_acquire_owned() else {
            return self.busy("too many requests in progress");
        };
        if self.stop.is_cancelled() {
            return self.busy("stopping");
        }
        let (parts, body) = request.into_parts();
        // Before the body is read and before the plugin sees anything.
        let caller = match self.auth.authenticate(&parts.headers, &parts.uri).await {
            Ok(caller) => caller,
            Err(refused) => return refused,
        };
        // A client trickling its body holds an admission: bounded by the
        // plugin's `timeout`.
        let read = tokio::time::timeout(
            self.read_timeout,
            Limited::new(body, self.max_body).collect(),
        );
        let Ok(read) = read.await else {
            return plain(
                StatusCode::REQUEST_TIMEOUT,
                "the request body took too long",
            );
        };
        let bytes = match read {
            Ok(collected) => collected.to_bytes(),
            Err(err) if err.is::<http_body_util::LengthLimitError>() => {
                return plain(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body over max-stream-bytes",
                );
            }
            Err(_) => return plain(StatusCode::BAD_REQUEST, "could not read the request body"),
        };
        let event = wit_source::Event::Http(wit_source::HttpRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or_default().to_string(),
            headers: parts
                .headers
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_string(), value.to_str().ok()?.to_string()))
                })
                .collect(),
            body: if bytes.is_empty() {
                wit::Body::Empty
            } else {
                wit::Body::Bytes(Vec::from(bytes))
            },
        });
        let mut exchange = match self.guest.on_event(&event).await {
            Err(err) => return failure(&err, self.retry_after),
            Ok(Outcome::Skip) => return plain(StatusCode::NO_CONTENT, ""),
            Ok(Outcome::Respond(response)) => return respond(response, Body::Empty).await,
            Ok(Outcome::Submit(exchange)) => exchange,
        };
        caller.install(&mut exchange);
        if exchange.pattern == ExchangePattern::InOnly {
            return match self.ctx.send(*exchange).await {
                Ok(()) => plain(StatusCode::ACCEPTED, ""),
                Err(err) => route_failure(&err, self.retry_after),
            };
        }
        match self.ctx.send_and_wait(*exchange).await {
            Ok(mut reply) => match self.guest.on_reply(&reply).await {
                Ok(response) => {
                    let body = match reply.output.take() {
                        Some(output) => output.body,
                        None => std::mem::take(&mut reply.input.body),
                    };
                    respond(response, body).await
                }
                Err(err) => failure(&err, self.retry_after),
            },
            Err(err) => route_failure(&err, self.retry_after),
        }
    }

    fn stop(&self) -> &CancellationToken {
        &self.stop
    }
}

impl Served {
    fn busy(&self, why: &'static str) -> Response<ResponseBody> {
        busy(why, self.retry_after)
    }
}

/// The plugin's response; `reply` is used when it left the body to the
/// route.
async fn respond(response: guest::Response, reply: Body) -> Response<ResponseBody> {
    let Ok(status) = StatusCode::from_u16(response.status) else {
        tracing::warn!(
            status = response.status,
            "plugin answered an invalid status"
        );
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "invalid status");
    };
    let body = response.body.unwrap_or(reply);
    let content_type = default_content_type(&body);
    let mut out = Response::new(body_of(body).await);
    *out.status_mut() = status;
    for (name, value) in response.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(name), Ok(value)) => {
                out.headers_mut().append(name, value);
            }
            _ => tracing::warn!("plugin answered an invalid header; left out"),
        }
    }
    if let Some(content_type) = content_type
        && !out.headers().contains_key(CONTENT_TYPE)
    {
        out.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    out
}

fn default_content_type(body: &Body) -> Option<&'static str> {
    match body {
        Body::Text(_) => Some("text/plain; charset=utf-8"),
        Body::Json(_) => Some("application/json"),
        Body::Xml(_) => Some("application/xml"),
        Body::Bytes(_) | Body::Stream(_) => Some("application/octet-stream"),
        _ => None,
    }
}

async fn body_of(body: Body) -> ResponseBody {
    match body {
        Body::Empty => whole(Bytes::new()),
        Body::Text(text) => whole(Bytes::from(text)),
        Body::Bytes(bytes) => whole(bytes),
        Body::Json(value) => whole(Bytes::from(value.to_string())),
        Body::Xml(text) => whole(Bytes::from(text)),
        Body::Stream(stream) => match stream.stream.lock().await.take() {
            Some(pieces) => BodyExt::boxed_unsync(StreamBody::new(pieces.map(|piece| {
                piece
                    .map(Frame::data)
                    .map_err(|err| std::io::Error::other(err.to_string()))
            }))),
            None => whole(Bytes::new()),
        },
        _ => whole(Bytes::new()),
    }
}

/// The response for a plugin that did not answer.
fn failure(err: &WasmError, retry_after: Duration) -> Response<ResponseBody> {
    tracing::warn!(error = %crate::error::error_chain(err), "source plugin failed a request");
    match err {
        WasmError::Guest { error, .. } => {
            let status = match error {
                GuestError::TypeConversion(_) => StatusCode::BAD_REQUEST,
                GuestError::Denied(_) => StatusCode::FORBIDDEN,
                GuestError::NotFound(_) => StatusCode::NOT_FOUND,
                GuestError::LimitExceeded(_) => StatusCode::PAYLOAD_TOO_LARGE,
                GuestError::Io(_) => StatusCode::BAD_GATEWAY,
                GuestError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            plain(status, error.message())
        }
        WasmError::Busy { .. } | WasmError::Unhealthy { .. } => {
            busy("plugin unavailable", retry_after)
        }
        WasmError::Timeout { .. } => plain(StatusCode::GATEWAY_TIMEOUT, "plugin timed out"),
        _ => plain(StatusCode::INTERNAL_SERVER_ERROR, "plugin failed"),
    }
}

/// The response for a route that failed the exchange.
fn route_failure(err: &CamelError, retry_after: Duration) -> Response<ResponseBody> {
    tracing::debug!(error = %err, "route failed a source exchange");
    match err {
        CamelError::Unauthenticated(_) => plain(StatusCode::UNAUTHORIZED, "unauthenticated"),
        CamelError::Unauthorized(_) => plain(StatusCode::FORBIDDEN, "forbidden"),
        CamelError::ChannelClosed => busy("the route is not running", retry_after),
        _ => plain(StatusCode::INTERNAL_SERVER_ERROR, "the route failed"),
    }
}
