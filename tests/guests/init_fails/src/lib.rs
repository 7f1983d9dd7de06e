//! Test guest `init_fails`: `init` fails with
//! `missing configuration: api key`; `process` would echo.

use camel_wasm_sdk::{Exchange, PluginError, plugin};

fn setup() -> Result<(), String> {
    Err("missing configuration: api key".to_owned())
}

#[plugin(init = setup)]
fn init_fails(exchange: Exchange) -> Result<Exchange, PluginError> {
    Ok(exchange)
}
