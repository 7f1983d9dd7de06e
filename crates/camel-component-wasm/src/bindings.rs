//! Host bindings generated from the WIT contract in `wit/`.
//!
//! The generated types stay private to the crate: the public API speaks in
//! rust-camel types (`Exchange`, `CamelError`) and [`crate::WasmError`].

/// Bindings for the `processor` world (also the home of the shared `types`
/// and `host` interfaces).
pub(crate) mod processor {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "processor",
        imports: {
            // Calls and polls await other endpoints, reading a stream body
            // awaits its source, and state may live in Redis (the
            // in-memory store answers without awaiting); everything else
            // is a quick, synchronous look-up in the per-call host state.
            "camel:wasm/host.camel-call": async | trappable,
            "camel:wasm/host.camel-call-message": async | trappable,
            "camel:wasm/host.camel-poll": async | trappable,
            "camel:wasm/host.host-store": async | trappable,
            "camel:wasm/host.host-store-with-ttl": async | trappable,
            "camel:wasm/host.host-load": async | trappable,
            "camel:wasm/host.host-increment": async | trappable,
            "camel:wasm/host.host-compare-and-set": async | trappable,
            "camel:wasm/types.[method]body-stream.read": async | trappable,
            default: trappable,
        },
        exports: { default: async },
        with: {
            "camel:wasm/types.body-stream": crate::body_stream::BodyStream,
        },
    });
}

/// Bindings for the `bean` world; the shared interfaces come from
/// [`processor`] so one `Host` implementation serves both worlds.
pub(crate) mod bean {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "bean",
        exports: { default: async },
        with: {
            "camel:wasm/types": super::processor::camel::wasm::types,
            "camel:wasm/host": super::processor::camel::wasm::host,
        },
    });
}

/// Bindings for the `policy` world; the shared interfaces come from
/// [`processor`].
pub(crate) mod policy {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "policy",
        exports: { default: async },
        with: {
            "camel:wasm/types": super::processor::camel::wasm::types,
            "camel:wasm/host": super::processor::camel::wasm::host,
        },
    });
}

/// Bindings for the `source` world; the shared interfaces come from
/// [`processor`].
pub(crate) mod source {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "source",
        exports: { default: async },
        with: {
            "camel:wasm/types": super::processor::camel::wasm::types,
            "camel:wasm/host": super::processor::camel::wasm::host,
        },
    });
}

pub(crate) use policy::camel::wasm::policy_types as wit_policy;
pub(crate) use processor::camel::wasm::host::{self as wit_host};
pub(crate) use processor::camel::wasm::types as wit;
pub(crate) use source::camel::wasm::source_types as wit_source;
