//! Test guest `unreachable`: executes the WebAssembly `unreachable`
//! instruction (a trap without any panic message). Natively it aborts.

use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[plugin]
fn unreachable(_exchange: Exchange) -> Result<Exchange, PluginError> {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}
