//! Policies from `Camel.toml`: `[security.policies.wasm.<name>]` (route
//! policies) and `[security.permissions.<name>]` entries with
//! `provider = "wasm"` (permission evaluators), with rust-camel's own
//! `camel-config` types. Behind the `camel-config` feature.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use camel_auth::{PermissionEvaluatorRegistry, SecurityPolicyRegistry};
use camel_config::{CamelConfig, WasmLimitsConfig};

use crate::component::WasmComponent;
use crate::error::{Result, WasmError};
use crate::policy::WasmPolicy;

/// The WASM policies of a Camel.toml, in the registries rust-camel's route
/// compiler reads (`camel_dsl::SecurityCompileContext`): YAML routes name
/// them as `security_policy: { wasm: <name> }` or
/// `security_policy: { permission: { policy: <name>, … } }`.
#[derive(Clone, Default)]
pub struct WasmPolicies {
    security: Arc<SecurityPolicyRegistry>,
    permissions: Arc<PermissionEvaluatorRegistry>,
    loaded: Vec<WasmPolicy>,
}

impl std::fmt::Debug for WasmPolicies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmPolicies")
            .field("loaded", &self.loaded)
            .finish_non_exhaustive()
    }
}

impl WasmPolicies {
    /// The route policies (`[security.policies.wasm.<name>]`), by name.
    pub fn security_policies(&self) -> Arc<SecurityPolicyRegistry> {
        self.security.clone()
    }

    /// The permission evaluators (`[security.permissions.<name>]` with
    /// `provider = "wasm"`), by name.
    pub fn permission_evaluators(&self) -> Arc<PermissionEvaluatorRegistry> {
        self.permissions.clone()
    }

    /// Every policy loaded, route policies first, each in name order.
    pub fn policies(&self) -> &[WasmPolicy] {
        &self.loaded
    }
}

impl WasmComponent {
    /// Loads every WASM policy of `config`: each
    /// `[security.policies.wasm.<name>]` (a route policy) and each
    /// `[security.permissions.<name>]` whose `provider` is `"wasm"` (a
    /// permission evaluator; other providers are left alone).
    ///
    /// An entry's `path` is relative to `project_root` (or absolute) and
    /// must lie inside the component's base directory (the plugins
    /// directory); its `config` pairs go to the guest's `init`; its
    /// `limits` apply on top of the component's defaults (`allow-call-schemes`
    /// must stay empty: policies call nothing).
    ///
    /// # Errors
    ///
    /// The first failing entry, as [`WasmError::Policy`] naming it.
    pub async fn register_policies(
        &self,
        config: &CamelConfig,
        project_root: &Path,
    ) -> Result<WasmPolicies> {
        let policies = WasmPolicies::default();
        let mut loaded = Vec::new();
        let mut routes: Vec<_> = config
            .security
            .policies
            .iter()
            .flat_map(|p| p.wasm.iter())
            .map(|(name, p)| (name, Some(p.path.as_str()), &p.config, &p.limits))
            .collect();
        routes.sort_by_key(|(name, ..)| *name);
        for (name, path, pairs, limits) in routes {
            let policy = self
                .load_configured(name, path, pairs, limits, project_root)
                .await?;
            policies
                .security
                .register(name.clone(), Arc::new(policy.clone()));
            loaded.push(policy);
        }
        let mut evaluators: Vec<_> = config
            .security
            .permissions
            .iter()
            .flat_map(|p| p.iter())
            .filter(|(_, p)| p.provider == "wasm")
            .collect();
        evaluators.sort_by_key(|(name, _)| *name);
        let no_config = HashMap::new();
        for (name, entry) in evaluators {
            let pairs = entry.config.as_ref().unwrap_or(&no_config);
            let policy = self
                .load_configured(
                    name,
                    entry.path.as_deref(),
                    pairs,
                    &entry.limits,
                    project_root,
                )
                .await?;
            policies
                .permissions
                .register(name.clone(), Arc::new(policy.clone()));
            loaded.push(policy);
        }
        tracing::info!(policies = loaded.len(), "loaded wasm policies");
        Ok(WasmPolicies { loaded, ..policies })
    }

    async fn load_configured(
        &self,
        name: &str,
        path: Option<&str>,
        pairs: &HashMap<String, String>,
        limits: &WasmLimitsConfig,
        project_root: &Path,
    ) -> Result<WasmPolicy> {
        let failed = |source: WasmError| WasmError::Policy {
            policy: name.to_string(),
            source: Box::new(source),
        };
        let path = path.ok_or_else(|| {
            failed(WasmError::Config {
                reason: "a wasm policy needs `path`, the .wasm file".to_string(),
            })
        })?;
        let relative = self.under_base_dir(project_root, path).map_err(failed)?;
        let limits = self
            .defaults()
            .clone()
            .with_camel_limits(limits)
            .map_err(failed)?;
        let mut pairs: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        pairs.sort();
        self.policy(name, &relative, pairs, limits).await
    }

    /// `path` (relative to `project_root`, or absolute) as a path relative
    /// to the base directory, which it must be inside.
    fn under_base_dir(&self, project_root: &Path, path: &str) -> Result<String> {
        let given = Path::new(path);
        let full = if given.is_absolute() {
            given.to_path_buf()
        } else {
            project_root.join(given)
        };
        let full = full
            .canonicalize()
            .map_err(|source| WasmError::ModuleNotFound {
                path: full.clone(),
                source,
            })?;
        let base: PathBuf =
            self.base_dir()
                .canonicalize()
                .map_err(|source| WasmError::ModuleNotFound {
                    path: self.base_dir().to_path_buf(),
                    source,
                })?;
        full.strip_prefix(&base)
            .ok()
            .and_then(|relative| relative.to_str())
            .map(str::to_string)
            .ok_or_else(|| WasmError::PathNotAllowed {
                path: path.to_string(),
                reason: format!(
                    "policies load only from the plugins directory {}",
                    base.display()
                ),
            })
    }
}
