//! Bodies a plugin streams out: pulled from its `body-source` export on
//! the instance that produced them, as fast as the consumer reads.
//!
//! The pump owns the instance's lease for the body's life. It asks for one
//! piece at a time (`next(id, 64 KiB)`) and hands it to the consumer through
//! a channel of two pieces, so a slow consumer slows the plugin down
//! (backpressure) and nothing piles up. It stops, and lets the instance go,
//! when:
//!
//! - the body ends: the instance goes back to the pool;
//! - the consumer drops the body: the plugin is told (`cancel(id)`) and the
//!   instance goes back to the pool (or is discarded if `cancel` fails);
//! - the plugin returns an error: the consumer reads it; the instance goes
//!   back;
//! - the plugin traps, or makes no progress for `stream-timeout` (one `next`
//!   call, or the consumer not taking the next piece): the consumer reads a
//!   typed error and the instance is discarded.

use std::sync::Arc;

use bytes::Bytes;
use camel_api::{Body, CamelError, StreamBody, StreamMetadata};
use futures::StreamExt as _;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::deadline::within;
use crate::error::WasmError;
use crate::host_state::CallState;
use crate::instance_pool::{Continuation, Lease, end_call, finish_streams, resume_call};
use crate::trap::classify;
use crate::world::PluginWorld;

/// Bytes asked for in one `next` call.
const PIECE: u32 = 64 * 1024;
/// Pieces buffered between the plugin and the consumer.
const BUFFERED: usize = 8;

/// Starts pumping body `id` out of the lease's instance; returns the body
/// the consumer reads.
pub(crate) fn spawn<W: PluginWorld>(lease: Lease<W>, id: u32, call: Continuation) -> Body {
    let (tx, rx) = mpsc::channel::<Result<Bytes, CamelError>>(BUFFERED);
    let failure = Failure::default();
    tokio::spawn(pump(lease, id, call, tx, failure.clone()));
    // After the last piece: the failure that ended the body, if any, so a
    // consumer never mistakes a broken body for a complete one.
    let stream = futures::stream::unfold(Some(rx), move |rx| {
        let failure = failure.clone();
        async move {
            let mut rx = rx?;
            match rx.recv().await {
                Some(piece) => Some((piece, Some(rx))),
                None => failure.take().map(|err| (Err(err), None)),
            }
        }
    })
    .boxed();
    Body::Stream(StreamBody {
        stream: Arc::new(tokio::sync::Mutex::new(Some(stream))),
        metadata: StreamMetadata::default(),
    })
}

/// Why a body ended early, for a consumer that is not reading right now.
#[derive(Clone, Default)]
struct Failure(Arc<std::sync::Mutex<Option<CamelError>>>);

impl Failure {
    fn set(&self, err: CamelError) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(err);
    }

    fn take(&self) -> Option<CamelError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// How the pump ended.
enum End {
    /// The body ended, or the plugin ended it with its own error.
    Done,
    /// The consumer went away.
    Cancelled,
    /// The instance cannot be trusted any more.
    Broken(WasmError),
}

async fn pump<W: PluginWorld>(
    mut lease: Lease<W>,
    id: u32,
    call: Continuation,
    tx: mpsc::Sender<Result<Bytes, CamelError>>,
    failure: Failure,
) {
    let plugin = lease.plugin().clone();
    let stalled = || WasmError::Timeout {
        plugin: plugin.name.to_string(),
        timeout_secs: plugin.config.stream_timeout.as_secs_f64(),
    };
    let end = loop {
        // Wait for room: the consumer has to take a piece now and then.
        let permit = match within(Instant::now() + plugin.config.stream_timeout, tx.reserve()).await
        {
            Ok(Ok(permit)) => permit,
            Ok(Err(_closed)) => break End::Cancelled,
            Err(_elapsed) => break End::Broken(stalled()),
        };
        let deadline = Instant::now() + plugin.config.stream_timeout;
        let instance = &mut lease.instance;
        resume_call(
            &mut instance.store,
            CallState {
                budget: plugin.config.result_budget(),
                ..CallState::new(deadline)
            },
            &call,
        );
        let piece = within(
            deadline,
            W::next(&instance.bindings, &mut instance.store, id, PIECE),
        )
        .await;
        end_call(&mut instance.store);
        match piece {
            Ok(Ok(Ok(Some(bytes)))) => {
                if !bytes.is_empty() {
                    permit.send(Ok(Bytes::from(bytes)));
                }
            }
            Ok(Ok(Ok(None))) => break End::Done,
            Ok(Ok(Err(error))) => {
                let err = WasmError::Guest {
                    plugin: plugin.name.to_string(),
                    error: crate::producer::guest_error(error),
                };
                permit.send(Err(err.into()));
                break End::Done;
            }
            Ok(Err(trap)) => break End::Broken(classify(&mut instance.store, trap)),
            Err(_elapsed) => break End::Broken(stalled()),
        }
    };
    // The call is over now: streams it was handed end with it.
    finish_streams(&mut lease.instance.store, &call.streams);
    match end {
        End::Done => lease.release(),
        End::Cancelled => {
            let deadline = Instant::now() + plugin.config.timeout;
            let instance = &mut lease.instance;
            resume_call(&mut instance.store, CallState::new(deadline), &call);
            let cancelled = within(
                deadline,
                W::cancel(&instance.bindings, &mut instance.store, id),
            )
            .await;
            end_call(&mut instance.store);
            match cancelled {
                Ok(Ok(())) => lease.release(),
                Ok(Err(trap)) => {
                    let err = classify(&mut lease.instance.store, trap);
                    lease.fail(err);
                }
                Err(_elapsed) => {
                    lease.fail(WasmError::Timeout {
                        plugin: plugin.name.to_string(),
                        timeout_secs: plugin.config.timeout.as_secs_f64(),
                    });
                }
            }
        }
        End::Broken(err) => {
            let err = lease.fail(err);
            // The consumer reads it after the pieces already buffered.
            failure.set(err.into());
        }
    }
}
