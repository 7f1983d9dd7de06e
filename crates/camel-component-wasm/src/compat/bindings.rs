//! Host bindings for rust-camel's `camel:plugin@1.0.0` worlds, generated
//! from `wit/compat/`.

/// The `plugin` world, home of the shared `types` and `host` interfaces.
pub(crate) mod plugin {
    wasmtime::component::bindgen!({
        path: "wit/compat",
        world: "plugin",
        imports: {
            // State may live in Redis; property access is a quick look-up.
            // `camel-call` and `camel-poll` are `async` functions in the
            // WIT, so they get the store accessor (wasmtime's default).
            "camel:plugin/host.host-store": async | trappable,
            "camel:plugin/host.host-load": async | trappable,
            "camel:plugin/host.get-property": trappable,
            "camel:plugin/host.set-property": trappable,
        },
        exports: { default: async },
    });
}

/// The `bean` world.
pub(crate) mod bean {
    wasmtime::component::bindgen!({
        path: "wit/compat",
        world: "bean",
        exports: { default: async },
        with: {
            "camel:plugin/types": super::plugin::camel::plugin::types,
            "camel:plugin/host": super::plugin::camel::plugin::host,
        },
    });
}

/// The `authorization-policy` world.
pub(crate) mod policy {
    wasmtime::component::bindgen!({
        path: "wit/compat",
        world: "authorization-policy",
        exports: { default: async },
        with: {
            "camel:plugin/types": super::plugin::camel::plugin::types,
            "camel:plugin/host": super::plugin::camel::plugin::host,
        },
    });
}

/// The `source` world and its `source-host` interface.
pub(crate) mod source {
    wasmtime::component::bindgen!({
        path: "wit/compat",
        world: "source",
        exports: { default: async },
        with: {
            "camel:plugin/types": super::plugin::camel::plugin::types,
            "camel:plugin/source-host.http-listener": crate::compat::source::host::ListenerGrant,
        },
    });
}

pub(crate) use plugin::camel::plugin::types;
pub(crate) use source::camel::plugin::source_host;
