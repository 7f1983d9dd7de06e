//! The `source-host` interface on the same host state as every plugin:
//! `accept-http` hands the guest the next request, `submit-exchange` sends
//! an exchange into the route (waiting while the route is full), and
//! `is-cancelled` says whether the consumer is stopping. Both waits end at
//! once when it stops: `none` and `stopped`.

use std::sync::Arc;

use camel_api::{Exchange, Message, StreamMetadata};
use camel_component_api::ConsumerContext;
use futures::stream::BoxStream;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Mutex, Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use wasmtime::component::{Accessor, HasSelf, Resource};

use super::requests::{Pending, Piece};
use super::submitted;
use crate::compat::bindings::source_host::{self, HttpRequest, SubmitOutcome};
use crate::compat::bindings::types::{WasmBody, WasmError, WasmExchange};
use crate::compat::{convert, streams};
use crate::convert::ConvertError;
use crate::host_state::{CallState, WasmHostState};
use crate::source::edge_auth::Caller;

/// The `http-listener` resource: the one listener the host opened for the
/// source. It carries nothing; the requests come through the [`Link`].
///
/// `pub` only because the generated bindings re-export it; the module is
/// private to the crate.
#[allow(unreachable_pub, reason = "re-exported by the generated bindings")]
#[derive(Debug)]
pub struct ListenerGrant;

/// What the `source-host` imports of one running source reach.
pub(crate) struct Link {
    /// Requests waiting for `accept-http`.
    pub(super) requests: Mutex<mpsc::Receiver<Pending>>,
    /// The route.
    pub(super) ctx: ConsumerContext,
    /// Cancelled when the consumer stops.
    pub(super) stop: CancellationToken,
    /// `max-stream-bytes`, for submitted stream bodies.
    pub(super) max_body: usize,
    /// `max-result-bytes`, for each submitted exchange's headers,
    /// properties and JSON.
    pub(super) budget: usize,
    /// Exchanges the route has accepted from the source so far.
    pub(super) accepted: AtomicU64,
    /// Woken at each accepted exchange.
    pub(super) progress: Notify,
    /// Who sent the request the guest accepted last: its principal goes on
    /// the exchanges the guest submits (a `sequential` source serves one
    /// request at a time; an exchange submitted before any request carries
    /// none, and a secured route refuses it).
    pub(super) caller: std::sync::Mutex<Caller>,
}

impl Link {
    /// Returns once the route has accepted more than `seen` exchanges.
    pub(super) async fn accepted_beyond(&self, seen: u64) {
        loop {
            let notified = self.progress.notified();
            if self.accepted.load(Ordering::Acquire) > seen {
                return;
            }
            notified.await;
        }
    }
}

fn link_of(accessor: &Accessor<WasmHostState>) -> Result<Arc<Link>, WasmError> {
    accessor
        .with(|mut access| access.get().source.clone())
        .ok_or_else(|| WasmError::ProcessorError("the source is not running".to_string()))
}

impl source_host::HostHttpListener for WasmHostState {
    fn drop(&mut self, listener: Resource<ListenerGrant>) -> wasmtime::Result<()> {
        if listener.owned() {
            self.table.delete(listener)?;
        }
        Ok(())
    }
}

impl source_host::Host for WasmHostState {
    fn is_cancelled(&mut self) -> bool {
        self.source
            .as_ref()
            .is_some_and(|link| link.stop.is_cancelled())
    }
}

impl source_host::HostWithStore<WasmHostState> for HasSelf<WasmHostState> {
    async fn accept_http(
        accessor: &Accessor<WasmHostState, Self>,
        _listener: Resource<ListenerGrant>,
    ) -> Result<Option<HttpRequest>, WasmError> {
        let link = link_of(accessor)?;
        loop {
            let next = {
                let mut requests = link.requests.lock().await;
                tokio::select! {
                    next = requests.recv() => next,
                    () = link.stop.cancelled() => None,
                }
            };
            let Some(pending) = next else {
                return Ok(None);
            };
            // A client that gave up waiting is not the guest's to answer.
            if pending.taken.send(()).is_err() {
                continue;
            }
            *link.caller.lock().unwrap_or_else(|p| p.into_inner()) = pending.caller;
            let metadata = metadata_of(&pending.headers);
            let stream = body_of(pending.body, pending.cut);
            let body = streams::hand_over_stream(accessor, stream, &metadata)
                .map_err(|err| WasmError::Io(format!("the request body is lost: {err}")))?;
            return Ok(Some(HttpRequest {
                method: pending.method,
                path: pending.path,
                headers: pending.headers,
                body,
            }));
        }
    }

    async fn submit_exchange(
        accessor: &Accessor<WasmHostState, Self>,
        exchange: WasmExchange,
    ) -> Result<SubmitOutcome, WasmError> {
        let link = link_of(accessor)?;
        if link.stop.is_cancelled() {
            return Ok(SubmitOutcome::Stopped);
        }
        let mut exchange = into_exchange(accessor, &link, exchange)?;
        link.caller
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .install(&mut exchange);
        tokio::select! {
            sent = link.ctx.send(exchange) => Ok(match sent {
                Ok(()) => {
                    link.accepted.fetch_add(1, Ordering::AcqRel);
                    link.progress.notify_waiters();
                    SubmitOutcome::Accepted
                }
                Err(_) => SubmitOutcome::Stopped,
            }),
            () = link.stop.cancelled() => Ok(SubmitOutcome::Stopped),
        }
    }
}

/// The pieces of a request body, then its cut (an error) if it was cut.
fn body_of(
    mut pieces: mpsc::Receiver<Piece>,
    cut: Arc<std::sync::OnceLock<String>>,
) -> BoxStream<'static, Piece> {
    let mut ended = false;
    Box::pin(futures::stream::poll_fn(move |cx| {
        if ended {
            return std::task::Poll::Ready(None);
        }
        let next = futures::ready!(pieces.poll_recv(cx));
        if next.is_none() {
            ended = true;
            if let Some(why) = cut.get() {
                return std::task::Poll::Ready(Some(Err(camel_api::CamelError::Io(why.clone()))));
            }
        }
        std::task::Poll::Ready(next)
    }))
}

/// What the request's headers say about its body.
fn metadata_of(headers: &[(String, String)]) -> StreamMetadata {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    StreamMetadata {
        size_hint: header("content-length").and_then(|v| v.trim().parse().ok()),
        content_type: header("content-type").map(str::to_string),
        origin: None,
    }
}

/// The guest's exchange as a rust-camel one: its stream bodies forwarded,
/// the rest converted within `max-result-bytes`.
fn into_exchange(
    accessor: &Accessor<WasmHostState>,
    link: &Link,
    mut record: WasmExchange,
) -> Result<Exchange, WasmError> {
    let mut bodies = [None, None];
    let messages = std::iter::once(&mut record.input).chain(record.output.as_mut());
    for (slot, message) in bodies.iter_mut().zip(messages) {
        if let WasmBody::Stream(_) = message.body {
            let WasmBody::Stream(handle) = std::mem::replace(&mut message.body, WasmBody::Empty)
            else {
                continue;
            };
            let body = submitted::forward(accessor, handle, link.max_body)
                .map_err(|err| WasmError::Io(format!("the stream body is lost: {err}")))?;
            *slot = Some(body);
        }
    }
    let correlation_id = std::mem::take(&mut record.correlation_id);
    let mut call = CallState {
        budget: link.budget,
        ..CallState::new(Instant::now())
    };
    let mut exchange = Exchange::new(Message::default());
    convert::apply_result(&mut exchange, record, &mut call, bodies).map_err(|err| {
        WasmError::TypeConversion(match err {
            ConvertError::Invalid(reason) => reason,
            ConvertError::OverBudget => {
                "the exchange's headers, properties and JSON exceed max-result-bytes".to_string()
            }
        })
    })?;
    if !correlation_id.is_empty() {
        exchange.correlation_id = correlation_id;
    }
    Ok(exchange)
}
