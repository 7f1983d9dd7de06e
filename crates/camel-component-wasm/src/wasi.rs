//! The WASI interfaces plugins are linked against: only those a plugin may
//! use, all backed by an empty context.
//!
//! Linked: `wasi:io`, `wasi:clocks`, `wasi:random`, `wasi:cli` (no
//! environment, no arguments, closed stdin, stdout/stderr to `tracing`) and
//! `wasi:filesystem` (with no preopened directory, so nothing is
//! reachable). Not linked: `wasi:sockets` (and so no network at all, whatever
//! wasmtime-wasi's defaults are) and anything else, such as `wasi:http`: a
//! plugin that imports them is refused when its endpoint is created.

use wasmtime::component::Linker;
use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView as _};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView as _};
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random};
use wasmtime_wasi::random::WasiRandom;

use crate::host_state::WasmHostState;

/// The WASI packages plugins may import.
pub(crate) const LINKED_PACKAGES: &[&str] = &[
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:cli/",
    "wasi:filesystem/",
];

/// Adds the allowed WASI interfaces to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<WasmHostState>) -> wasmtime::Result<()> {
    wasmtime_wasi_io::add_to_linker_async(linker)?;
    let l = linker;
    clocks::wall_clock::add_to_linker::<_, WasiClocks>(l, |t| t.clocks())?;
    clocks::monotonic_clock::add_to_linker::<_, WasiClocks>(l, |t| t.clocks())?;
    random::random::add_to_linker::<_, WasiRandom>(l, |t| &mut t.random)?;
    random::insecure::add_to_linker::<_, WasiRandom>(l, |t| &mut t.random)?;
    random::insecure_seed::add_to_linker::<_, WasiRandom>(l, |t| &mut t.random)?;
    cli::exit::add_to_linker::<_, WasiCli>(l, |t| t.cli())?;
    cli::environment::add_to_linker::<_, WasiCli>(l, |t| t.cli())?;
    cli::stdin::add_to_linker::<_, WasiCli>(l, |t| t.cli())?;
    cli::stdout::add_to_linker::<_, WasiCli>(l, |t| t.cli())?;
    cli::stderr::add_to_linker::<_, WasiCli>(l, |t| t.cli())?;
    cli::terminal_input::add_to_linker::<_, WasiCli>(l, |t| t.cli())?;
    cli::terminal_output::add_to_linker::<_, WasiCli>(l, |t| t.cli())?;
    cli::terminal_stdin::add_to_linker::<_, WasiCli>(l, |t| t.cli())?;
    cli::terminal_stdout::add_to_linker::<_, WasiCli>(l, |t| t.cli())?;
    cli::terminal_stderr::add_to_linker::<_, WasiCli>(l, |t| t.cli())?;
    filesystem::types::add_to_linker::<_, WasiFilesystem>(l, |t| t.filesystem())?;
    filesystem::preopens::add_to_linker::<_, WasiFilesystem>(l, |t| t.filesystem())?;
    Ok(())
}
