//! `camel-wasm inspect`: what a `.wasm` file is to this host, and whether
//! (and why not) it loads. The checks are the host crate's
//! ([`WasmRuntime::inspect`]); this file only words the answer.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use camel_component_wasm::{ModuleReport, WasmError, WasmRuntime};

use crate::failure::{Failure, chain};
use crate::progress::{Progress, size};

/// Arguments of `camel-wasm inspect`.
#[derive(Debug, clap::Args)]
pub(crate) struct InspectArgs {
    /// The .wasm file.
    #[arg(value_name = "FILE")]
    file: PathBuf,

    /// Keep the compiled code in this directory (as `compile-cache` under
    /// `[components.wasm]` in Camel.toml does): a later `inspect` or
    /// `camel-wasm run` with the same directory skips the compile.
    #[arg(long, value_name = "DIR")]
    compile_cache: Option<PathBuf>,
}

/// Prints the report on stdout; exit status 0 if the file loads, 1 if not.
pub(crate) fn inspect(args: InspectArgs) -> Result<ExitCode, Failure> {
    let mut builder = WasmRuntime::builder();
    if let Some(dir) = &args.compile_cache {
        builder = builder.compile_cache(dir);
    }
    let runtime = builder
        .build()
        .map_err(|e| Failure::new(format!("setting up wasmtime: {}", chain(&e))))?;
    let shown = args.file.display().to_string();
    let bytes = std::fs::metadata(&args.file)
        .map_err(|e| Failure::new(format!("{shown}: cannot be read: {e}")))?
        .len();
    // The file name alone: a live line must not wrap.
    let name = args
        .file
        .file_name()
        .map_or_else(|| shown.clone(), |n| n.to_string_lossy().into_owned());
    let progress = Progress::start(format!("compiling {name} ({})", size(bytes)));
    let inspected = runtime.inspect(&args.file);
    progress.finish();
    match inspected {
        Ok(report) => {
            print!("{}", describe(&shown, &report));
            Ok(if report.loads() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Err(WasmError::InvalidModule { reason, .. }) => {
            println!("{shown}: does not load: {reason}");
            Ok(ExitCode::FAILURE)
        }
        Err(other) => Err(Failure::new(format!("{shown}: {}", chain(&other)))),
    }
}

/// The report in plain words.
fn describe(shown: &str, report: &ModuleReport) -> String {
    let mut out = String::new();
    let compiled = if report.compile_time.is_zero() {
        String::new()
    } else {
        format!(", compiled in {:.1} s", report.compile_time.as_secs_f64())
    };
    let _ = writeln!(
        out,
        "{shown}: a WebAssembly component ({}{compiled})",
        size(report.size)
    );
    let contract = report.contract.as_deref().unwrap_or("no plugin contract");
    match report.kind() {
        Some(kind) => {
            let _ = writeln!(
                out,
                "  world:    {kind} ({contract}; this host provides {})",
                report.host_contract
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  world:    none of this host's ({contract}; this host provides {})",
                report.host_contract
            );
        }
    }
    match (report.kind(), report.problem()) {
        (Some(kind), None) => {
            let _ = writeln!(out, "  loads:    yes, as {}", kind.usage());
        }
        (_, Some(problem)) => {
            let _ = writeln!(out, "  loads:    no: {problem}");
        }
        (None, None) => {
            let _ = writeln!(out, "  loads:    no");
        }
    }
    let _ = writeln!(out, "  imports:  {}", report.imports.len());
    for import in &report.imports {
        match &import.problem {
            None => {
                let _ = writeln!(out, "    {}", import.name);
            }
            // Said in full once, under `loads`.
            Some(problem)
                if report
                    .problem()
                    .is_some_and(|p| p.contains(problem.as_str())) =>
            {
                let _ = writeln!(out, "    {}  (not provided)", import.name);
            }
            Some(problem) => {
                let _ = writeln!(out, "    {}  (not provided: {problem})", import.name);
            }
        }
    }
    let _ = writeln!(out, "  exports:  {}", report.exports.len());
    for export in &report.exports {
        let _ = writeln!(out, "    {export}");
    }
    out
}
