//! `WasmBean`: a component of the `bean` world behind rust-camel's
//! `BeanProcessor`, called from `bean` route steps by method name.

use std::sync::Arc;

use async_trait::async_trait;
use camel_api::{CamelError, Exchange};
use camel_bean::BeanProcessor;

use wasmtime::Store;

use crate::bindings::bean::Bean;
use crate::bindings::wit;
use crate::body_stream::{self, Detached};
use crate::call_chain::CallChain;
use crate::call_span::CallSite;
use crate::compat::worlds::CompatBeanWorld;
use crate::convert::{self, InStreams};
use crate::error::{GuestError, Result, WasmError};
use crate::guest_text;
use crate::host_state::WasmHostState;
use crate::instance_pool::{GuestCall, InstancePool};
use crate::producer::{guest_error, result_error};
use crate::world::BeanWorld;

/// A WASM bean: one component exposing several named methods.
///
/// The methods come from the guest's `methods()` export, read once when the
/// bean is loaded (after a first instance has run `init` with the bean's
/// configuration, so a bad configuration fails at registration). Calls share
/// the processor path: pooled instances, the same host functions, limits,
/// recovery and crash-loop guard. State (`host-store`) belongs to the bean
/// entry. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct WasmBean {
    name: Arc<str>,
    methods: Arc<[String]>,
    pool: BeanPool,
}

/// The instances behind a bean: this host's own `bean` world, or
/// rust-camel's `camel:plugin@1.0.0` one.
#[derive(Clone)]
enum BeanPool {
    Own(Arc<InstancePool<BeanWorld>>),
    Compat(Arc<InstancePool<CompatBeanWorld>>),
}

impl std::fmt::Debug for WasmBean {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmBean")
            .field("name", &self.name)
            .field("methods", &self.methods)
            .finish_non_exhaustive()
    }
}

/// The `methods()` call.
struct Methods;

impl GuestCall<BeanWorld> for Methods {
    type Output = Vec<String>;

    async fn call(
        self,
        bindings: &Bean,
        store: &mut Store<WasmHostState>,
    ) -> wasmtime::Result<Self::Output> {
        bindings.call_methods(store).await
    }
}

/// One `invoke(method, exchange)` call.
struct Invoke<'a> {
    method: &'a str,
    input: &'a mut wit::Exchange,
    streams: InStreams,
}

impl GuestCall<BeanWorld> for Invoke<'_> {
    type Output = Result<wit::Exchange, wit::Error>;

    async fn call(
        self,
        bindings: &Bean,
        store: &mut Store<WasmHostState>,
    ) -> wasmtime::Result<Self::Output> {
        if self.streams.0.is_some() {
            body_stream::hand_over(store.data_mut(), self.streams, self.input)?;
        }
        bindings.call_invoke(store, self.method, self.input).await
    }

    fn detach(output: &mut Self::Output, state: &mut WasmHostState) -> wasmtime::Result<Detached> {
        match output {
            Ok(exchange) => body_stream::detach(state, exchange),
            Err(_) => Ok(None),
        }
    }
}

impl WasmBean {
    /// Warms the pool with one instance (running `init`) and reads the
    /// bean's method list.
    pub(crate) async fn start(name: Arc<str>, pool: Arc<InstancePool<BeanWorld>>) -> Result<Self> {
        let span = pool.span(CallSite::export("methods"));
        let methods = pool.observe(span, async {
            let (methods, _) = pool
                .call(Methods, Default::default(), CallChain::empty(), None)
                .await;
            methods
        });
        let methods: Vec<String> = methods
            .await?
            .0
            .into_iter()
            .map(guest_text::summary_owned)
            .collect();
        tracing::debug!(bean = %name, methods = methods.len(), "wasm bean ready");
        Ok(WasmBean {
            name,
            methods: methods.into(),
            pool: BeanPool::Own(pool),
        })
    }

    /// As [`WasmBean::start`], for a bean of rust-camel's `camel:plugin`
    /// contract.
    pub(crate) async fn start_compat(
        name: Arc<str>,
        pool: Arc<InstancePool<CompatBeanWorld>>,
    ) -> Result<Self> {
        let span = pool.span(CallSite::export("methods"));
        let methods = pool
            .observe(span, crate::compat::calls::methods(&pool))
            .await?;
        tracing::debug!(bean = %name, methods = methods.len(), "wasm bean (camel:plugin) ready");
        Ok(WasmBean {
            name,
            methods: methods.into(),
            pool: BeanPool::Compat(pool),
        })
    }

    /// The bean's name (its registry entry).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The methods the guest offers.
    pub fn method_names(&self) -> &[String] {
        &self.methods
    }

    /// Invokes `method` on `exchange`, with typed errors.
    ///
    /// On failure the exchange keeps its messages and properties (including
    /// any `set-property` writes the guest made before failing).
    ///
    /// # Errors
    ///
    /// [`WasmError::Guest`] with `not-found` for an unknown method (listing
    /// the bean's methods), or any runtime [`WasmError`].
    pub async fn invoke(&self, method: &str, exchange: &mut Exchange) -> Result<()> {
        let site = CallSite {
            method: Some(method),
            ..CallSite::export("invoke").exchange(exchange)
        };
        match &self.pool {
            BeanPool::Own(pool) => {
                let span = pool.span(site);
                pool.observe(span, self.invoke_own(pool, method, exchange))
                    .await
            }
            BeanPool::Compat(pool) => {
                let span = pool.span(site);
                pool.observe(span, async {
                    self.check_method(&pool.plugin, method)?;
                    crate::compat::calls::invoke(pool, method, exchange).await
                })
                .await
            }
        }
    }

    async fn invoke_own(
        &self,
        pool: &Arc<InstancePool<BeanWorld>>,
        method: &str,
        exchange: &mut Exchange,
    ) -> Result<()> {
        let plugin = &pool.plugin;
        self.check_method(plugin, method)?;
        let chain = CallChain::incoming(plugin, exchange)?;
        let (mut input, properties, streams) = convert::exchange_to_wit(exchange);
        let (outcome, mut call) = pool
            .call(
                Invoke {
                    method,
                    input: &mut input,
                    streams,
                },
                properties,
                chain,
                None,
            )
            .await;
        let error = match outcome {
            Ok((Ok(result), bodies)) => {
                match convert::apply_result(exchange, result, &mut call, bodies) {
                    Ok(()) => return Ok(()),
                    Err(err) => result_error(plugin, err),
                }
            }
            Ok((Err(error), _)) => WasmError::Guest {
                plugin: plugin.name.to_string(),
                error: guest_error(error),
            },
            Err(err) => err,
        };
        restore(exchange, input, call.properties);
        Err(error)
    }
}

impl WasmBean {
    /// Refuses a method the bean does not offer, listing those it does.
    fn check_method(&self, plugin: &crate::plugin::PluginContext, method: &str) -> Result<()> {
        if self.methods.iter().any(|m| m == method) {
            return Ok(());
        }
        Err(WasmError::Guest {
            plugin: plugin.name.to_string(),
            error: GuestError::NotFound(format!(
                "bean `{}` has no method `{}`; its methods: {}",
                self.name,
                guest_text::summary(method),
                self.methods.join(", ")
            )),
        })
    }
}

/// Puts the exchange's messages and properties back after a failed call.
fn restore(
    exchange: &mut Exchange,
    input: wit::Exchange,
    properties: std::collections::HashMap<String, camel_api::Value>,
) {
    if convert::restore_messages(exchange, input).is_err() {
        tracing::warn!("could not restore the exchange after a failed bean call");
    }
    exchange.properties = properties;
}

#[async_trait]
impl BeanProcessor for WasmBean {
    async fn call(&self, method: &str, exchange: &mut Exchange) -> Result<(), CamelError> {
        self.invoke(method, exchange)
            .await
            .map_err(CamelError::from)
    }

    fn methods(&self) -> Vec<String> {
        self.methods.to_vec()
    }
}
