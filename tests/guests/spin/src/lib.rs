//! Test guest `spin`: loops forever (for epoch/fuel interruption tests).
//!
//! With the text body `ok` it returns the exchange unchanged instead.

use std::hint::black_box;

use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[plugin]
fn spin(exchange: Exchange) -> Result<Exchange, PluginError> {
    // Behaves when the body is `ok`, so tests can show the next exchange works.
    if exchange.body().as_text() == Some("ok") {
        return Ok(exchange);
    }
    let mut counter: u64 = 0;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}
