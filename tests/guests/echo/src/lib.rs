//! Test guest `echo`: returns the exchange unchanged.

use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[plugin]
fn echo(exchange: Exchange) -> Result<Exchange, PluginError> {
    Ok(exchange)
}
