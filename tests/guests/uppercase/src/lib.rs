//! Test guest `uppercase`: uppercases a `Text` body (other body kinds are
//! left unchanged) and sets the header `x-uppercased` = `"true"`.

use camel_wasm_sdk::{Body, Exchange, PluginError, plugin};

#[plugin]
fn uppercase(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    if let Body::Text(text) = exchange.body() {
        let upper = text.to_uppercase();
        exchange.set_body(upper);
    }
    exchange.message_mut().set_header("x-uppercased", "true");
    Ok(exchange)
}
