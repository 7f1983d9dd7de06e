//! The stream body of an exchange a source submits: forwarded to the route
//! as a rust-camel `Body::Stream` while the guest's `run` keeps going (its
//! event loop moves the bytes), up to `max-stream-bytes`; the stream's
//! `terminal` error, if any, ends the body with that error.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use camel_api::{Body, CamelError, StreamBody, StreamMetadata};
use futures::StreamExt as _;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::PollSender;
use wasmtime::StoreContextMut;
use wasmtime::component::{Accessor, Source, StreamConsumer, StreamResult};

use super::requests::Piece;
use crate::compat::bindings::types::{StreamBodyHandle, WasmError};
use crate::compat::streams::{Outcome, Terminal};
use crate::host_state::WasmHostState;

/// Pieces buffered between the guest and the route.
const PIECES: usize = 4;

/// Passes what the guest writes on to the route's reader.
struct Forward {
    sink: PollSender<Piece>,
    seen: usize,
    max: usize,
}

impl StreamConsumer<WasmHostState> for Forward {
    type Item = u8;

    fn poll_consume(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        store: StoreContextMut<'_, WasmHostState>,
        src: Source<'_, u8>,
        finish: bool,
    ) -> Poll<wasmtime::Result<StreamResult>> {
        let this = self.get_mut();
        match this.sink.poll_reserve(cx) {
            Poll::Ready(Ok(())) => {}
            // The route dropped the body: stop reading.
            Poll::Ready(Err(_)) => return Poll::Ready(Ok(StreamResult::Dropped)),
            Poll::Pending if finish => return Poll::Ready(Ok(StreamResult::Cancelled)),
            Poll::Pending => return Poll::Pending,
        }
        let mut src = src.as_direct(store);
        let piece = src.remaining();
        let n = piece.len();
        if n == 0 {
            this.sink.abort_send();
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        if this.seen.saturating_add(n) > this.max {
            let _ = this.sink.send_item(Err(CamelError::Io(format!(
                "the submitted stream body is longer than {} bytes (max-stream-bytes)",
                this.max
            ))));
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        this.seen += n;
        let chunk = Bytes::copy_from_slice(piece);
        src.mark_read(n);
        let _ = this.sink.send_item(Ok(chunk));
        Poll::Ready(Ok(StreamResult::Completed))
    }
}

/// Starts forwarding the stream of `handle` (on the event loop of the
/// call `accessor` belongs to) and returns the body the route reads.
pub(super) fn forward(
    accessor: &Accessor<WasmHostState>,
    handle: StreamBodyHandle,
    max: usize,
) -> wasmtime::Result<Body> {
    let StreamBodyHandle {
        stream,
        terminal,
        size_hint,
        content_type,
        origin,
    } = handle;
    let (sink, pieces) = mpsc::channel::<Piece>(PIECES);
    let (terminal_done, ended) = oneshot::channel::<Terminal>();
    accessor.with(|mut access| -> wasmtime::Result<()> {
        stream.pipe(
            &mut access,
            Forward {
                sink: PollSender::new(sink),
                seen: 0,
                max,
            },
        )?;
        terminal.pipe(&mut access, Outcome(Some(terminal_done)))?;
        Ok(())
    })?;
    // The pieces, then the terminal's error if it has one. A guest that
    // ends without writing its terminal ended the stream normally.
    let tail = futures::stream::once(async move {
        match ended.await {
            Ok(Err(error)) => Some(Err(CamelError::Io(format!(
                "the source's stream body failed: {}",
                crate::guest_text::summary_owned(describe(&error))
            )))),
            _ => None,
        }
    })
    .filter_map(|end| async move { end });
    let body = tokio_stream_of(pieces).chain(tail);
    Ok(Body::Stream(StreamBody {
        stream: Arc::new(tokio::sync::Mutex::new(Some(Box::pin(body)))),
        metadata: StreamMetadata {
            size_hint,
            content_type,
            origin,
        },
    }))
}

/// The pieces of a channel as a stream, ending at the first error.
fn tokio_stream_of(mut pieces: mpsc::Receiver<Piece>) -> impl futures::Stream<Item = Piece> {
    let mut failed = false;
    futures::stream::poll_fn(move |cx| {
        if failed {
            return Poll::Ready(None);
        }
        let next = pieces.poll_recv(cx);
        if let Poll::Ready(Some(Err(_))) = &next {
            failed = true;
        }
        next
    })
}

fn describe(error: &WasmError) -> String {
    match error {
        WasmError::ProcessorError(m) => format!("processor-error: {m}"),
        WasmError::TypeConversion(m) => format!("type-conversion: {m}"),
        WasmError::Io(m) => format!("io: {m}"),
        WasmError::Timeout => "timeout".to_string(),
    }
}
