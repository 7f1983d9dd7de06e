//! The raw wasmtime floor: the same guest called straight through wasmtime,
//! with no rust-camel and none of the host crate's code.
//!
//! Own bindings of the `processor` world, WASI p2 linked, a host that
//! refuses everything, one reused instance per lane and `call_process` per
//! exchange. The engine is configured like the host's (component model,
//! epoch interruption) so the guest's compiled code is the same; the epoch
//! never advances, so the guest never yields.

use wasmtime::component::{HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "processor",
        imports: {
            "camel:wasm/host.camel-call": async | trappable,
            "camel:wasm/host.camel-call-message": async | trappable,
            "camel:wasm/host.camel-poll": async | trappable,
            "camel:wasm/types.[method]body-stream.read": async | trappable,
            default: trappable,
        },
        exports: { default: async },
        with: { "camel:wasm/types.body-stream": super::NoStream },
    });
}

use bindings::camel::wasm::host as wit_host;
pub(crate) use bindings::camel::wasm::types as wit;
use bindings::{Processor, ProcessorPre};

/// The store data: an empty WASI context and nothing else.
pub(crate) struct RawState {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for RawState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The floor offers no stream bodies: the benchmarked guests get none.
#[allow(unreachable_pub, reason = "re-exported by the generated bindings")]
pub struct NoStream;

impl wit::Host for RawState {}

impl wit::HostBodyStream for RawState {
    async fn read(
        &mut self,
        _stream: Resource<NoStream>,
        _max: u32,
    ) -> wasmtime::Result<Result<Vec<u8>, wit::Error>> {
        wasmtime::bail!("no streams in benchmarks")
    }

    fn size_hint(&mut self, _stream: Resource<NoStream>) -> wasmtime::Result<Option<u64>> {
        wasmtime::bail!("no streams in benchmarks")
    }

    fn content_type(&mut self, _stream: Resource<NoStream>) -> wasmtime::Result<Option<String>> {
        wasmtime::bail!("no streams in benchmarks")
    }

    fn drop(&mut self, _stream: Resource<NoStream>) -> wasmtime::Result<()> {
        Ok(())
    }
}

/// A host that offers nothing: the benchmarked guests never call it.
impl wit_host::Host for RawState {
    async fn camel_call(
        &mut self,
        _uri: String,
        _payload: String,
    ) -> wasmtime::Result<Result<String, wit::Error>> {
        Ok(Err(wit::Error::Denied("not in benchmarks".to_string())))
    }

    async fn camel_call_message(
        &mut self,
        _uri: String,
        _message: wit::Message,
        _timeout_ms: Option<u32>,
    ) -> wasmtime::Result<Result<wit::Message, wit::Error>> {
        Ok(Err(wit::Error::Denied("not in benchmarks".to_string())))
    }

    async fn camel_poll(
        &mut self,
        _uri: String,
        _timeout_ms: u32,
    ) -> wasmtime::Result<Result<Option<wit::Exchange>, wit::Error>> {
        Ok(Err(wit::Error::Denied("not in benchmarks".to_string())))
    }

    fn route_id(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(None)
    }

    fn produce_body(&mut self, _id: u32) -> wasmtime::Result<Resource<NoStream>> {
        wasmtime::bail!("no streams in benchmarks")
    }

    fn get_property(&mut self, _key: String) -> wasmtime::Result<Option<String>> {
        Ok(None)
    }

    fn set_property(&mut self, _key: String, _value: String) -> wasmtime::Result<()> {
        Ok(())
    }

    fn host_store(
        &mut self,
        _key: String,
        _value: String,
    ) -> wasmtime::Result<Result<(), wit::Error>> {
        Ok(Err(wit::Error::Denied("not in benchmarks".to_string())))
    }

    fn host_store_with_ttl(
        &mut self,
        _key: String,
        _value: String,
        _ttl_ms: u32,
    ) -> wasmtime::Result<Result<(), wit::Error>> {
        Ok(Err(wit::Error::Denied("not in benchmarks".to_string())))
    }

    fn host_load(&mut self, _key: String) -> wasmtime::Result<Result<Option<String>, wit::Error>> {
        Ok(Ok(None))
    }

    fn host_increment(
        &mut self,
        _key: String,
        _delta: i64,
    ) -> wasmtime::Result<Result<i64, wit::Error>> {
        Ok(Err(wit::Error::Denied("not in benchmarks".to_string())))
    }

    fn host_compare_and_set(
        &mut self,
        _key: String,
        _expected: Option<String>,
        _value: String,
    ) -> wasmtime::Result<Result<bool, wit::Error>> {
        Ok(Err(wit::Error::Denied("not in benchmarks".to_string())))
    }
}

/// One guest compiled and pre-instantiated on a bare engine.
pub(crate) struct RawGuest {
    engine: Engine,
    pre: ProcessorPre<RawState>,
}

impl RawGuest {
    /// Compiles the component at `path` and links it.
    pub(crate) fn load(path: &str) -> Self {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        let engine = Engine::new(&config).expect("engine");
        let mut linker = Linker::<RawState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("link WASI");
        wit_host::add_to_linker::<RawState, HasSelf<RawState>>(&mut linker, |s| s)
            .expect("link host");
        wit::add_to_linker::<RawState, HasSelf<RawState>>(&mut linker, |s| s).expect("link types");
        let component = wasmtime::component::Component::from_file(&engine, path)
            .unwrap_or_else(|e| panic!("compile {path}: {e:?}"));
        let pre = ProcessorPre::new(linker.instantiate_pre(&component).expect("pre"))
            .expect("processor world");
        RawGuest { engine, pre }
    }

    /// A fresh instance whose `init` has run.
    pub(crate) async fn instance(&self) -> RawInstance {
        let mut store = Store::new(
            &self.engine,
            RawState {
                wasi: WasiCtx::builder().build(),
                table: ResourceTable::new(),
            },
        );
        // The epoch never advances here: this deadline is never reached.
        store.set_epoch_deadline(1 << 40);
        let bindings = self
            .pre
            .instantiate_async(&mut store)
            .await
            .expect("instantiate");
        bindings
            .call_init(&mut store)
            .await
            .expect("init trapped")
            .expect("init failed");
        RawInstance { store, bindings }
    }
}

/// A live instance, reused for every call of one lane.
pub(crate) struct RawInstance {
    store: Store<RawState>,
    bindings: Processor,
}

impl RawInstance {
    /// One `process` call; returns the reply's input body, for the next call.
    pub(crate) async fn process(&mut self, body: wit::Body, correlation_id: &str) -> wit::Body {
        let exchange = wit::Exchange {
            input: wit::Message {
                headers: Vec::new(),
                body,
            },
            output: None,
            properties: Vec::new(),
            pattern: wit::Pattern::InOut,
            correlation_id: correlation_id.to_string(),
        };
        let reply = self
            .bindings
            .call_process(&mut self.store, &exchange)
            .await
            .expect("process trapped")
            .unwrap_or_else(|e| panic!("guest error: {e:?}"));
        reply.output.unwrap_or(reply.input).body
    }
}
