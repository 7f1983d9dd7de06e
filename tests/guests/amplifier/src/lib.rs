//! Test guest `amplifier`: hands the host data that is cheap for the guest
//! and costly for the host, written against the raw WIT bindings (the SDK
//! would parse JSON inside the guest first). The header `mode` picks the
//! attack; `size` (bytes) and `count` size it:
//!
//! - `json-body`: a JSON body `[0,0,…,0]` of `size` bytes of text (two
//!   bytes of text per element, far more once parsed);
//! - `json-headers`: `count` headers, each the JSON text `[0,0,…,0]` of
//!   `size` bytes;
//! - `bytes-body`: a binary body of `size` bytes;
//! - `properties`: `count` `set-property` calls, each with a value of
//!   `size` bytes;
//! - `forged-stream`: returns a stream body whose handle it was never given.
//!
//! With the text body `ok` it returns the exchange unchanged.

use camel_wasm_sdk::__private::processor::{self, Guest, export_processor};
use camel_wasm_sdk::__private::wit::{Body, BodyStream, Error, Exchange, Value};
use camel_wasm_sdk::__private::wit_host;

struct Amplifier;

fn header<'a>(exchange: &'a Exchange, name: &str) -> Option<&'a str> {
    exchange
        .input
        .headers
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| match value {
            Value::Text(text) | Value::Json(text) => text.trim_matches('"'),
        })
}

fn number(exchange: &Exchange, name: &str) -> usize {
    header(exchange, name)
        .and_then(|text| text.parse().ok())
        .unwrap_or(1)
}

/// `[0,0,…,0]` of about `size` bytes.
fn zeros(size: usize) -> String {
    let mut text = String::with_capacity(size + 2);
    text.push('[');
    while text.len() + 2 < size {
        text.push_str("0,");
    }
    text.push_str("0]");
    text
}

impl Guest for Amplifier {
    fn init() -> Result<(), String> {
        Ok(())
    }

    fn process(mut exchange: Exchange) -> Result<Exchange, Error> {
        if matches!(&exchange.input.body, Body::Text(text) if text == "ok") {
            return Ok(exchange);
        }
        let size = number(&exchange, "size");
        let count = number(&exchange, "count");
        match header(&exchange, "mode") {
            Some("json-body") => exchange.input.body = Body::Json(zeros(size)),
            Some("json-headers") => {
                let doc = zeros(size);
                for index in 0..count {
                    exchange
                        .input
                        .headers
                        .push((format!("h{index}"), Value::Json(doc.clone())));
                }
            }
            Some("bytes-body") => exchange.input.body = Body::Bytes(vec![7; size]),
            Some("forged-stream") => {
                // A handle this guest was never given.
                // SAFETY: deliberately wrong, to test the host's checks.
                #[allow(unsafe_code, reason = "a hostile guest on purpose")]
                let forged = unsafe { BodyStream::from_handle(4242) };
                exchange.input.body = Body::Stream(forged);
            }
            Some("properties") => {
                let value = "x".repeat(size);
                for index in 0..count {
                    wit_host::set_property(&format!("p{index}"), &value);
                }
            }
            _ => return Err(Error::Failed("unknown `mode`".to_string())),
        }
        Ok(exchange)
    }
}

impl processor::exports::camel::wasm::body_source::Guest for Amplifier {
    fn next(_id: u32, _max: u32) -> Result<Option<Vec<u8>>, Error> {
        Ok(None)
    }

    fn cancel(_id: u32) {}
}

export_processor!(Amplifier with_types_in processor);
