//! Test guest `unreachable`: executes the WebAssembly `unreachable`
//! instruction (a trap without any panic message). Natively it aborts.
//!
//! With the text body `ok` it returns the exchange unchanged instead.

use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[plugin]
fn unreachable(exchange: Exchange) -> Result<Exchange, PluginError> {
    // Behaves when the body is `ok`, so tests can show the next exchange works.
    if exchange.body().as_text() == Some("ok") {
        return Ok(exchange);
    }
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}
