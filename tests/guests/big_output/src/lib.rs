//! Test guest `big_output`: returns a `Bytes` body of N bytes, where N is
//! the header `size` (a number or a numeric string). Byte `i` is
//! `i % 256`.
//!
//! With the text body `ok` it returns the exchange unchanged instead.

use camel_wasm_sdk::{Body, Exchange, Message, PluginError, plugin};

fn header_usize(message: &Message, name: &str) -> Option<usize> {
    let value = message.header(name)?;
    match value.as_u64() {
        Some(number) => usize::try_from(number).ok(),
        None => value.as_str()?.trim().parse().ok(),
    }
}

#[plugin]
fn big_output(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    // Behaves when the body is `ok`, so tests can show the next exchange works.
    if exchange.body().as_text() == Some("ok") {
        return Ok(exchange);
    }
    let size = header_usize(exchange.message(), "size")
        .ok_or_else(|| PluginError::failed("missing or invalid `size` header"))?;
    let bytes: Vec<u8> = (0..size).map(|index| (index % 256) as u8).collect();
    exchange.set_body(Body::Bytes(bytes));
    Ok(exchange)
}
