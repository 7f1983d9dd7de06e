//! Stream bodies of the compat contract: a `stream-body-handle` is a
//! component-model `stream<u8>` plus a `terminal` future that says how the
//! stream ended.
//!
//! In: a rust-camel `Body::Stream` reaches the guest as a handle whose
//! stream yields the body's chunks as the guest reads them (nothing is read
//! ahead), and whose `terminal` resolves once the body has ended: `ok`, or
//! `io` with the source's error.
//!
//! Out: the first handle a guest returns is pulled after the call
//! (`returned.rs`); a second one in the same result (the output message's,
//! when the input's streams too) is read to its end here, during the call,
//! up to `max-stream-bytes`, and its `terminal` awaited.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use camel_api::{Body, CamelError, StreamBody, StreamMetadata};
use futures::Stream;
use futures::stream::BoxStream;
use tokio::sync::oneshot;
use wasmtime::StoreContextMut;
use wasmtime::component::{
    Accessor, Destination, FutureConsumer, FutureReader, Source, StreamConsumer, StreamProducer,
    StreamReader, StreamResult,
};

use super::bindings::types::{StreamBodyHandle, WasmError};
use crate::host_state::WasmHostState;

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
