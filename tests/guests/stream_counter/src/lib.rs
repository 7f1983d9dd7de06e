//! Test guest `stream_counter`: reads the body piece by piece (64 KiB at a
//! time) with `Exchange::body_reader`, never holding it whole.
//!
//! Header `mode`:
//! - absent or `count`: reads to the end; header `bytes` = the count, body
//!   `Empty`; a failing read fails the exchange with an `io` error;
//! - `peek`: reads the first `peek` bytes (header), sets header `peeked` to
//!   them as text, and returns the exchange with its body as it is (what was
//!   not read passes on);
//! - `stash`: keeps the body (a stream handle) in a global and returns the
//!   exchange with an empty body;
//! - `read-stashed`: reads from the stashed body (whose exchange has
//!   finished) and reports the outcome in the header `stashed-read`
//!   (`ok:<n>`, or the error's kind and message).

use std::io::Read;
use std::sync::Mutex;

use camel_wasm_sdk::{Body, Exchange, PluginError, plugin};

static STASH: Mutex<Option<Body>> = Mutex::new(None);

#[plugin]
fn stream_counter(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let mode = exchange
        .message()
        .header_str("mode")
        .unwrap_or("count")
        .to_owned();
    match mode.as_str() {
        "peek" => {
            let n: usize = exchange
                .message()
                .header_str("peek")
                .and_then(|n| n.parse().ok())
                .unwrap_or(8);
            let mut first = vec![0u8; n];
            exchange
                .body_reader()
                .read_exact(&mut first)
                .map_err(|e| PluginError::io(e.to_string()))?;
            let peeked = String::from_utf8_lossy(&first).into_owned();
            exchange.message_mut().set_header("peeked", peeked);
        }
        "stash" => {
            // Keep the handle and hand back an empty body.
            *STASH.lock().unwrap() = Some(exchange.take_body());
        }
        "read-stashed" => {
            let stashed = STASH.lock().unwrap().take();
            let outcome = match stashed.as_ref().and_then(Body::as_stream) {
                Some(stream) => match stream.read(16) {
                    Ok(piece) => format!("ok:{}", piece.map_or(0, |p| p.len())),
                    Err(err) => format!("{}: {}", err.kind(), err.message()),
                },
                None => "nothing stashed".to_owned(),
            };
            exchange.message_mut().set_header("stashed-read", outcome);
        }
        _ => {
            let mut reader = exchange.body_reader();
            let mut buf = vec![0u8; 64 * 1024];
            let mut total = 0u64;
            loop {
                let n = reader
                    .read(&mut buf)
                    .map_err(|e| PluginError::io(e.to_string()))?;
                if n == 0 {
                    break;
                }
                total += n as u64;
            }
            drop(reader);
            exchange.message_mut().set_header("bytes", total);
            exchange.set_body(Body::Empty);
        }
    }
    Ok(exchange)
}
