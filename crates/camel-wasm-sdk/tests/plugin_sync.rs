//! `#[plugin]` on a synchronous function with an `init` returning
//! `Result<(), PluginError>`: the expansion compiles and its `Guest` impl
//! converts exchanges and errors.

use camel_wasm_sdk::__private::processor::Guest;
use camel_wasm_sdk::__private::{exchange_from_wit, exchange_into_wit, wit};
use camel_wasm_sdk::{Body, Exchange, Message, PluginError, plugin};

fn setup() -> Result<(), PluginError> {
    Err(PluginError::denied("no configuration"))
}

#[plugin(init = setup)]
fn shout(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let text = match exchange.body() {
        Body::Text(text) => text.to_uppercase(),
        _ => return Err(PluginError::type_conversion("expected text")),
    };
    exchange.set_body(text);
    exchange.message_mut().set_header("shouted", true);
    Ok(exchange)
}

#[test]
fn plain_function_still_callable() {
    let exchange = shout(Exchange::new(Message::new("hi"))).unwrap();
    assert_eq!(exchange.body().as_text(), Some("HI"));
}

#[test]
fn init_error_is_displayed() {
    assert_eq!(
        __CamelWasmProcessor::init(),
        Err("denied: no configuration".to_owned())
    );
}

#[test]
fn process_through_the_glue() {
    let mut input = Exchange::new(Message::new("hello"));
    input.set_property("p", 1);
    let output = __CamelWasmProcessor::process(exchange_into_wit(input)).unwrap();
    let output = exchange_from_wit(output);
    assert_eq!(output.body().as_text(), Some("HELLO"));
    assert_eq!(output.input.header("shouted"), Some(&true.into()));
    assert_eq!(output.property("p"), Some(&1.into()));

    let error = __CamelWasmProcessor::process(exchange_into_wit(Exchange::default())).unwrap_err();
    assert!(matches!(error, wit::Error::TypeConversion(m) if m == "expected text"));
}
