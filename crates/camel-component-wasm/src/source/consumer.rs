//! `WasmSource`: the rust-camel `Consumer` of a source endpoint.
//!
//! `start` asks the plugin for its triggers, checks each against what the
//! endpoint grants, binds the listener (a bind error fails the route's
//! start), starts the listener and timer tasks and signals readiness.
//! `stop` (route stop or suspend) ends them: the listener closes, requests
//! in flight get up to `grace` to finish.

use std::sync::Arc;

use async_trait::async_trait;
use camel_api::CamelError;
use camel_component_api::{
    ConcurrencyModel, Consumer, ConsumerContext, ConsumerStartupMode, SecurityContext,
};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::instance_pool::InstancePool;
use crate::source::edge_auth::EdgeAuth;
use crate::source::guest::{Plan, SourceGuest};
use crate::source::http::Served;
use crate::source::listener;
use crate::source::options::SourceOptions;
use crate::source::timer;
use crate::world::SourceWorld;

/// The consumer of one source endpoint in one route.
pub(crate) struct WasmSource {
    uri: String,
    pool: Arc<InstancePool<SourceWorld>>,
    options: SourceOptions,
    /// Who may send requests, from the route's security plan.
    auth: EdgeAuth,
    stop: CancellationToken,
    /// The listener and timer tasks; `stop` waits for them.
    workers: Option<JoinHandle<()>>,
    /// Ends when the workers do; handed to the runtime, which watches it.
    watcher: Option<JoinHandle<Result<(), CamelError>>>,
}

impl WasmSource {
    pub(crate) fn new(
        uri: String,
        pool: Arc<InstancePool<SourceWorld>>,
        options: SourceOptions,
    ) -> Self {
        WasmSource {
            uri,
            pool,
            options,
            auth: EdgeAuth::Open,
            stop: CancellationToken::new(),
            workers: None,
            watcher: None,
        }
    }

    fn refused(&self, what: &str) -> CamelError {
        CamelError::Config(format!(
            "{}: the plugin asks for {what}, which this endpoint does not grant",
            self.uri
        ))
    }

    /// Checks the plan against the grants and starts a task per trigger.
    async fn start_triggers(
        &self,
        plan: Plan,
        guest: &SourceGuest,
        ctx: &ConsumerContext,
    ) -> Result<JoinSet<()>, CamelError> {
        if plan.http_path.is_none() && plan.timer.is_none() {
            return Err(CamelError::Config(format!(
                "{}: the plugin asks for no trigger (neither `http` nor `timer` in its plan)",
                self.uri
            )));
        }
        let mut workers = JoinSet::new();
        if let Some(path) = plan.http_path {
            let Some(address) = self.options.listen else {
                return Err(self.refused(&format!(
                    "an HTTP listener on `{path}` (set `listen=<host:port>`)"
                )));
            };
            if self.options.path.as_ref().is_some_and(|p| *p != path) {
                return Err(self.refused(&format!("the HTTP path `{path}` (the `path` option)")));
            }
            self.auth
                .check_exposure(address, self.options.public_exposure_acked, &self.uri)
                .map_err(CamelError::Config)?;
            let listener = TcpListener::bind(address).await.map_err(|err| {
                CamelError::Config(format!("{}: cannot listen on {address}: {err}", self.uri))
            })?;
            tracing::info!(
                plugin = %self.pool.plugin.name,
                address = %listener.local_addr().unwrap_or(address),
                %path,
                "wasm source listening"
            );
            let served = Arc::new(Served {
                guest: guest.clone(),
                ctx: ctx.clone(),
                path,
                admission: Arc::new(Semaphore::new(self.options.max_pending)),
                retry_after: self.options.retry_after,
                max_body: self.pool.plugin.config.max_stream_bytes,
                read_timeout: self.pool.plugin.config.timeout,
                stop: self.stop.clone(),
                auth: self.auth.clone(),
            });
            workers.spawn(listener::serve(listener, served, self.options.grace));
        }
        if let Some((period, times)) = plan.timer {
            if !self.options.allow_timer {
                return Err(self.refused("a timer (set `allow-timer=true`)"));
            }
            workers.spawn(timer::run(
                guest.clone(),
                ctx.clone(),
                period,
                times,
                self.stop.clone(),
            ));
        }
        Ok(workers)
    }
}

#[async_trait]
impl Consumer for WasmSource {
    async fn start(&mut self, ctx: ConsumerContext) -> Result<(), CamelError> {
        self.stop = ctx.cancel_token().child_token();
        let guest = SourceGuest {
            pool: self.pool.clone(),
            route_id: Some(Arc::from(ctx.route_id())),
        };
        let plan = guest.plan().await.map_err(CamelError::from)?;
        let mut workers = self.start_triggers(plan, &guest, &ctx).await?;
        ctx.mark_ready();
        let (done, finished) = tokio::sync::oneshot::channel();
        self.workers = Some(tokio::spawn(async move {
            let mut outcome = Ok(());
            while let Some(ended) = workers.join_next().await {
                if let Err(err) = ended
                    && err.is_panic()
                {
                    outcome = Err(CamelError::ProcessorError(format!(
                        "a wasm source task panicked: {err}"
                    )));
                }
            }
            let _ = done.send(outcome);
        }));
        self.watcher = Some(tokio::spawn(
            async move { finished.await.unwrap_or(Ok(())) },
        ));
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), CamelError> {
        self.stop.cancel();
        if let Some(workers) = self.workers.take() {
            let patience = self.options.grace + std::time::Duration::from_secs(1);
            if tokio::time::timeout(patience, workers).await.is_err() {
                tracing::warn!(uri = %self.uri, "wasm source tasks did not stop in time");
            }
        }
        Ok(())
    }

    fn concurrency_model(&self) -> ConcurrencyModel {
        ConcurrencyModel::Concurrent { max: None }
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
