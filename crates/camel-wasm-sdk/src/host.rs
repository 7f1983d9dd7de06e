//! [`Host`]: the functions the host offers to every plugin.

use std::time::Duration;

use crate::__private::{
    error_from_wit, exchange_from_wit, message_from_wit, message_into_wit, wit_host,
};
use crate::{Exchange, Message, PluginError};

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

    /// Sends a whole `message` (headers and a body of any kind, bytes
    /// included) to the endpoint `uri` as a request-reply exchange and
    /// returns the reply message (the output if a step set one, else the
    /// input). The call may take as long as the plugin's own deadline
    /// allows.
    ///
    /// ```no_run
    /// use camel_wasm_sdk::{Host, Message, PluginError};
    ///
    /// fn price(sku: &str) -> Result<Option<f64>, PluginError> {
    ///     let request = Message::new(sku).with_header("currency", "EUR");
    ///     let reply = Host::call("direct:prices", request)?;
    ///     Ok(reply.header("price").and_then(|v| v.as_f64()))
    /// }
    /// # let _ = price;
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Host::camel_call`]; a reply too large to hand over fails with
    /// [`PluginError::LimitExceeded`].
    pub fn call(uri: &str, message: Message) -> Result<Message, PluginError> {
        let reply = wit_host::camel_call_message(uri, message_into_wit(message), None)
            .map_err(error_from_wit)?;
        Ok(message_from_wit(reply))
    }

    /// [`Host::call`] that gives up after `timeout` (and never later than
    /// the plugin's own deadline) with [`PluginError::Timeout`].
    ///
    /// # Errors
    ///
    /// As [`Host::call`].
    pub fn call_with_timeout(
        uri: &str,
        message: Message,
        timeout: Duration,
    ) -> Result<Message, PluginError> {
        let reply =
            wit_host::camel_call_message(uri, message_into_wit(message), Some(millis(timeout)))
                .map_err(error_from_wit)?;
        Ok(message_from_wit(reply))
    }

    /// The id of the route the plugin runs in, when the host knows it
    /// (`wasm:` steps; `None` in bean steps). Asked for on demand: it does
    /// not travel with every exchange.
    pub fn route_id() -> Option<String> {
        wit_host::route_id()
    }

    /// Receives one exchange from the polling consumer of the endpoint `uri`
    /// (an endpoint that offers one, such as a queue), waiting at most
    /// `timeout` (and never past the plugin's own deadline). `Ok(None)`
    /// means nothing arrived in time.
    ///
    /// # Errors
    ///
    /// [`PluginError::Denied`] unless the plugin's `allow-call` option
    /// grants `uri`, [`PluginError::NotFound`] if the endpoint cannot be
    /// polled, [`PluginError::Io`] if polling fails.
    pub fn poll(uri: &str, timeout: Duration) -> Result<Option<Exchange>, PluginError> {
        let polled = wit_host::camel_poll(uri, millis(timeout)).map_err(error_from_wit)?;
        Ok(polled.map(exchange_from_wit))
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
    /// The last writer wins: two instances that load, change and store the
    /// same key at the same time lose one update. Use [`Host::increment`]
    /// or [`Host::compare_and_set`] for read-modify-write updates.
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

    /// Stores `value` under `key` like [`Host::store`], to expire `ttl`
    /// from now: afterwards the key is absent, as if never stored. A later
    /// [`Host::store`] or [`Host::compare_and_set`] of the key clears the
    /// expiry; [`Host::increment`] keeps it.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use camel_wasm_sdk::{Host, PluginError};
    ///
    /// fn remember_token(token: &str) -> Result<(), PluginError> {
    ///     Host::store_with_ttl("token", token, Duration::from_secs(300))
    /// }
    /// # let _ = remember_token;
    /// ```
    ///
    /// # Errors
    ///
    /// [`PluginError::Failed`] for a `ttl` under 1 ms or over `u32::MAX`
    /// ms (about 49 days), [`PluginError::LimitExceeded`] when the host's
    /// state limits are hit, or any other error the host reports (with a
    /// shared backend, `Io` or `Timeout`).
    pub fn store_with_ttl(key: &str, value: &str, ttl: Duration) -> Result<(), PluginError> {
        let ttl_ms = u32::try_from(ttl.as_millis())
            .map_err(|_| PluginError::failed("a state TTL must be at most u32::MAX ms"))?;
        wit_host::host_store_with_ttl(key, value, ttl_ms).map_err(error_from_wit)
    }

    /// Loads the value stored under `key`, if any.
    ///
    /// # Errors
    ///
    /// Any error the host reports.
    pub fn load(key: &str) -> Result<Option<String>, PluginError> {
        wit_host::host_load(key).map_err(error_from_wit)
    }

    /// Adds `delta` to the integer stored under `key` (a missing key counts
    /// as 0) and returns the new value, atomically: increments from other
    /// instances running at the same time are never lost.
    ///
    /// ```no_run
    /// use camel_wasm_sdk::{Host, PluginError};
    ///
    /// fn next_order_number() -> Result<i64, PluginError> {
    ///     Host::increment("orders", 1)
    /// }
    /// # let _ = next_order_number;
    /// ```
    ///
    /// # Errors
    ///
    /// [`PluginError::TypeConversion`] if the stored value is not a decimal
    /// integer or the sum overflows, [`PluginError::LimitExceeded`] when the
    /// state is full.
    pub fn increment(key: &str, delta: i64) -> Result<i64, PluginError> {
        wit_host::host_increment(key, delta).map_err(error_from_wit)
    }

    /// Stores `value` under `key` only if the current value is `expected`
    /// (`None`: only if nothing is stored yet), atomically; returns whether
    /// it stored. Retry in a loop for an optimistic read-modify-write.
    ///
    /// # Errors
    ///
    /// [`PluginError::LimitExceeded`] when the state's limits are hit, or
    /// any other error the host reports.
    pub fn compare_and_set(
        key: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, PluginError> {
        wit_host::host_compare_and_set(key, expected, value).map_err(error_from_wit)
    }
}

/// `timeout` in whole milliseconds, saturating.
fn millis(timeout: Duration) -> u32 {
    u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX)
}
