//! What a component needs just to be instantiated, so that limits set below
//! it are refused when the endpoint is created (naming the option) rather
//! than failing every exchange.

use wasmtime::component::Component;

use crate::config::WasmPluginConfig;
use crate::error::{Result, WasmError};

/// A Wasm page.
const PAGE: u64 = 64 * 1024;
/// Bytes a table element is charged (as in the store's limiter).
const TABLE_ELEMENT_BYTES: u64 = 8;

/// Lower bounds on what one instance of a component takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ModuleNeeds {
    /// Core module instances it creates.
    core_instances: usize,
    /// Tables it creates.
    tables: usize,
    /// Elements of its largest table at instantiation.
    table_elements: u64,
    /// Bytes of its largest memory at instantiation, plus its tables.
    memory_bytes: u64,
}

impl ModuleNeeds {
    /// Reads the needs of `component`, compiled from `bytes`.
    pub(crate) fn of(component: &Component, bytes: &[u8]) -> Self {
        let core_instances = wasmparser::Parser::new(0)
            .parse_all(bytes)
            .filter_map(|payload| match payload {
                Ok(wasmparser::Payload::InstanceSection(reader)) => Some(
                    reader
                        .into_iter()
                        .filter(|i| matches!(i, Ok(wasmparser::Instance::Instantiate { .. })))
                        .count(),
                ),
                _ => None,
            })
            .sum();
        let Some(resources) = component.resources_required() else {
            return ModuleNeeds {
                core_instances,
                ..ModuleNeeds::default()
            };
        };
        let table_elements = resources.max_initial_table_size.unwrap_or(0);
        let tables = resources.num_tables as usize;
        ModuleNeeds {
            core_instances,
            tables,
            table_elements,
            memory_bytes: resources
                .max_initial_memory_size
                .unwrap_or(0)
                .saturating_mul(PAGE)
                .saturating_add(table_elements.saturating_mul(TABLE_ELEMENT_BYTES)),
        }
    }

    /// Refuses limits the component cannot be instantiated under.
    pub(crate) fn check(&self, config: &WasmPluginConfig) -> Result<()> {
        let below = |name: &str, value: String, needs: String| {
            Err(WasmError::InvalidParameter {
                name: name.to_string(),
                value,
                reason: format!("the module needs {needs} just to be instantiated"),
            })
        };
        if self.memory_bytes > config.max_memory {
            return below(
                "max-memory",
                config.max_memory.to_string(),
                format!("at least {} bytes of memory and tables", self.memory_bytes),
            );
        }
        if self.core_instances > config.max_core_instances {
            return below(
                "max-core-instances",
                config.max_core_instances.to_string(),
                format!("{} core instances", self.core_instances),
            );
        }
        if self.tables > config.max_tables {
            return below(
                "max-tables",
                config.max_tables.to_string(),
                format!("{} tables", self.tables),
            );
        }
        if self.table_elements > config.max_table_elements as u64 {
            return below(
                "max-table-elements",
                config.max_table_elements.to_string(),
                format!("a table of {} elements", self.table_elements),
            );
        }
        Ok(())
    }
}
