//! Test guest `stream_producer`: returns a body it produces lazily, 64 KiB
//! at a time, after the call: `size` bytes (header) of `b'x'`.
//!
//! Header `mode`:
//! - absent: produces `size` bytes;
//! - `fail`: fails with an `io` error after `size` bytes;
//! - `stall`: produces one piece, then blocks forever in WASI;
//! - `report`: produces nothing; headers `cancelled` and `finished` say the
//!   counts so far.
//!
//! Each produced body that is dropped before its end (the consumer went
//! away) counts `cancelled` in the host state (`Host::increment`); each
//! that reaches its end counts `finished`. With the text body `ok` the
//! exchange is returned unchanged.

use std::time::Duration;

use camel_wasm_sdk::{Body, Exchange, Host, PluginError, plugin};

const PIECE: usize = 64 * 1024;

/// The produced body: `left` bytes of `b'x'`, then the mode's ending.
struct Producer {
    left: u64,
    mode: String,
    ended: bool,
}

impl Iterator for Producer {
    type Item = Result<Vec<u8>, PluginError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ended {
            return None;
        }
        if self.left == 0 {
            self.ended = true;
            return match self.mode.as_str() {
                "fail" => Some(Err(PluginError::io("the source broke"))),
                "stall" => {
                    std::thread::sleep(Duration::MAX);
                    None
                }
                _ => None,
            };
        }
        let n = self.left.min(PIECE as u64);
        self.left = if self.mode == "stall" {
            0
        } else {
            self.left - n
        };
        Some(Ok(vec![b'x'; n as usize]))
    }
}

impl Drop for Producer {
    /// Counts how the body ended: at its end, or dropped before it.
    fn drop(&mut self) {
        let key = if self.ended { "finished" } else { "cancelled" };
        let _ = Host::increment(key, 1);
    }
}

#[plugin]
fn stream_producer(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    if exchange.body().as_text() == Some("ok") {
        return Ok(exchange);
    }
    if exchange.message().header_str("mode") == Some("report") {
        for key in ["cancelled", "finished"] {
            let count = Host::increment(key, 0)?;
            exchange.message_mut().set_header(key, count);
        }
        return Ok(exchange);
    }
    let message = exchange.message();
    let left: u64 = message
        .header_str("size")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mode = message.header_str("mode").unwrap_or("produce").to_owned();
    exchange.set_body(Body::from_chunks(Producer {
        left,
        mode,
        ended: false,
    }));
    Ok(exchange)
}
