//! Test guest `caller`: reaches the endpoint in the header `call-uri`.
//!
//! The header `call-mode` picks how:
//! - absent or `text`: `camel-call` with the body as text; the reply becomes
//!   the body;
//! - `message`: `camel-call-message` with the current message (its headers
//!   without `call-uri`/`call-mode`/`call-timeout-ms`, and its body of any
//!   kind), with the timeout in `call-timeout-ms` if present; the reply
//!   message (headers and body) replaces the current message;
//! - `poll`: `camel-poll` waiting `call-timeout-ms` (default 100); a polled
//!   exchange's body becomes the body and its headers are copied, with the
//!   header `polled` = `true`; nothing polled sets `polled` = `false`.
//!
//! On failure the guest still returns `Ok`, with the headers
//! `call-error-kind` (the WIT variant name: `failed`, `type-conversion`,
//! `not-found`, `denied`, `limit-exceeded`, `io` or `timeout`) and
//! `call-error` (the message). A missing `call-uri` header is a `failed`
//! error.

use std::time::Duration;

use camel_wasm_sdk::{Exchange, Host, PluginError, plugin};

fn timeout(exchange: &Exchange) -> Option<Duration> {
    exchange
        .message()
        .header_str("call-timeout-ms")
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis)
}

#[plugin]
fn caller(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let uri = exchange
        .message()
        .header_str("call-uri")
        .ok_or_else(|| PluginError::failed("missing `call-uri` header"))?
        .to_owned();
    let mode = exchange
        .message()
        .header_str("call-mode")
        .unwrap_or("text")
        .to_owned();
    let timeout = timeout(&exchange);
    let outcome = match mode.as_str() {
        "message" => {
            let mut request = exchange.message().clone();
            for control in ["call-uri", "call-mode", "call-timeout-ms"] {
                request.remove_header(control);
            }
            let reply = match timeout {
                Some(timeout) => Host::call_with_timeout(&uri, request, timeout),
                None => Host::call(&uri, request),
            };
            reply.map(|reply| *exchange.message_mut() = reply)
        }
        "poll" => Host::poll(&uri, timeout.unwrap_or(Duration::from_millis(100))).map(|polled| {
            match polled {
                Some(polled) => {
                    let message = exchange.message_mut();
                    for (name, value) in polled.message().headers.iter() {
                        message.set_header(name, value.clone());
                    }
                    message.body = polled.body().clone();
                    message.set_header("polled", true);
                }
                None => exchange.message_mut().set_header("polled", false),
            }
        }),
        _ => {
            let payload = exchange.body().clone().into_text().unwrap_or_default();
            Host::camel_call(&uri, &payload).map(|reply| exchange.set_body(reply))
        }
    };
    if let Err(error) = outcome {
        let message = exchange.message_mut();
        message.set_header("call-error-kind", error.kind());
        message.set_header("call-error", error.message());
    }
    Ok(exchange)
}
