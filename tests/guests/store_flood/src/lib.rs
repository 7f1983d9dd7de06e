//! Test guest `store_flood`: pushes the host's state limits.
//!
//! - header `mode` = `entries`: stores 10 000 distinct small entries,
//!   `<key>-0` .. `<key>-9999` (value `"x"`);
//! - otherwise: stores one value of `value-size` bytes (header, a number or
//!   a numeric string) under `<key>`.
//!
//! `<key>` is the header `key` (default `flood`). The header `stored-count`
//! says how many stores succeeded. The first failure is reported as the
//! headers `store-error-kind` (the WIT variant name) and `store-error`;
//! the guest still returns `Ok`.

use camel_wasm_sdk::{Exchange, Host, Message, PluginError, plugin};

const ENTRIES: u32 = 10_000;

fn header_usize(message: &Message, name: &str) -> Option<usize> {
    let value = message.header(name)?;
    match value.as_u64() {
        Some(number) => usize::try_from(number).ok(),
        None => value.as_str()?.trim().parse().ok(),
    }
}

#[plugin]
fn store_flood(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let message = exchange.message();
    let key = message.header_str("key").unwrap_or("flood").to_owned();
    let entries_mode = message.header_str("mode") == Some("entries");

    let mut stored = 0u32;
    let mut failure = None;
    if entries_mode {
        for index in 0..ENTRIES {
            match Host::store(&format!("{key}-{index}"), "x") {
                Ok(()) => stored += 1,
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
    } else {
        let size = header_usize(message, "value-size")
            .ok_or_else(|| PluginError::failed("missing or invalid `value-size` header"))?;
        match Host::store(&key, &"x".repeat(size)) {
            Ok(()) => stored = 1,
            Err(error) => failure = Some(error),
        }
    }

    let message = exchange.message_mut();
    message.set_header("stored-count", stored);
    if let Some(error) = failure {
        message.set_header("store-error-kind", error.kind());
        message.set_header("store-error", error.message());
    }
    Ok(exchange)
}
