//! Moves a body through a guest in two designs, so their floors can be
//! compared in one run:
//!
//! - *list*: the guest pulls pieces from a host resource (`source.read`
//!   returns `list<u8>`), and the host pulls relayed pieces with an export
//!   (`next` returns `option<list<u8>>`): what camel-component-wasm does;
//! - *stream*: component-model async: the body is a `stream<u8>` handed to
//!   an `async` export, and a relay returns another `stream<u8>`.
//!
//! Every body is `count` pieces, all the same [`Bytes`], so building it costs
//! nothing. Each design copies a piece once into the guest and, for a relay,
//! once out of it.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::channel::oneshot;
use wasmtime::component::{
    Component, Destination, Linker, Resource, ResourceTable, ResourceType, Source, StreamConsumer,
    StreamProducer, StreamReader, StreamResult,
};
use wasmtime::{Config, Engine, Result, Store, StoreContextMut};

/// Size of each piece read or relayed.
pub const PIECE: usize = 64 * 1024;

/// Where the guests are: `$FLOORS_GUESTS`, or the release output of
/// `cargo build --target wasm32-wasip2` in this experiment's `target/`.
fn guest_dir() -> PathBuf {
    std::env::var_os("FLOORS_GUESTS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/release"),
        PathBuf::from,
    )
}

/// Compiles one guest, with a hint to build it when it is missing.
fn load(engine: &Engine, file: &str) -> Result<Component> {
    let path = guest_dir().join(file);
    if !path.exists() {
        wasmtime::bail!(
            "{} is missing: run ./run.sh (it builds the guests)",
            path.display()
        );
    }
    Component::from_file(engine, path)
}

/// Stubs the WASI imports Rust's `std` adds to a guest; these guests never
/// call them.
fn stub_wasi<T>(linker: &mut Linker<T>, component: &Component) -> Result<()> {
    linker.define_unknown_imports_as_traps(component)
}

/// A body of `left` more copies of `piece`.
#[derive(Debug)]
struct Pieces {
    /// The piece every read hands over.
    piece: Bytes,
    /// Pieces still to hand over.
    left: usize,
}

impl Pieces {
    /// The next piece, if the body has not ended.
    fn next(&mut self) -> Option<Bytes> {
        self.left = self.left.checked_sub(1)?;
        Some(self.piece.clone())
    }
}

/// The `source` resource of the list guest: the body not yet read.
#[derive(Debug)]
struct ListSource {
    /// Pieces not yet started.
    pieces: Pieces,
    /// What is left of the piece being read.
    pending: Bytes,
}

/// The list design: engine, guest, and linker with the `source` resource.
pub struct ListFloor {
    engine: Engine,
    component: Component,
    linker: Linker<ResourceTable>,
}

impl ListFloor {
    /// Loads the list guest. `concurrency` turns on wasmtime's
    /// component-model-async machinery (`Config::concurrency_support`); the
    /// main host runs without it, since it does not enable that feature.
    pub fn new(concurrency: bool) -> Result<Self> {
        let mut config = Config::new();
        config.concurrency_support(concurrency);
        let engine = Engine::new(&config)?;
        let component = load(&engine, "list_guest.wasm")?;
        let mut linker = Linker::<ResourceTable>::new(&engine);
        let drop_source = |mut store: StoreContextMut<'_, ResourceTable>, rep| {
            store
                .data_mut()
                .delete(Resource::<ListSource>::new_own(rep))?;
            Ok(())
        };
        // The world's `use host.{source}` imports the type at the root too.
        let source = ResourceType::host::<ListSource>();
        linker.root().resource("source", source, drop_source)?;
        let mut host = linker.instance("floors:pieces/host")?;
        host.resource("source", source, drop_source)?;
        // Async like the main host's `body-stream.read`; the piece is lowered
        // straight from its `Bytes`.
        host.func_wrap_async(
            "[method]source.read",
            |mut store: StoreContextMut<'_, ResourceTable>,
             (source, max): (Resource<ListSource>, u32)| {
                Box::new(async move {
                    let source = store.data_mut().get_mut(&source)?;
                    if source.pending.is_empty() {
                        source.pending = source.pieces.next().unwrap_or_default();
                    }
                    let max = (max as usize).min(source.pending.len());
                    Ok((source.pending.split_to(max),))
                })
            },
        )?;
        stub_wasi(&mut linker, &component)?;
        Ok(Self {
            engine,
            component,
            linker,
        })
    }

    /// A fresh instance and the body as a `source` handle.
    async fn start(
        &self,
        piece: &Bytes,
        count: usize,
    ) -> Result<(
        Store<ResourceTable>,
        wasmtime::component::Instance,
        Resource<ListSource>,
    )> {
        let mut store = Store::new(&self.engine, ResourceTable::new());
        let instance = self
            .linker
            .instantiate_async(&mut store, &self.component)
            .await?;
        let source = store.data_mut().push(ListSource {
            pieces: Pieces {
                piece: piece.clone(),
                left: count,
            },
            pending: Bytes::new(),
        })?;
        Ok((store, instance, source))
    }

    /// The guest reads `count` copies of `piece` to the end; returns the
    /// bytes it counted.
    pub async fn count(&self, piece: &Bytes, count: usize) -> Result<u64> {
        let (mut store, instance, source) = self.start(piece, count).await?;
        let f = instance.get_typed_func::<(Resource<ListSource>,), (u64,)>(&mut store, "count")?;
        Ok(f.call_async(&mut store, (source,)).await?.0)
    }

    /// The host pulls the body through the guest with `next` until it ends;
    /// `each` sees every relayed piece. Returns the bytes relayed.
    pub async fn relay(
        &self,
        piece: &Bytes,
        count: usize,
        mut each: impl FnMut(Bytes),
    ) -> Result<u64> {
        let (mut store, instance, source) = self.start(piece, count).await?;
        let start =
            instance.get_typed_func::<(Resource<ListSource>,), ()>(&mut store, "relay-start")?;
        start.call_async(&mut store, (source,)).await?;
        let next = instance.get_typed_func::<(u32,), (Option<Bytes>,)>(&mut store, "next")?;
        let mut total = 0;
        while let (Some(piece),) = next.call_async(&mut store, (PIECE as u32,)).await? {
            total += piece.len() as u64;
            each(piece);
        }
        Ok(total)
    }
}

impl<D> StreamProducer<D> for Pieces {
    type Item = u8;
    type Buffer = Bytes;

    /// Hands one piece to each read; wasmtime copies it into the reader's
    /// buffer (and keeps what did not fit for the next read).
    fn poll_produce<'a>(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        mut store: StoreContextMut<'a, D>,
        mut dst: Destination<'a, u8, Bytes>,
        _finish: bool,
    ) -> Poll<Result<StreamResult>> {
        let this = self.get_mut();
        if this.left == 0 {
            return Poll::Ready(Ok(StreamResult::Dropped));
        }
        // A zero-length read asks whether a piece is ready: one always is.
        if dst.remaining(&mut store) == Some(0) {
            return Poll::Ready(Ok(StreamResult::Completed));
        }
        if let Some(piece) = this.next() {
            dst.set_buffer(piece);
        }
        Poll::Ready(Ok(StreamResult::Completed))
    }
}

/// Reads a guest's stream: copies each write out as a [`Bytes`] for
/// `each`, and reports the total once the guest drops its end.
struct Collect<F> {
    /// Sees every piece.
    each: F,
    /// Bytes read so far.
    total: u64,
    /// Receives `total` when the stream ends.
    done: Option<oneshot::Sender<u64>>,
}

impl<D, F: FnMut(Bytes) + Send + Unpin + 'static> StreamConsumer<D> for Collect<F> {
    type Item = u8;

    fn poll_consume(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        store: StoreContextMut<D>,
        src: Source<'_, u8>,
        _finish: bool,
    ) -> Poll<Result<StreamResult>> {
        let this = self.get_mut();
        let mut src = src.as_direct(store);
        let piece = Bytes::copy_from_slice(src.remaining());
        src.mark_read(piece.len());
        this.total += piece.len() as u64;
        (this.each)(piece);
        Poll::Ready(Ok(StreamResult::Completed))
    }
}

impl<F> Drop for Collect<F> {
    /// wasmtime drops the consumer when the writer has dropped its end.
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send(self.total);
        }
    }
}

/// The component-model async design: engine and guest.
pub struct StreamFloor {
    engine: Engine,
    component: Component,
    linker: Linker<()>,
}

impl StreamFloor {
    /// Loads the async guest, with component-model async enabled.
    pub fn new() -> Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model_async(true);
        let engine = Engine::new(&config)?;
        let component = load(&engine, "async_guest.wasm")?;
        let mut linker = Linker::new(&engine);
        stub_wasi(&mut linker, &component)?;
        Ok(Self {
            engine,
            component,
            linker,
        })
    }

    /// A fresh store and instance.
    async fn start(&self) -> Result<(Store<()>, wasmtime::component::Instance)> {
        let mut store = Store::new(&self.engine, ());
        let instance = self
            .linker
            .instantiate_async(&mut store, &self.component)
            .await?;
        Ok((store, instance))
    }

    /// The guest reads a `stream<u8>` of `count` copies of `piece` to its
    /// end; returns the bytes it counted.
    pub async fn count(&self, piece: &Bytes, count: usize) -> Result<u64> {
        let (mut store, instance) = self.start().await?;
        let f = instance.get_typed_func::<(StreamReader<u8>,), (u64,)>(&mut store, "count")?;
        let body = Pieces {
            piece: piece.clone(),
            left: count,
        };
        store
            .run_concurrent(async |access| {
                let stream = access.with(|mut store| StreamReader::new(&mut store, body))?;
                Ok(f.call_concurrent(access, (stream,)).await?.0)
            })
            .await?
    }

    /// The host writes the body into `relay` and reads the stream it
    /// returns to the end; `each` sees every relayed piece. Returns the bytes
    /// relayed.
    pub async fn relay(
        &self,
        piece: &Bytes,
        count: usize,
        each: impl FnMut(Bytes) + Send + Unpin + 'static,
    ) -> Result<u64> {
        let (mut store, instance) = self.start().await?;
        let f = instance
            .get_typed_func::<(StreamReader<u8>,), (StreamReader<u8>,)>(&mut store, "relay")?;
        let body = Pieces {
            piece: piece.clone(),
            left: count,
        };
        store
            .run_concurrent(async |access| {
                let stream = access.with(|mut store| StreamReader::new(&mut store, body))?;
                let (relayed,) = f.call_concurrent(access, (stream,)).await?;
                let (done, total) = oneshot::channel();
                let collect = Collect {
                    each,
                    total: 0,
                    done: Some(done),
                };
                access.with(|mut store| relayed.pipe(&mut store, collect))?;
                Ok(total.await?)
            })
            .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIECES: usize = 64;
    const TOTAL: u64 = (PIECE * PIECES) as u64;

    fn piece() -> Bytes {
        Bytes::from((0..PIECE).map(|i| i as u8).collect::<Vec<_>>())
    }

    #[test]
    fn list_count_and_relay() {
        let piece = piece();
        for concurrency in [false, true] {
            let floor = ListFloor::new(concurrency).unwrap();
            assert_eq!(
                futures::executor::block_on(floor.count(&piece, PIECES)).unwrap(),
                TOTAL
            );
            let mut same = true;
            let relayed =
                futures::executor::block_on(floor.relay(&piece, PIECES, |p| same &= p == piece));
            assert_eq!(relayed.unwrap(), TOTAL);
            assert!(same);
        }
    }

    #[test]
    fn stream_count_and_relay() {
        let piece = piece();
        let floor = StreamFloor::new().unwrap();
        assert_eq!(
            futures::executor::block_on(floor.count(&piece, PIECES)).unwrap(),
            TOTAL
        );
        let check = piece.clone();
        let relayed = futures::executor::block_on(floor.relay(&piece, PIECES, move |p| {
            assert_eq!(p, check.slice(..p.len()));
        }));
        assert_eq!(relayed.unwrap(), TOTAL);
    }
}
