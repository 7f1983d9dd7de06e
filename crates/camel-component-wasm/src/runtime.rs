//! The wasmtime engine, linker and module cache shared by a component's
//! endpoints. The only place that builds a `wasmtime::Config`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

use crate::bindings::wit_host;
use crate::error::{Result, WasmError};
use crate::host_state::WasmHostState;

/// How often the epoch advances; the granularity of timeouts and of the
/// guest's yields back to the executor.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The header of a binary component (`\0asm`, version 0x0d, layer 1).
const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
/// The header of a core module (`\0asm`, version 1).
const CORE_MODULE_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/// One wasmtime engine with its epoch ticker, the linker with the host
/// functions, and the cache of compiled modules.
///
/// Cheap to clone; clones share everything. A [`crate::WasmComponent`] owns
/// one, so every `wasm:` endpoint and bean of a component shares the engine
/// and compiles each module once.
#[derive(Clone)]
pub struct WasmRuntime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    engine: Engine,
    linker: Linker<WasmHostState>,
    modules: Mutex<HashMap<PathBuf, Arc<LoadedModule>>>,
    compilations: AtomicU64,
}

impl std::fmt::Debug for WasmRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cached = self
            .inner
            .modules
            .lock()
            .map(|m| m.len())
            .unwrap_or_default();
        f.debug_struct("WasmRuntime")
            .field("cached_modules", &cached)
            .finish_non_exhaustive()
    }
}

/// A compiled component and where it came from.
pub(crate) struct LoadedModule {
    pub(crate) path: PathBuf,
    digest: blake3::Hash,
    pub(crate) component: Component,
}

impl WasmRuntime {
    /// Creates the engine (async calls, epoch interruption), starts its epoch
    /// ticker thread and links the host functions and WASI.
    ///
    /// # Errors
    ///
    /// [`WasmError::Host`] if wasmtime rejects the configuration (for
    /// example, an unsupported CPU).
    pub fn new() -> Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| host_error("creating the engine", e))?;
        start_epoch_ticker(&engine)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| host_error("linking WASI", e))?;
        wit_host::add_to_linker::<WasmHostState, wasmtime::component::HasSelf<WasmHostState>>(
            &mut linker,
            |state| state,
        )
        .map_err(|e| host_error("linking host functions", e))?;

        Ok(WasmRuntime {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                modules: Mutex::new(HashMap::new()),
                compilations: AtomicU64::new(0),
            }),
        })
    }

    /// How many modules this runtime has compiled (cache misses), for
    /// monitoring.
    pub fn compilations(&self) -> u64 {
        self.inner.compilations.load(Ordering::Relaxed)
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn linker(&self) -> &Linker<WasmHostState> {
        &self.inner.linker
    }

    /// Loads and compiles the component at `path` (canonical), or returns
    /// the cached one if the file's content has not changed.
    pub(crate) fn load(&self, path: &Path, max_size: u64) -> Result<Arc<LoadedModule>> {
        let size = std::fs::metadata(path)
            .map_err(|source| WasmError::ModuleNotFound {
                path: path.to_path_buf(),
                source,
            })?
            .len();
        if size > max_size {
            return Err(WasmError::ModuleTooLarge {
                path: path.to_path_buf(),
                size,
                max: max_size,
            });
        }
        let bytes = std::fs::read(path).map_err(|source| WasmError::ModuleNotFound {
            path: path.to_path_buf(),
            source,
        })?;
        let digest = blake3::hash(&bytes);
        if let Some(hit) = self.cached(path)
            && hit.digest == digest
        {
            tracing::debug!(path = %path.display(), "wasm module cache hit");
            return Ok(hit);
        }
        check_header(path, &bytes)?;
        let started = std::time::Instant::now();
        self.inner.compilations.fetch_add(1, Ordering::Relaxed);
        let component =
            Component::new(&self.inner.engine, &bytes).map_err(|e| WasmError::InvalidModule {
                path: path.to_path_buf(),
                reason: "it does not compile".to_string(),
                source: Some(e.into()),
            })?;
        tracing::debug!(
            path = %path.display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "compiled wasm component"
        );
        let module = Arc::new(LoadedModule {
            path: path.to_path_buf(),
            digest,
            component,
        });
        self.inner
            .modules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path.to_path_buf(), module.clone());
        Ok(module)
    }

    fn cached(&self, path: &Path) -> Option<Arc<LoadedModule>> {
        self.inner
            .modules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(path)
            .cloned()
    }
}

fn check_header(path: &Path, bytes: &[u8]) -> Result<()> {
    let invalid = |reason: &str| WasmError::InvalidModule {
        path: path.to_path_buf(),
        reason: reason.to_string(),
        source: None,
    };
    if bytes.is_empty() {
        return Err(invalid("the file is empty"));
    }
    if bytes.len() < 8 || bytes[..4] != COMPONENT_HEADER[..4] {
        return Err(invalid("it is not WebAssembly (bad magic number)"));
    }
    if bytes[..8] == CORE_MODULE_HEADER {
        return Err(invalid(
            "it is a core WebAssembly module, not a component (build it for wasm32-wasip2)",
        ));
    }
    if bytes[..8] != COMPONENT_HEADER {
        return Err(invalid("unsupported WebAssembly version or layer"));
    }
    Ok(())
}

fn host_error(what: &str, err: wasmtime::Error) -> WasmError {
    WasmError::Host {
        plugin: format!("<runtime: {what}>"),
        source: err.into(),
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] on a dedicated thread
/// that ends once the engine is dropped.
fn start_epoch_ticker(engine: &Engine) -> Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("camel-wasm-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
        // Without a ticker, deadlines would never fire: refuse to run.
        .map_err(|e| WasmError::Host {
            plugin: "<runtime: starting the epoch ticker>".to_string(),
            source: e.into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks_name_the_problem() {
        let p = Path::new("x.wasm");
        let msg = |bytes: &[u8]| check_header(p, bytes).unwrap_err().to_string();
        assert!(msg(b"").contains("empty"));
        assert!(msg(b"hello world").contains("not WebAssembly"));
        assert!(msg(&CORE_MODULE_HEADER).contains("core WebAssembly module"));
        assert!(check_header(p, &COMPONENT_HEADER).is_ok());
    }
}
