//! Traps and host-side limits, classified into typed [`WasmError`]s.
//!
//! Guest-visible failures are WIT errors and never come here; this module
//! turns what ends a guest call abnormally (a trap, an epoch interrupt, a
//! host limit, wasmtime refusing a lift or an allocation) into the variant
//! that names it.

use wasmtime::{Store, Trap};

use crate::error::{TrapReason, WasmError};
use crate::guest_text;
use crate::host_state::{Tripped, WasmHostState};

/// A limit a host function enforces by trapping the guest (there is no
/// error channel to report it through).
#[derive(Debug, thiserror::Error)]
#[error("{detail} (`{limit}`)")]
pub(crate) struct HostTrap {
    /// The option that sets the limit.
    pub(crate) limit: &'static str,
    /// What the guest did.
    pub(crate) detail: String,
}

/// Turns a wasmtime error from a guest call into a typed [`WasmError`].
pub(crate) fn classify(store: &mut Store<WasmHostState>, err: wasmtime::Error) -> WasmError {
    let data = store.data();
    let plugin = data.plugin.name.to_string();
    match data.limits.tripped() {
        Some((Tripped::Memory, _)) => {
            return WasmError::OutOfMemory {
                plugin,
                max_memory_bytes: data.plugin.config.max_memory,
            };
        }
        Some((Tripped::TableElements, asked)) => {
            return WasmError::ResourceLimit {
                plugin,
                limit: "max-table-elements",
                detail: format!(
                    "a table was to grow to {asked} elements, over the limit of {}",
                    data.plugin.config.max_table_elements
                ),
            };
        }
        None => {}
    }
    if let Some(limit) = count_limit(&err) {
        return WasmError::ResourceLimit {
            plugin,
            limit,
            detail: format!("{err:#}"),
        };
    }
    let trap = err.downcast_ref::<Trap>().copied();
    if trap == Some(Trap::Interrupt) {
        return WasmError::Timeout {
            plugin,
            timeout_secs: data.plugin.config.timeout.as_secs_f64(),
        };
    }
    if let Some(HostTrap { limit, detail }) = err.downcast_ref::<HostTrap>() {
        return WasmError::ResourceLimit {
            plugin,
            limit,
            detail: detail.clone(),
        };
    }
    if err.is::<wasmtime::PoolConcurrencyLimitError>() {
        return WasmError::Busy {
            plugin,
            reason: format!("the runtime's instance pool is full: {err}"),
        };
    }
    if is_hostcall_fuel_exhausted(&err) {
        return WasmError::ResourceLimit {
            plugin,
            limit: "max-result-bytes",
            detail: format!(
                "the guest handed the host more than {} bytes at once",
                data.plugin.config.result_budget()
            ),
        };
    }
    let text = format!("{err:#}");
    if text.contains("unknown handle index") {
        return WasmError::Trap {
            plugin,
            reason: TrapReason::Other(format!(
                "the plugin used a resource handle it does not own ({text})"
            )),
        };
    }
    if let Some(message) = data.output.take_panic_message() {
        return WasmError::GuestPanic {
            plugin,
            message: guest_text::summary_owned(message),
        };
    }
    let reason = match trap {
        Some(Trap::UnreachableCodeReached) => TrapReason::Unreachable,
        Some(Trap::StackOverflow) => TrapReason::StackOverflow,
        Some(Trap::IntegerDivisionByZero) => TrapReason::IntegerDivisionByZero,
        Some(Trap::IntegerOverflow) => TrapReason::IntegerOverflow,
        Some(Trap::MemoryOutOfBounds) | Some(Trap::HeapMisaligned) => TrapReason::MemoryOutOfBounds,
        Some(Trap::TableOutOfBounds)
        | Some(Trap::IndirectCallToNull)
        | Some(Trap::BadSignature) => TrapReason::BadTableAccess,
        Some(other) => TrapReason::Other(other.to_string()),
        None => {
            return WasmError::Host {
                plugin,
                source: err.into(),
            };
        }
    };
    WasmError::Trap { plugin, reason }
}

/// The option behind wasmtime's "resource limit exceeded: … count too high"
/// (the store's limiter caps instances and tables by count).
fn count_limit(err: &wasmtime::Error) -> Option<&'static str> {
    let text = format!("{err:#}");
    if !text.contains("count too high") {
        return None;
    }
    if text.contains("instance count") {
        Some("max-core-instances")
    } else if text.contains("table count") {
        Some("max-tables")
    } else {
        Some("max-memory")
    }
}

/// wasmtime's error for a lift over the store's hostcall fuel (its type is
/// private, so it is recognised by its message; a test with a real guest
/// keeps this honest).
fn is_hostcall_fuel_exhausted(err: &wasmtime::Error) -> bool {
    err.chain()
        .any(|cause| cause.to_string().contains("fuel allocated for hostcalls"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::PluginContext;
    use std::sync::Arc;

    fn store() -> Store<WasmHostState> {
        let engine = wasmtime::Engine::default();
        let plugin = Arc::new(PluginContext::new(
            "p.wasm".into(),
            "/abs/p.wasm".into(),
            Default::default(),
            None,
            true,
        ));
        Store::new(&engine, WasmHostState::new(plugin))
    }

    #[test]
    fn classifies_every_trap_kind() {
        for (trap, reason) in [
            (Trap::UnreachableCodeReached, TrapReason::Unreachable),
            (Trap::StackOverflow, TrapReason::StackOverflow),
            (
                Trap::IntegerDivisionByZero,
                TrapReason::IntegerDivisionByZero,
            ),
            (Trap::IntegerOverflow, TrapReason::IntegerOverflow),
            (Trap::MemoryOutOfBounds, TrapReason::MemoryOutOfBounds),
            (Trap::IndirectCallToNull, TrapReason::BadTableAccess),
            (
                Trap::NullReference,
                TrapReason::Other(Trap::NullReference.to_string()),
            ),
        ] {
            match classify(&mut store(), wasmtime::Error::from(trap)) {
                WasmError::Trap {
                    plugin,
                    reason: got,
                } => {
                    assert_eq!(plugin, "p.wasm");
                    assert_eq!(got, reason);
                }
                other => panic!("{trap:?}: unexpected {other}"),
            }
        }
    }

    #[test]
    fn interrupt_is_a_timeout_and_memory_flag_wins() {
        let mut s = store();
        assert!(matches!(
            classify(&mut s, wasmtime::Error::from(Trap::Interrupt)),
            WasmError::Timeout { .. }
        ));
        s.data_mut().limits.exhaust_for_test();
        assert!(matches!(
            classify(&mut s, wasmtime::Error::from(Trap::UnreachableCodeReached)),
            WasmError::OutOfMemory { .. }
        ));
    }

    #[test]
    fn host_limit_traps_and_other_errors() {
        let mut s = store();
        match classify(
            &mut s,
            HostTrap {
                limit: "max-result-bytes",
                detail: "too big".into(),
            }
            .into(),
        ) {
            WasmError::ResourceLimit { limit, detail, .. } => {
                assert_eq!(limit, "max-result-bytes");
                assert_eq!(detail, "too big");
            }
            other => panic!("unexpected {other}"),
        }
        assert!(matches!(
            classify(&mut s, wasmtime::Error::msg("weird")),
            WasmError::Host { .. }
        ));
    }
}
