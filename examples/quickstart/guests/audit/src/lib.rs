//! Quick-start guest `audit`: numbers the exchanges it sees, keeping the
//! counter in the host state (so it survives instances). It sets the
//! header `audit-seq` (a JSON number) and, through the host, the exchange
//! property `audited` = `"true"`.

use camel_wasm_sdk::state_helpers::{load_json, store_json};
use camel_wasm_sdk::{Exchange, Host, PluginError, plugin};

#[plugin]
fn audit(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let seq = load_json::<u64>("audit-seq")?.unwrap_or(0) + 1;
    store_json("audit-seq", &seq)?;
    exchange.message_mut().set_header("audit-seq", seq);
    Host::set_property("audited", "true");
    Ok(exchange)
}
