//! `{{name}}`: a camel-wasm bean plugin (world `bean`): named methods that
//! `bean` steps of routes call, configured per `[beans.<name>]` entry of
//! Camel.toml.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use camel_wasm_sdk::state_helpers::load_json;
use camel_wasm_sdk::{Exchange, Host, PluginError, export_bean};

static GREETING: OnceLock<String> = OnceLock::new();

/// Runs once per instance with the entry's `[beans.<name>.config]` pairs.
fn setup(config: BTreeMap<String, String>) -> Result<(), String> {
    let greeting = config.get("greeting").cloned().unwrap_or_else(|| "Hello".into());
    GREETING.set(greeting).map_err(|_| "init ran twice".to_string())
}

/// `hello`: greets the text body, and counts greetings in the host's state.
fn hello(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let name = exchange
        .body()
        .clone()
        .into_text()
        .ok_or_else(|| PluginError::type_conversion("expected a text body"))?;
    let greeting = GREETING.get().map_or("Hello", String::as_str);
    Host::increment("greeted", 1)?;
    exchange.set_body(format!("{greeting}, {name}!"));
    Ok(exchange)
}

/// `count`: how many greetings this bean has made, as header `greeted`.
fn count(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let greeted = load_json::<i64>("greeted")?.unwrap_or(0);
    exchange.message_mut().set_header("greeted", greeted);
    Ok(exchange)
}

export_bean!({{Type}} {
    init = setup,
    "hello" => hello,
    "count" => count,
});
