//! Test guest `net_probe`: tries a TCP connection to the address in header
//! `addr` (default 127.0.0.1:80), so it imports `wasi:sockets`, and reports
//! the header `net` = `ok` or `denied`. The host links `wasi:sockets`
//! refusing everything: always `denied`.

use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[plugin]
fn net_probe(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let addr = exchange
        .message()
        .header_str("addr")
        .map(str::to_owned)
        .unwrap_or_else(|| "127.0.0.1:80".to_owned());
    let net = match std::net::TcpStream::connect(addr.as_str()) {
        Ok(_) => "ok",
        Err(_) => "denied",
    };
    exchange.message_mut().set_header("net", net);
    Ok(exchange)
}
