//! Write [rust-camel] plugins in Rust and run them as WebAssembly components
//! in `camel-component-wasm`.
//!
//! A plugin is a `cdylib` crate built for `wasm32-wasip2` (such a build is
//! already a component; no extra tooling is needed). It implements one of the
//! four worlds of the `camel:wasm@0.2.0` WIT package:
//!
//! - **processor**: one function that receives an [`Exchange`] and returns
//!   it, used by `wasm:` route endpoints. Write it as a plain (or `async`)
//!   function and mark it with [`#[plugin]`](macro@plugin).
//! - **bean**: several named methods called from `bean` route steps.
//!   Implement [`BeanPlugin`] or list the methods in [`export_bean!`].
//! - **policy**: authorization decisions for routes' `security_policy`
//!   (route checks and permission checks). Implement [`PolicyPlugin`] and
//!   export it with [`export_policy!`].
//! - **source**: starts routes (`from("wasm:…")`): turns HTTP requests and
//!   timer ticks into exchanges. Implement [`SourcePlugin`] and export it
//!   with [`export_source!`].
//!
//! Plugins can call back into the host through [`Host`] (call other
//! endpoints, read and write exchange properties, keep state) and
//! [`state_helpers`] (state as JSON).
//!
//! # Example
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "greeter"
//! version = "0.1.0"
//! edition = "2024"
//!
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! camel-wasm-sdk = "0.1"
//! ```
//!
//! `src/lib.rs`:
//!
//! ```
//! use camel_wasm_sdk::{Body, Exchange, Host, PluginError, plugin};
//!
//! /// Runs once per instance, before the first exchange.
//! fn setup() -> Result<(), String> {
//!     Ok(())
//! }
//!
//! /// Greets the name in the text body.
//! #[plugin(init = setup)]
//! fn greet(mut exchange: Exchange) -> Result<Exchange, PluginError> {
//!     let name = match exchange.body() {
//!         Body::Text(name) => name.clone(),
//!         other => {
//!             return Err(PluginError::type_conversion(format!(
//!                 "expected a text body, got {other:?}"
//!             )));
//!         }
//!     };
//!     exchange.set_body(format!("Hello, {name}!"));
//!     exchange.message_mut().set_header("greeted-by", "wasm");
//!     Ok(exchange)
//! }
//! # fn main() {
//! #     // Natively the exchange can be processed directly (the host functions
//! #     // in `Host` are only available inside WebAssembly).
//! #     use camel_wasm_sdk::Message;
//! #     let exchange = greet(Exchange::new(Message::new("Camel"))).unwrap();
//! #     assert_eq!(exchange.body().as_text(), Some("Hello, Camel!"));
//! #     let _ = Host::get_property;
//! # }
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` and point a
//! `wasm:` endpoint of the route at `target/wasm32-wasip2/release/greeter.wasm`.
//!
//! # Errors and panics
//!
//! A processor returns [`PluginError`]s for business failures; the host turns
//! them into route errors. A panic aborts the instance: the SDK's panic hook
//! first writes `camel-wasm-panic: <message> at <file>:<line>` to stderr, which
//! the host reports as a guest panic.
//!
//! # Native builds
//!
//! The SDK also compiles for the host platform, so plugin crates can be
//! unit-tested with `cargo test`: call the plugin function directly with an
//! [`Exchange`]. Only the [`Host`] functions need WebAssembly (they panic
//! elsewhere).
//!
//! [rust-camel]: https://github.com/kennycallado/rust-camel

#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

// Lets the macros' `::camel_wasm_sdk::…` paths resolve inside this crate too.
extern crate self as camel_wasm_sdk;

mod bean;
mod error;
mod fields;
mod host;
mod json;
mod policy;
mod source;
pub mod state_helpers;
mod stream;
mod types;

#[doc(hidden)]
pub mod __private;

pub use bean::BeanPlugin;
pub use error::PluginError;
pub use fields::Fields;
pub use host::Host;
pub use json::Json;
pub use policy::{Decision, PermissionCheck, PolicyPlugin, Principal, RouteCheck, Transport};
pub use source::{Event, HttpRequest, HttpResponse, Outcome, SourcePlan, SourcePlugin, Timer};
pub use stream::{BodyReader, BodyStream};
pub use types::{Body, Exchange, Message, Pattern, Value};

/// Exports a function as the plugin's `processor` world.
///
/// ```text
/// #[plugin]                  fn NAME(exchange: Exchange) -> Result<Exchange, E>
/// #[plugin]            async fn NAME(exchange: Exchange) -> Result<Exchange, E>
/// #[plugin(init = INIT)]     fn NAME(exchange: Exchange) -> Result<Exchange, E>
/// ```
///
/// - `E` is [`PluginError`] or any type that converts into it (`String` and
///   `&str` become [`PluginError::Failed`]).
/// - The function is kept as written, so it can be called and unit-tested
///   natively; the macro adds the hidden component exports next to it.
/// - An `async fn` is driven to completion synchronously. Host calls are
///   synchronous, so a future that stays pending is a bug: the call fails with
///   [`PluginError::Failed`] ("plugin future did not complete").
/// - `init = INIT` names a function that runs once per instance before the
///   first exchange: `fn INIT() -> R` where `R` is `()` or `Result<(), E>` for
///   any `E: Display` (e.g. `String` or [`PluginError`]). An `Err` fails the
///   endpoint's start-up with that message. Without it, `init` succeeds.
/// - A crate exports at most one plugin.
///
/// ```
/// use camel_wasm_sdk::{Exchange, PluginError, plugin};
///
/// #[plugin]
/// async fn tag(mut exchange: Exchange) -> Result<Exchange, PluginError> {
///     exchange.message_mut().set_header("tagged", true);
///     Ok(exchange)
/// }
/// # fn main() {}
/// ```
pub use camel_wasm_sdk_macros::plugin;
