//! Test guest `properties`: exchange properties, through the host
//! (`get-property`/`set-property`) and through the returned exchange.
//!
//! - host: reads property `in`; sets property `via-host` = `"<in>!"` (or
//!   `"none!"` when `in` is missing);
//! - header `seen-in` = the value of `in` as the host returned it, or
//!   `"<none>"`;
//! - if the host has a property `num`, header `num-text` = its text as the
//!   host returned it (the number 42 arrives as `"42"`);
//! - header `route-id` = `Host::route_id()`, or `"<none>"`;
//! - returned exchange: property `returned` = `"yes"`, property `remove-me`
//!   removed.

use camel_wasm_sdk::{Exchange, Host, PluginError, plugin};

#[plugin]
fn properties(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let seen = Host::get_property("in");
    let via_host = format!("{}!", seen.as_deref().unwrap_or("none"));
    Host::set_property("via-host", &via_host);

    let message = exchange.message_mut();
    message.set_header("seen-in", seen.unwrap_or_else(|| "<none>".to_owned()));
    message.set_header(
        "route-id",
        Host::route_id().unwrap_or_else(|| "<none>".to_owned()),
    );
    if let Some(num) = Host::get_property("num") {
        message.set_header("num-text", num);
    }

    exchange.set_property("returned", "yes");
    exchange.remove_property("remove-me");
    Ok(exchange)
}
