//! `WasmComponent`: the `wasm:` scheme.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use camel_api::{AsyncHealthCheck, CamelError, MetricsCollector};
use camel_component_api::{Component, ComponentContext, Endpoint, parse_uri};

use crate::bean::WasmBean;
use crate::compat::source::CompatSourceEndpoint;
use crate::compat::worlds::{
    CompatBeanWorld, CompatPolicyWorld, CompatProcessorWorld, CompatSourceWorld,
};
use crate::config::WasmPluginConfig;
use crate::endpoint::WasmEndpoint;
use crate::error::{Result, WasmError};
use crate::health::PluginHealthCheck;
use crate::instance_pool::InstancePool;
use crate::metrics::{DEFAULT_FLUSH_INTERVAL, MetricLabels, PluginMetrics};
use crate::module_path;
use crate::plugin::PluginContext;
use crate::policy::WasmPolicy;
use crate::producer::ProcessorPool;
use crate::runtime::{LoadedModule, WasmRuntime};
use crate::source::SourceEndpoint;
use crate::source::options::SourceOptions;
use crate::state_store::{
    RedisConnections, StateStore, bean_namespace, endpoint_namespace, policy_namespace,
};
use crate::world::{ProcessorWorld, SourceWorld};

/// The URI scheme of [`WasmComponent`].
pub(crate) const SCHEME: &str = "wasm";

/// The rust-camel component for `wasm:<path>[?options]` endpoints.
///
/// Paths are resolved inside a base directory; modules are compiled once per
/// content and shared by every endpoint of the component.
#[derive(Clone)]
pub struct WasmComponent {
    inner: Arc<ComponentInner>,
}

struct ComponentInner {
    runtime: WasmRuntime,
    base_dir: PathBuf,
    defaults: WasmPluginConfig,
    registry: Option<Arc<dyn ComponentContext>>,
    /// One connection per Redis server named by a `state` option.
    state_connections: RedisConnections,
    /// Where beans' and policies' metrics go (endpoints use their route's
    /// context): the builder's collector, else the context's.
    metrics: Option<Arc<dyn MetricsCollector>>,
    /// How often counted metrics are handed to the collector.
    metrics_interval: std::time::Duration,
    /// The health checks of the beans and policies loaded so far.
    health_checks: std::sync::Mutex<Vec<Arc<dyn AsyncHealthCheck>>>,
    /// Bind addresses on which unauthenticated source routes may listen
    /// beyond loopback.
    public_binds: std::collections::HashSet<String>,
}

impl std::fmt::Debug for WasmComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmComponent")
            .field("base_dir", &self.inner.base_dir)
            .field("defaults", &self.inner.defaults)
            .field("camel_call", &self.inner.registry.is_some())
            .finish_non_exhaustive()
    }
}

impl WasmComponent {
    /// The URI scheme, `wasm`.
    pub const SCHEME: &'static str = SCHEME;

    /// A component serving modules from `base_dir`, with default limits and
    /// no `camel-call` (see [`WasmComponentBuilder::context`]).
    ///
    /// # Errors
    ///
    /// If the wasmtime engine cannot be created.
    pub fn new(base_dir: impl Into<PathBuf>) -> Result<Self> {
        WasmComponent::builder(base_dir).build()
    }

    /// A builder for a component serving modules from `base_dir`.
    pub fn builder(base_dir: impl Into<PathBuf>) -> WasmComponentBuilder {
        WasmComponentBuilder {
            base_dir: base_dir.into(),
            defaults: WasmPluginConfig::default(),
            registry: None,
            runtime: None,
            metrics: None,
            metrics_interval: DEFAULT_FLUSH_INTERVAL,
            public_binds: Default::default(),
        }
    }

    /// The directory module paths are resolved in.
    pub fn base_dir(&self) -> &Path {
        &self.inner.base_dir
    }

    /// The runtime (engine and module cache) of this component.
    pub fn runtime(&self) -> &WasmRuntime {
        &self.inner.runtime
    }

    /// Creates the endpoint for `uri`, with typed errors.
    ///
    /// Checks the URI and its parameters, resolves the path safely, compiles
    /// the module (or takes it from the cache) and type-checks it against the
    /// `processor` world.
    ///
    /// # Errors
    ///
    /// [`WasmError::InvalidUri`], [`WasmError::InvalidParameter`],
    /// [`WasmError::PathNotAllowed`], [`WasmError::ModuleNotFound`],
    /// [`WasmError::ModuleTooLarge`], [`WasmError::InvalidModule`] or
    /// [`WasmError::WrongWorld`].
    pub fn endpoint(&self, uri: &str) -> Result<WasmEndpoint> {
        self.create(uri, None)
    }

    fn create(&self, uri: &str, ctx: Option<&dyn ComponentContext>) -> Result<WasmEndpoint> {
        match self.create_any(uri, ctx, false)? {
            Created::Processor(endpoint) => Ok(endpoint),
            // Not made unless asked for; the processor world's check fails
            // first for a source.
            Created::Source(_) | Created::CompatSource(_) => Err(WasmError::Config {
                reason: format!("{uri}: a source plugin is not a processor"),
            }),
        }
    }

    /// Creates the endpoint for `uri`: a processor step, or a source (a
    /// component of the `source` world, for `from`).
    fn create_any(
        &self,
        uri: &str,
        ctx: Option<&dyn ComponentContext>,
        sources: bool,
    ) -> Result<Created> {
        let parts = parse_uri(uri).map_err(|e| WasmError::InvalidUri {
            uri: uri.to_string(),
            reason: e.to_string(),
        })?;
        if parts.scheme != SCHEME {
            return Err(WasmError::InvalidUri {
                uri: uri.to_string(),
                reason: format!("expected the `{SCHEME}:` scheme"),
            });
        }
        let mut params = parts.params.clone();
        let compat_options = take_compat_source_options(&mut params)?;
        let mut source_options = SourceOptions::take_from(&mut params)?;
        source_options.public_exposure_acked = source_options
            .listen
            .is_some_and(|address| self.inner.public_binds.contains(&address.to_string()));
        let config = self.inner.defaults.clone().with_options(&params)?;
        self.check_fits_runtime(&config)?;
        let file = module_path::read(&self.inner.base_dir, &parts.path, config.max_module_size)?;
        let module = self.inner.runtime.load(file)?;
        let namespace = endpoint_namespace(ctx.and_then(|ctx| ctx.route_id()), &parts.path);
        let health = |guard, plugin| {
            if let Some(ctx) = ctx {
                ctx.register_current_route_health_check(Arc::new(PluginHealthCheck::new(
                    format!("{SCHEME}:{}", parts.path),
                    guard,
                    plugin,
                )));
            }
        };
        if module.compat && sources && self.exports(&module, "run") {
            let pool =
                self.pool::<CompatSourceWorld>(&parts.path, &namespace, &module, config, (), ctx)?;
            health(pool.guard.clone(), pool.plugin.clone());
            let mut configure = compat_options;
            if let Some(listen) = parts.params.get("listen")
                && !configure.iter().any(|(k, _)| k == "bind")
            {
                configure.push(("bind".to_string(), listen.trim().to_string()));
            }
            if let Some(path) = &source_options.path {
                configure.push(("path".to_string(), path.clone()));
            }
            tracing::debug!(plugin = %parts.path, "camel:plugin source endpoint created");
            return Ok(Created::CompatSource(CompatSourceEndpoint::new(
                uri.to_string(),
                pool,
                source_options,
                configure,
            )));
        }
        if let Some((name, value)) = compat_options.first() {
            return Err(crate::config::invalid(
                name,
                value,
                "applies to `camel:plugin@1.0.0` source plugins (in `from`) only",
            ));
        }
        if !module.compat && sources && self.exports(&module, "on-event") {
            let pool =
                self.pool::<SourceWorld>(&parts.path, &namespace, &module, config, (), ctx)?;
            health(pool.guard.clone(), pool.plugin.clone());
            tracing::debug!(plugin = %parts.path, "wasm source endpoint created");
            return Ok(Created::Source(SourceEndpoint::new(
                uri.to_string(),
                pool,
                source_options,
            )));
        }
        if let Some(name) = crate::source::options::NAMES
            .iter()
            .find(|name| parts.params.contains_key(**name))
        {
            return Err(crate::config::invalid(
                name,
                &parts.params[*name],
                "applies to source plugins (in `from`) only; this plugin is a processor",
            ));
        }
        let pool = if module.compat {
            let pool = self.pool::<CompatProcessorWorld>(
                &parts.path,
                &namespace,
                &module,
                config,
                (),
                ctx,
            )?;
            health(pool.guard.clone(), pool.plugin.clone());
            ProcessorPool::Compat(pool)
        } else {
            let pool =
                self.pool::<ProcessorWorld>(&parts.path, &namespace, &module, config, (), ctx)?;
            health(pool.guard.clone(), pool.plugin.clone());
            ProcessorPool::Own(pool)
        };
        tracing::debug!(plugin = %parts.path, compat = module.compat, "wasm endpoint created");
        Ok(Created::Processor(WasmEndpoint::new(uri.to_string(), pool)))
    }

    /// Whether the component exports a function named `name` at top level.
    fn exports(&self, module: &LoadedModule, name: &str) -> bool {
        module
            .component
            .component_type()
            .exports(self.inner.runtime.engine_of(module))
            .any(|(export, _)| export == name)
    }

    /// The instance pool of one plugin, after checking `config` against
    /// what the module needs. `namespace` names its state in a shared
    /// backend (unless `state-namespace` does). `ctx` is the route's
    /// context for an endpoint (its route labels the metrics).
    fn pool<W: crate::world::PluginWorld>(
        &self,
        name: &str,
        namespace: &str,
        module: &LoadedModule,
        config: WasmPluginConfig,
        init_args: W::InitArgs,
        ctx: Option<&dyn ComponentContext>,
    ) -> Result<Arc<InstancePool<W>>> {
        module.needs.check(&config)?;
        if !W::MAY_CALL && !config.call_policy.is_deny_all() {
            return Err(crate::config::invalid(
                "allow-call",
                &config.call_policy.to_string(),
                &format!("a {} plugin may not call endpoints", W::NAME),
            ));
        }
        let state_writes = config.state_writes.unwrap_or(W::STATE_WRITES_BY_DEFAULT);
        let name: Arc<str> = Arc::from(name);
        let state = StateStore::new(&config, &self.inner.state_connections, &name, namespace)
            .map_err(|reason| {
                crate::config::invalid("state", &config.state.to_string(), &reason)
            })?;
        let metrics = self.metrics_for::<W>(&name, &config, &state, ctx);
        let plugin = Arc::new(PluginContext::with_state(
            name,
            Arc::from(module.path.to_string_lossy().as_ref()),
            config,
            self.inner.registry.clone(),
            state_writes,
            state,
            metrics,
        ));
        InstancePool::new(self.inner.runtime.clone(), module, plugin, init_args)
    }

    /// The metrics of one plugin, unless `metrics=false` or there is no
    /// collector to give them to.
    fn metrics_for<W: crate::world::PluginWorld>(
        &self,
        name: &Arc<str>,
        config: &WasmPluginConfig,
        state: &StateStore,
        ctx: Option<&dyn ComponentContext>,
    ) -> Option<Arc<PluginMetrics>> {
        if !config.metrics {
            return None;
        }
        let collector = ctx
            .map(|ctx| ctx.metrics())
            .or_else(|| self.inner.metrics.clone())
            .or_else(|| self.inner.registry.as_ref().map(|r| r.metrics()))?;
        let route = ctx.and_then(|ctx| ctx.route_id()).unwrap_or_default();
        Some(PluginMetrics::start(
            collector,
            MetricLabels {
                plugin: name.clone(),
                kind: metric_kind(W::NAME),
                route: Arc::from(route),
            },
            config.max_memory,
            state.backend_name(),
            self.inner.metrics_interval,
        ))
    }

    /// The health checks of every bean and policy this component has
    /// loaded (`wasm-bean:<name>`, `wasm-policy:<name>`): `Unhealthy` while
    /// its crash guard is open, `Degraded` while it keeps failing or its
    /// state backend is unreachable, each with the reason. Endpoints in
    /// routes register their own check with their route; beans and
    /// policies serve any route, so register these under their own names:
    ///
    /// ```no_run
    /// # async fn doc(ctx: &camel_core::CamelContext, wasm: &camel_component_wasm::WasmComponent) {
    /// let health = ctx.health_registry();
    /// for check in wasm.health_checks() {
    ///     let name = check.name().to_string();
    ///     health.register_for_route(&name, check);
    ///     health.mark_route_started(&name);
    /// }
    /// # }
    /// # let _ = doc;
    /// ```
    pub fn health_checks(&self) -> Vec<Arc<dyn AsyncHealthCheck>> {
        self.inner
            .health_checks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn keep_health_check<W: crate::world::PluginWorld>(
        &self,
        name: String,
        pool: &Arc<InstancePool<W>>,
    ) {
        let check = Arc::new(PluginHealthCheck::new(
            name,
            pool.guard.clone(),
            pool.plugin.clone(),
        ));
        self.inner
            .health_checks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(check);
    }

    /// The default endpoint configuration (before URI parameters).
    pub fn defaults(&self) -> &WasmPluginConfig {
        &self.inner.defaults
    }
}

impl WasmComponent {
    /// Loads the bean `name` from `<base_dir>/<plugin>.wasm` (a component of
    /// the `bean` world), runs `init(config)` on a first instance and reads
    /// its methods.
    ///
    /// `plugin` must be a plain name (`[A-Za-z0-9_-]+`). Each call makes an
    /// independent bean: two beans loaded from the same plugin share no
    /// state and no instances (only the compiled module).
    ///
    /// # Errors
    ///
    /// [`WasmError::PathNotAllowed`] for a bad plugin name, the module errors
    /// of [`WasmComponent::endpoint`] (with `WrongWorld` naming the `bean`
    /// world), or the runtime error of the first instance (`Unhealthy` when
    /// `init` fails). Every error names the bean.
    pub async fn bean(
        &self,
        name: &str,
        plugin: &str,
        config: impl IntoIterator<Item = (String, String)>,
        limits: WasmPluginConfig,
    ) -> Result<WasmBean> {
        self.load_bean(name, plugin, config.into_iter().collect(), limits)
            .await
            .map_err(|source| WasmError::Bean {
                bean: name.to_string(),
                source: Box::new(source),
            })
    }

    async fn load_bean(
        &self,
        name: &str,
        plugin: &str,
        config: Vec<(String, String)>,
        limits: WasmPluginConfig,
    ) -> Result<WasmBean> {
        let plain = !plugin.is_empty()
            && plugin
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !plain {
            return Err(WasmError::PathNotAllowed {
                path: plugin.to_string(),
                reason: "a bean plugin must be a plain name ([A-Za-z0-9_-]+), resolved as <plugins_dir>/<name>.wasm".to_string(),
            });
        }
        self.check_fits_runtime(&limits)?;
        let module = self
            .read_module(name, &format!("{plugin}.wasm"), limits.max_module_size)
            .await?;
        let namespace = bean_namespace(name);
        if module.compat {
            let pool =
                self.pool::<CompatBeanWorld>(name, &namespace, &module, limits, config, None)?;
            let bean = WasmBean::start_compat(Arc::from(name), pool.clone()).await?;
            self.keep_health_check(format!("wasm-bean:{name}"), &pool);
            return Ok(bean);
        }
        let pool = self.pool(name, &namespace, &module, limits, config, None)?;
        let bean = WasmBean::start(Arc::from(name), pool.clone()).await?;
        self.keep_health_check(format!("wasm-bean:{name}"), &pool);
        Ok(bean)
    }
}

impl WasmComponent {
    /// Loads the policy `name` from `path` (relative to the component's
    /// base directory: a component of the `policy` world) and runs
    /// `init(config)` on a first instance.
    ///
    /// `limits` may not grant `allow-call` (policies call no endpoint);
    /// state writes are refused unless `limits.state_writes` is
    /// `Some(true)`. Each call makes an independent policy.
    ///
    /// # Errors
    ///
    /// The module errors of [`WasmComponent::endpoint`] (with `WrongWorld`
    /// naming the `policy` world), [`WasmError::InvalidParameter`] for an
    /// `allow-call`, or the runtime error of the first instance (`Init`
    /// when `init` fails), all inside [`WasmError::Policy`] naming it.
    pub async fn policy(
        &self,
        name: &str,
        path: &str,
        config: impl IntoIterator<Item = (String, String)>,
        limits: WasmPluginConfig,
    ) -> Result<WasmPolicy> {
        self.load_policy(name, path, config.into_iter().collect(), limits)
            .await
            .map_err(|source| WasmError::Policy {
                policy: name.to_string(),
                source: Box::new(source),
            })
    }

    async fn load_policy(
        &self,
        name: &str,
        path: &str,
        config: Vec<(String, String)>,
        limits: WasmPluginConfig,
    ) -> Result<WasmPolicy> {
        self.check_fits_runtime(&limits)?;
        let module = self.read_module(name, path, limits.max_module_size).await?;
        let namespace = policy_namespace(name);
        if module.compat {
            let pool =
                self.pool::<CompatPolicyWorld>(name, &namespace, &module, limits, config, None)?;
            let policy = WasmPolicy::start_compat(Arc::from(name), pool.clone()).await?;
            self.keep_health_check(format!("wasm-policy:{name}"), &pool);
            return Ok(policy);
        }
        let pool = self.pool(name, &namespace, &module, limits, config, None)?;
        let policy = WasmPolicy::start(Arc::from(name), pool.clone()).await?;
        self.keep_health_check(format!("wasm-policy:{name}"), &pool);
        Ok(policy)
    }

    /// Reads and compiles `path` (under the base directory) off the async
    /// executor: both block.
    async fn read_module(
        &self,
        name: &str,
        path: &str,
        max_size: u64,
    ) -> Result<Arc<LoadedModule>> {
        let base_dir = self.inner.base_dir.clone();
        let runtime = self.inner.runtime.clone();
        let raw = path.to_string();
        tokio::task::spawn_blocking(move || {
            runtime.load(module_path::read(&base_dir, &raw, max_size)?)
        })
        .await
        .map_err(|e| WasmError::Host {
            plugin: name.to_string(),
            source: e.into(),
        })?
    }
}

impl WasmComponent {
    /// With the pooling allocator, memory slots have a fixed size.
    fn check_fits_runtime(&self, config: &WasmPluginConfig) -> Result<()> {
        match self.inner.runtime.pooling() {
            Some(pool) if config.max_memory > pool.max_memory_bytes => {
                Err(WasmError::InvalidParameter {
                    name: "max-memory".to_string(),
                    value: config.max_memory.to_string(),
                    reason: format!(
                        "over the runtime's pooling slot size of {} bytes",
                        pool.max_memory_bytes
                    ),
                })
            }
            _ => Ok(()),
        }
    }
}

impl Component for WasmComponent {
    fn scheme(&self) -> &str {
        SCHEME
    }

    fn create_endpoint(
        &self,
        uri: &str,
        ctx: &dyn ComponentContext,
    ) -> Result<Box<dyn Endpoint>, CamelError> {
        match self.create_any(uri, Some(ctx), true) {
            Ok(Created::Processor(endpoint)) => Ok(Box::new(endpoint)),
            Ok(Created::Source(endpoint)) => Ok(Box::new(endpoint)),
            Ok(Created::CompatSource(endpoint)) => Ok(Box::new(endpoint)),
            Err(err) => {
                tracing::warn!(uri, error = %crate::error::error_chain(&err), "wasm endpoint rejected");
                Err(err.into())
            }
        }
    }
}

/// The `kind` label of a world: `processor`, `bean`, `policy` or `source`,
/// whichever contract the plugin was built for (a `camel:plugin@1.0.0`
/// world's name says which of ours it plays).
fn metric_kind(world: &'static str) -> &'static str {
    match world.split(' ').next() {
        Some("plugin") => "processor",
        Some("authorization-policy") => "policy",
        Some("bean") => "bean",
        Some("source") => "source",
        Some("policy") => "policy",
        _ => "processor",
    }
}

/// An endpoint of any kind.
enum Created {
    Processor(WasmEndpoint),
    Source(SourceEndpoint),
    CompatSource(CompatSourceEndpoint),
}

/// Takes the options only a `camel:plugin` source takes (`bind`, `method`)
/// out of `params` (`bind`, then `method`). `bind` grants the listener as `listen`
/// does (which it sets); both may be given only if they agree.
fn take_compat_source_options(
    params: &mut std::collections::HashMap<String, String>,
) -> Result<Vec<(String, String)>> {
    let taken: Vec<(String, String)> = crate::compat::source::OPTIONS
        .iter()
        .filter_map(|name| params.remove(*name).map(|value| (name.to_string(), value)))
        .collect();
    if let Some((_, bind)) = taken.iter().find(|(name, _)| name == "bind") {
        match params.get("listen") {
            Some(listen) if listen.trim() != bind.trim() => {
                return Err(crate::config::invalid(
                    "bind",
                    bind,
                    &format!("differs from `listen={listen}`; give one of them"),
                ));
            }
            Some(_) => {}
            None => {
                params.insert("listen".to_string(), bind.clone());
            }
        }
    }
    Ok(taken)
}

/// Builds a [`WasmComponent`].
pub struct WasmComponentBuilder {
    base_dir: PathBuf,
    defaults: WasmPluginConfig,
    registry: Option<Arc<dyn ComponentContext>>,
    runtime: Option<WasmRuntime>,
    metrics: Option<Arc<dyn MetricsCollector>>,
    metrics_interval: std::time::Duration,
    public_binds: std::collections::HashSet<String>,
}

impl std::fmt::Debug for WasmComponentBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmComponentBuilder")
            .field("base_dir", &self.base_dir)
            .field("defaults", &self.defaults)
            .finish_non_exhaustive()
    }
}

impl WasmComponentBuilder {
    /// Default limits for every endpoint; URI parameters override them.
    pub fn defaults(mut self, defaults: WasmPluginConfig) -> Self {
        self.defaults = defaults;
        self
    }

    /// The context `camel-call` resolves endpoints in. Without one, every
    /// `camel-call` is refused. With rust-camel's `CamelContext`, pass a
    /// `camel_core::RegistryComponentContext` built from it.
    pub fn context(mut self, context: Arc<dyn ComponentContext>) -> Self {
        self.registry = Some(context);
        self
    }

    /// The collector beans' and policies' metrics go to (endpoints in
    /// routes report to their route's context). Without one, the
    /// [`context`](Self::context)'s collector is used, if any.
    pub fn metrics(mut self, collector: Arc<dyn MetricsCollector>) -> Self {
        self.metrics = Some(collector);
        self
    }

    /// How often counted metrics are handed to the collector; default 1 s.
    /// Counting is local to each plugin and costs little; the hand-over
    /// runs on a background task.
    pub fn metrics_interval(mut self, interval: std::time::Duration) -> Self {
        self.metrics_interval = interval.max(std::time::Duration::from_millis(1));
        self
    }

    /// Acknowledges that source routes without authentication may listen
    /// on `bind` (`"0.0.0.0:8080"`, as a `listen` option spells it) although
    /// it is not a loopback address; without this such a route does not
    /// start. rust-camel's `[binds."<addr>"] allow_public_exposure = true`
    /// in Camel.toml does the same ([`WasmBundle::from_camel_config`] reads
    /// it). Each such route still logs a warning when it starts.
    ///
    /// [`WasmBundle::from_camel_config`]: crate::WasmBundle::from_camel_config
    pub fn acknowledge_public_exposure(mut self, bind: impl Into<String>) -> Self {
        self.public_binds.insert(bind.into());
        self
    }

    /// Resolves a relative base directory against `root`.
    pub fn rooted_at(mut self, root: &Path) -> Self {
        if self.base_dir.is_relative() {
            self.base_dir = root.join(&self.base_dir);
        }
        self
    }

    /// Shares an existing runtime (engine and module cache) instead of
    /// creating one.
    pub fn runtime(mut self, runtime: WasmRuntime) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Builds the component.
    ///
    /// # Errors
    ///
    /// If a new wasmtime engine is needed and cannot be created.
    pub fn build(self) -> Result<WasmComponent> {
        let runtime = match self.runtime {
            Some(runtime) => runtime,
            None => WasmRuntime::new()?,
        };
        Ok(WasmComponent {
            inner: Arc::new(ComponentInner {
                runtime,
                base_dir: self.base_dir,
                defaults: self.defaults,
                registry: self.registry,
                state_connections: RedisConnections::default(),
                metrics: self.metrics,
                metrics_interval: self.metrics_interval,
                health_checks: Default::default(),
                public_binds: self.public_binds,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::metric_kind;
    use crate::compat::worlds::{
        CompatBeanWorld, CompatPolicyWorld, CompatProcessorWorld, CompatSourceWorld,
    };
    use crate::world::{BeanWorld, PluginWorld, PolicyWorld, ProcessorWorld, SourceWorld};

    #[test]
    fn every_world_has_one_of_the_four_metric_kinds() {
        assert_eq!(metric_kind(ProcessorWorld::NAME), "processor");
        assert_eq!(metric_kind(BeanWorld::NAME), "bean");
        assert_eq!(metric_kind(PolicyWorld::NAME), "policy");
        assert_eq!(metric_kind(SourceWorld::NAME), "source");
        assert_eq!(metric_kind(CompatProcessorWorld::NAME), "processor");
        assert_eq!(metric_kind(CompatBeanWorld::NAME), "bean");
        assert_eq!(metric_kind(CompatPolicyWorld::NAME), "policy");
        assert_eq!(metric_kind(CompatSourceWorld::NAME), "source");
    }
}
