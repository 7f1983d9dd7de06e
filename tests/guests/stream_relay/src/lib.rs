//! Test guest `stream_relay`: passes its body through itself piece by
//! piece: it returns a body it produces, whose pieces it reads from the
//! input body as the consumer asks for them (64 KiB at a time). Neither side
//! ever holds the body whole. A body that is not a stream is relayed from
//! its bytes.

use camel_wasm_sdk::{Body, Exchange, PluginError, plugin};

const PIECE: usize = 64 * 1024;

#[plugin]
fn stream_relay(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let body = exchange.take_body();
    let chunks: Box<dyn Iterator<Item = Result<Vec<u8>, PluginError>> + Send> = match body {
        Body::Stream(input) => Box::new(std::iter::from_fn(move || input.read(PIECE).transpose())),
        other => Box::new(std::iter::once(Ok(other.into_bytes()))),
    };
    exchange.set_body(Body::from_chunks(chunks));
    Ok(exchange)
}
