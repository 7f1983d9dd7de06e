//! The wasmtime engine, linker and module cache shared by a component's
//! endpoints. The only place that builds a `wasmtime::Config`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
};

use crate::bindings::{wit, wit_host};
use crate::diagnose;
use crate::error::{Result, WasmError};
use crate::host_state::WasmHostState;
use crate::module_needs::ModuleNeeds;
use crate::module_path::ModuleFile;
use crate::world::PluginWorld;

/// How often the epoch advances; the granularity of timeouts and of the
/// guest's yields back to the executor.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Bytes of a pooled slot reset in place rather than decommitted.
const KEEP_RESIDENT_BYTES: usize = 1 << 20;

/// The header of a binary component (`\0asm`, version 0x0d, layer 1).
const COMPONENT_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
/// The header of a core module (`\0asm`, version 1).
const CORE_MODULE_HEADER: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

/// One wasmtime engine with its epoch ticker, the linker with the host
/// functions, and the cache of compiled modules; plus, made the first time
/// a plugin of rust-camel's own `camel:plugin@1.0.0` contract loads, a
/// second engine (component-model async on, its own ticker, linker and
/// cache) for such plugins.
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
    pooling: Option<PoolingOptions>,
    compile_cache: Option<Cache>,
    /// The engine for components of the `camel:plugin@1.0.0` contract,
    /// made the first time one loads (see [`crate::compat`]).
    compat: OnceLock<std::result::Result<EngineParts, String>>,
}

/// An engine (with its epoch ticker), its linker and its compiled modules.
pub(crate) struct EngineParts {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<WasmHostState>,
    modules: Mutex<HashMap<PathBuf, Arc<LoadedModule>>>,
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
    /// What one instance needs, to check limits against.
    pub(crate) needs: ModuleNeeds,
    /// Whether it implements rust-camel's `camel:plugin@1.0.0` contract
    /// (compiled for the compat engine) rather than this host's own.
    pub(crate) compat: bool,
}

/// Options for [`WasmRuntime::builder`].
#[derive(Debug, Clone, Default)]
pub struct WasmRuntimeBuilder {
    compile_cache: Option<PathBuf>,
    pooling: Option<PoolingOptions>,
}

/// Sizing of wasmtime's pooling instance allocator (see
/// [`WasmRuntimeBuilder::pooling`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolingOptions {
    /// Plugin instances that can be alive at once, across all endpoints.
    pub max_instances: u32,
    /// Linear-memory slot size: the largest `max-memory` an endpoint of this
    /// runtime may use.
    pub max_memory_bytes: u64,
}

impl Default for PoolingOptions {
    /// 1000 instances of up to 50 MiB (the default `max-memory`).
    fn default() -> Self {
        PoolingOptions {
            max_instances: 1000,
            max_memory_bytes: crate::config::WasmPluginConfig::default().max_memory,
        }
    }
}

impl PoolingOptions {
    /// `max_instances` slots of `max_memory_bytes` each.
    pub fn new(max_instances: u32, max_memory_bytes: u64) -> Self {
        PoolingOptions {
            max_instances,
            max_memory_bytes,
        }
    }
}

impl WasmRuntimeBuilder {
    /// Keeps compiled modules in `dir` (relative to the working directory if
    /// not absolute) across processes (wasmtime's cache:
    /// entries are keyed by the module's content, the wasmtime version and
    /// the engine configuration, so a changed `.wasm` or a different wasmtime
    /// never loads a stale artifact; an unreadable or corrupt entry is
    /// ignored and rebuilt).
    ///
    /// The entries are native code that is run as it is, so the directory
    /// must be trusted: [`WasmRuntimeBuilder::build`] creates it private
    /// (mode 0700) if it is missing, and refuses a directory owned by another
    /// user or writable by group or others.
    pub fn compile_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.compile_cache = Some(dir.into());
        self
    }

    /// Allocates instances from pre-reserved slots (wasmtime's pooling
    /// allocator, with copy-on-write memory images): making a fresh instance
    /// becomes much cheaper, which matters for `isolation=exchange`.
    pub fn pooling(mut self, options: PoolingOptions) -> Self {
        self.pooling = Some(options);
        self
    }

    /// Creates the engine (async calls, epoch interruption), starts its epoch
    /// ticker thread and links the host functions and WASI.
    ///
    /// # Errors
    ///
    /// [`WasmError::Runtime`] if wasmtime rejects the configuration (for
    /// example, a pool larger than the address space) or the cache directory
    /// cannot be used or is not private.
    pub fn build(self) -> Result<WasmRuntime> {
        let mut compile_cache = None;
        if let Some(dir) = &self.compile_cache {
            // wasmtime wants an absolute path; a relative one is taken
            // from the working directory, as `plugins_dir` is.
            let dir = std::path::absolute(dir)
                .map_err(|e| runtime_error("opening the compile cache", e))?;
            crate::private_dir::ensure(&dir)
                .map_err(|e| runtime_error("opening the compile cache", e))?;
            let mut cache_config = CacheConfig::new();
            cache_config.with_directory(&dir);
            let cache = Cache::new(cache_config)
                .map_err(|e| runtime_error("opening the compile cache", e))?;
            compile_cache = Some(cache);
        }
        // This host's own contract never uses component-model async: its
        // engine runs without concurrency support, which would otherwise
        // cost every export call (see `experiments/stream-floors`).
        let engine = new_engine(false, self.pooling.as_ref(), compile_cache.as_ref())?;
        let mut linker = Linker::new(&engine);
        crate::wasi::add_to_linker(&mut linker).map_err(|e| runtime_error("linking WASI", e))?;
        wit_host::add_to_linker::<WasmHostState, wasmtime::component::HasSelf<WasmHostState>>(
            &mut linker,
            |state| state,
        )
        .map_err(|e| runtime_error("linking host functions", e))?;
        wit::add_to_linker::<WasmHostState, wasmtime::component::HasSelf<WasmHostState>>(
            &mut linker,
            |state| state,
        )
        .map_err(|e| runtime_error("linking the body-stream resource", e))?;
        crate::body_stream::link_read(&mut linker)
            .map_err(|e| runtime_error("linking body-stream.read", e))?;

        Ok(WasmRuntime {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                modules: Mutex::new(HashMap::new()),
                compilations: AtomicU64::new(0),
                pooling: self.pooling,
                compile_cache,
                compat: OnceLock::new(),
            }),
        })
    }
}

/// An engine with the host's settings (component model, epoch
/// interruption, the runtime's pooling and compile cache) and its epoch
/// ticker. `concurrency` turns on component-model async.
fn new_engine(
    concurrency: bool,
    pooling: Option<&PoolingOptions>,
    compile_cache: Option<&Cache>,
) -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.concurrency_support(concurrency);
    if concurrency {
        config.wasm_component_model_async(true);
    }
    if let Some(cache) = compile_cache {
        config.cache(Some(cache.clone()));
    }
    if let Some(pooling) = pooling {
        let slots = pooling.max_instances.max(1);
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(slots)
            .total_core_instances(slots.saturating_mul(8))
            .total_memories(slots.saturating_mul(2))
            .total_tables(slots.saturating_mul(4))
            .total_stacks(slots)
            .max_core_instances_per_component(16)
            .max_memories_per_component(2)
            .max_tables_per_component(8)
            .max_memory_size(usize::try_from(pooling.max_memory_bytes).unwrap_or(usize::MAX))
            // Reset small guests' memory, tables and fiber stacks in place
            // (memset) instead of returning pages to the kernel and
            // faulting them back in on the next instance.
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(KEEP_RESIDENT_BYTES)
            .async_stack_keep_resident(KEEP_RESIDENT_BYTES)
            .pagemap_scan(wasmtime::Enabled::Auto);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    let engine = Engine::new(&config).map_err(|e| runtime_error("creating the engine", e))?;
    start_epoch_ticker(&engine)?;
    Ok(engine)
}

impl WasmRuntime {
    /// A runtime with the default engine: on-demand instance allocation, no
    /// on-disk compile cache.
    ///
    /// # Errors
    ///
    /// See [`WasmRuntimeBuilder::build`].
    pub fn new() -> Result<Self> {
        WasmRuntime::builder().build()
    }

    /// Options for a runtime: compile cache, pooling allocator.
    pub fn builder() -> WasmRuntimeBuilder {
        WasmRuntimeBuilder::default()
    }

    /// Hits and misses of the on-disk compile cache so far, if there is one.
    pub fn compile_cache_stats(&self) -> Option<(usize, usize)> {
        self.inner
            .compile_cache
            .as_ref()
            .map(|c| (c.cache_hits(), c.cache_misses()))
    }

    /// The pooling options, if this runtime uses the pooling allocator.
    pub fn pooling(&self) -> Option<PoolingOptions> {
        self.inner.pooling
    }

    /// How many modules this runtime has compiled (cache misses), for
    /// monitoring.
    pub fn compilations(&self) -> u64 {
        self.inner.compilations.load(Ordering::Relaxed)
    }

    /// The engine `module` was compiled for.
    pub(crate) fn engine_of(&self, module: &LoadedModule) -> &Engine {
        match (module.compat, self.inner.compat.get()) {
            (true, Some(Ok(parts))) => &parts.engine,
            _ => &self.inner.engine,
        }
    }

    /// The engine, linker and module cache of world `W`'s contract.
    fn parts_of<W: PluginWorld>(&self) -> Result<(&Engine, &Linker<WasmHostState>)> {
        if W::COMPAT {
            let parts = self.compat_parts()?;
            Ok((&parts.engine, &parts.linker))
        } else {
            Ok((&self.inner.engine, &self.inner.linker))
        }
    }

    /// The engine for `camel:plugin@1.0.0` components (component-model
    /// async on), made on first use with its own epoch ticker.
    fn compat_parts(&self) -> Result<&EngineParts> {
        let made = self.inner.compat.get_or_init(|| {
            let engine = new_engine(
                true,
                self.inner.pooling.as_ref(),
                self.inner.compile_cache.as_ref(),
            )
            .map_err(|e| crate::error::error_chain(&e))?;
            let mut linker = Linker::new(&engine);
            crate::wasi::add_to_linker(&mut linker).map_err(|e| format!("linking WASI: {e}"))?;
            crate::compat::add_to_linker(&mut linker)
                .map_err(|e| format!("linking the camel:plugin host: {e}"))?;
            tracing::debug!("engine for camel:plugin@1.0.0 components ready");
            Ok(EngineParts {
                engine,
                linker,
                modules: Mutex::new(HashMap::new()),
            })
        });
        made.as_ref().map_err(|reason| WasmError::Runtime {
            operation: "creating the camel:plugin engine",
            source: reason.clone().into(),
        })
    }

    /// Compiles `file` (read from `file.path`), or returns the module
    /// compiled earlier if the file's content has not changed. Compiling
    /// runs off the async executor where the runtime allows it (see
    /// [`off_executor`]). A component of rust-camel's own `camel:plugin`
    /// contract is compiled for the engine that runs it.
    pub(crate) fn load(&self, file: ModuleFile) -> Result<Arc<LoadedModule>> {
        if crate::compat::is_camel_plugin(&file.bytes) {
            let parts = self.compat_parts()?;
            return self.load_into(&parts.engine, &parts.modules, file, true);
        }
        self.load_into(&self.inner.engine, &self.inner.modules, file, false)
    }

    fn load_into(
        &self,
        engine: &Engine,
        modules: &Mutex<HashMap<PathBuf, Arc<LoadedModule>>>,
        file: ModuleFile,
        compat: bool,
    ) -> Result<Arc<LoadedModule>> {
        let ModuleFile { path, bytes } = file;
        let digest = blake3::hash(&bytes);
        let hit = modules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&path)
            .cloned();
        if let Some(hit) = hit
            && hit.digest == digest
        {
            tracing::debug!(path = %path.display(), "wasm module cache hit");
            return Ok(hit);
        }
        check_header(&path, &bytes)?;
        let started = std::time::Instant::now();
        self.inner.compilations.fetch_add(1, Ordering::Relaxed);
        let component = off_executor(|| Component::new(engine, &bytes)).map_err(|e| {
            WasmError::InvalidModule {
                path: path.clone(),
                reason: diagnose::compile_failure(&bytes),
                source: Some(e.into()),
            }
        })?;
        tracing::debug!(
            path = %path.display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            compat,
            "compiled wasm component"
        );
        let needs = ModuleNeeds::of(&component, &bytes);
        let module = Arc::new(LoadedModule {
            path: path.clone(),
            digest,
            component,
            needs,
            compat,
        });
        modules
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path, module.clone());
        Ok(module)
    }

    /// Links `module` and checks it against world `W`, explaining a
    /// mismatch in terms a plugin author can act on. Returns the engine the
    /// instances run on, too.
    pub(crate) fn instance_pre<W: PluginWorld>(
        &self,
        module: &LoadedModule,
    ) -> Result<(W::Pre, Engine)> {
        let wrong = |reason: String, e: wasmtime::Error| WasmError::WrongWorld {
            path: module.path.clone(),
            world: W::NAME,
            reason,
            source: e.into(),
        };
        if module.compat != W::COMPAT {
            let reason = crate::compat::contract_mismatch(module.compat, W::NAME);
            return Err(wrong(reason.clone(), wasmtime::format_err!("{reason}")));
        }
        let (engine, linker) = self.parts_of::<W>()?;
        let pre = linker.instantiate_pre(&module.component).map_err(|e| {
            let reason = diagnose::imports(engine, &module.component, &e);
            wrong(reason, e)
        })?;
        let pre =
            W::pre(pre).map_err(|e| wrong(diagnose::exports::<W>(engine, &module.component), e))?;
        Ok((pre, engine.clone()))
    }

    /// Links `module` against the host's imports alone (no world), with
    /// the reason in plain words when an import is missing.
    pub(crate) fn link(&self, module: &LoadedModule) -> std::result::Result<(), String> {
        let (engine, linker) = if module.compat {
            let parts = self.compat_parts().map_err(|e| e.to_string())?;
            (&parts.engine, &parts.linker)
        } else {
            (&self.inner.engine, &self.inner.linker)
        };
        linker
            .instantiate_pre(&module.component)
            .map(drop)
            .map_err(|e| diagnose::imports(engine, &module.component, &e))
    }
}

/// Runs `work` (CPU-heavy, like compiling) so that it does not hold up the
/// async executor: on a multi-threaded tokio runtime the worker hands its
/// other tasks over first (`block_in_place`). On a current-thread runtime,
/// or outside tokio, it simply runs; async callers that can should use
/// `spawn_blocking` instead.
pub(crate) fn off_executor<R>(work: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
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
            "it is a core WebAssembly module, not a component (build it for wasm32-wasip2, \
             or wrap a wasm32-wasip1 module with `wasm-tools component new`)",
        ));
    }
    if bytes[..8] != COMPONENT_HEADER {
        return Err(invalid("unsupported WebAssembly version or layer"));
    }
    Ok(())
}

fn runtime_error(operation: &'static str, err: impl Into<crate::error::BoxError>) -> WasmError {
    WasmError::Runtime {
        operation,
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
        .map_err(|e| runtime_error("starting the epoch ticker", e))
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
