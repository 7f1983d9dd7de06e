//! `export_bean!` with a method table and an `init` function.

use std::collections::BTreeMap;
use std::sync::Mutex;

use camel_wasm_sdk::__private::bean::Guest;
use camel_wasm_sdk::__private::{BeanAdapter, exchange_from_wit, exchange_into_wit, wit};
use camel_wasm_sdk::{BeanPlugin, Exchange, Message, PluginError, export_bean};

static CONFIG: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

fn setup(config: BTreeMap<String, String>) -> Result<(), PluginError> {
    if config.contains_key("deny") {
        return Err(PluginError::denied("configured to deny"));
    }
    *CONFIG.lock().unwrap() = config;
    Ok(())
}

fn greet(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let greeting = CONFIG
        .lock()
        .unwrap()
        .get("greeting")
        .cloned()
        .unwrap_or_else(|| "Hello".to_owned());
    let name = exchange.body().as_text().unwrap_or("nobody").to_owned();
    exchange.set_body(format!("{greeting}, {name}!"));
    Ok(exchange)
}

fn fail(_exchange: Exchange) -> Result<Exchange, &'static str> {
    Err("always fails")
}

export_bean!(
    /// A test bean.
    pub Greeter {
        init = setup,
        "greet" => greet,
        "fail" => fail,
    }
);

type Adapter = BeanAdapter<Greeter>;

fn invoke(method: &str, body: &str) -> Result<Exchange, wit::Error> {
    Adapter::invoke(
        method.to_owned(),
        exchange_into_wit(Exchange::new(Message::new(body))),
    )
    .map(exchange_from_wit)
}

#[test]
fn methods_in_declaration_order() {
    assert_eq!(Greeter::methods(), ["greet", "fail"]);
    assert_eq!(Adapter::methods(), ["greet", "fail"]);
}

#[test]
fn init_then_invoke() {
    assert_eq!(
        Adapter::init(vec![("deny".into(), "1".into())]),
        Err("denied: configured to deny".to_owned())
    );
    Adapter::init(vec![("greeting".into(), "Hi".into())]).unwrap();
    let exchange = invoke("greet", "Camel").unwrap();
    assert_eq!(exchange.body().as_text(), Some("Hi, Camel!"));
}

#[test]
fn method_errors_and_unknown_methods() {
    assert!(matches!(invoke("fail", ""), Err(wit::Error::Failed(m)) if m == "always fails"));
    let error = Greeter::invoke("nope", Exchange::default()).unwrap_err();
    assert_eq!(
        error,
        PluginError::not_found("unknown bean method `nope`; available methods: greet, fail")
    );
}
