//! The crate's error type and its single mapping to [`CamelError`].

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use camel_api::CamelError;

/// A boxed cause carried in `#[source]` fields.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong when loading or running a WASM plugin.
///
/// Configuration variants are reported when a route is created; the others
/// fail exactly one exchange (or one bean call) and leave the endpoint ready
/// for the next one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WasmError {
    /// The endpoint URI is malformed.
    #[error("invalid wasm URI `{uri}`: {reason}")]
    InvalidUri {
        /// The URI as given.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A URI or configuration parameter is unknown, unparsable or out of range.
    #[error("invalid wasm parameter `{name}={value}`: {reason}")]
    InvalidParameter {
        /// The parameter name.
        name: String,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A configuration table (e.g. `[components.wasm]`) is malformed.
    #[error("invalid wasm configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },

    /// The module path is not allowed (absolute, `..`, or escapes the base directory).
    #[error("wasm module path `{path}` is not allowed: {reason}")]
    PathNotAllowed {
        /// The path as given.
        path: String,
        /// Why it is refused.
        reason: String,
    },

    /// The module file does not exist or cannot be read.
    #[error("cannot read wasm module {}", path.display())]
    ModuleNotFound {
        /// The resolved path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The module file is larger than the configured cap.
    #[error("wasm module {} is {size} bytes, over the {max} byte limit", path.display())]
    ModuleTooLarge {
        /// The resolved path.
        path: PathBuf,
        /// The file size.
        size: u64,
        /// The configured limit.
        max: u64,
    },

    /// The file is not a valid WebAssembly component.
    #[error("{} is not a valid WebAssembly component: {reason}", path.display())]
    InvalidModule {
        /// The resolved path.
        path: PathBuf,
        /// What is wrong (e.g. "a core module, not a component").
        reason: String,
        /// The compiler's error, where there is one.
        #[source]
        source: Option<BoxError>,
    },

    /// The component does not fit the expected world: it imports something
    /// the host does not provide, or its exports are not the world's.
    #[error("{} cannot be used as a camel:wasm `{world}`: {reason}", path.display())]
    WrongWorld {
        /// The resolved path.
        path: PathBuf,
        /// The world that was expected (`processor`, `bean` or `policy`).
        world: &'static str,
        /// What is wrong and what to do about it.
        reason: String,
        /// The linker's explanation (missing export, unknown import, ...).
        #[source]
        source: BoxError,
    },

    /// A fresh instance could not be created.
    #[error("plugin `{plugin}`: instantiation failed")]
    Instantiate {
        /// The plugin name.
        plugin: String,
        /// The cause.
        #[source]
        source: BoxError,
    },

    /// A new instance could not be made ready: the guest's `init` returned
    /// an error, or trapped, timed out, ran out of memory or panicked while
    /// running (`source` says which).
    #[error("plugin `{plugin}`: `init` failed")]
    Init {
        /// The plugin name.
        plugin: String,
        /// What went wrong inside `init`: a [`WasmError::Guest`] for an
        /// error it returned, else the trap's variant.
        #[source]
        source: Box<WasmError>,
    },

    /// The plugin is not serving: its crash-loop breaker is open (see the
    /// README's "Limits and recovery").
    #[error("plugin `{plugin}` is unhealthy: {reason}")]
    Unhealthy {
        /// The plugin name.
        plugin: String,
        /// Why, with the last failure and when the next attempt is made.
        reason: String,
    },

    /// No instance could be had in time: every instance of the endpoint was
    /// busy for the whole `timeout`, or the runtime's instance pool is full.
    /// Not the plugin's fault; it does not count towards the crash-loop
    /// breaker.
    #[error("plugin `{plugin}` is busy: {reason}")]
    Busy {
        /// The plugin name.
        plugin: String,
        /// What was exhausted.
        reason: String,
    },

    /// The guest exceeded a limit the host enforces on what crosses the
    /// boundary (for example `max-result-bytes`).
    #[error("plugin `{plugin}` exceeded `{limit}`: {detail}")]
    ResourceLimit {
        /// The plugin name.
        plugin: String,
        /// The option that sets the limit.
        limit: &'static str,
        /// What the guest did.
        detail: String,
    },

    /// The guest returned an error from its export (a business failure).
    #[error("plugin `{plugin}` failed: {error}")]
    Guest {
        /// The plugin name.
        plugin: String,
        /// The error the guest returned.
        error: GuestError,
    },

    /// The guest ran past its deadline.
    #[error("plugin `{plugin}` timed out after {timeout_secs}s")]
    Timeout {
        /// The plugin name.
        plugin: String,
        /// The configured timeout, in seconds (fractions are possible).
        timeout_secs: f64,
    },

    /// The guest tried to grow its memory past the limit.
    #[error("plugin `{plugin}` ran out of memory (limit {max_memory_bytes} bytes)")]
    OutOfMemory {
        /// The plugin name.
        plugin: String,
        /// The configured limit in bytes.
        max_memory_bytes: u64,
    },

    /// The guest trapped.
    #[error("plugin `{plugin}` trapped: {reason}")]
    Trap {
        /// The plugin name.
        plugin: String,
        /// What kind of trap.
        reason: TrapReason,
    },

    /// The guest panicked; the message is the guest's own.
    #[error("plugin `{plugin}` panicked: {message}")]
    GuestPanic {
        /// The plugin name.
        plugin: String,
        /// The panic message reported by the guest.
        message: String,
    },

    /// A call chain came back into a plugin that is already running on it.
    #[error("plugin `{plugin}`: recursive wasm calls not supported ({reason})")]
    Recursion {
        /// The plugin name.
        plugin: String,
        /// How the loop was detected.
        reason: String,
    },

    /// The exchange could not be converted for the guest, or the guest's
    /// result could not be converted back.
    #[error("plugin `{plugin}`: {reason}")]
    Conversion {
        /// The plugin name.
        plugin: String,
        /// What could not be converted.
        reason: String,
    },

    /// A bean could not be loaded; `source` says why.
    #[error("wasm bean `{bean}` could not be loaded")]
    Bean {
        /// The bean's name.
        bean: String,
        /// The cause.
        #[source]
        source: Box<WasmError>,
    },

    /// A policy could not be loaded; `source` says why.
    #[error("wasm policy `{policy}` could not be loaded")]
    Policy {
        /// The policy's name.
        policy: String,
        /// The cause.
        #[source]
        source: Box<WasmError>,
    },

    /// An unexpected failure inside the host while serving a plugin.
    #[error("plugin `{plugin}`: host error")]
    Host {
        /// The plugin name.
        plugin: String,
        /// The cause.
        #[source]
        source: BoxError,
    },

    /// The runtime itself could not be set up (engine, compile cache,
    /// linker, epoch ticker); no plugin is involved.
    #[error("wasm runtime: {operation} failed")]
    Runtime {
        /// What the runtime was doing.
        operation: &'static str,
        /// The cause.
        #[source]
        source: BoxError,
    },
}

/// Every value [`WasmError::class`] returns, in a fixed order.
pub(crate) const ERROR_CLASSES: [&str; 24] = [
    "invalid_uri",
    "invalid_parameter",
    "config",
    "path_not_allowed",
    "module_not_found",
    "module_too_large",
    "invalid_module",
    "wrong_world",
    "instantiate",
    "init",
    "unhealthy",
    "busy",
    "resource_limit",
    "guest",
    "timeout",
    "out_of_memory",
    "trap",
    "guest_panic",
    "recursion",
    "conversion",
    "bean",
    "policy",
    "host",
    "runtime",
];

impl WasmError {
    /// A short, stable name of the variant (`timeout`, `trap`, `guest`,
    /// `out_of_memory`, ...): the `class` label of the
    /// `camel_wasm_call_errors_total` metric and the `error_class` field of
    /// a call's span. One of a fixed set, so it is safe as a metric label.
    pub fn class(&self) -> &'static str {
        ERROR_CLASSES[self.class_index()]
    }

    /// The position of [`WasmError::class`] in [`ERROR_CLASSES`].
    pub(crate) fn class_index(&self) -> usize {
        match self {
            WasmError::InvalidUri { .. } => 0,
            WasmError::InvalidParameter { .. } => 1,
            WasmError::Config { .. } => 2,
            WasmError::PathNotAllowed { .. } => 3,
            WasmError::ModuleNotFound { .. } => 4,
            WasmError::ModuleTooLarge { .. } => 5,
            WasmError::InvalidModule { .. } => 6,
            WasmError::WrongWorld { .. } => 7,
            WasmError::Instantiate { .. } => 8,
            WasmError::Init { .. } => 9,
            WasmError::Unhealthy { .. } => 10,
            WasmError::Busy { .. } => 11,
            WasmError::ResourceLimit { .. } => 12,
            WasmError::Guest { .. } => 13,
            WasmError::Timeout { .. } => 14,
            WasmError::OutOfMemory { .. } => 15,
            WasmError::Trap { .. } => 16,
            WasmError::GuestPanic { .. } => 17,
            WasmError::Recursion { .. } => 18,
            WasmError::Conversion { .. } => 19,
            WasmError::Bean { .. } => 20,
            WasmError::Policy { .. } => 21,
            WasmError::Host { .. } => 22,
            WasmError::Runtime { .. } => 23,
        }
    }

    /// The plugin name, for the variants that concern a running plugin.
    pub fn plugin(&self) -> Option<&str> {
        match self {
            WasmError::Instantiate { plugin, .. }
            | WasmError::Init { plugin, .. }
            | WasmError::Unhealthy { plugin, .. }
            | WasmError::Busy { plugin, .. }
            | WasmError::ResourceLimit { plugin, .. }
            | WasmError::Guest { plugin, .. }
            | WasmError::Timeout { plugin, .. }
            | WasmError::OutOfMemory { plugin, .. }
            | WasmError::Trap { plugin, .. }
            | WasmError::GuestPanic { plugin, .. }
            | WasmError::Recursion { plugin, .. }
            | WasmError::Conversion { plugin, .. }
            | WasmError::Host { plugin, .. } => Some(plugin),
            _ => None,
        }
    }
}

/// The kind of a guest trap.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrapReason {
    /// A `unreachable` instruction ran (also how Rust guests abort).
    Unreachable,
    /// The guest's call stack was exhausted.
    StackOverflow,
    /// Integer division (or remainder) by zero.
    IntegerDivisionByZero,
    /// Integer overflow (e.g. `i32::MIN / -1`).
    IntegerOverflow,
    /// An access outside linear memory.
    MemoryOutOfBounds,
    /// An out-of-bounds table access or a call through a bad table entry.
    BadTableAccess,
    /// Any other trap, with wasmtime's description.
    Other(String),
}

impl fmt::Display for TrapReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrapReason::Unreachable => f.write_str("unreachable instruction executed"),
            TrapReason::StackOverflow => f.write_str("stack overflow"),
            TrapReason::IntegerDivisionByZero => f.write_str("integer divide by zero"),
            TrapReason::IntegerOverflow => f.write_str("integer overflow"),
            TrapReason::MemoryOutOfBounds => f.write_str("out of bounds memory access"),
            TrapReason::BadTableAccess => f.write_str("bad table access or indirect call"),
            TrapReason::Other(msg) => f.write_str(msg),
        }
    }
}

/// An error a guest returned (the WIT `error` variant).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GuestError {
    /// Processing failed (a business error).
    Failed(String),
    /// A value could not be converted.
    TypeConversion(String),
    /// Something named does not exist.
    NotFound(String),
    /// A request was refused.
    Denied(String),
    /// A size or count limit was exceeded.
    LimitExceeded(String),
    /// An I/O failure.
    Io(String),
    /// An operation took too long.
    Timeout(String),
}

impl GuestError {
    /// The WIT case name (`failed`, `type-conversion`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            GuestError::Failed(_) => "failed",
            GuestError::TypeConversion(_) => "type-conversion",
            GuestError::NotFound(_) => "not-found",
            GuestError::Denied(_) => "denied",
            GuestError::LimitExceeded(_) => "limit-exceeded",
            GuestError::Io(_) => "io",
            GuestError::Timeout(_) => "timeout",
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            GuestError::Failed(m)
            | GuestError::TypeConversion(m)
            | GuestError::NotFound(m)
            | GuestError::Denied(m)
            | GuestError::LimitExceeded(m)
            | GuestError::Io(m)
            | GuestError::Timeout(m) => m,
        }
    }
}

impl fmt::Display for GuestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

/// The crate's result type.
pub type Result<T, E = WasmError> = std::result::Result<T, E>;

impl From<WasmError> for CamelError {
    /// The one place where plugin failures become framework errors.
    ///
    /// Configuration problems become `InvalidUri` / `EndpointCreationFailed`;
    /// a guest's type-conversion error becomes `TypeConversionFailed` and its
    /// I/O error `Io`; every runtime failure becomes a
    /// `ProcessorErrorWithSource` whose source is the [`WasmError`] itself, so
    /// error handlers can downcast it and see the exact variant.
    fn from(err: WasmError) -> Self {
        match err {
            WasmError::InvalidUri { .. } | WasmError::InvalidParameter { .. } => {
                CamelError::InvalidUri(err.to_string())
            }
            WasmError::Config { .. } => CamelError::Config(err.to_string()),
            WasmError::PathNotAllowed { .. }
            | WasmError::ModuleNotFound { .. }
            | WasmError::ModuleTooLarge { .. }
            | WasmError::InvalidModule { .. }
            | WasmError::WrongWorld { .. } => CamelError::EndpointCreationFailed(error_chain(&err)),
            WasmError::Guest {
                error: GuestError::TypeConversion(_),
                ..
            } => CamelError::TypeConversionFailed(err.to_string()),
            WasmError::Guest {
                error: GuestError::Io(_),
                ..
            } => CamelError::Io(err.to_string()),
            WasmError::Runtime { .. } => CamelError::Config(error_chain(&err)),
            other => CamelError::ProcessorErrorWithSource(error_chain(&other), Arc::new(other)),
        }
    }
}

/// Finds the [`WasmError`] inside a [`CamelError`] produced by this crate.
pub fn wasm_error_of(err: &CamelError) -> Option<&WasmError> {
    match err {
        CamelError::ProcessorErrorWithSource(_, source) => source.downcast_ref::<WasmError>(),
        _ => None,
    }
}

/// `err` and its causes, joined with `: `.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_errors_keep_the_typed_variant() {
        let err: CamelError = WasmError::Timeout {
            plugin: "slow".into(),
            timeout_secs: 2.0,
        }
        .into();
        assert!(err.to_string().contains("plugin `slow` timed out after 2s"));
        assert!(matches!(
            wasm_error_of(&err),
            Some(WasmError::Timeout { plugin, .. }) if plugin == "slow"
        ));
    }

    #[test]
    fn config_errors_name_the_file_and_cause() {
        let err: CamelError = WasmError::ModuleNotFound {
            path: "plugins/x.wasm".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "No such file"),
        }
        .into();
        match err {
            CamelError::EndpointCreationFailed(msg) => {
                assert_eq!(msg, "cannot read wasm module plugins/x.wasm: No such file")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn guest_conversion_errors_map_to_type_conversion() {
        let err: CamelError = WasmError::Guest {
            plugin: "p".into(),
            error: GuestError::TypeConversion("not a number".into()),
        }
        .into();
        assert!(matches!(err, CamelError::TypeConversionFailed(_)));
    }
}
