//! Streams a guest returns, pulled after its call returned: the first
//! stream-body handle of a result becomes a rust-camel `Body::Stream` (with
//! the handle's metadata) that is read piece by piece as its consumer asks.
//! The instance stays with the body (`produced_body.rs`); each pull runs the
//! store's event loop until the guest has written the next piece, and a
//! `terminal` error ends the body with that error.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use camel_api::StreamMetadata;
use tokio::sync::oneshot;
use wasmtime::component::{Accessor, Resource, Source, StreamConsumer, StreamResult};
use wasmtime::{Store, StoreContextMut};

use super::bindings::types::StreamBodyHandle;
use super::streams::{Outcome, Terminal};
use crate::host_state::WasmHostState;
use crate::world::NextPiece;

/// A stream a guest returned, pulled after its call returned, piece by
/// piece as the body's consumer asks (`produced_body.rs` owns the instance
/// meanwhile). It lives in the store's resource table, under the id the
/// produced body pulls by; the guest never sees it.
pub(crate) struct Returning {
    shared: Arc<Mutex<Pull>>,
    /// How the stream ended; taken once the stream has.
    terminal: Option<oneshot::Receiver<Terminal>>,
}

/// Most bytes taken from a write before the first pull asks for a size.
const FIRST_PIECE: usize = 64 * 1024;

/// What the guest's writes and the host's pulls share.
#[derive(Default)]
struct Pull {
    /// Bytes taken from the guest's last write, not yet pulled.
    piece: Vec<u8>,
    /// Most bytes taken from one write.
    max: usize,
    /// The guest dropped its end (or stopped).
    ended: bool,
    /// The host stopped pulling: further writes are refused.
    closed: bool,
    /// The host waiting for a piece.
    puller: Option<Waker>,
    /// The guest's write waiting for the host to take the last piece.
    writer: Option<Waker>,
}

fn lock(shared: &Mutex<Pull>) -> std::sync::MutexGuard<'_, Pull> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

/// The host's read end of a returned stream: takes at most one piece at a
/// time and holds the guest's next write until that piece is pulled, so a
/// consumer that does not read holds the guest still.
struct Puller(Arc<Mutex<Pull>>);

impl StreamConsumer<WasmHostState> for Puller {
    type Item = u8;

    fn poll_consume(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        store: StoreContextMut<'_, WasmHostState>,
        src: Source<'_, u8>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let mut pull = lock(&self.0);
        if pull.closed {
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        if !pull.piece.is_empty() {
            if finish {
                return Poll::Ready(Ok(StreamResult::Cancelled));
            }
            pull.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let mut src = src.as_direct(store);
        let available = src.remaining();
        let n = available.len().min(pull.max);
        pull.piece.extend_from_slice(&available[..n]);
        src.mark_read(n);
        if n > 0
            && let Some(puller) = pull.puller.take()
        {
            puller.wake();
        }
        Poll::Ready(Ok(StreamResult::Completed))
    }
}

impl Drop for Puller {
    /// wasmtime drops the consumer once the guest has dropped its end.
    fn drop(&mut self) {
        let mut pull = lock(&self.0);
        pull.ended = true;
        if let Some(puller) = pull.puller.take() {
            puller.wake();
        }
    }
}

/// Starts pulling the stream of `handle` (during the call that returned it)
/// and puts it in the store's table; returns its id and the body's
/// metadata.
pub(super) fn start_returning(
    accessor: &Accessor<WasmHostState>,
    handle: StreamBodyHandle,
) -> wasmtime::Result<(u32, StreamMetadata)> {
    let StreamBodyHandle {
        stream,
        terminal,
        size_hint,
        content_type,
        origin,
    } = handle;
    // A write may land before the first pull says how much it wants:
    // take at most a piece's worth (never zero, which would claim a write
    // completed with nothing taken).
    let shared = Arc::new(Mutex::new(Pull {
        max: FIRST_PIECE,
        ..Pull::default()
    }));
    let (terminal_done, ended) = oneshot::channel();
    accessor
        .with(|mut access| -> wasmtime::Result<u32> {
            stream.pipe(&mut access, Puller(shared.clone()))?;
            terminal.pipe(&mut access, Outcome(Some(terminal_done)))?;
            let returning = access.data_mut().table.push(Returning {
                shared,
                terminal: Some(ended),
            })?;
            Ok(returning.rep())
        })
        .map(|id| {
            let metadata = StreamMetadata {
                size_hint,
                content_type,
                origin,
            };
            (id, metadata)
        })
}

fn returning(store: &mut Store<WasmHostState>, id: u32) -> wasmtime::Result<&mut Returning> {
    Ok(store
        .data_mut()
        .table
        .get_mut(&Resource::<Returning>::new_own(id))?)
}

fn forget(store: &mut Store<WasmHostState>, id: u32) {
    let _ = store
        .data_mut()
        .table
        .delete(Resource::<Returning>::new_own(id));
}

/// The next piece (at most `max` bytes) of returned stream `id`, running the
/// store's event loop until the guest has written one or ended the stream;
/// at the end, its `terminal` decides between the end and an error.
pub(crate) async fn next_piece(
    store: &mut Store<WasmHostState>,
    id: u32,
    max: u32,
) -> wasmtime::Result<NextPiece> {
    let shared = returning(store, id)?.shared.clone();
    lock(&shared).max = usize::try_from(max).unwrap_or(usize::MAX).max(1);
    let wanted = std::future::poll_fn(|cx| {
        let mut pull = lock(&shared);
        if !pull.piece.is_empty() {
            let piece = std::mem::take(&mut pull.piece);
            if let Some(writer) = pull.writer.take() {
                writer.wake();
            }
            return Poll::Ready(Some(piece));
        }
        if pull.ended {
            return Poll::Ready(None);
        }
        pull.puller = Some(cx.waker().clone());
        Poll::Pending
    });
    let piece = store.run_concurrent(async |_| wanted.await).await?;
    if let Some(piece) = piece {
        return Ok(Ok(Some(piece)));
    }
    let Some(ended) = returning(store, id)?.terminal.take() else {
        return Ok(Ok(None));
    };
    // A guest that drops `terminal` unwritten ended its stream normally.
    let how = store
        .run_concurrent(async |_| ended.await.unwrap_or(Ok(())))
        .await?;
    forget(store, id);
    Ok(how.map(|()| None).map_err(super::convert::error_to_wit))
}

/// The body's consumer went away: the guest's further writes are refused,
/// and the event loop runs until the guest has settled the stream's
/// `terminal` (or dropped it), so no task of this call is left to run in
/// the next one. The caller bounds the wait.
pub(crate) async fn cancel(store: &mut Store<WasmHostState>, id: u32) -> wasmtime::Result<()> {
    let returning = returning(store, id)?;
    let ended = returning.terminal.take();
    {
        let mut pull = lock(&returning.shared);
        pull.closed = true;
        pull.piece = Vec::new();
        if let Some(writer) = pull.writer.take() {
            writer.wake();
        }
    }
    if let Some(ended) = ended {
        store.run_concurrent(async |_| ended.await.ok()).await?;
    }
    forget(store, id);
    Ok(())
}
