//! Test guest `counter`: counts exchanges in the host state (key `count`,
//! stored as JSON), then sets the header `count` (a JSON number) and the
//! body `count=N`.

use camel_wasm_sdk::state_helpers::{load_json, store_json};
use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[plugin]
fn counter(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let count = load_json::<u64>("count")?.unwrap_or(0) + 1;
    store_json("count", &count)?;
    exchange.message_mut().set_header("count", count);
    exchange.set_body(format!("count={count}"));
    Ok(exchange)
}
