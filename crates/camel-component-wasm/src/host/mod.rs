//! The `host` interface offered to guests.
//!
//! Guest-visible failures (a refused call, a full state store) are WIT
//! errors; only host-side limit violations with no error channel trap, with
//! a [`HostTrap`].

mod call;

use camel_api::Value;

use crate::bindings::{wit, wit_host};
use crate::convert::value_as_text;
use crate::host_state::WasmHostState;
use crate::state_store::StateError;

pub(crate) use call::{CALL_CHAIN_EXTENSION, CallChain};

/// Largest property key a guest may set.
const MAX_PROPERTY_KEY_BYTES: usize = 1024;
/// Largest property value a guest may set.
const MAX_PROPERTY_VALUE_BYTES: usize = 1024 * 1024;
/// Most properties a guest may set in one call.
const MAX_PROPERTY_WRITES: usize = 1024;

/// A limit a host function enforces by trapping the guest.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct HostTrap(pub(crate) String);

impl wit::Host for WasmHostState {}

impl wit_host::Host for WasmHostState {
    async fn camel_call(
        &mut self,
        uri: String,
        payload: String,
    ) -> wasmtime::Result<Result<String, wit::Error>> {
        Ok(call::camel_call(self, &uri, payload).await)
    }

    fn get_property(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.call.properties.get(&key).map(value_as_text))
    }

    fn set_property(&mut self, key: String, value: String) -> wasmtime::Result<()> {
        if key.len() > MAX_PROPERTY_KEY_BYTES || value.len() > MAX_PROPERTY_VALUE_BYTES {
            return Err(HostTrap(format!(
                "set-property: key or value over the limit ({MAX_PROPERTY_KEY_BYTES} / {MAX_PROPERTY_VALUE_BYTES} bytes)"
            ))
            .into());
        }
        if self.call.written.len() >= MAX_PROPERTY_WRITES && !self.call.written.contains(&key) {
            return Err(HostTrap(format!(
                "set-property: more than {MAX_PROPERTY_WRITES} properties written in one call"
            ))
            .into());
        }
        self.call.written.insert(key.clone());
        self.call.properties.insert(key, Value::String(value));
        Ok(())
    }

    fn host_store(
        &mut self,
        key: String,
        value: String,
    ) -> wasmtime::Result<Result<(), wit::Error>> {
        Ok(self
            .plugin
            .state
            .store(key, value)
            .map_err(|StateError::Limit(msg)| wit::Error::LimitExceeded(msg)))
    }

    fn host_load(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, wit::Error>> {
        Ok(Ok(self.plugin.state.load(&key)))
    }
}
