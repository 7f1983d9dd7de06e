//! The recursion guard: the chain of plugins an exchange has passed through
//! by `camel-call`, carried as an exchange extension.
//!
//! A plugin that calls out adds itself (its module's identity) to the
//! chain of the exchange it sends. An exchange arriving at a plugin already
//! on its chain would loop (`wasm → direct:x → same wasm`) and is refused,
//! and chains longer than [`MAX_DEPTH`] are refused outright. Identity is
//! the module, not the endpoint: two endpoints of one `.wasm` cannot call
//! each other, which also rules out deadlocks over their instance permits.

use std::sync::{Arc, OnceLock};

use camel_api::Exchange;

use crate::error::{Result, WasmError};
use crate::plugin::PluginContext;

/// The exchange extension that carries the chain.
const EXTENSION: &str = "camel-wasm.call-chain";
/// Longest chain of plugins calling through other endpoints.
pub(crate) const MAX_DEPTH: usize = 8;

/// Plugins (module ids) running on an exchange's call chain, outermost
/// first. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct CallChain(Arc<[Arc<str>]>);

impl CallChain {
    /// The empty chain, shared so that exchanges outside any chain (nearly
    /// all of them) allocate nothing for it.
    pub(crate) fn empty() -> Self {
        static EMPTY: OnceLock<Arc<[Arc<str>]>> = OnceLock::new();
        CallChain(EMPTY.get_or_init(|| Arc::from(Vec::new())).clone())
    }

    /// The chain `exchange` arrived with at `plugin`.
    ///
    /// # Errors
    ///
    /// [`WasmError::Recursion`] if `plugin` is already on it.
    pub(crate) fn incoming(plugin: &PluginContext, exchange: &Exchange) -> Result<Self> {
        let Some(chain) = exchange.get_extension::<CallChain>(EXTENSION) else {
            return Ok(CallChain::empty());
        };
        if chain.0.iter().any(|id| **id == *plugin.module_id) {
            return Err(WasmError::Recursion {
                plugin: plugin.name.to_string(),
                reason: "the exchange came back to this plugin through camel-call".to_string(),
            });
        }
        Ok(chain.clone())
    }

    /// Whether another plugin may be added.
    pub(crate) fn is_full(&self) -> bool {
        self.0.len() >= MAX_DEPTH
    }

    /// Marks `exchange`, sent by `plugin`, as travelling on this chain plus
    /// `plugin`.
    pub(crate) fn extend_onto(&self, plugin: &PluginContext, exchange: &mut Exchange) {
        let mut chain: Vec<Arc<str>> = self.0.iter().cloned().collect();
        chain.push(plugin.module_id.clone());
        exchange.set_extension(EXTENSION, Arc::new(CallChain(Arc::from(chain))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use camel_api::Message;

    fn plugin(id: &str) -> PluginContext {
        PluginContext::new(id.into(), id.into(), Default::default(), None, true)
    }

    #[test]
    fn a_plugin_on_the_chain_is_refused() {
        let (a, b) = (plugin("a"), plugin("b"));
        let first = Exchange::new(Message::new("x"));
        let chain = CallChain::incoming(&a, &first).unwrap();
        let mut sent = Exchange::new(Message::new("x"));
        chain.extend_onto(&a, &mut sent);
        assert!(CallChain::incoming(&b, &sent).is_ok());
        let err = CallChain::incoming(&a, &sent).unwrap_err();
        assert!(matches!(err, WasmError::Recursion { .. }), "{err}");
    }

    #[test]
    fn the_depth_is_capped() {
        let mut chain = CallChain::empty();
        for i in 0..MAX_DEPTH {
            assert!(!chain.is_full());
            let mut exchange = Exchange::new(Message::new("x"));
            chain.extend_onto(&plugin(&i.to_string()), &mut exchange);
            chain = CallChain::incoming(&plugin("next"), &exchange).unwrap();
        }
        assert!(chain.is_full());
    }
}
