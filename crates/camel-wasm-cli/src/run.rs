//! `camel-wasm run`: an integration from Camel.toml and YAML routes, on a
//! rust-camel context built the way rust-camel's own `camel run` builds one
//! (camel-config's `configure_context_with_beans`), with this host's
//! `wasm:` component, beans and policies; until Ctrl-C or SIGTERM.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use camel_bean::BeanRegistry;
use camel_component_direct::DirectComponent;
use camel_component_log::LogComponent;
use camel_component_mock::MockComponent;
use camel_component_timer::TimerComponent;
use camel_component_wasm::{WasmBundle, WasmComponent, WasmError};
use camel_config::CamelConfig;
use camel_core::{CamelContext, RegistryComponentContext};
use camel_dsl::SecurityCompileContext;

use crate::config_file::ConfigFile;
use crate::failure::{Failure, chain};
use crate::progress::Progress;
use crate::routes;

/// Extra time, past the grace period, that stopping may take before the
/// context is aborted (rust-camel's own shutdown steps after the drain).
const STOP_MARGIN: Duration = Duration::from_secs(5);

/// Arguments of `camel-wasm run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The configuration. Relative paths in it (`plugins_dir`, `routes`,
    /// policy paths) resolve against its directory. Without this option and
    /// without a ./Camel.toml, rust-camel's defaults apply (plugins in
    /// ./plugins) and route files must be given.
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,

    /// The profile: `[default]` merged with `[PROFILE]` (default:
    /// $CAMEL_PROFILE, else `default`).
    #[arg(long, short, value_name = "PROFILE")]
    profile: Option<String>,

    /// Seconds exchanges in flight get to finish after Ctrl-C or SIGTERM;
    /// then the rest is aborted. A second signal aborts at once. Default:
    /// the configuration's `drain_timeout_ms` (10 s unless set).
    #[arg(long, value_name = "SECONDS")]
    grace: Option<f64>,

    /// Route files or glob patterns (YAML or JSON), relative to the working
    /// directory. Default: the configuration's `routes` patterns.
    #[arg(value_name = "ROUTES")]
    routes: Vec<String>,
}

/// Runs the integration until a signal stops it.
pub(crate) fn run(args: RunArgs) -> Result<ExitCode, Failure> {
    let grace = args
        .grace
        .map(|secs| {
            Duration::try_from_secs_f64(secs).map_err(|_| {
                Failure::new(format!(
                    "--grace {secs}: expected a number of seconds, 0 or more"
                ))
            })
        })
        .transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("starting the async runtime: {e}")))?;
    runtime.block_on(run_until_stopped(args, grace))
}

async fn run_until_stopped(args: RunArgs, grace: Option<Duration>) -> Result<ExitCode, Failure> {
    let file = match &args.config {
        Some(path) => ConfigFile::load(path, args.profile.as_deref())?,
        None if Path::new("Camel.toml").is_file() => {
            ConfigFile::load(Path::new("Camel.toml"), args.profile.as_deref())?
        }
        None if !args.routes.is_empty() => ConfigFile::defaults()?,
        None => {
            return Err(Failure::new(
                "no Camel.toml in this directory: pass `--config FILE`, or route files to run \
                 without one (`camel-wasm run routes/*.yaml`)",
            ));
        }
    };
    // Fail on missing route files before anything is compiled.
    let route_files = routes::files(&args.routes, &file.config.routes, &file.root)?;
    // Listening from here on: a signal that comes while the routes start
    // stops them once they have, instead of killing the process.
    let mut signals = StopSignals::listen()?;
    let mut ctx = Integration::build(&file, route_files, grace).await?;
    let grace = ctx.drain_timeout();
    let limit = grace.saturating_add(STOP_MARGIN);
    let signal = signals.next().await;
    eprintln!(
        "camel-wasm: {signal}: stopping; exchanges in flight get up to {:.1} s",
        grace.as_secs_f64()
    );
    // A second signal, or a stop that overruns the grace period, aborts.
    let stopped = tokio::select! {
        stopped = tokio::time::timeout(limit, ctx.stop()) => Some(stopped),
        second = signals.next() => {
            eprintln!("camel-wasm: {second} again: aborting");
            None
        }
    };
    match stopped {
        Some(Ok(Ok(()))) => {
            eprintln!("camel-wasm: stopped");
            Ok(ExitCode::SUCCESS)
        }
        Some(Ok(Err(e))) => Err(Failure::new(format!("stopping: {}", chain(&e)))),
        Some(Err(_)) => {
            ctx.abort().await;
            Err(Failure::new(format!(
                "the routes did not stop within {:.1} s; aborted",
                limit.as_secs_f64()
            )))
        }
        None => {
            ctx.abort().await;
            Err(Failure::new("aborted"))
        }
    }
}

/// Building and starting the context.
struct Integration;

impl Integration {
    async fn build(
        file: &ConfigFile,
        route_files: Vec<PathBuf>,
        grace: Option<Duration>,
    ) -> Result<CamelContext, Failure> {
        let config = &file.config;
        let beans = Arc::new(Mutex::new(BeanRegistry::new()));
        // As rust-camel's `camel run`: supervision, repositories, languages,
        // and the tracing subscriber (stdout, `log_level`, RUST_LOG).
        let mut ctx = CamelConfig::configure_context_with_beans(config, Some(beans.clone()))
            .await
            .map_err(|e| file.failure(&[], &format!("setting up the context: {}", chain(&e))))?;
        // camel-config set it from `drain_timeout_ms`; --grace wins.
        if let Some(grace) = grace {
            ctx.set_drain_timeout(grace);
        }

        warn_unused_component_tables(config);
        ctx.register_component(DirectComponent::new());
        ctx.register_component(LogComponent::new());
        ctx.register_component(MockComponent::new());
        ctx.register_component(TimerComponent::new());
        let registry = Arc::new(RegistryComponentContext::new(
            ctx.registry_arc(),
            Some(ctx.metrics()),
            false,
        ));
        let wasm = WasmBundle::from_camel_config(config, &file.root)
            .and_then(|bundle| bundle.with_context(registry).build())
            .map_err(|e| file.failure(&["components", "wasm"], &chain(&e)))?;
        ctx.register_component(wasm.clone());

        load_beans(file, &wasm, &beans).await?;
        let security = load_policies(file, &wasm).await?;
        // Beans and policies serve any route: their health checks go in
        // under their own names (`wasm-bean:<name>`, `wasm-policy:<name>`).
        let health = ctx.health_registry();
        for check in wasm.health_checks() {
            let name = check.name().to_string();
            health.register_for_route(&name, check);
            health.mark_route_started(&name);
        }

        let mut started = Vec::new();
        for route_file in &route_files {
            let shown = route_file.display();
            let definitions = routes::load(
                route_file,
                config.stream_caching.threshold,
                security.clone(),
            )?;
            for definition in definitions {
                let id = definition.route_id().to_string();
                // Creating a route compiles its plugins.
                let progress = Progress::start(format!("adding route `{id}` ({shown})"));
                let added = ctx.add_route_definition(definition).await;
                progress.finish();
                added.map_err(|e| Failure::new(format!("{shown}: route `{id}`: {}", chain(&e))))?;
                started.push(id);
            }
        }
        ctx.start()
            .await
            .map_err(|e| Failure::new(format!("starting the routes: {}", chain(&e))))?;
        let from = route_files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        eprintln!(
            "camel-wasm: running {} route{} ({}) from {from}; Ctrl-C or SIGTERM stops",
            started.len(),
            if started.len() == 1 { "" } else { "s" },
            started.join(", ")
        );
        Ok(ctx)
    }
}

/// The components `run` registers.
const COMPONENTS: [&str; 5] = ["direct", "log", "mock", "timer", "wasm"];

/// Says so when Camel.toml configures a component `run` does not have.
fn warn_unused_component_tables(config: &CamelConfig) {
    let mut unused: Vec<&str> = config
        .components
        .raw
        .keys()
        .map(String::as_str)
        .filter(|key| !COMPONENTS.contains(key))
        .collect();
    unused.sort_unstable();
    for key in unused {
        eprintln!(
            "camel-wasm: warning: [components.{key}] is ignored: camel-wasm runs the {} \
             components",
            COMPONENTS.join(", ")
        );
    }
}

/// Loads and registers `[beans.*]`, before any route names them.
async fn load_beans(
    file: &ConfigFile,
    wasm: &WasmComponent,
    beans: &Mutex<BeanRegistry>,
) -> Result<(), Failure> {
    if file.config.beans.is_empty() {
        return Ok(());
    }
    let mut names: Vec<&str> = file.config.beans.keys().map(String::as_str).collect();
    names.sort_unstable();
    let progress = Progress::start(format!("loading beans {}", names.join(", ")));
    let loaded = wasm.register_beans(&file.config, beans).await;
    progress.finish();
    match loaded {
        Ok(_) => Ok(()),
        Err(WasmError::Bean { bean, source }) => {
            let key: &[&str] = if about_the_file(&source) {
                &["beans", &bean, "plugin"]
            } else {
                &["beans", &bean]
            };
            Err(file.failure(key, &chain(source.as_ref())))
        }
        Err(other) => Err(file.failure(&["beans"], &chain(&other))),
    }
}

/// Loads `[security.policies.wasm.*]` and `[security.permissions.*]`
/// (provider `wasm`) and the `[security.native]` authenticator; returns
/// what route compilation needs to find them.
async fn load_policies(
    file: &ConfigFile,
    wasm: &WasmComponent,
) -> Result<SecurityCompileContext, Failure> {
    let security = &file.config.security;
    let route_policies: Vec<&String> = security
        .policies
        .iter()
        .flat_map(|p| p.wasm.keys())
        .collect();
    let evaluators = security
        .permissions
        .iter()
        .flat_map(|p| p.values())
        .filter(|p| p.provider == "wasm")
        .count();
    let any = !route_policies.is_empty() || evaluators > 0;
    let progress = any.then(|| Progress::start("loading policies"));
    let loaded = wasm.register_policies(&file.config, &file.root).await;
    if let Some(progress) = progress {
        progress.finish();
    }
    let policies = loaded.map_err(|e| match e {
        WasmError::Policy { policy, source } => {
            let mut key = if route_policies.contains(&&policy) {
                vec!["security", "policies", "wasm", policy.as_str()]
            } else {
                vec!["security", "permissions", policy.as_str()]
            };
            if about_the_file(&source) {
                key.push("path");
            }
            file.failure(&key, &chain(source.as_ref()))
        }
        other => file.failure(&["security"], &chain(&other)),
    })?;
    let authenticator = crate::auth::authenticator(file)?;
    let mut context =
        SecurityCompileContext::new(authenticator, Some(policies.security_policies()));
    context.evaluator_registry = Some(policies.permission_evaluators());
    Ok(context)
}

/// Whether a plugin failed to load because of its file (missing, not
/// allowed, not a component of the right world): then the key to name is
/// the entry's `plugin` or `path`.
fn about_the_file(error: &WasmError) -> bool {
    matches!(
        error,
        WasmError::PathNotAllowed { .. }
            | WasmError::ModuleNotFound { .. }
            | WasmError::ModuleTooLarge { .. }
            | WasmError::InvalidModule { .. }
            | WasmError::WrongWorld { .. }
    )
}

/// Ctrl-C and (on Unix) SIGTERM, listened to from their creation on.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn listen() -> Result<Self, Failure> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind| {
                signal(kind).map_err(|e| Failure::new(format!("listening for signals: {e}")))
            };
            Ok(StopSignals {
                interrupt: listen(SignalKind::interrupt())?,
                terminate: listen(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    /// Waits for the next signal; returns which came.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.terminate.recv() => "SIGTERM",
                _ = self.interrupt.recv() => "Ctrl-C",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}
