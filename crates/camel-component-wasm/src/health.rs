//! A rust-camel health check per `wasm:` endpoint (and bean entry).

use std::sync::Arc;

use async_trait::async_trait;
use camel_api::{AsyncHealthCheck, CheckResult};

use crate::crash_guard::{CrashGuard, GuardStatus};
use crate::plugin::PluginContext;

/// Reports `Unhealthy` while the endpoint's crash guard is open, `Degraded`
/// while instances have been failing or its state backend (Redis) cannot
/// be reached, `Healthy` otherwise.
pub(crate) struct PluginHealthCheck {
    name: String,
    guard: Arc<CrashGuard>,
    plugin: Arc<PluginContext>,
}

impl PluginHealthCheck {
    pub(crate) fn new(name: String, guard: Arc<CrashGuard>, plugin: Arc<PluginContext>) -> Self {
        PluginHealthCheck {
            name,
            guard,
            plugin,
        }
    }
}

#[async_trait]
impl AsyncHealthCheck for PluginHealthCheck {
    fn name(&self) -> &str {
        &self.name
    }

    async fn check(&self) -> CheckResult {
        let status = self.guard.status(tokio::time::Instant::now());
        if matches!(status, GuardStatus::Serving { .. })
            && let Err(reason) = self.plugin.state.reachable().await
        {
            return CheckResult::degraded(&self.name, &reason);
        }
        match status {
            GuardStatus::Serving { failures: 0, .. } => CheckResult::healthy(&self.name),
            GuardStatus::Serving { failures, last } => CheckResult::degraded(
                &self.name,
                &format!("{failures} instance failures in a row; last: {last}"),
            ),
            GuardStatus::Open { reason } => CheckResult::unhealthy(&self.name, &reason),
        }
    }
}
