//! Test guest `reverse`: reverses a `Text` body, character by character
//! (other body kinds are left unchanged).

use camel_wasm_sdk::{Body, Exchange, PluginError, plugin};

#[plugin]
fn reverse(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    if let Body::Text(text) = exchange.body() {
        let reversed: String = text.chars().rev().collect();
        exchange.set_body(reversed);
    }
    Ok(exchange)
}
