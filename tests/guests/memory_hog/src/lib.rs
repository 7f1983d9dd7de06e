//! Test guest `memory_hog`: allocates 1 MiB chunks, fills them and keeps
//! them, forever; it ends when the host refuses to grow memory (the
//! allocation failure aborts, which traps).

use std::hint::black_box;

use camel_wasm_sdk::{Exchange, PluginError, plugin};

const CHUNK: usize = 1 << 20;

#[plugin]
fn memory_hog(_exchange: Exchange) -> Result<Exchange, PluginError> {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; CHUNK];
        chunk.fill(black_box(0xA5));
        chunks.push(black_box(chunk));
    }
}
