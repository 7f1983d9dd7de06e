//! `#[plugin]` on an `async fn` without `init`, returning a non-`PluginError`
//! error type.

use std::future::poll_fn;
use std::task::Poll;

use camel_wasm_sdk::__private::processor::Guest;
use camel_wasm_sdk::__private::{exchange_from_wit, exchange_into_wit, wit};
use camel_wasm_sdk::{Exchange, Message, plugin};

/// Completes on the second poll, after waking itself.
async fn yield_once() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

#[plugin]
async fn tag(mut exchange: Exchange) -> Result<Exchange, String> {
    yield_once().await;
    if exchange.body().as_text() == Some("reject") {
        return Err("rejected".to_owned());
    }
    exchange.message_mut().set_header("async", "true");
    Ok(exchange)
}

#[test]
fn default_init_succeeds() {
    assert_eq!(__CamelWasmProcessor::init(), Ok(()));
}

#[test]
fn async_process_through_the_glue() {
    let output =
        __CamelWasmProcessor::process(exchange_into_wit(Exchange::new(Message::new("x")))).unwrap();
    assert_eq!(
        exchange_from_wit(output).input.header_str("async"),
        Some("true")
    );

    let error =
        __CamelWasmProcessor::process(exchange_into_wit(Exchange::new(Message::new("reject"))))
            .unwrap_err();
    assert!(matches!(error, wit::Error::Failed(m) if m == "rejected"));
}
