//! `CompatSource`: the rust-camel `Consumer` of a `camel:plugin` source.
//!
//! `start` asks the plugin for its plan (`configure`, with the endpoint's
//! configuration), checks it against what the endpoint grants, binds the
//! listener (a bind error fails the route's start), starts the HTTP server
//! and runs the guest's `run` on a task of its own. If `run` traps or
//! returns an error, the failure is logged and counted by the crash-loop
//! breaker (health shows it until a restarted `run` has handed the route
//! an exchange) and a fresh instance is configured and run again, after
//! the breaker's back-off once failures repeat; the listener stays up
//! meanwhile (requests wait, then get 503). If `run` returns by
//! itself, the source is done: its listener closes. `stop` ends both
//! within `grace` (see `runner.rs`).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use async_trait::async_trait;
use camel_api::CamelError;
use camel_component_api::{
    ConcurrencyModel, Consumer, ConsumerContext, ConsumerStartupMode, SecurityContext,
};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, Notify, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::host::Link;
use super::plan::{self, Listening};
use super::requests::Inbox;
use super::runner::{Configured, Ended, Runner};
use crate::compat::worlds::CompatSourceWorld;
use crate::error::WasmError;
use crate::instance_pool::InstancePool;
use crate::source::edge_auth::{Caller, EdgeAuth};
use crate::source::listener;
use crate::source::options::SourceOptions;

/// Pause between two attempts to restart a failed `run` (the breaker adds
/// its back-off once failures repeat).
const RESTART_PAUSE: Duration = Duration::from_millis(100);

/// The consumer of one `camel:plugin` source endpoint in one route.
pub(super) struct CompatSource {
    uri: String,
    pool: Arc<InstancePool<CompatSourceWorld>>,
    options: SourceOptions,
    config: Vec<(String, String)>,
    /// Who may send requests, from the route's security plan.
    auth: EdgeAuth,
    stop: CancellationToken,
    /// The HTTP server and the guest's task; `stop` waits for them.
    tasks: Option<JoinHandle<()>>,
    /// Ends when they do; handed to the runtime, which watches it.
    watcher: Option<JoinHandle<Result<(), CamelError>>>,
}

impl CompatSource {
    pub(super) fn new(
        uri: String,
        pool: Arc<InstancePool<CompatSourceWorld>>,
        options: SourceOptions,
        config: Vec<(String, String)>,
    ) -> Self {
        CompatSource {
            uri,
            pool,
            options,
            config,
            auth: EdgeAuth::Open,
            stop: CancellationToken::new(),
            tasks: None,
            watcher: None,
        }
    }

    fn refused(&self, reason: String) -> CamelError {
        WasmError::Config {
            reason: format!("{}: {reason}", self.uri),
        }
        .into()
    }
}

/// Runs the guest until the consumer stops (restarting a failed `run`) or
/// `run` returns by itself; then stops the listener.
async fn supervise(
    runner: Runner,
    mut next: Option<Configured>,
    expected: Listening,
    options: SourceOptions,
    link: Arc<Link>,
    stop: CancellationToken,
) {
    loop {
        let configured = match next.take() {
            Some(configured) => configured,
            None => match reconfigure(&runner, &expected, &options, &stop).await {
                Some(configured) => configured,
                None => break,
            },
        };
        match runner.run(configured, link.clone(), &stop).await {
            Ok(Ended::Stopped) => break,
            Ok(Ended::Returned) => {
                tracing::info!(
                    plugin = %runner.pool.plugin.name,
                    "the source's `run` returned; its listener closes"
                );
                break;
            }
            Err(err) if stop.is_cancelled() => {
                tracing::debug!(
                    plugin = %runner.pool.plugin.name,
                    error = %crate::error::error_chain(&err),
                    "the source's `run` failed while stopping"
                );
                break;
            }
            Err(err) => tracing::warn!(
                plugin = %runner.pool.plugin.name,
                error = %crate::error::error_chain(&err),
                "the source's `run` failed; restarting it"
            ),
        }
    }
    stop.cancel();
}

/// A fresh instance whose plan is still `expected`, once the breaker lets
/// one be made; none if the consumer stops first.
async fn reconfigure(
    runner: &Runner,
    expected: &Listening,
    options: &SourceOptions,
    stop: &CancellationToken,
) -> Option<Configured> {
    loop {
        tokio::select! {
            () = tokio::time::sleep(RESTART_PAUSE) => {}
            () = stop.cancelled() => return None,
        }
        let configured = tokio::select! {
            configured = runner.configure() => configured,
            () = stop.cancelled() => return None,
        };
        match configured {
            Ok(configured) => match plan::check(&configured.plan, options) {
                Ok(listening) if listening == *expected => return Some(configured),
                Ok(_) | Err(_) => {
                    configured.refuse(WasmError::Config {
                        reason: format!(
                            "plugin `{}` answered `configure` with another plan on restart",
                            runner.pool.plugin.name
                        ),
                    });
                }
            },
            Err(err) => tracing::debug!(
                plugin = %runner.pool.plugin.name,
                error = %crate::error::error_chain(&err),
                "the source cannot restart yet"
            ),
        }
    }
}

#[async_trait]
impl Consumer for CompatSource {
    async fn start(&mut self, ctx: ConsumerContext) -> Result<(), CamelError> {
        self.stop = ctx.cancel_token().child_token();
        let runner = Runner {
            pool: self.pool.clone(),
            config: self.config.clone(),
            route_id: Some(Arc::from(ctx.route_id())),
            grace: self.options.grace,
        };
        let configured = runner.configure().await?;
        let listening = match plan::check(&configured.plan, &self.options) {
            Ok(listening) => listening,
            Err(reason) => {
                let err = self.refused(format!("the plugin is refused: {reason}"));
                configured.refuse(WasmError::Config {
                    reason: reason.clone(),
                });
                return Err(err);
            }
        };
        if let Err(reason) = self.auth.check_exposure(
            listening.address,
            self.options.public_exposure_acked,
            &self.uri,
        ) {
            configured.release();
            return Err(CamelError::Config(reason));
        }
        let socket = match TcpListener::bind(listening.address).await {
            Ok(socket) => socket,
            Err(err) => {
                // Not the plugin's fault.
                configured.release();
                return Err(self.refused(format!("cannot listen on {}: {err}", listening.address)));
            }
        };
        tracing::info!(
            plugin = %self.pool.plugin.name,
            address = %socket.local_addr().unwrap_or(listening.address),
            path = listening.path.as_deref().unwrap_or("*"),
            "camel:plugin source listening"
        );
        let config = &self.pool.plugin.config;
        let (requests, waiting) = mpsc::channel(1);
        let inbox = Arc::new(Inbox {
            requests,
            path: listening.path.clone(),
            admission: Arc::new(Semaphore::new(self.options.max_pending)),
            retry_after: self.options.retry_after,
            wait: config.timeout,
            max_body: config.max_stream_bytes,
            idle: config.stream_timeout,
            stop: self.stop.clone(),
            auth: self.auth.clone(),
        });
        let link = Arc::new(Link {
            requests: Mutex::new(waiting),
            ctx: ctx.clone(),
            stop: self.stop.clone(),
            max_body: config.max_stream_bytes,
            budget: config.result_budget(),
            accepted: AtomicU64::new(0),
            progress: Notify::new(),
            caller: std::sync::Mutex::new(Caller::default()),
        });
        let server = tokio::spawn(listener::serve(socket, inbox, self.options.grace));
        let guest = tokio::spawn(supervise(
            runner,
            Some(configured),
            listening,
            self.options.clone(),
            link,
            self.stop.clone(),
        ));
        ctx.mark_ready();
        let (done, finished) = tokio::sync::oneshot::channel();
        self.tasks = Some(tokio::spawn(async move {
            let (guest, server) = tokio::join!(guest, server);
            let outcome = match (guest, server) {
                (Err(err), _) | (_, Err(err)) if err.is_panic() => Err(CamelError::ProcessorError(
                    format!("a wasm source task panicked: {err}"),
                )),
                _ => Ok(()),
            };
            let _ = done.send(outcome);
        }));
        self.watcher = Some(tokio::spawn(
            async move { finished.await.unwrap_or(Ok(())) },
        ));
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), CamelError> {
        self.stop.cancel();
        if let Some(tasks) = self.tasks.take() {
            // Within the guest's grace, then its interrupt and drop.
            let patience = self.options.grace + Duration::from_secs(3);
            if tokio::time::timeout(patience, tasks).await.is_err() {
                tracing::warn!(uri = %self.uri, "wasm source tasks did not stop in time");
            }
        }
        Ok(())
    }

    fn concurrency_model(&self) -> ConcurrencyModel {
        // As in rust-camel's own host: the guest submits one exchange at a
        // time, and the route takes them in order unless it says otherwise.
        ConcurrencyModel::Sequential
    }

    fn startup_mode(&self) -> ConsumerStartupMode {
        ConsumerStartupMode::Explicit
    }

    fn background_task_handle(&mut self) -> Option<JoinHandle<Result<(), CamelError>>> {
        self.watcher.take()
    }

    fn set_security_context(&mut self, context: SecurityContext) {
        self.auth = EdgeAuth::from_context(context);
    }
}
