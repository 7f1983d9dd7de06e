//! Test guest `stack_overflow`: recurses without bound until the WebAssembly
//! call stack is exhausted (wasmtime reports `call stack exhausted`, i.e.
//! `Trap::StackOverflow`).
//!
//! Each frame adds an opaque value to the result of the recursive call, so the
//! call is not a tail call and cannot become a loop. Frames keep almost nothing
//! in linear memory, so the engine's stack limit is hit long before Rust's
//! 1 MiB shadow stack overflows (which would show up as an out-of-bounds
//! memory access instead).
//!
//! With the text body `ok` it returns the exchange unchanged instead.

use std::hint::black_box;

use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    // Never true, but the compiler cannot know (and it silences the
    // unconditional-recursion lint).
    if black_box(depth) == u64::MAX {
        return 0;
    }
    let below = recurse(depth + 1);
    below.wrapping_add(black_box(depth))
}

#[plugin]
fn stack_overflow(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    // Behaves when the body is `ok`, so tests can show the next exchange works.
    if exchange.body().as_text() == Some("ok") {
        return Ok(exchange);
    }
    let depth = recurse(0);
    exchange.message_mut().set_header("depth", depth);
    Ok(exchange)
}
