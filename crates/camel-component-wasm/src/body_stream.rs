//! Stream bodies across the boundary: the `body-stream` resource.
//!
//! In: an exchange whose body is a rust-camel `Body::Stream` reaches the
//! guest as a `stream` body, a handle the guest reads piece by piece
//! ([`read`]); nothing is materialised. Returning the handle passes what is
//! left of the stream on, untouched.
//!
//! Out: a guest asks for a handle with `produce-body(id)` and returns it;
//! the host then pulls the bytes from the guest's `body-source` export (see
//! `instance_pool.rs`, which keeps the instance for that).
//!
//! A handle belongs to the call it was made in: once that call has
//! returned, reading a handle the guest kept fails, and its stream is
//! dropped with the call.

use bytes::Bytes;
use camel_api::{CamelError, StreamBody, StreamMetadata};
use futures::StreamExt as _;
use futures::stream::BoxStream;
use wasmtime::component::Resource;

use crate::bindings::wit;
use crate::host_state::WasmHostState;

/// The host side of a `body-stream` handle.
///
/// `pub` only because the generated bindings re-export it; the module is
/// private.
#[allow(unreachable_pub, reason = "re-exported by the generated bindings")]
#[derive(Debug)]
pub enum BodyStream {
    /// An exchange's streamed body, read by the guest.
    Source(Source),
    /// A body the guest produces under `id`.
    Produced {
        /// The guest's id for it.
        id: u32,
    },
}

/// A stream body being read by a guest.
#[allow(unreachable_pub, reason = "part of `BodyStream`")]
pub struct Source {
    /// The rest of the stream; `None` once it has ended, failed or its call
    /// finished.
    stream: Option<BoxStream<'static, Result<Bytes, CamelError>>>,
    /// Bytes of the last chunk the guest has not read yet.
    pending: Bytes,
    metadata: StreamMetadata,
    /// The call (per store) it was handed to.
    call: u64,
}

impl BodyStream {
    /// Takes the stream out of a rust-camel stream body, for call `call`.
    ///
    /// # Errors
    ///
    /// If another consumer already took the stream.
    pub(crate) fn source(body: StreamBody, call: u64) -> Result<Self, String> {
        let stream = body
            .stream
            .try_lock()
            .map_err(|_| "the streamed body is being read elsewhere".to_string())?
            .take()
            .ok_or_else(|| "the streamed body was already consumed".to_string())?;
        Ok(BodyStream::Source(Source {
            stream: Some(stream),
            pending: Bytes::new(),
            metadata: body.metadata,
            call,
        }))
    }

    /// What the guest handed back, as a rust-camel body part: the rest of a
    /// source stream (bytes it did not read first), or a produced body's id.
    pub(crate) fn into_returned(self) -> Returned {
        match self {
            BodyStream::Produced { id } => Returned::Produced(id),
            BodyStream::Source(source) => {
                let Source {
                    stream,
                    pending,
                    metadata,
                    ..
                } = source;
                let rest: BoxStream<'static, Result<Bytes, CamelError>> = match stream {
                    Some(stream) if pending.is_empty() => stream,
                    Some(stream) => futures::stream::once(async move { Ok(pending) })
                        .chain(stream)
                        .boxed(),
                    None if pending.is_empty() => futures::stream::empty().boxed(),
                    None => futures::stream::once(async move { Ok(pending) }).boxed(),
                };
                Returned::Stream(StreamBody {
                    stream: std::sync::Arc::new(tokio::sync::Mutex::new(Some(rest))),
                    metadata,
                })
            }
        }
    }

    /// Ends the stream when its call has finished (a handle the guest kept).
    pub(crate) fn finish(&mut self) {
        if let BodyStream::Source(source) = self {
            source.stream = None;
            source.pending = Bytes::new();
        }
    }
}

/// Gives the guest handles for the streamed bodies of `exchange` (the
/// bodies `exchange_to_wit` left as streams), for the call in progress.
///
/// # Errors
///
/// A host error if the resource table is full; the reason if a stream was
/// already consumed elsewhere.
pub(crate) fn hand_over(
    state: &mut WasmHostState,
    streams: crate::convert::InStreams,
    exchange: &mut wit::Exchange,
) -> wasmtime::Result<()> {
    let call = state.call.seq;
    let Some(streams) = streams.0 else {
        return Ok(());
    };
    let [input, output] = *streams;
    let slots = [
        (input, Some(&mut exchange.input)),
        (output, exchange.output.as_mut()),
    ];
    for (stream, message) in slots {
        let (Some(stream), Some(message)) = (stream, message) else {
            continue;
        };
        let stream = BodyStream::source(stream, call).map_err(wasmtime::Error::msg)?;
        let handle = state.table.push(stream)?;
        state.call.streams.push(handle.rep());
        message.body = wit::Body::Stream(handle);
    }
    Ok(())
}

/// Takes the stream handle out of `body` (leaving `Empty`), if it holds one.
pub(crate) fn take(
    state: &mut WasmHostState,
    body: &mut wit::Body,
) -> wasmtime::Result<Option<Returned>> {
    if !matches!(body, wit::Body::Stream(_)) {
        return Ok(None);
    }
    let wit::Body::Stream(handle) = std::mem::replace(body, wit::Body::Empty) else {
        return Ok(None);
    };
    let rep = handle.rep();
    let stream = state.table.delete(handle)?;
    state.call.streams.retain(|r| *r != rep);
    Ok(Some(stream.into_returned()))
}

/// Stream bodies taken out of a result: input, output; `None` (nothing
/// allocated) when the result has none, the common case.
pub(crate) type Detached = Option<Box<[Option<Returned>; 2]>>;

/// Takes the stream handles out of a returned exchange.
pub(crate) fn detach(
    state: &mut WasmHostState,
    exchange: &mut wit::Exchange,
) -> wasmtime::Result<Detached> {
    let is_stream = |body: &wit::Body| matches!(body, wit::Body::Stream(_));
    let any = is_stream(&exchange.input.body)
        || exchange.output.as_ref().is_some_and(|m| is_stream(&m.body));
    if !any {
        return Ok(None);
    }
    let input = take(state, &mut exchange.input.body)?;
    let output = match exchange.output.as_mut() {
        Some(message) => take(state, &mut message.body)?,
        None => None,
    };
    Ok(Some(Box::new([input, output])))
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("open", &self.stream.is_some())
            .field("pending", &self.pending.len())
            .field("metadata", &self.metadata)
            .field("call", &self.call)
            .finish()
    }
}

/// A stream body a guest returned.
pub(crate) enum Returned {
    /// The rest of a stream it was given.
    Stream(StreamBody),
    /// A body it produces under this id.
    Produced(u32),
}

/// Largest piece one `read` hands over.
const MAX_READ: u32 = 1 << 20;

/// Reads up to `max` bytes of a source stream for the guest: the piece
/// itself, handed to the guest without an intermediate copy.
async fn read_piece(
    state: &mut WasmHostState,
    stream: &Resource<BodyStream>,
    max: u32,
) -> wasmtime::Result<Result<Bytes, wit::Error>> {
    let call = state.call.seq;
    let source = match state.table.get_mut(stream)? {
        BodyStream::Source(source) => source,
        BodyStream::Produced { .. } => {
            return Ok(Err(wit::Error::Denied(
                "a plugin cannot read a body it produces itself".to_string(),
            )));
        }
    };
    if source.call != call {
        return Ok(Err(wit::Error::Failed(
            "the exchange this body belongs to has finished".to_string(),
        )));
    }
    let max = max.clamp(1, MAX_READ) as usize;
    loop {
        if !source.pending.is_empty() {
            if source.pending.len() <= max {
                return Ok(Ok(std::mem::take(&mut source.pending)));
            }
            return Ok(Ok(source.pending.split_to(max)));
        }
        let Some(stream) = source.stream.as_mut() else {
            return Ok(Ok(Bytes::new()));
        };
        match stream.next().await {
            Some(Ok(chunk)) => source.pending = chunk,
            Some(Err(err)) => {
                source.stream = None;
                return Ok(Err(wit::Error::Io(format!(
                    "the streamed body failed: {err}"
                ))));
            }
            None => source.stream = None,
        }
    }
}

/// Replaces the generated `body-stream.read` import with one that lowers
/// the piece straight from the source's `Bytes` into guest memory (the
/// generated one needs a `Vec`, an extra copy of every piece the host does
/// not own alone).
pub(crate) fn link_read(
    linker: &mut wasmtime::component::Linker<WasmHostState>,
) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let linked = linker.instance("camel:wasm/types@0.2.0")?.func_wrap_async(
        "[method]body-stream.read",
        |mut store: wasmtime::StoreContextMut<'_, WasmHostState>,
         (stream, max): (Resource<BodyStream>, u32)| {
            Box::new(async move { Ok((read_piece(store.data_mut(), &stream, max).await?,)) })
        },
    );
    linker.allow_shadowing(false);
    linked
}

impl wit::HostBodyStream for WasmHostState {
    /// Shadowed by [`link_read`]; kept for the generated trait.
    async fn read(
        &mut self,
        stream: Resource<BodyStream>,
        max: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, wit::Error>> {
        Ok(read_piece(self, &stream, max).await?.map(Vec::from))
    }

    fn size_hint(&mut self, stream: Resource<BodyStream>) -> wasmtime::Result<Option<u64>> {
        Ok(match self.table.get(&stream)? {
            BodyStream::Source(source) => source.metadata.size_hint,
            BodyStream::Produced { .. } => None,
        })
    }

    fn content_type(&mut self, stream: Resource<BodyStream>) -> wasmtime::Result<Option<String>> {
        Ok(match self.table.get(&stream)? {
            BodyStream::Source(source) => source.metadata.content_type.clone(),
            BodyStream::Produced { .. } => None,
        })
    }

    fn drop(&mut self, stream: Resource<BodyStream>) -> wasmtime::Result<()> {
        let rep = stream.rep();
        self.table.delete(stream)?;
        self.call.streams.retain(|r| *r != rep);
        Ok(())
    }
}
