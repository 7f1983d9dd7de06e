//! Test guest `init_counter`: counts `init` and `process` calls in this
//! instance and reports them as the headers `init-calls` and
//! `process-calls` (JSON numbers).

use std::sync::atomic::{AtomicU32, Ordering};

use camel_wasm_sdk::{Exchange, PluginError, plugin};

static INIT_CALLS: AtomicU32 = AtomicU32::new(0);
static PROCESS_CALLS: AtomicU32 = AtomicU32::new(0);

fn setup() -> Result<(), String> {
    INIT_CALLS.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

#[plugin(init = setup)]
fn init_counter(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let process_calls = PROCESS_CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    let message = exchange.message_mut();
    message.set_header("init-calls", INIT_CALLS.load(Ordering::SeqCst));
    message.set_header("process-calls", process_calls);
    Ok(exchange)
}
