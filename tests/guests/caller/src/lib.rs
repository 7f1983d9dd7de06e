//! Test guest `caller`: calls the endpoint in the header `call-uri` with
//! the body as text.
//!
//! On success the reply becomes the body. On failure the guest still
//! returns `Ok`, with the headers `call-error-kind` (the WIT variant name:
//! `failed`, `type-conversion`, `not-found`, `denied`, `limit-exceeded`,
//! `io` or `timeout`) and `call-error` (the message). A missing `call-uri`
//! header is a `failed` error.

use camel_wasm_sdk::{Exchange, Host, PluginError, plugin};

#[plugin]
fn caller(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let uri = exchange
        .message()
        .header_str("call-uri")
        .ok_or_else(|| PluginError::failed("missing `call-uri` header"))?
        .to_owned();
    let payload = exchange.body().clone().into_text().unwrap_or_default();
    match Host::camel_call(&uri, &payload) {
        Ok(reply) => exchange.set_body(reply),
        Err(error) => {
            let message = exchange.message_mut();
            message.set_header("call-error-kind", error.kind());
            message.set_header("call-error", error.message());
        }
    }
    Ok(exchange)
}
