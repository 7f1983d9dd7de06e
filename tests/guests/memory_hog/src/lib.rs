//! Test guest `memory_hog`: allocates 1 MiB chunks, fills them and keeps
//! them, forever; it ends when the host refuses to grow memory (the
//! allocation failure aborts, which traps).
//!
//! With the text body `ok` it returns the exchange unchanged instead.

use std::hint::black_box;

use camel_wasm_sdk::{Exchange, PluginError, plugin};

const CHUNK: usize = 1 << 20;

#[plugin]
fn memory_hog(exchange: Exchange) -> Result<Exchange, PluginError> {
    // Behaves when the body is `ok`, so tests can show the next exchange works.
    if exchange.body().as_text() == Some("ok") {
        return Ok(exchange);
    }
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; CHUNK];
        chunk.fill(black_box(0xA5));
        chunks.push(black_box(chunk));
    }
}
