//! Test guest `divide_by_zero`: divides an integer by a zero the compiler
//! cannot see.
//!
//! Rust checks integer division, so this is a Rust **panic** ("attempt to
//! divide by zero"), reported through the SDK's panic hook
//! (`camel-wasm-panic: attempt to divide by zero at …`), followed by a trap.
//! It is not a raw `i32.div_s` trap: stable Rust has no safe way to emit an
//! unchecked division.
//!
//! With the text body `ok` it returns the exchange unchanged instead.

use std::hint::black_box;

use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[plugin]
fn divide_by_zero(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    // Behaves when the body is `ok`, so tests can show the next exchange works.
    if exchange.body().as_text() == Some("ok") {
        return Ok(exchange);
    }
    let dividend: i32 = black_box(84);
    let divisor: i32 = black_box(0);
    let quotient = dividend / divisor;
    exchange.message_mut().set_header("quotient", quotient);
    Ok(exchange)
}
