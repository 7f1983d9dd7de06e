//! The `camel:plugin` `host` interface, on the same per-call host state as
//! this host's own contract: the same `allow-call` policy, recursion guard,
//! deadline, property budget and state store.

use wasmtime::component::{Accessor, HasSelf};

use super::bindings::plugin::camel::plugin::host;
use super::bindings::types::{self, WasmError};
use crate::bindings::{wit, wit_host};
use crate::host::call;
use crate::host::state;
use crate::host_state::WasmHostState;

impl types::Host for WasmHostState {}

impl host::Host for WasmHostState {
    fn get_property(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        wit_host::Host::get_property(self, key)
    }

    fn set_property(&mut self, key: String, value: String) -> wasmtime::Result<()> {
        wit_host::Host::set_property(self, key, value)
    }

    async fn host_store(
        &mut self,
        key: String,
        value: String,
    ) -> wasmtime::Result<Result<(), WasmError>> {
        Ok(state::store(self, key, value, None)
            .await
            .map_err(to_compat))
    }

    async fn host_load(
        &mut self,
        key: String,
    ) -> wasmtime::Result<Result<Option<String>, WasmError>> {
        Ok(state::load(self, &key).await.map_err(to_compat))
    }
}

impl<U> host::HostWithStore<U> for HasSelf<WasmHostState> {
    async fn camel_call(
        accessor: &Accessor<U, Self>,
        uri: String,
        payload: String,
    ) -> Result<String, WasmError> {
        // Checked and resolved on the host state; the wait holds nothing.
        let prepared =
            accessor.with(|mut access| call::prepare_text_call(access.get(), &uri, payload));
        let (prepared, max_stream_bytes) = prepared.map_err(to_compat)?;
        prepared
            .send(|reply| call::reply_text(reply, max_stream_bytes))
            .await
            .map_err(to_compat)
    }

    async fn camel_poll(
        accessor: &Accessor<U, Self>,
        uri: String,
        timeout_ms: u32,
    ) -> Result<String, WasmError> {
        let poll = accessor
            .with(|mut access| call::prepare_poll(access.get(), &uri, timeout_ms))
            .map_err(to_compat)?;
        let max_stream_bytes = poll.max_stream_bytes();
        let received = poll
            .receive(|exchange| async move {
                let reply = camel_api::Exchange {
                    output: None,
                    ..exchange
                };
                call::reply_text(reply, max_stream_bytes).await
            })
            .await
            .map_err(to_compat)?;
        // The contract has no "nothing arrived": it is an error.
        received.ok_or_else(|| {
            WasmError::ProcessorError(format!(
                "nothing arrived from `{uri}` within {timeout_ms} ms"
            ))
        })
    }
}

/// This host's error for a guest, in the compat contract's four variants:
/// the kinds it lacks (`not-found`, `denied`, `limit-exceeded`, `failed`)
/// become `processor-error` with the kind in front of the message.
pub(super) fn to_compat(error: wit::Error) -> WasmError {
    match error {
        wit::Error::Failed(m) => WasmError::ProcessorError(m),
        wit::Error::NotFound(m) => WasmError::ProcessorError(format!("not found: {m}")),
        wit::Error::Denied(m) => WasmError::ProcessorError(format!("denied: {m}")),
        wit::Error::LimitExceeded(m) => WasmError::ProcessorError(format!("limit exceeded: {m}")),
        wit::Error::TypeConversion(m) => WasmError::TypeConversion(m),
        wit::Error::Io(m) => WasmError::Io(m),
        wit::Error::Timeout(_) => WasmError::Timeout,
    }
}
