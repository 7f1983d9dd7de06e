//! `{{name}}`: a camel-wasm processor plugin (world `processor`), a route
//! step `wasm:{{name}}.wasm`.

use camel_wasm_sdk::{Exchange, PluginError, plugin};

/// Runs once per instance, before its first exchange.
fn setup() -> Result<(), String> {
    Ok(())
}

/// Called for every exchange that reaches the step: prefixes a text body
/// and adds a header.
#[plugin(init = setup)]
fn process(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let text = exchange.body().clone().into_text().unwrap_or_default();
    exchange.set_body(format!("[{{name}}] {text}"));
    exchange.message_mut().set_header("processed-by", "{{name}}");
    Ok(exchange)
}
