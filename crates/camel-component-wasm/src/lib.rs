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
//! instance that traps or times out is replaced. Every call is bounded in
//! wall time and in the host memory it can make the host spend, and a
//! plugin reaches other endpoints (`camel-call`) only where its `allow-call`
//! option grants them. Failures are typed [`WasmError`]s, carried inside
//! `CamelError::ProcessorErrorWithSource` (see [`wasm_error_of`]).
//!
//! The same machinery runs the other three kinds of plugin: beans
//! ([`WasmBean`], called from `bean` steps), authorization policies
//! ([`WasmPolicy`], a rust-camel `SecurityPolicy` and camel-auth
//! `PermissionEvaluator`), and sources (`from("wasm:hook.wasm?listen=…")`: a
//! plugin that turns HTTP requests or timer ticks into exchanges). Plugin
//! state lives in memory or, shared by several processes, in Redis
//! ([`StateBackend`]).

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod bean;
#[cfg(feature = "camel-config")]
mod bean_config;
mod bindings;
mod body_stream;
mod bundle;
mod call_chain;
mod call_policy;
mod call_span;
mod compat;
mod component;
mod config;
mod convert;
mod crash_guard;
mod deadline;
mod diagnose;
mod endpoint;
mod error;
mod guest_output;
mod guest_text;
mod health;
mod host;
mod host_state;
mod inspect;
mod instance_pool;
mod json_budget;
mod metrics;
mod module_needs;
mod module_path;
mod plugin;
mod policy;
#[cfg(feature = "camel-config")]
mod policy_config;
mod private_dir;
mod produced_body;
mod producer;
mod runtime;
mod source;
mod state_backend;
mod state_store;
mod trap;
mod wasi;
mod world;

pub use bean::WasmBean;
pub use bundle::WasmBundle;
pub use call_policy::CallPolicy;
pub use component::{WasmComponent, WasmComponentBuilder};
pub use config::{Isolation, WasmPluginConfig};
pub use endpoint::WasmEndpoint;
pub use error::{BoxError, GuestError, Result, TrapReason, WasmError, wasm_error_of};
pub use inspect::{ModuleImport, ModuleReport, PluginKind};
pub use policy::{PolicyDecision, WasmPolicy};
#[cfg(feature = "camel-config")]
pub use policy_config::WasmPolicies;
pub use producer::WasmProducer;
pub use runtime::{PoolingOptions, WasmRuntime, WasmRuntimeBuilder};
pub use state_backend::StateBackend;

/// Internals for this crate's own tests (feature `test-support`); not part
/// of the public API.
#[cfg(feature = "test-support")]
#[doc(hidden)]
pub mod test_support {
    /// Consecutive failures that open the crash-loop breaker.
    pub const CRASH_LOOP_THRESHOLD: u32 = crate::crash_guard::THRESHOLD;
    /// The breaker's first back-off.
    pub const CRASH_LOOP_INITIAL_BACKOFF: std::time::Duration = crate::crash_guard::INITIAL_BACKOFF;
}
