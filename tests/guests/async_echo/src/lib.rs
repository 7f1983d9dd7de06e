//! Test guest `async_echo`: an `async fn` processor that awaits a ready
//! future and returns the exchange with the header `async` = `"true"`.

use camel_wasm_sdk::{Exchange, PluginError, plugin};

#[plugin]
async fn async_echo(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let flag = std::future::ready("true").await;
    exchange.message_mut().set_header("async", flag);
    Ok(exchange)
}
