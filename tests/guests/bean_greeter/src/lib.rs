//! Test guest `bean_greeter`: a bean exported with a method table.
//!
//! - `greet`: body `"<greeting>, <body>!"`, where `<greeting>` is the
//!   config key `greeting` (default `Hello`);
//! - `shout`: uppercases the body;
//! - `config`: body = the init configuration as a JSON object;
//! - `count`: counts calls in the host state (key `count`), sets the header
//!   `count` (a JSON number) and the body `count=N`;
//! - `call`: calls the endpoint in the header `call-uri` with the body as
//!   text; the reply becomes the body and errors are returned as they are.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use camel_wasm_sdk::state_helpers::{load_json, store_json};
use camel_wasm_sdk::{Body, Exchange, Host, PluginError, Value, export_bean};

static CONFIG: OnceLock<BTreeMap<String, String>> = OnceLock::new();

fn setup(config: BTreeMap<String, String>) {
    // `init` runs once per instance; a second call would keep the first.
    let _ = CONFIG.set(config);
}

fn config_value(key: &str) -> Option<&'static str> {
    CONFIG.get()?.get(key).map(String::as_str)
}

fn body_text(exchange: &Exchange) -> Result<String, PluginError> {
    exchange
        .body()
        .clone()
        .into_text()
        .ok_or_else(|| PluginError::type_conversion("the body is not UTF-8 text"))
}

fn greet(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let greeting = config_value("greeting").unwrap_or("Hello");
    let name = body_text(&exchange)?;
    exchange.set_body(format!("{greeting}, {name}!"));
    Ok(exchange)
}

fn shout(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let text = body_text(&exchange)?;
    exchange.set_body(text.to_uppercase());
    Ok(exchange)
}

fn config(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let object: Value = CONFIG
        .get()
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    exchange.set_body(Body::from(object));
    Ok(exchange)
}

fn count(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let count = load_json::<u64>("count")?.unwrap_or(0) + 1;
    store_json("count", &count)?;
    exchange.message_mut().set_header("count", count);
    exchange.set_body(format!("count={count}"));
    Ok(exchange)
}

fn call(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let uri = exchange
        .message()
        .header_str("call-uri")
        .ok_or_else(|| PluginError::failed("missing `call-uri` header"))?
        .to_owned();
    let reply = Host::camel_call(&uri, &body_text(&exchange)?)?;
    exchange.set_body(reply);
    Ok(exchange)
}

export_bean!(
    /// The greeter bean.
    Greeter {
        init = setup,
        "greet" => greet,
        "shout" => shout,
        "config" => config,
        "count" => count,
        "call" => call,
    }
);
