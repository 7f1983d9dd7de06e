//! Test guest `sandbox_probe`: tries what a hostile plugin would try and
//! reports the outcome as headers:
//!
//! - `env-vars`: how many environment variables it can see;
//! - `args`: how many command-line arguments it can see;
//! - `fs-root`, `fs-cwd`: `ok` if listing `/` or `.` worked, else `denied`;
//! - `fs-write`: `ok` if creating `/tmp/escape` worked, else `denied`;
//! - it also prints a line to stdout and to stderr (for the log capture).
//!
//! Network access is probed by `net_probe`: a plugin that imports
//! `wasi:sockets` is not loaded at all.

use camel_wasm_sdk::{Exchange, PluginError, plugin};

fn outcome<T, E>(result: Result<T, E>) -> &'static str {
    if result.is_ok() { "ok" } else { "denied" }
}

#[plugin]
fn sandbox_probe(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    println!("sandbox probe: hello from stdout");
    eprintln!("sandbox probe: hello from stderr");
    let env_vars = std::env::vars().count();
    let args = std::env::args().count();
    let fs_root = outcome(std::fs::read_dir("/"));
    let fs_cwd = outcome(std::fs::read_dir("."));
    let fs_write = outcome(std::fs::write("/tmp/escape", b"x"));
    let message = exchange.message_mut();
    message.set_header("env-vars", env_vars);
    message.set_header("args", args);
    message.set_header("fs-root", fs_root);
    message.set_header("fs-cwd", fs_cwd);
    message.set_header("fs-write", fs_write);
    Ok(exchange)
}
