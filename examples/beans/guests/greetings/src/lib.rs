//! Bean example guest `greetings`: one component, several methods, configured
//! per bean entry from `Camel.toml`.
//!
//! - `greet`: `"<greeting>, <name>!"` with `greeting` from the bean's config
//!   (default `Hello`);
//! - `shout`: the body in upper case;
//! - `stats`: how many greetings this bean entry has made (host state).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use camel_wasm_sdk::state_helpers::load_json;
use camel_wasm_sdk::{Exchange, Host, PluginError, export_bean};

static GREETING: OnceLock<String> = OnceLock::new();

fn setup(config: BTreeMap<String, String>) -> Result<(), String> {
    let greeting = config
        .get("greeting")
        .cloned()
        .unwrap_or_else(|| "Hello".into());
    if greeting.trim().is_empty() {
        return Err("config `greeting` must not be empty".into());
    }
    let _ = GREETING.set(greeting);
    Ok(())
}

fn name(exchange: &Exchange) -> Result<String, PluginError> {
    exchange
        .body()
        .clone()
        .into_text()
        .ok_or_else(|| PluginError::type_conversion("expected a text body"))
}

fn greet(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let greeting = GREETING.get().map_or("Hello", String::as_str);
    let name = name(&exchange)?;
    // Atomic, so concurrent calls never lose a count.
    Host::increment("greeted", 1)?;
    exchange.set_body(format!("{greeting}, {name}!"));
    Ok(exchange)
}

fn shout(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let text = name(&exchange)?;
    exchange.set_body(text.to_uppercase());
    Ok(exchange)
}

fn stats(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let count = load_json::<i64>("greeted")?.unwrap_or(0);
    exchange.message_mut().set_header("greeted", count);
    Ok(exchange)
}

export_bean!(
    Greetings {
        init = setup,
        "greet" => greet,
        "shout" => shout,
        "stats" => stats,
    }
);
