//! The plugin worlds, behind one trait so instance pooling, limits and
//! recovery are written once.

use std::future::Future;

use wasmtime::Store;
use wasmtime::component::InstancePre;

use crate::bindings::{bean, policy, processor, source};
use crate::host_state::WasmHostState;

/// The associated items every world implements the same way: its
/// bindings' types, `pre` (type-checks the component against the world),
/// `instantiate`, and `init` as the world has it: `init()`,
/// `init(config)`, or none (a no-op).
macro_rules! world_bindings {
    ($module:ident :: $pre:ident, $bindings:ty, init $($how:tt)*) => {
        type Pre = $module::$pre<WasmHostState>;
        type Bindings = $bindings;

        fn pre(
            pre: wasmtime::component::InstancePre<WasmHostState>,
        ) -> wasmtime::Result<Self::Pre> {
            $module::$pre::new(pre)
        }

        async fn instantiate(
            pre: &Self::Pre,
            store: &mut wasmtime::Store<WasmHostState>,
        ) -> wasmtime::Result<Self::Bindings> {
            pre.instantiate_async(store).await
        }

        $crate::world::world_bindings!(@init $($how)*);
    };
    (@init ()) => {
        type InitArgs = ();

        async fn init(
            bindings: &Self::Bindings,
            store: &mut wasmtime::Store<WasmHostState>,
            _args: &(),
        ) -> wasmtime::Result<Result<(), String>> {
            bindings.call_init(store).await
        }
    };
    (@init (config)) => {
        type InitArgs = Vec<(String, String)>;

        async fn init(
            bindings: &Self::Bindings,
            store: &mut wasmtime::Store<WasmHostState>,
            args: &Vec<(String, String)>,
        ) -> wasmtime::Result<Result<(), String>> {
            bindings.call_init(store, args).await
        }
    };
    (@init none) => {
        type InitArgs = ();

        async fn init(
            _bindings: &Self::Bindings,
            _store: &mut wasmtime::Store<WasmHostState>,
            _args: &(),
        ) -> wasmtime::Result<Result<(), String>> {
            Ok(Ok(()))
        }
    };
}
pub(crate) use world_bindings;

/// A WIT world whose components the host can instantiate and initialise.
pub(crate) trait PluginWorld: Send + Sync + 'static {
    /// The world's name, for errors.
    const NAME: &'static str;
    /// Whether its plugins may call endpoints (`camel-call`, `camel-poll`)
    /// when their `allow-call` grants it.
    const MAY_CALL: bool = true;
    /// Whether its plugins may change their state unless `state-writes`
    /// says otherwise.
    const STATE_WRITES_BY_DEFAULT: bool = true;
    /// Whether the world belongs to rust-camel's `camel:plugin@1.0.0`
    /// contract (its components run on the engine with component-model
    /// async; see [`crate::compat`]).
    const COMPAT: bool = false;
    /// Calls after which an instance is dropped when `recycle-after` is not
    /// set: `None` keeps instances for as long as they are sound.
    const RECYCLE_AFTER: Option<u64> = None;
    /// The pre-instantiated, type-checked component.
    type Pre: Send + Sync + 'static;
    /// A live instance's typed exports.
    type Bindings: Send + 'static;
    /// What `init` receives.
    type InitArgs: Send + Sync + 'static;

    /// Checks the component's exports against the world.
    fn pre(pre: InstancePre<WasmHostState>) -> wasmtime::Result<Self::Pre>;

    /// Creates an instance in `store`.
    fn instantiate(
        pre: &Self::Pre,
        store: &mut Store<WasmHostState>,
    ) -> impl Future<Output = wasmtime::Result<Self::Bindings>> + Send;

    /// Runs the guest's `init` export.
    fn init(
        bindings: &Self::Bindings,
        store: &mut Store<WasmHostState>,
        args: &Self::InitArgs,
    ) -> impl Future<Output = wasmtime::Result<Result<(), String>>> + Send;

    /// The next piece of the body the guest produces under `id`
    /// (`body-source.next`). Worlds without a `body-source` export keep
    /// the default: such a guest cannot have produced a body.
    fn next(
        _bindings: &Self::Bindings,
        _store: &mut Store<WasmHostState>,
        _id: u32,
        _max: u32,
    ) -> impl Future<Output = wasmtime::Result<NextPiece>> + Send {
        async move {
            Err(wasmtime::format_err!(
                "a {} plugin does not stream bodies",
                Self::NAME
            ))
        }
    }

    /// Tells the guest the consumer of body `id` went away
    /// (`body-source.cancel`); nothing to tell for worlds without one.
    fn cancel(
        _bindings: &Self::Bindings,
        _store: &mut Store<WasmHostState>,
        _id: u32,
    ) -> impl Future<Output = wasmtime::Result<()>> + Send {
        async move { Ok(()) }
    }
}

/// What `body-source.next` returns.
pub(crate) type NextPiece = Result<Option<Vec<u8>>, crate::bindings::wit::Error>;

/// The `processor` world: `init()` and `process(exchange)`.
#[derive(Debug)]
pub(crate) struct ProcessorWorld;

impl PluginWorld for ProcessorWorld {
    const NAME: &'static str = "processor";
    world_bindings!(processor::ProcessorPre, processor::Processor, init());

    async fn next(
        bindings: &Self::Bindings,
        store: &mut Store<WasmHostState>,
        id: u32,
        max: u32,
    ) -> wasmtime::Result<NextPiece> {
        bindings
            .camel_wasm_body_source()
            .call_next(store, id, max)
            .await
    }

    async fn cancel(
        bindings: &Self::Bindings,
        store: &mut Store<WasmHostState>,
        id: u32,
    ) -> wasmtime::Result<()> {
        bindings
            .camel_wasm_body_source()
            .call_cancel(store, id)
            .await
    }
}

/// The `bean` world: `init(config)`, `methods()` and `invoke(method, exchange)`.
#[derive(Debug)]
pub(crate) struct BeanWorld;

impl PluginWorld for BeanWorld {
    const NAME: &'static str = "bean";
    world_bindings!(bean::BeanPre, bean::Bean, init(config));

    async fn next(
        bindings: &Self::Bindings,
        store: &mut Store<WasmHostState>,
        id: u32,
        max: u32,
    ) -> wasmtime::Result<NextPiece> {
        bindings
            .camel_wasm_bean_body_source()
            .call_next(store, id, max)
            .await
    }

    async fn cancel(
        bindings: &Self::Bindings,
        store: &mut Store<WasmHostState>,
        id: u32,
    ) -> wasmtime::Result<()> {
        bindings
            .camel_wasm_bean_body_source()
            .call_cancel(store, id)
            .await
    }
}

/// The `policy` world: `init(config)` and `evaluate(check)`. Policies make
/// no calls, write no state by default and stream no bodies.
#[derive(Debug)]
pub(crate) struct PolicyWorld;

impl PluginWorld for PolicyWorld {
    const NAME: &'static str = "policy";
    const MAY_CALL: bool = false;
    const STATE_WRITES_BY_DEFAULT: bool = false;
    world_bindings!(policy::PolicyPre, policy::Policy, init(config));
}

/// The `source` world: `init()`, `plan()`, `on-event(event)` and
/// `on-reply(exchange)`. Sources stream no bodies of their own.
#[derive(Debug)]
pub(crate) struct SourceWorld;

impl PluginWorld for SourceWorld {
    const NAME: &'static str = "source";
    world_bindings!(source::SourcePre, source::Source, init());
}
