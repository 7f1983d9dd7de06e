//! Test guest `sleeper`: blocks in WASI (`std::thread::sleep`, which is a
//! `wasi:clocks` `subscribe-duration` plus `wasi:io/poll` `block`) for the
//! number of seconds in the header `secs` (a number or numeric string;
//! `max` sleeps for `Duration::MAX`), then returns the exchange. A sleeping
//! guest runs no wasm code, so only a wall-clock bound can stop it.
//!
//! With the text body `ok` it returns the exchange unchanged at once.

use std::time::Duration;

use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[plugin]
fn sleeper(exchange: Exchange) -> Result<Exchange, PluginError> {
    if exchange.body().as_text() == Some("ok") {
        return Ok(exchange);
    }
    let secs = exchange
        .message()
        .header("secs")
        .ok_or_else(|| PluginError::failed("missing `secs` header"))?;
    let duration = match secs.as_str() {
        Some("max") => Duration::MAX,
        Some(text) => Duration::from_secs_f64(
            text.trim()
                .parse()
                .map_err(|_| PluginError::failed("`secs` is not a number"))?,
        ),
        None => Duration::from_secs_f64(secs.as_f64().unwrap_or(0.0)),
    };
    std::thread::sleep(duration);
    Ok(exchange)
}
