//! WebAssembly component plugins for [rust-camel](https://crates.io/crates/camel-core).
//!
//! Route processors written in any language that compiles to a WASM
//! component run sandboxed in `wasm:` route steps:
//!
//! ```no_run
//! use std::sync::Arc;
//! use camel_builder::{RouteBuilder, StepAccumulator};
//! use camel_component_api::ComponentBundle;
//! use camel_component_wasm::WasmBundle;
//! use camel_core::{CamelContext, RegistryComponentContext};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let mut ctx = CamelContext::builder().build().await?;
//!     let registry = Arc::new(RegistryComponentContext::new(ctx.registry_arc(), Some(ctx.metrics()), false));
//!     WasmBundle::new("plugins").with_context(registry).register_all(&mut ctx);
//!
//!     let route = RouteBuilder::from("direct:in")
//!         .route_id("wasm-demo")
//!         .to("wasm:uppercase.wasm?timeout=5&max-memory=16777216")
//!         .to("log:out")
//!         .build()?;
//!     ctx.add_route_definition(route).await?;
//!     ctx.start().await?;
//!     Ok(())
//! }
//! ```
//!
//! Each endpoint compiles its module once (cached by path and content),
//! type-checks it against the `processor` world at route creation, and runs
//! exchanges on a pool of reusable instances: the guest's `init` runs once
//! per instance, exchanges on different instances run in parallel, and an
//! instance that traps or times out is replaced. Failures are typed
//! [`WasmError`]s, carried inside `CamelError::ProcessorErrorWithSource`
//! (see [`wasm_error_of`]).

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod bean;
#[cfg(feature = "camel-config")]
mod bean_config;
mod bindings;
mod bundle;
mod component;
mod config;
mod convert;
mod crash_guard;
mod endpoint;
mod error;
mod guest_output;
mod health;
mod host;
mod host_state;
mod instance_pool;
mod module_path;
mod plugin;
mod producer;
mod runtime;
mod state_store;
mod world;

pub use bean::WasmBean;
#[cfg(feature = "camel-config")]
pub use bean_config::limits_from_config;
pub use bundle::{DEFAULT_PLUGINS_DIR, WasmBundle};
pub use component::{SCHEME, WasmComponent, WasmComponentBuilder};
pub use config::{
    CallPolicy, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CORE_INSTANCES, DEFAULT_MAX_MEMORY,
    DEFAULT_MAX_MODULE_SIZE, DEFAULT_MAX_STATE_ENTRIES, DEFAULT_MAX_STATE_KEY_BYTES,
    DEFAULT_MAX_STATE_VALUE_BYTES, DEFAULT_MAX_STREAM_BYTES, DEFAULT_MAX_TABLE_ELEMENTS,
    DEFAULT_MAX_TABLES, DEFAULT_TIMEOUT, Isolation, KNOWN_PARAMS, WasmEndpointConfig,
    default_max_instances,
};
pub use crash_guard::{CRASH_LOOP_INITIAL_BACKOFF, CRASH_LOOP_MAX_BACKOFF, CRASH_LOOP_THRESHOLD};
pub use endpoint::WasmEndpoint;
pub use error::{BoxError, GuestError, Result, TrapReason, WasmError, wasm_error_of};
pub use host_state::WasmHostState;
pub use producer::WasmProducer;
pub use runtime::{EPOCH_TICK, PoolingOptions, WasmRuntime, WasmRuntimeBuilder};
