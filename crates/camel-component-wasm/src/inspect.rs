//! What a `.wasm` file is to this host, for tools (`camel-wasm inspect`):
//! which plugin world it implements, for which contract version, what it
//! imports and exports, and why it would not load. The checks are the ones
//! route creation runs (header, compile, link, each world's exports, the
//! default limits), so a file this report accepts loads.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::WasmPluginConfig;
use crate::diagnose::{self, PACKAGE, VERSION};
use crate::error::{Result, WasmError};
use crate::module_path::ModuleFile;
use crate::runtime::{LoadedModule, WasmRuntime};
use crate::world::{BeanWorld, PluginWorld, PolicyWorld, ProcessorWorld, SourceWorld};

/// The four kinds of plugin, one per world of the `camel:wasm` contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PluginKind {
    /// World `processor`: a `wasm:` route step.
    Processor,
    /// World `bean`: named methods called from `bean` steps.
    Bean,
    /// World `policy`: a route's security policy or a permission evaluator.
    Policy,
    /// World `source`: starts routes, `from("wasm:…")`.
    Source,
}

impl PluginKind {
    /// Every kind, in the order [`ModuleReport::worlds`] lists them.
    pub const ALL: [PluginKind; 4] = [
        PluginKind::Processor,
        PluginKind::Bean,
        PluginKind::Policy,
        PluginKind::Source,
    ];

    /// The WIT world's name (`processor`, `bean`, `policy`, `source`).
    pub fn world(self) -> &'static str {
        match self {
            PluginKind::Processor => ProcessorWorld::NAME,
            PluginKind::Bean => BeanWorld::NAME,
            PluginKind::Policy => PolicyWorld::NAME,
            PluginKind::Source => SourceWorld::NAME,
        }
    }

    /// How an application uses a plugin of this kind, in one sentence.
    pub fn usage(self) -> &'static str {
        match self {
            PluginKind::Processor => "a route step: `to: wasm:<file>.wasm`",
            PluginKind::Bean => {
                "a bean: a `[beans.<name>]` entry in Camel.toml, called from `bean` steps"
            }
            PluginKind::Policy => {
                "a security policy: `[security.policies.wasm.<name>]` in Camel.toml and a \
                 route's `security_policy: { wasm: <name> }`"
            }
            PluginKind::Source => {
                "a route's start: `from: wasm:<file>.wasm?listen=<host:port>` (HTTP; a \
                 `camel:wasm` source may ask for a timer instead, granted by \
                 `allow-timer=true`)"
            }
        }
    }
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.world())
    }
}

/// One import of a component.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModuleImport {
    /// The import's name, e.g. `camel:wasm/host@0.2.0` or `wasi:cli/stdout@0.2.6`.
    pub name: String,
    /// Why the host does not provide it; `None` when it does.
    pub problem: Option<String>,
}

/// What [`WasmRuntime::inspect`] found out about a component.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ModuleReport {
    /// The file (symlinks followed).
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// How long compiling it took (zero when the runtime had it cached).
    pub compile_time: Duration,
    /// The contract this host provides, `camel:wasm@<version>`.
    pub host_contract: String,
    /// The `camel:wasm` contract the component was built against, from its
    /// imports and exports (`camel:wasm@0.2.0`), or another plugin
    /// contract it names (`camel:plugin@1.0.0`); `None` if it names none.
    pub contract: Option<String>,
    /// Its imports, each with the reason it is not provided, if it is not.
    pub imports: Vec<ModuleImport>,
    /// The names of its exports (functions and interfaces).
    pub exports: Vec<String>,
    /// Why it cannot be linked against this host's imports at all; then
    /// no world fits.
    pub link_problem: Option<String>,
    /// For each kind of plugin: `Ok` if the component is one, or why not.
    pub worlds: Vec<(PluginKind, std::result::Result<(), String>)>,
    /// `Ok` if it fits the default limits (`max-memory`,
    /// `max-core-instances`, `max-tables`, `max-table-elements`,
    /// `max-module-size`), or which option must be raised and to what.
    pub default_limits: std::result::Result<(), String>,
}

impl ModuleReport {
    /// The kind of plugin the component is, if it is one.
    pub fn kind(&self) -> Option<PluginKind> {
        self.worlds
            .iter()
            .find(|(_, fit)| fit.is_ok())
            .map(|(kind, _)| *kind)
    }

    /// Whether the component loads as its kind with the default limits.
    pub fn loads(&self) -> bool {
        self.kind().is_some() && self.default_limits.is_ok()
    }

    /// Why the component does not load, in plain words; `None` if it does.
    /// The reason of the closest world is given: for a component that is
    /// no plugin at all, the `processor` world's.
    pub fn problem(&self) -> Option<String> {
        if let Some(problem) = &self.link_problem {
            return Some(problem.clone());
        }
        if self.kind().is_none() {
            return self
                .worlds
                .first()
                .and_then(|(_, fit)| fit.as_ref().err().cloned());
        }
        self.default_limits.as_ref().err().cloned()
    }
}

impl WasmRuntime {
    /// Reads, compiles and checks the component in `path` against every
    /// plugin world, as route creation would (outside any plugins
    /// directory: `path` is taken as it is).
    ///
    /// Compiling can take seconds for a big component; this call blocks
    /// (off the executor on a multi-threaded tokio runtime).
    ///
    /// # Errors
    ///
    /// [`WasmError::ModuleNotFound`] if the file cannot be read;
    /// [`WasmError::InvalidModule`] if it is empty, not WebAssembly, a core
    /// module rather than a component, truncated, or does not compile.
    /// A component that is no plugin, or not for this host, is not an
    /// error: the report says why.
    pub fn inspect(&self, path: impl AsRef<Path>) -> Result<ModuleReport> {
        let path = path.as_ref();
        let not_found = |source| WasmError::ModuleNotFound {
            path: path.to_path_buf(),
            source,
        };
        let real = path.canonicalize().map_err(not_found)?;
        let bytes = std::fs::read(&real).map_err(not_found)?;
        let size = bytes.len() as u64;
        let compilations = self.compilations();
        let started = Instant::now();
        let module = self.load(ModuleFile { path: real, bytes })?;
        let compile_time = if self.compilations() > compilations {
            started.elapsed()
        } else {
            Duration::ZERO
        };
        Ok(self.report(&module, size, compile_time))
    }

    fn report(&self, module: &LoadedModule, size: u64, compile_time: Duration) -> ModuleReport {
        let ty = module.component.component_type();
        let imports: Vec<ModuleImport> = ty
            .imports(self.engine_of(module))
            .map(|(name, _)| ModuleImport {
                name: name.to_string(),
                problem: diagnose::import_problem(name),
            })
            .collect();
        let exports: Vec<String> = ty
            .exports(self.engine_of(module))
            .map(|(name, _)| name.to_string())
            .collect();
        let contract = imports
            .iter()
            .map(|i| i.name.as_str())
            .chain(exports.iter().map(String::as_str))
            .find_map(plugin_contract);
        let link_problem = self.link(module).err();
        let worlds = PluginKind::ALL
            .iter()
            .map(|kind| {
                let fit = match (&link_problem, kind) {
                    (Some(problem), _) => Err(problem.clone()),
                    (None, kind) if module.compat => self.fits_compat(module, *kind),
                    (None, PluginKind::Processor) => self.fits::<ProcessorWorld>(module),
                    (None, PluginKind::Bean) => self.fits::<BeanWorld>(module),
                    (None, PluginKind::Policy) => self.fits::<PolicyWorld>(module),
                    (None, PluginKind::Source) => self.fits::<SourceWorld>(module),
                };
                (*kind, fit)
            })
            .collect();
        let defaults = WasmPluginConfig::default();
        let default_limits = if size > defaults.max_module_size {
            Err(format!(
                "the file ({size} bytes) is over the default `max-module-size` of {} bytes: \
                 raise it for this plugin",
                defaults.max_module_size
            ))
        } else {
            module.needs.check(&defaults).map_err(|e| match e {
                WasmError::InvalidParameter { name, reason, .. } => format!(
                    "{reason}, over the default `{name}` of {}: raise `{name}` for this plugin",
                    default_value(&defaults, &name)
                ),
                other => other.to_string(),
            })
        };
        ModuleReport {
            path: module.path.clone(),
            size,
            compile_time,
            host_contract: format!("{PACKAGE}@{VERSION}"),
            contract,
            imports,
            exports,
            link_problem,
            worlds,
            default_limits,
        }
    }

    /// As [`WasmRuntime::fits`], for a component of rust-camel's
    /// `camel:plugin@1.0.0` contract.
    fn fits_compat(
        &self,
        module: &LoadedModule,
        kind: PluginKind,
    ) -> std::result::Result<(), String> {
        use crate::compat::worlds::{
            CompatBeanWorld, CompatPolicyWorld, CompatProcessorWorld, CompatSourceWorld,
        };
        match kind {
            PluginKind::Processor => self.fits::<CompatProcessorWorld>(module),
            PluginKind::Bean => self.fits::<CompatBeanWorld>(module),
            PluginKind::Policy => self.fits::<CompatPolicyWorld>(module),
            PluginKind::Source => self.fits::<CompatSourceWorld>(module),
        }
    }

    fn fits<W: PluginWorld>(&self, module: &LoadedModule) -> std::result::Result<(), String> {
        match self.instance_pre::<W>(module) {
            Ok(_) => Ok(()),
            Err(WasmError::WrongWorld { reason, .. }) => Err(reason),
            Err(other) => Err(other.to_string()),
        }
    }
}

/// `camel:wasm@0.2.0` for `camel:wasm/host@0.2.0` (and `camel:plugin@…`
/// for rust-camel's own contract).
fn plugin_contract(name: &str) -> Option<String> {
    let (package, rest) = name.split_once('/')?;
    if package != PACKAGE && package != "camel:plugin" {
        return None;
    }
    let version = rest.rsplit_once('@').map(|(_, v)| v);
    Some(match version {
        Some(version) => format!("{package}@{version}"),
        None => package.to_string(),
    })
}

/// The default value of a limit named in a `ModuleNeeds` error.
fn default_value(defaults: &WasmPluginConfig, name: &str) -> String {
    match name {
        "max-memory" => defaults.max_memory.to_string(),
        "max-core-instances" => defaults.max_core_instances.to_string(),
        "max-tables" => defaults.max_tables.to_string(),
        "max-table-elements" => defaults.max_table_elements.to_string(),
        _ => "(default)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_contract_of_an_import() {
        assert_eq!(
            plugin_contract("camel:wasm/host@0.2.0").as_deref(),
            Some("camel:wasm@0.2.0")
        );
        assert_eq!(
            plugin_contract("camel:plugin/host@1.0.0").as_deref(),
            Some("camel:plugin@1.0.0")
        );
        assert_eq!(plugin_contract("wasi:cli/stdout@0.2.6"), None);
        assert_eq!(plugin_contract("process"), None);
    }
}
