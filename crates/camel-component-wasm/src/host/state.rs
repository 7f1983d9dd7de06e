//! `host-store`, `host-store-with-ttl`, `host-load`, `host-increment` and
//! `host-compare-and-set`: the endpoint's state store, each operation
//! bounded by the call's deadline.

use crate::bindings::wit;
use crate::host_state::WasmHostState;
use crate::metrics::{StateOp, StateOutcome};
use crate::state_store::{StateError, ttl};

pub(crate) async fn store(
    host: &mut WasmHostState,
    key: String,
    value: String,
    ttl_ms: Option<u32>,
) -> Result<(), wit::Error> {
    let result = store_unobserved(host, key, value, ttl_ms).await;
    counted(host, StateOp::Store, result)
}

async fn store_unobserved(
    host: &mut WasmHostState,
    key: String,
    value: String,
    ttl_ms: Option<u32>,
) -> Result<(), wit::Error> {
    writable(host)?;
    let ttl = ttl_ms.map(ttl).transpose().map_err(to_wit)?;
    host.plugin
        .state
        .store(key, value, ttl, host.call.deadline)
        .await
        .map_err(to_wit)
}

pub(crate) async fn load(
    host: &mut WasmHostState,
    key: &str,
) -> Result<Option<String>, wit::Error> {
    let result = load_unobserved(host, key).await;
    counted(host, StateOp::Load, result)
}

async fn load_unobserved(
    host: &mut WasmHostState,
    key: &str,
) -> Result<Option<String>, wit::Error> {
    host.plugin
        .state
        .load(key, host.call.deadline)
        .await
        .map_err(to_wit)
}

pub(crate) async fn increment(
    host: &mut WasmHostState,
    key: String,
    delta: i64,
) -> Result<i64, wit::Error> {
    let result = increment_unobserved(host, key, delta).await;
    counted(host, StateOp::Increment, result)
}

async fn increment_unobserved(
    host: &mut WasmHostState,
    key: String,
    delta: i64,
) -> Result<i64, wit::Error> {
    writable(host)?;
    host.plugin
        .state
        .increment(key, delta, host.call.deadline)
        .await
        .map_err(to_wit)
}

pub(crate) async fn compare_and_set(
    host: &mut WasmHostState,
    key: String,
    expected: Option<String>,
    value: String,
) -> Result<bool, wit::Error> {
    let result = compare_and_set_unobserved(host, key, expected, value).await;
    counted(host, StateOp::CompareAndSet, result)
}

async fn compare_and_set_unobserved(
    host: &mut WasmHostState,
    key: String,
    expected: Option<String>,
    value: String,
) -> Result<bool, wit::Error> {
    writable(host)?;
    host.plugin
        .state
        .compare_and_set(key, expected.as_deref(), value, host.call.deadline)
        .await
        .map_err(to_wit)
}

/// Counts a state operation by how it ended, and passes its result on.
fn counted<T>(
    host: &WasmHostState,
    op: StateOp,
    result: Result<T, wit::Error>,
) -> Result<T, wit::Error> {
    if let Some(metrics) = &host.plugin.metrics {
        let outcome = match &result {
            Ok(_) => StateOutcome::Ok,
            Err(wit::Error::Denied(_)) => StateOutcome::Denied,
            Err(wit::Error::LimitExceeded(_)) => StateOutcome::Limit,
            Err(wit::Error::TypeConversion(_)) => StateOutcome::Type,
            Err(wit::Error::Failed(_) | wit::Error::NotFound(_)) => StateOutcome::Invalid,
            Err(wit::Error::Io(_)) => StateOutcome::Io,
            Err(wit::Error::Timeout(_)) => StateOutcome::Timeout,
        };
        metrics.state_op(op, outcome);
    }
    result
}

/// Whether the plugin may change its state (`state-writes`).
fn writable(host: &WasmHostState) -> Result<(), wit::Error> {
    if host.plugin.state_writes {
        Ok(())
    } else {
        Err(wit::Error::Denied(
            "this plugin's state is read-only (`state-writes=false`; policies are read-only \
             unless their configuration sets `state-writes=true`)"
                .to_string(),
        ))
    }
}

fn to_wit(err: StateError) -> wit::Error {
    match err {
        StateError::Limit(msg) => wit::Error::LimitExceeded(msg),
        StateError::Type(msg) => wit::Error::TypeConversion(msg),
        StateError::Invalid(msg) => wit::Error::Failed(msg),
        StateError::Io(msg) => wit::Error::Io(msg),
        StateError::Timeout(msg) => wit::Error::Timeout(msg),
    }
}
