//! [`Host`]: the functions the host offers to every plugin.

use crate::__private::{error_from_wit, wit_host};
use crate::PluginError;

/// The functions the host offers to every plugin (the WIT `host` interface).
///
/// `Host` is only a namespace: all functions are associated functions.
///
/// They are real calls into the host only inside a component running in
/// `camel-component-wasm`. The SDK also builds natively (so plugins can be
/// unit-tested and documented), but there the host is absent:
///
/// # Panics
///
/// Every function panics when called outside WebAssembly.
///
/// ```no_run
/// use camel_wasm_sdk::{Exchange, Host, PluginError};
///
/// fn enrich(mut exchange: Exchange) -> Result<Exchange, PluginError> {
///     let customer = Host::camel_call("direct:customer", "42")?;
///     exchange.message_mut().set_header("customer", customer);
///     Host::set_property("enriched", "true");
///     Ok(exchange)
/// }
/// # let _ = enrich;
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Host;

impl Host {
    /// Sends `payload` as a text body to the endpoint `uri` (any endpoint of
    /// the Camel context, e.g. `direct:enrich`) and returns the reply body as
    /// text.
    ///
    /// # Errors
    ///
    /// Whatever the host reports: [`PluginError::Denied`] for `wasm:`
    /// endpoints (and other refused calls), [`PluginError::NotFound`] for an
    /// unknown endpoint, [`PluginError::Io`] when the endpoint fails, and so on.
    pub fn camel_call(uri: &str, payload: &str) -> Result<String, PluginError> {
        wit_host::camel_call(uri, payload).map_err(error_from_wit)
    }

    /// Reads the property `key` of the exchange being processed. Non-string
    /// values come back as JSON text (the number `42` as `"42"`).
    pub fn get_property(key: &str) -> Option<String> {
        wit_host::get_property(key)
    }

    /// Sets the property `key` (as a string) on the exchange being processed.
    /// The write is visible on the host's exchange as soon as this returns.
    pub fn set_property(key: &str, value: &str) {
        wit_host::set_property(key, value);
    }

    /// Stores `value` under `key` in the state of this route endpoint (or
    /// bean). State outlives single calls and instances.
    ///
    /// See [`state_helpers`](crate::state_helpers) for JSON-typed helpers.
    ///
    /// # Errors
    ///
    /// [`PluginError::LimitExceeded`] when the host's state limits are hit,
    /// or any other error the host reports.
    pub fn store(key: &str, value: &str) -> Result<(), PluginError> {
        wit_host::host_store(key, value).map_err(error_from_wit)
    }

    /// Loads the value stored under `key`, if any.
    ///
    /// # Errors
    ///
    /// Any error the host reports.
    pub fn load(key: &str) -> Result<Option<String>, PluginError> {
        wit_host::host_load(key).map_err(error_from_wit)
    }
}
