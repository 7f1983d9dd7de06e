//! Quick-start guest `audit`: numbers the exchanges it sees, keeping the
//! counter in the host state (so it survives instances, and concurrent
//! instances never hand out the same number). It sets the header
//! `audit-seq` (a JSON number) and, through the host, the exchange
//! property `audited` = `"true"`.

use camel_wasm_sdk::{Exchange, Host, PluginError, plugin};

#[plugin]
fn audit(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    // Atomic: a load, +1, store could lose updates between instances.
    let seq = Host::increment("audit-seq", 1)?;
    exchange.message_mut().set_header("audit-seq", seq);
    Host::set_property("audited", "true");
    Ok(exchange)
}
