//! Test guest `panicking`: panics with `boom: invariant broken`. The SDK's
//! hook writes `camel-wasm-panic: boom: invariant broken at <file>:<line>`
//! to stderr, then the instance traps.
//!
//! With the text body `ok` it returns the exchange unchanged instead.

use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[plugin]
fn panicking(exchange: Exchange) -> Result<Exchange, PluginError> {
    // Behaves when the body is `ok`, so tests can show the next exchange works.
    if exchange.body().as_text() == Some("ok") {
        return Ok(exchange);
    }
    panic!("boom: invariant broken");
}
