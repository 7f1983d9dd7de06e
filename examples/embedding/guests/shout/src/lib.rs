//! Embedding example guest `shout`: upper-cases the text body and sets the
//! header `shouted` = `true`.

use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[plugin]
fn shout(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let text = exchange
        .body()
        .as_text()
        .ok_or_else(|| PluginError::type_conversion("expected a text body"))?
        .to_uppercase();
    exchange.set_body(text);
    exchange.message_mut().set_header("shouted", "true");
    Ok(exchange)
}

#[cfg(test)]
mod tests {
    use super::*;
    use camel_wasm_sdk::Message;

    #[test]
    fn shouts() {
        let exchange = shout(Exchange::new(Message::new("hello"))).unwrap();
        assert_eq!(exchange.body().as_text(), Some("HELLO"));
        assert_eq!(exchange.message().header_str("shouted"), Some("true"));
    }
}
