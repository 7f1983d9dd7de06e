//! Bodies a plugin streams out: pulled from its `body-source` export on
//! the instance that produced them, by the consumer's own task, one piece
//! per read.
//!
//! The body owns the instance's lease for its life. Each time the consumer
//! asks for the next piece, the guest's `next(id, 64 KiB)` runs right there,
//! on the consumer's task: no task hop, no buffer between them, and a
//! consumer that does not read holds the plugin still (backpressure by
//! construction). The lease is let go when:
//!
//! - the body ends: the instance goes back to the pool;
//! - the consumer drops the body between pieces: the plugin is told
//!   (`cancel(id)`, on a task of its own) and the instance goes back (or is
//!   discarded if `cancel` fails); dropped in the middle of a piece, the
//!   instance is discarded;
//! - the plugin returns an error: the consumer reads it; the instance goes
//!   back;
//! - the plugin traps, or makes no progress for `stream-timeout` (one `next`
//!   call, or the consumer not asking for the next piece, which a watchdog
//!   task per body notices): the consumer reads a typed error and the
//!   instance is discarded.

use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use camel_api::{Body, CamelError, StreamBody, StreamMetadata};
use futures::StreamExt as _;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::deadline::within;
use crate::error::WasmError;
use crate::host_state::CallState;
use crate::instance_pool::{Continuation, Lease, end_call, finish_streams, resume_call};
use crate::trap::classify;
use crate::world::PluginWorld;

/// Bytes asked for in one `next` call.
const PIECE: u32 = 64 * 1024;

/// Makes the body the consumer reads from body `id` of the lease's instance.
pub(crate) fn stream<W: PluginWorld>(lease: Lease<W>, id: u32, call: Continuation) -> Body {
    let timeout = lease.plugin().config.stream_timeout;
    let shared = Arc::new(Mutex::new(Slot::Idle(
        Producer { lease, id, call },
        Instant::now(),
    )));
    let (stop, stopped) = oneshot::channel();
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(watchdog(Arc::downgrade(&shared), timeout, stopped));
    }
    let reader = Reader {
        shared,
        _stop: stop,
    };
    let stream = futures::stream::unfold(reader, |reader| async move {
        let piece = reader.next().await?;
        Some((piece, reader))
    })
    .boxed();
    Body::Stream(StreamBody {
        stream: Arc::new(tokio::sync::Mutex::new(Some(stream))),
        metadata: StreamMetadata::default(),
    })
}

/// Where the producing instance is between pieces.
enum Slot<W: PluginWorld> {
    /// Waiting for the consumer since then.
    Idle(Producer<W>, Instant),
    /// A piece is being made (the consumer's task holds the producer).
    Busy,
    /// The watchdog let the instance go; the consumer reads this next.
    Failed(CamelError),
    /// Nothing more to read.
    Ended,
}

type Shared<W> = Arc<Mutex<Slot<W>>>;

fn lock<W: PluginWorld>(shared: &Mutex<Slot<W>>) -> std::sync::MutexGuard<'_, Slot<W>> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// The consumer's side; dropping it between pieces cancels the body.
struct Reader<W: PluginWorld> {
    shared: Shared<W>,
    /// Ends the watchdog when the reader goes.
    _stop: oneshot::Sender<()>,
}

impl<W: PluginWorld> Reader<W> {
    async fn next(&self) -> Option<Result<Bytes, CamelError>> {
        let mut producer = {
            let mut slot = lock(&self.shared);
            match std::mem::replace(&mut *slot, Slot::Busy) {
                Slot::Idle(producer, _) => producer,
                Slot::Failed(err) => {
                    *slot = Slot::Ended;
                    return Some(Err(err));
                }
                Slot::Busy | Slot::Ended => {
                    *slot = Slot::Ended;
                    return None;
                }
            }
        };
        // If this future is dropped mid-piece, `producer` goes with it: the
        // lease is dropped and the instance discarded (the slot stays Busy,
        // so nobody else touches it).
        match producer.piece().await {
            Piece::Bytes(bytes) => {
                *lock(&self.shared) = Slot::Idle(producer, Instant::now());
                Some(Ok(bytes))
            }
            Piece::End => {
                *lock(&self.shared) = Slot::Ended;
                producer.release();
                None
            }
            Piece::GuestError(err) => {
                *lock(&self.shared) = Slot::Ended;
                producer.release();
                Some(Err(err.into()))
            }
            Piece::Broken(err) => {
                *lock(&self.shared) = Slot::Ended;
                Some(Err(producer.fail(err).into()))
            }
        }
    }
}

impl<W: PluginWorld> Drop for Reader<W> {
    fn drop(&mut self) {
        let idle = match std::mem::replace(&mut *lock(&self.shared), Slot::Ended) {
            Slot::Idle(producer, _) => producer,
            _ => return,
        };
        // The consumer went away between pieces: tell the plugin, off this
        // thread (drop cannot wait). Without a runtime the instance is
        // simply discarded.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(idle.cancel());
        }
    }
}

/// Lets the instance go if the consumer stops asking for pieces for
/// `timeout`.
async fn watchdog<W: PluginWorld>(
    shared: Weak<Mutex<Slot<W>>>,
    timeout: std::time::Duration,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let since = {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            match &*lock(&shared) {
                Slot::Idle(_, since) => *since,
                // A piece is bounded by its own deadline; look again later.
                Slot::Busy => Instant::now(),
                Slot::Failed(_) | Slot::Ended => return,
            }
        };
        tokio::select! {
            () = tokio::time::sleep_until(since + timeout) => {}
            _ = &mut stopped => return,
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let mut slot = lock(&shared);
        if matches!(&*slot, Slot::Idle(_, since) if since.elapsed() >= timeout) {
            let Slot::Idle(producer, _) = std::mem::replace(&mut *slot, Slot::Busy) else {
                return;
            };
            let err = producer.stalled();
            *slot = Slot::Failed(producer.fail(err).into());
            return;
        }
    }
}

/// The instance making the body, and what the host needs to resume it.
struct Producer<W: PluginWorld> {
    lease: Lease<W>,
    id: u32,
    call: Continuation,
}

/// What one pull gave.
enum Piece {
    Bytes(Bytes),
    /// The body ended.
    End,
    /// The plugin ended the body with its own error.
    GuestError(WasmError),
    /// The instance cannot be trusted any more.
    Broken(WasmError),
}

impl<W: PluginWorld> Producer<W> {
    fn stalled(&self) -> WasmError {
        let plugin = self.lease.plugin();
        WasmError::Timeout {
            plugin: plugin.name.to_string(),
            timeout_secs: plugin.config.stream_timeout.as_secs_f64(),
        }
    }

    /// Pulls the next non-empty piece.
    async fn piece(&mut self) -> Piece {
        let plugin = self.lease.plugin().clone();
        loop {
            let deadline = Instant::now() + plugin.config.stream_timeout;
            let instance = &mut self.lease.instance;
            resume_call(
                &mut instance.store,
                CallState {
                    budget: plugin.config.result_budget(),
                    ..CallState::new(deadline)
                },
                &self.call,
            );
            let piece = within(
                deadline,
                W::next(&instance.bindings, &mut instance.store, self.id, PIECE),
            )
            .await;
            end_call(&mut instance.store);
            return match piece {
                Ok(Ok(Ok(Some(bytes)))) if bytes.is_empty() => continue,
                Ok(Ok(Ok(Some(bytes)))) => Piece::Bytes(Bytes::from(bytes)),
                Ok(Ok(Ok(None))) => Piece::End,
                Ok(Ok(Err(error))) => Piece::GuestError(WasmError::Guest {
                    plugin: plugin.name.to_string(),
                    error: crate::producer::guest_error(error),
                }),
                Ok(Err(trap)) => Piece::Broken(classify(&mut instance.store, trap)),
                Err(_elapsed) => Piece::Broken(self.stalled()),
            };
        }
    }

    /// The body is over: the instance goes back to the pool.
    fn release(mut self) {
        // The call is over now: streams it was handed end with it.
        finish_streams(&mut self.lease.instance.store, &self.call.streams);
        self.lease.release();
    }

    /// The instance is discarded.
    fn fail(self, err: WasmError) -> WasmError {
        self.lease.fail(err)
    }

    /// The consumer went away: the plugin's `cancel(id)` runs, then the
    /// instance goes back (or is discarded if `cancel` fails).
    async fn cancel(mut self) {
        finish_streams(&mut self.lease.instance.store, &self.call.streams);
        let plugin = self.lease.plugin().clone();
        let deadline = Instant::now() + plugin.config.timeout;
        let instance = &mut self.lease.instance;
        resume_call(&mut instance.store, CallState::new(deadline), &self.call);
        let cancelled = within(
            deadline,
            W::cancel(&instance.bindings, &mut instance.store, self.id),
        )
        .await;
        end_call(&mut instance.store);
        match cancelled {
            Ok(Ok(())) => self.lease.release(),
            Ok(Err(trap)) => {
                let err = classify(&mut self.lease.instance.store, trap);
                self.lease.fail(err);
            }
            Err(_elapsed) => {
                self.lease.fail(WasmError::Timeout {
                    plugin: plugin.name.to_string(),
                    timeout_secs: plugin.config.timeout.as_secs_f64(),
                });
            }
        }
    }
}
