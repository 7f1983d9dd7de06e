//! The compat contract's worlds, behind the same [`PluginWorld`] trait as
//! this host's own, so they share the instance pool and its protocol.
//!
//! Guests built with wit-bindgen 0.61 never free the memory their `async`
//! exports' arguments arrive in when those are passed indirectly (a
//! `wasm-exchange` always is): about 200 bytes of guest memory per
//! `process` or `invoke` call. Worlds with such exports therefore drop an
//! instance after [`ASYNC_RECYCLE_AFTER`] calls unless `recycle-after` says
//! otherwise, long before the leak can reach `max-memory`.

/// Calls after which an instance of a world with `async` exports is
/// replaced (some 200 KB leaked by then).
const ASYNC_RECYCLE_AFTER: Option<u64> = Some(1_000);

use wasmtime::Store;
use wasmtime::component::InstancePre;

use super::bindings::{bean, plugin, policy, source};
use crate::host_state::WasmHostState;
use crate::world::{NextPiece, PluginWorld};

/// `camel:plugin@1.0.0` world `plugin`: `init()` and `async process(exchange)`.
#[derive(Debug)]
pub(crate) struct CompatProcessorWorld;

impl PluginWorld for CompatProcessorWorld {
    const NAME: &'static str = "plugin (camel:plugin@1.0.0)";
    const COMPAT: bool = true;
    const RECYCLE_AFTER: Option<u64> = ASYNC_RECYCLE_AFTER;
    type Pre = plugin::PluginPre<WasmHostState>;
    type Bindings = plugin::Plugin;
    type InitArgs = ();

    fn pre(pre: InstancePre<WasmHostState>) -> wasmtime::Result<Self::Pre> {
        plugin::PluginPre::new(pre)
    }

    async fn instantiate(
        pre: &Self::Pre,
        store: &mut Store<WasmHostState>,
    ) -> wasmtime::Result<Self::Bindings> {
        pre.instantiate_async(store).await
    }

    async fn init(
        bindings: &Self::Bindings,
        store: &mut Store<WasmHostState>,
        _args: &(),
    ) -> wasmtime::Result<Result<(), String>> {
        bindings.call_init(store).await
    }

    async fn next(
        _: &Self::Bindings,
        store: &mut Store<WasmHostState>,
        id: u32,
        max: u32,
    ) -> wasmtime::Result<NextPiece> {
        super::streams::next_piece(store, id, max).await
    }

    async fn cancel(
        _: &Self::Bindings,
        store: &mut Store<WasmHostState>,
        id: u32,
    ) -> wasmtime::Result<()> {
        super::streams::cancel(store, id).await
    }
}

/// `camel:plugin@1.0.0` world `bean`: `init(config)`, `methods()` and
/// `async invoke(method, exchange)`.
#[derive(Debug)]
pub(crate) struct CompatBeanWorld;

impl PluginWorld for CompatBeanWorld {
    const NAME: &'static str = "bean (camel:plugin@1.0.0)";
    const COMPAT: bool = true;
    const RECYCLE_AFTER: Option<u64> = ASYNC_RECYCLE_AFTER;
    type Pre = bean::BeanPre<WasmHostState>;
    type Bindings = bean::Bean;
    type InitArgs = Vec<(String, String)>;

    fn pre(pre: InstancePre<WasmHostState>) -> wasmtime::Result<Self::Pre> {
        bean::BeanPre::new(pre)
    }

    async fn instantiate(
        pre: &Self::Pre,
        store: &mut Store<WasmHostState>,
    ) -> wasmtime::Result<Self::Bindings> {
        pre.instantiate_async(store).await
    }

    async fn init(
        bindings: &Self::Bindings,
        store: &mut Store<WasmHostState>,
        args: &Vec<(String, String)>,
    ) -> wasmtime::Result<Result<(), String>> {
        bindings.call_init(store, args).await
    }

    async fn next(
        _: &Self::Bindings,
        store: &mut Store<WasmHostState>,
        id: u32,
        max: u32,
    ) -> wasmtime::Result<NextPiece> {
        super::streams::next_piece(store, id, max).await
    }

    async fn cancel(
        _: &Self::Bindings,
        store: &mut Store<WasmHostState>,
        id: u32,
    ) -> wasmtime::Result<()> {
        super::streams::cancel(store, id).await
    }
}

/// `camel:plugin@1.0.0` world `authorization-policy`: `init(config)` and
/// `evaluate(exchange)`. Like this host's own policies, it calls nothing
/// and its state is read-only unless granted.
#[derive(Debug)]
pub(crate) struct CompatPolicyWorld;

impl PluginWorld for CompatPolicyWorld {
    const NAME: &'static str = "authorization-policy (camel:plugin@1.0.0)";
    const MAY_CALL: bool = false;
    const STATE_WRITES_BY_DEFAULT: bool = false;
    const COMPAT: bool = true;
    type Pre = policy::AuthorizationPolicyPre<WasmHostState>;
    type Bindings = policy::AuthorizationPolicy;
    type InitArgs = Vec<(String, String)>;

    fn pre(pre: InstancePre<WasmHostState>) -> wasmtime::Result<Self::Pre> {
        policy::AuthorizationPolicyPre::new(pre)
    }

    async fn instantiate(
        pre: &Self::Pre,
        store: &mut Store<WasmHostState>,
    ) -> wasmtime::Result<Self::Bindings> {
        pre.instantiate_async(store).await
    }

    async fn init(
        bindings: &Self::Bindings,
        store: &mut Store<WasmHostState>,
        args: &Vec<(String, String)>,
    ) -> wasmtime::Result<Result<(), String>> {
        bindings.call_init(store, args).await
    }
}

/// `camel:plugin@1.0.0` world `source`: `configure(config)` and
/// `async run(listener)`. It has no `init`; its one long-lived call is
/// driven by [`crate::compat::source`], not by the pool's per-call
/// protocol. It imports `source-host` only, so it calls no endpoints.
#[derive(Debug)]
pub(crate) struct CompatSourceWorld;

impl PluginWorld for CompatSourceWorld {
    const NAME: &'static str = "source (camel:plugin@1.0.0)";
    const MAY_CALL: bool = false;
    const COMPAT: bool = true;
    type Pre = source::SourcePre<WasmHostState>;
    type Bindings = source::Source;
    type InitArgs = ();

    fn pre(pre: InstancePre<WasmHostState>) -> wasmtime::Result<Self::Pre> {
        source::SourcePre::new(pre)
    }

    async fn instantiate(
        pre: &Self::Pre,
        store: &mut Store<WasmHostState>,
    ) -> wasmtime::Result<Self::Bindings> {
        pre.instantiate_async(store).await
    }

    async fn init(
        _bindings: &Self::Bindings,
        _store: &mut Store<WasmHostState>,
        _args: &(),
    ) -> wasmtime::Result<Result<(), String>> {
        Ok(Ok(()))
    }
}
