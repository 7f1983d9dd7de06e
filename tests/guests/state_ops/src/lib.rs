//! Test guest `state_ops`: one state operation per exchange, chosen by
//! headers, with its outcome reported as headers (the guest returns `Ok`
//! even when the operation failed, so tests can read the error kind).
//!
//! Header `op`:
//! - `store`: `Host::store(key, value)`;
//! - `store-ttl`: `Host::store_with_ttl(key, value, ttl-ms)`;
//! - `load`: `Host::load(key)`: header `value` if something is stored,
//!   `found` = `true`/`false`;
//! - `increment`: `Host::increment(key, delta)` (`delta` default 1): header
//!   `value` (a number);
//! - `cas`: `Host::compare_and_set(key, expected, value)` (`expected`
//!   absent: only if nothing is stored): header `stored` = `true`/`false`.
//!
//! Headers `key`, `value`, `expected` are strings; `ttl-ms` and `delta` are
//! numbers or numeric strings. A failure sets `error-kind` (the WIT case
//! name) and `error`; the body is always `done`.

use std::time::Duration;

use camel_wasm_sdk::{Exchange, Host, Message, PluginError, Value, plugin};

fn header_i64(message: &Message, name: &str) -> Option<i64> {
    let value = message.header(name)?;
    match value.as_i64() {
        Some(number) => Some(number),
        None => value.as_str()?.trim().parse().ok(),
    }
}

fn run(message: &Message) -> Result<Vec<(&'static str, Value)>, PluginError> {
    let key = message
        .header_str("key")
        .ok_or_else(|| PluginError::failed("missing header `key`"))?;
    let value = message.header_str("value").unwrap_or_default();
    match message.header_str("op").unwrap_or_default() {
        "store" => Host::store(key, value).map(|()| vec![]),
        "store-ttl" => {
            let ttl_ms = header_i64(message, "ttl-ms")
                .and_then(|ms| u64::try_from(ms).ok())
                .ok_or_else(|| PluginError::failed("missing or invalid header `ttl-ms`"))?;
            Host::store_with_ttl(key, value, Duration::from_millis(ttl_ms)).map(|()| vec![])
        }
        "load" => Host::load(key).map(|found| match found {
            Some(text) => vec![("found", true.into()), ("value", text.into())],
            None => vec![("found", false.into())],
        }),
        "increment" => {
            let delta = header_i64(message, "delta").unwrap_or(1);
            Host::increment(key, delta).map(|n| vec![("value", n.into())])
        }
        "cas" => Host::compare_and_set(key, message.header_str("expected"), value)
            .map(|stored| vec![("stored", stored.into())]),
        other => Err(PluginError::failed(format!("unknown op `{other}`"))),
    }
}

#[plugin]
fn state_ops(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let outcome = run(exchange.message());
    let message = exchange.message_mut();
    match outcome {
        Ok(headers) => {
            for (name, value) in headers {
                message.set_header(name, value);
            }
        }
        Err(error) => {
            message.set_header("error-kind", error.kind());
            message.set_header("error", error.message());
        }
    }
    exchange.set_body("done");
    Ok(exchange)
}
