//! Test guest `counter`: counts exchanges in the host state (key `count`)
//! with the atomic `Host::increment`, then sets the header `count` (a JSON
//! number) and the body `count=N`.
//!
//! With the header `mode` = `racy` it counts with a plain load, +1, store
//! instead (last writer wins), to show what the atomic operation prevents.

use camel_wasm_sdk::state_helpers::{load_json, store_json};
use camel_wasm_sdk::{Exchange, Host, PluginError, plugin};

#[plugin]
fn counter(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let count = if exchange.message().header_str("mode") == Some("racy") {
        let count = load_json::<i64>("count")?.unwrap_or(0) + 1;
        // Give other instances a chance to interleave.
        std::thread::yield_now();
        store_json("count", &count)?;
        count
    } else {
        Host::increment("count", 1)?
    };
    exchange.message_mut().set_header("count", count);
    exchange.set_body(format!("count={count}"));
    Ok(exchange)
}
