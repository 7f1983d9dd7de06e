//! Test guest `net_probe`: tries a TCP connection to 127.0.0.1:80, so it
//! imports `wasi:sockets`; the host refuses to load it at all. (If it ever
//! loaded, it would report the header `net` = `ok` or `denied`.)

use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[plugin]
fn net_probe(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let net = match std::net::TcpStream::connect("127.0.0.1:80") {
        Ok(_) => "ok",
        Err(_) => "denied",
    };
    exchange.message_mut().set_header("net", net);
    Ok(exchange)
}
