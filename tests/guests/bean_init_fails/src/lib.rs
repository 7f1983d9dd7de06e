//! Test guest `bean_init_fails`: a bean (exported from a `BeanPlugin`
//! impl) whose `init` fails with `bean config rejected: api_key` unless the
//! configuration has the key `api_key`. Its one method, `ping`, sets the
//! body `pong`.

use std::collections::BTreeMap;

use camel_wasm_sdk::{BeanPlugin, Exchange, PluginError, export_bean};

const REQUIRED_KEY: &str = "api_key";

struct Strict;

impl BeanPlugin for Strict {
    fn init(config: BTreeMap<String, String>) -> Result<(), String> {
        if config.contains_key(REQUIRED_KEY) {
            Ok(())
        } else {
            Err(format!("bean config rejected: {REQUIRED_KEY}"))
        }
    }

    fn methods() -> Vec<&'static str> {
        vec!["ping"]
    }

    fn invoke(method: &str, mut exchange: Exchange) -> Result<Exchange, PluginError> {
        match method {
            "ping" => {
                exchange.set_body("pong");
                Ok(exchange)
            }
            other => Err(PluginError::not_found(format!(
                "unknown bean method `{other}`; available methods: ping"
            ))),
        }
    }
}

export_bean!(Strict);
