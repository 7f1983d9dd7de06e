//! Stream bodies of the compat contract: a `stream-body-handle` is a
//! component-model `stream<u8>` plus a `terminal` future that says how the
//! stream ended.
//!
//! In: a rust-camel `Body::Stream` reaches the guest as a handle whose
//! stream yields the body's chunks as the guest reads them (nothing is read
//! ahead), and whose `terminal` resolves once the body has ended: `ok`, or
//! `io` with the source's error.
//!
//! Out: the first handle a guest returns becomes a rust-camel
//! `Body::Stream` (with the handle's metadata) that is pulled after the
//! call returned, piece by piece as its consumer reads: the instance stays
//! with the body (`produced_body.rs`), each pull runs the store's event
//! loop until the guest has written the next piece, and a `terminal` error
//! ends the body with that error. A second handle in the same result (the
//! output message's, when the input's streams too) is read to its end
//! during the call, up to `max-stream-bytes`, and its `terminal` awaited.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use camel_api::{Body, CamelError, StreamBody, StreamMetadata};
use futures::Stream;
use futures::stream::BoxStream;
use tokio::sync::oneshot;
use wasmtime::component::{
    Accessor, Destination, FutureConsumer, FutureReader, Resource, Source, StreamConsumer,
    StreamProducer, StreamReader, StreamResult,
};
use wasmtime::{Store, StoreContextMut};

use super::bindings::types::{StreamBodyHandle, WasmError};
use crate::host_state::WasmHostState;
use crate::world::NextPiece;

/// How a stream ended, as its `terminal` future says.
pub(super) type Terminal = Result<(), WasmError>;

/// Feeds a rust-camel body stream to a guest's reads, one chunk per read.
struct Feed {
    stream: Option<BoxStream<'static, Result<Bytes, CamelError>>>,
    /// Told how the body ended; dropped unsent if the guest stops reading.
    done: Option<oneshot::Sender<Terminal>>,
}

impl Feed {
    fn end(&mut self, how: Terminal) {
        self.stream = None;
        if let Some(done) = self.done.take() {
            let _ = done.send(how);
        }
    }
}

impl StreamProducer<WasmHostState> for Feed {
    type Item = u8;
    type Buffer = Bytes;

    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut store: StoreContextMut<'a, WasmHostState>,
        mut dst: Destination<'a, u8, Bytes>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let this = self.get_mut();
        let Some(stream) = this.stream.as_mut() else {
            return Poll::Ready(Ok(StreamResult::Dropped));
        };
        // A zero-length read asks whether a chunk is ready; say yes and let
        // the next read wait for it.
        if dst.remaining(&mut store) == Some(0) {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        match Pin::new(stream).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                dst.set_buffer(chunk);
                Poll::Ready(Ok(StreamResult::Completed))
            }
            Poll::Ready(Some(Err(err))) => {
                this.end(Err(WasmError::Io(format!("the body stream failed: {err}"))));
                Poll::Ready(Ok(StreamResult::Dropped))
            }
            Poll::Ready(None) => {
                this.end(Ok(()));
                Poll::Ready(Ok(StreamResult::Dropped))
            }
            Poll::Pending if finish => Poll::Ready(Ok(StreamResult::Cancelled)),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Makes a handle for `body` in the guest's store. Fails (as a trap) only
/// if another consumer already took the stream.
pub(super) fn hand_over(
    accessor: &Accessor<WasmHostState>,
    body: StreamBody,
) -> wasmtime::Result<StreamBodyHandle> {
    let stream = body
        .stream
        .try_lock()
        .map_err(|_| wasmtime::format_err!("the streamed body is being read elsewhere"))?
        .take()
        .ok_or_else(|| wasmtime::format_err!("the streamed body was already consumed"))?;
    hand_over_stream(accessor, stream, &body.metadata)
}

/// Makes a handle in the guest's store for the pieces of `stream`, with
/// `metadata`.
pub(super) fn hand_over_stream(
    accessor: &Accessor<WasmHostState>,
    stream: BoxStream<'static, Result<Bytes, CamelError>>,
    metadata: &StreamMetadata,
) -> wasmtime::Result<StreamBodyHandle> {
    let (done, ended) = oneshot::channel::<Terminal>();
    let feed = Feed {
        stream: Some(stream),
        done: Some(done),
    };
    // A guest that drops the stream early never learns more: `ok`.
    let terminal = async move { Ok::<Terminal, wasmtime::Error>(ended.await.unwrap_or(Ok(()))) };
    accessor.with(|mut access| {
        let stream = StreamReader::new(&mut access, feed)?;
        let terminal = FutureReader::new(&mut access, terminal)?;
        Ok(StreamBodyHandle {
            stream,
            terminal,
            size_hint: metadata.size_hint,
            content_type: metadata.content_type.clone(),
            origin: metadata.origin.clone(),
        })
    })
}

/// Why a returned stream could not be taken.
#[derive(Debug)]
pub(crate) enum Collected {
    /// The stream said (through `terminal`) that it failed.
    Failed(WasmError),
    /// It ran past `max-stream-bytes`.
    TooLong(usize),
}

/// Reads a guest's stream into one buffer, up to `max` bytes.
struct Gather {
    bytes: BytesMut,
    max: usize,
    over: bool,
    done: Option<oneshot::Sender<(Bytes, bool)>>,
}

impl StreamConsumer<WasmHostState> for Gather {
    type Item = u8;

    fn poll_consume(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        store: StoreContextMut<'_, WasmHostState>,
        src: Source<'_, u8>,
        _finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let this = self.get_mut();
        let mut src = src.as_direct(store);
        let piece = src.remaining();
        let n = piece.len();
        if this.bytes.len().saturating_add(n) > this.max {
            this.over = true;
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        this.bytes.extend_from_slice(piece);
        src.mark_read(n);
        Poll::Ready(Ok(StreamResult::Completed))
    }
}

impl Drop for Gather {
    /// wasmtime drops the consumer once the writer has dropped its end (or
    /// this consumer stopped).
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send((std::mem::take(&mut self.bytes).freeze(), self.over));
        }
    }
}

/// Takes the value of a `terminal` future.
pub(super) struct Outcome(pub(super) Option<oneshot::Sender<Terminal>>);

impl FutureConsumer<WasmHostState> for Outcome {
    type Item = Terminal;

    fn poll_consume(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        store: StoreContextMut<'_, WasmHostState>,
        mut src: Source<'_, Terminal>,
        _finish: bool,
    ) -> Poll<wasmtime::Result<()>> {
        let mut value = None;
        src.read(store, &mut value)?;
        if let (Some(value), Some(done)) = (value, self.get_mut().0.take()) {
            let _ = done.send(value);
        }
        Poll::Ready(Ok(()))
    }
}

/// Reads the stream of `handle` to its end (at most `max` bytes) and
/// awaits its `terminal`, while the call's event loop runs.
pub(super) async fn collect(
    accessor: &Accessor<WasmHostState>,
    handle: StreamBodyHandle,
    max: usize,
) -> wasmtime::Result<Result<Body, Collected>> {
    let StreamBodyHandle {
        stream,
        terminal,
        size_hint,
        content_type,
        origin,
    } = handle;
    let (bytes_done, bytes) = oneshot::channel();
    let (terminal_done, ended) = oneshot::channel();
    accessor.with(|mut access| -> wasmtime::Result<()> {
        stream.pipe(
            &mut access,
            Gather {
                bytes: BytesMut::new(),
                max,
                over: false,
                done: Some(bytes_done),
            },
        )?;
        terminal.pipe(&mut access, Outcome(Some(terminal_done)))?;
        Ok(())
    })?;
    let (bytes, over) = bytes
        .await
        .map_err(|_| wasmtime::format_err!("the returned stream was lost"))?;
    if over {
        return Ok(Err(Collected::TooLong(max)));
    }
    // A guest that drops `terminal` unwritten ended its stream normally.
    if let Ok(Err(error)) = ended.await {
        return Ok(Err(Collected::Failed(error)));
    }
    Ok(Ok(super::convert::stream_body(
        bytes,
        size_hint,
        content_type,
        origin,
    )))
}

/// A stream a guest returned, pulled after its call returned, piece by
/// piece as the body's consumer asks (`produced_body.rs` owns the instance
/// meanwhile). It lives in the store's resource table, under the id the
/// produced body pulls by; the guest never sees it.
pub(crate) struct Returning {
    shared: Arc<Mutex<Pull>>,
    /// How the stream ended; taken once the stream has.
    terminal: Option<oneshot::Receiver<Terminal>>,
}

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
    let shared = Arc::new(Mutex::new(Pull::default()));
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
