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

use super::bindings::{bean, plugin, policy, source};
use crate::host_state::WasmHostState;
use crate::world::{NextPiece, PluginWorld, world_bindings};

/// `next` and `cancel` for a world whose results may carry stream bodies:
/// the returned streams pulled after the call (`returned.rs`).
macro_rules! returned_streams {
    () => {
        async fn next(
            _: &Self::Bindings,
            store: &mut Store<WasmHostState>,
            id: u32,
            max: u32,
        ) -> wasmtime::Result<NextPiece> {
            super::returned::next_piece(store, id, max).await
        }

        async fn cancel(
            _: &Self::Bindings,
            store: &mut Store<WasmHostState>,
            id: u32,
        ) -> wasmtime::Result<()> {
            super::returned::cancel(store, id).await
        }
    };
}

/// `camel:plugin@1.0.0` world `plugin`: `init()` and `async process(exchange)`.
#[derive(Debug)]
pub(crate) struct CompatProcessorWorld;

impl PluginWorld for CompatProcessorWorld {
    const NAME: &'static str = "plugin (camel:plugin@1.0.0)";
    const COMPAT: bool = true;
    const RECYCLE_AFTER: Option<u64> = ASYNC_RECYCLE_AFTER;
    world_bindings!(plugin::PluginPre, plugin::Plugin, init());

    returned_streams!();
}

/// `camel:plugin@1.0.0` world `bean`: `init(config)`, `methods()` and
/// `async invoke(method, exchange)`.
#[derive(Debug)]
pub(crate) struct CompatBeanWorld;

impl PluginWorld for CompatBeanWorld {
    const NAME: &'static str = "bean (camel:plugin@1.0.0)";
    const COMPAT: bool = true;
    const RECYCLE_AFTER: Option<u64> = ASYNC_RECYCLE_AFTER;
    world_bindings!(bean::BeanPre, bean::Bean, init(config));

    returned_streams!();
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
    world_bindings!(
        policy::AuthorizationPolicyPre,
        policy::AuthorizationPolicy,
        init(config)
    );
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
    world_bindings!(source::SourcePre, source::Source, init none);
}
