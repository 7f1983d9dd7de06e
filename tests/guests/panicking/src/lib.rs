//! Test guest `panicking`: panics with `boom: invariant broken`. The SDK's
//! hook writes `camel-wasm-panic: boom: invariant broken at <file>:<line>`
//! to stderr, then the instance traps.

use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[plugin]
fn panicking(_exchange: Exchange) -> Result<Exchange, PluginError> {
    panic!("boom: invariant broken");
}
