//! Test guest `conformance_bean`: the Rust side of the bean part of the
//! guest conformance suite (`crates/camel-component-wasm/tests/conformance/
//! cases.rs`): methods `greet` and `config`; `init` fails without the
//! config key `greeting`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use camel_wasm_sdk::{Exchange, PluginError, export_bean};

static CONFIG: OnceLock<BTreeMap<String, String>> = OnceLock::new();

fn setup(config: BTreeMap<String, String>) -> Result<(), String> {
    if !config.contains_key("greeting") {
        return Err("missing config key `greeting`".to_owned());
    }
    let _ = CONFIG.set(config);
    Ok(())
}

fn config() -> &'static BTreeMap<String, String> {
    CONFIG.get_or_init(BTreeMap::new)
}

fn greet(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let name = exchange
        .body()
        .clone()
        .into_text()
        .ok_or_else(|| PluginError::type_conversion("the body is not UTF-8 text"))?;
    let greeting = config().get("greeting").cloned().unwrap_or_default();
    exchange.set_body(format!("{greeting}, {name}"));
    Ok(exchange)
}

fn show_config(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let pairs: Vec<String> = config().iter().map(|(k, v)| format!("{k}={v}")).collect();
    exchange.set_body(pairs.join(","));
    Ok(exchange)
}

export_bean!(
    /// The conformance bean.
    ConformanceBean {
        init = setup,
        "greet" => greet,
        "config" => show_config,
    }
);
