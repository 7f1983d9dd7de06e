//! `{{name}}`: a camel-wasm policy plugin (world `policy`): it decides
//! whether an authenticated caller may run a route
//! (`security_policy: { wasm: <name> }`) or perform an action on a resource
//! (a permission evaluator). Anything but a grant denies.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use camel_wasm_sdk::{
    Decision, PermissionCheck, PluginError, PolicyPlugin, RouteCheck, export_policy,
};

static ROLE: OnceLock<String> = OnceLock::new();

struct {{Type}};

impl PolicyPlugin for {{Type}} {
    /// The policy's `config` pairs from Camel.toml; this one needs `role`.
    fn init(config: BTreeMap<String, String>) -> Result<(), String> {
        let role = config.get("role").ok_or("the configuration needs `role`")?;
        ROLE.set(role.clone()).map_err(|_| "init ran twice".to_string())
    }

    /// Route checks: granted to callers holding the configured role.
    fn check_route(check: RouteCheck) -> Result<Decision, PluginError> {
        let role = ROLE.get().ok_or_else(|| PluginError::failed("no role configured"))?;
        Ok(Decision::require(
            check.principal.has_role(role),
            format!("`{}` lacks role `{role}`", check.principal.subject),
        ))
    }

    /// Permission checks: reading is granted to the role, the rest denied.
    fn check_permission(check: PermissionCheck) -> Result<Decision, PluginError> {
        let role = ROLE.get().ok_or_else(|| PluginError::failed("no role configured"))?;
        Ok(Decision::require(
            check.action == "read" && check.principal.has_role(role),
            format!("`{}` may not {} {}", check.principal.subject, check.action, check.resource),
        ))
    }
}

export_policy!({{Type}});
