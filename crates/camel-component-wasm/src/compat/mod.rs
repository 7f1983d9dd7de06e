//! rust-camel's own WASM contract, `camel:plugin@1.0.0` (the crate
//! `camel-component-wasm` 0.64.0 on crates.io), so that plugins built for it
//! run here unchanged.
//!
//! A component is recognised by its imports when it loads
//! ([`is_camel_plugin`]) and is compiled for a second engine, made on first
//! use, with component-model async on (its `process` and `invoke` are
//! `async` functions and its bodies `stream<u8>`). This host's own engine
//! keeps that switched off, so its hot path pays nothing for it. Past the
//! engine, a compat component runs through the same machinery as ours: the
//! instance pool, limits, deadlines, crash-loop breaker, errors, state and
//! `allow-call` policy; this module only maps its types to and from
//! rust-camel's (`convert.rs`, `streams.rs`), implements its `host`
//! interface on the same host state (`host.rs`) and defines its worlds
//! (`worlds.rs`) and calls (`calls.rs`). Its `source` world, whose guest
//! runs a loop of its own rather than answering calls, is in `source/`.

mod bindings;
pub(crate) mod calls;
mod convert;
mod host;
mod returned;
pub(crate) mod source;
mod streams;
pub(crate) mod worlds;

use wasmtime::component::{HasSelf, Linker};

use crate::host_state::WasmHostState;

/// The package every component of the compat contract imports from.
const PACKAGE_PREFIX: &str = "camel:plugin/";

/// Whether the component in `bytes` imports rust-camel's `camel:plugin`
/// interfaces (at its top level), rather than this host's `camel:wasm`.
pub(crate) fn is_camel_plugin(bytes: &[u8]) -> bool {
    use wasmparser::{Parser, Payload};
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(Payload::ModuleSection { .. } | Payload::ComponentSection { .. }) => depth += 1,
            Ok(Payload::End(_)) => depth = depth.saturating_sub(1),
            Ok(Payload::ComponentImportSection(imports)) if depth == 0 => {
                let found = imports
                    .into_iter()
                    .flatten()
                    .any(|import| import.name.name.starts_with(PACKAGE_PREFIX));
                if found {
                    return true;
                }
            }
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

/// Why a component of one contract cannot serve a world of the other.
pub(crate) fn contract_mismatch(module_is_compat: bool, world: &str) -> String {
    if module_is_compat {
        format!(
            "it implements rust-camel's `camel:plugin@1.0.0` contract, which this host runs as \
             a processor (`plugin` world), bean, authorization policy or source (in `from`), \
             not as a `{world}`"
        )
    } else {
        format!("it implements this host's own contract, not the `{world}` world")
    }
}

/// Links the `camel:plugin` host interfaces, `host` and `source-host`
/// (WASI is linked by the runtime).
pub(crate) fn add_to_linker(linker: &mut Linker<WasmHostState>) -> wasmtime::Result<()> {
    bindings::plugin::camel::plugin::host::add_to_linker::<WasmHostState, HasSelf<WasmHostState>>(
        linker,
        |state| state,
    )?;
    bindings::plugin::camel::plugin::types::add_to_linker::<WasmHostState, HasSelf<WasmHostState>>(
        linker,
        |state| state,
    )?;
    bindings::source_host::add_to_linker::<WasmHostState, HasSelf<WasmHostState>>(linker, |state| {
        state
    })
}
