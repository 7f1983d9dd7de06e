//! The WASI interfaces plugins are linked against: only those a plugin may
//! use, all backed by an empty context.
//!
//! Linked: `wasi:io`, `wasi:clocks`, `wasi:random`, `wasi:cli` (no
//! environment, no arguments, closed stdin, stdout/stderr to `tracing`),
//! `wasi:filesystem` (with no preopened directory, so nothing is
//! reachable) and `wasi:sockets` refusing everything: the context grants no
//! TCP, no UDP and no name lookup, and wasmtime-wasi checks those grants
//! before it creates an OS socket, so every socket call fails with
//! `access-denied` and nothing reaches the network. (It is linked because
//! some toolchains' C libraries import it whether the plugin uses it or
//! not: every componentize-py plugin does.) Not linked: anything else, such
//! as `wasi:http`: a plugin that imports it is refused when its endpoint is
//! created.

use wasmtime::component::Linker;
use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView as _};
use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView as _};
use wasmtime_wasi::p2::bindings::sockets;
use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random};
use wasmtime_wasi::random::WasiRandom;
use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView as _};

use crate::host_state::WasmHostState;

/// The WASI packages plugins may import.
pub(crate) const LINKED_PACKAGES: &[&str] = &[
    "wasi:io/",
    "wasi:clocks/",
    "wasi:random/",
    "wasi:cli/",
    "wasi:filesystem/",
    "wasi:sockets/",
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
    // Every use is refused by the (empty) context: see the module docs.
    sockets::tcp::add_to_linker::<_, WasiSockets>(l, |t| t.sockets())?;
    sockets::udp::add_to_linker::<_, WasiSockets>(l, |t| t.sockets())?;
    sockets::tcp_create_socket::add_to_linker::<_, WasiSockets>(l, |t| t.sockets())?;
    sockets::udp_create_socket::add_to_linker::<_, WasiSockets>(l, |t| t.sockets())?;
    sockets::instance_network::add_to_linker::<_, WasiSockets>(l, |t| t.sockets())?;
    sockets::network::add_to_linker::<_, WasiSockets>(l, &Default::default(), |t| t.sockets())?;
    sockets::ip_name_lookup::add_to_linker::<_, WasiSockets>(l, |t| t.sockets())?;
    Ok(())
}
