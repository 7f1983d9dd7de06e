//! Test guest `spin`: loops forever (for epoch/fuel interruption tests).

use std::hint::black_box;

use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[plugin]
fn spin(_exchange: Exchange) -> Result<Exchange, PluginError> {
    let mut counter: u64 = 0;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}
