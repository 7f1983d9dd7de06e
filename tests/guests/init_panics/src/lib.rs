//! Test guest `init_panics`: `init` panics with `config file is corrupt`
//! (a trap inside `init`); `process` would echo.

use camel_wasm_sdk::{Exchange, PluginError, plugin};

fn setup() -> Result<(), String> {
    panic!("config file is corrupt");
}

#[plugin(init = setup)]
fn init_panics(exchange: Exchange) -> Result<Exchange, PluginError> {
    Ok(exchange)
}
