//! The `host` interface offered to guests.
//!
//! Guest-visible failures (a refused call, a full state store) are WIT
//! errors; only host-side limit violations with no error channel trap, with
//! a [`HostTrap`].

pub(crate) mod call;
pub(crate) mod state;

use camel_api::Value;

use crate::bindings::{wit, wit_host};
use crate::body_stream::BodyStream;
use crate::convert::value_as_text;
use crate::host_state::WasmHostState;
use crate::trap::HostTrap;
use wasmtime::component::Resource;

/// Largest property key a guest may set.
const MAX_PROPERTY_KEY_BYTES: usize = 1024;
/// What one `set-property` write costs beyond its key and value (the map
/// entry), so that many tiny writes are bounded too.
const PROPERTY_WRITE_OVERHEAD: usize = 64;

impl wit::Host for WasmHostState {}

impl wit_host::Host for WasmHostState {
    async fn camel_call(
        &mut self,
        uri: String,
        payload: String,
    ) -> wasmtime::Result<Result<String, wit::Error>> {
        Ok(call::camel_call(self, &uri, payload).await)
    }

    async fn camel_call_message(
        &mut self,
        uri: String,
        message: wit::Message,
        timeout_ms: Option<u32>,
    ) -> wasmtime::Result<Result<wit::Message, wit::Error>> {
        call::camel_call_message(self, &uri, message, timeout_ms).await
    }

    fn route_id(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(self.call.route_id.as_deref().map(str::to_string))
    }

    fn produce_body(&mut self, id: u32) -> wasmtime::Result<Resource<BodyStream>> {
        let handle = self.table.push(BodyStream::Produced { id })?;
        self.call.streams.push(handle.rep());
        Ok(handle)
    }

    async fn camel_poll(
        &mut self,
        uri: String,
        timeout_ms: u32,
    ) -> wasmtime::Result<Result<Option<wit::Exchange>, wit::Error>> {
        Ok(call::camel_poll(self, &uri, timeout_ms).await)
    }

    fn get_property(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.call.properties.get(&key).map(value_as_text))
    }

    fn set_property(&mut self, key: String, value: String) -> wasmtime::Result<()> {
        if key.len() > MAX_PROPERTY_KEY_BYTES {
            return Err(HostTrap {
                limit: "max-result-bytes",
                detail: format!(
                    "set-property: a {} byte key is over the {MAX_PROPERTY_KEY_BYTES} byte limit",
                    key.len()
                ),
            }
            .into());
        }
        let cost = key.len() + value.len() + PROPERTY_WRITE_OVERHEAD;
        let Some(left) = self.call.budget.checked_sub(cost) else {
            return Err(HostTrap {
                limit: "max-result-bytes",
                detail: format!(
                    "set-property: this call's writes exceed {} bytes",
                    self.plugin.config.result_budget()
                ),
            }
            .into());
        };
        self.call.budget = left;
        self.call.written.insert(key.clone());
        self.call.properties.insert(key, Value::String(value));
        Ok(())
    }

    async fn host_store(
        &mut self,
        key: String,
        value: String,
    ) -> wasmtime::Result<Result<(), wit::Error>> {
        Ok(state::store(self, key, value, None).await)
    }

    async fn host_store_with_ttl(
        &mut self,
        key: String,
        value: String,
        ttl_ms: u32,
    ) -> wasmtime::Result<Result<(), wit::Error>> {
        Ok(state::store(self, key, value, Some(ttl_ms)).await)
    }

    async fn host_load(
        &mut self,
        key: String,
    ) -> wasmtime::Result<Result<Option<String>, wit::Error>> {
        Ok(state::load(self, &key).await)
    }

    async fn host_increment(
        &mut self,
        key: String,
        delta: i64,
    ) -> wasmtime::Result<Result<i64, wit::Error>> {
        Ok(state::increment(self, key, delta).await)
    }

    async fn host_compare_and_set(
        &mut self,
        key: String,
        expected: Option<String>,
        value: String,
    ) -> wasmtime::Result<Result<bool, wit::Error>> {
        Ok(state::compare_and_set(self, key, expected, value).await)
    }
}
