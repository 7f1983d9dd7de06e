//! Test guest `failing`: always returns
//! `PluginError::Failed("business rule violated: amount too large")`.

use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[plugin]
fn failing(_exchange: Exchange) -> Result<Exchange, PluginError> {
    Err(PluginError::failed(
        "business rule violated: amount too large",
    ))
}
