//! `camel-wasm`: run rust-camel integrations whose plugins are WebAssembly
//! components, from a `Camel.toml` and YAML routes, without writing Rust;
//! and the tools a plugin author needs: `new` (a plugin project that builds
//! out of the box) and `inspect` (what a `.wasm` is, and why it does or
//! does not load).

#![forbid(unsafe_code)]

mod auth;
mod config_file;
mod failure;
mod inspect;
mod new;
mod progress;
mod routes;
mod run;
mod templates;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Run rust-camel integrations with WebAssembly plugins, and build and check
/// the plugins.
#[derive(Debug, Parser)]
#[command(
    name = "camel-wasm",
    version,
    after_help = "Typical use:\n  \
        camel-wasm new my-plugin --kind processor    create a plugin project\n  \
        cargo build --release                         build it (in my-plugin/)\n  \
        camel-wasm inspect target/wasm32-wasip2/release/my_plugin.wasm\n  \
        camel-wasm run --config Camel.toml            run the integration"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run an integration: Camel.toml, YAML routes and WebAssembly plugins.
    ///
    /// Builds a rust-camel context with the direct, log, mock, timer and wasm
    /// components, the beans of `[beans.*]`, the policies of
    /// `[security.policies.wasm.*]` and `[security.permissions.*]`, adds the
    /// routes, starts, and runs until Ctrl-C or SIGTERM; then exchanges in
    /// flight get `--grace` seconds to finish. Logs (and `log:` steps) go
    /// to stdout, progress and errors to stderr.
    Run(run::RunArgs),
    /// Create a plugin project that builds out of the box.
    ///
    /// An example plugin of the chosen kind and language, a Camel.toml and a
    /// route to try it with `camel-wasm run`, and a README. In Rust, a crate
    /// (`cdylib`, built for `wasm32-wasip2` by default) depending on the
    /// camel-wasm guest SDK; in Python or JavaScript, the plugin, the helper
    /// module, the WIT and the pinned tool with a build command
    /// (componentize-py: `sh build.sh`; componentize-js: `npm run build`).
    New(new::NewArgs),
    /// Tell what a .wasm file is and whether this host loads it.
    ///
    /// Compiles the file as the host would and reports which plugin world it
    /// implements (processor, bean, policy, source) for which contract
    /// version, its imports and exports, and, if it does not load, why:
    /// not a component, truncated, built for another contract, an import
    /// the host does not provide, no plugin world's exports, limits.
    /// Exits with 0 if it loads, 1 if not.
    Inspect(inspect::InspectArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::New(args) => new::new(args),
        Command::Inspect(args) => inspect::inspect(args),
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
