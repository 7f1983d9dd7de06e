//! Quick-start guest `greet`: turns the text body `<name>` into
//! `Hello, <name>!` and sets the header `greeted-by` = `wasm`.

use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[plugin]
fn greet(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let name = exchange
        .body()
        .clone()
        .into_text()
        .ok_or_else(|| PluginError::type_conversion("expected a text body"))?;
    exchange.set_body(format!("Hello, {name}!"));
    exchange.message_mut().set_header("greeted-by", "wasm");
    Ok(exchange)
}

#[cfg(test)]
mod tests {
    use super::*;
    use camel_wasm_sdk::Message;

    #[test]
    fn greets() {
        let exchange = greet(Exchange::new(Message::new("Camel"))).unwrap();
        assert_eq!(exchange.body().as_text(), Some("Hello, Camel!"));
        assert_eq!(exchange.message().header_str("greeted-by"), Some("wasm"));
    }
}
