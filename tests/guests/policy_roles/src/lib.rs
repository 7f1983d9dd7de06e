//! Test guest `policy_roles`: a policy of the `policy` world.
//!
//! Route checks: granted when the caller holds the role named by the
//! configuration key `role` (required by `init`).
//!
//! Permission checks, by resource and action:
//! - `/orders/…`: `read` needs role `reader` or `writer`; `write` needs
//!   `writer`; any other action is denied;
//! - `/admin/…`: anything needs role `admin` and scope `admin:all`;
//! - any other resource is denied.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use camel_wasm_sdk::{
    Decision, PermissionCheck, PluginError, PolicyPlugin, RouteCheck, export_policy,
};

static ROLE: OnceLock<String> = OnceLock::new();

struct Roles;

impl PolicyPlugin for Roles {
    fn init(config: BTreeMap<String, String>) -> Result<(), String> {
        let role = config.get("role").ok_or("the configuration needs `role`")?;
        ROLE.set(role.clone())
            .map_err(|_| "init ran twice".to_owned())
    }

    fn check_route(check: RouteCheck) -> Result<Decision, PluginError> {
        let role = ROLE.get().ok_or_else(|| PluginError::failed("no role"))?;
        Ok(Decision::require(
            check.principal.has_role(role),
            format!("`{}` lacks role `{role}`", check.principal.subject),
        ))
    }

    fn check_permission(check: PermissionCheck) -> Result<Decision, PluginError> {
        let who = &check.principal;
        let granted = if check.resource.starts_with("/orders/") {
            match check.action.as_str() {
                "read" => who.has_role("reader") || who.has_role("writer"),
                "write" => who.has_role("writer"),
                _ => false,
            }
        } else if check.resource.starts_with("/admin/") {
            who.has_role("admin") && who.has_scope("admin:all")
        } else {
            false
        };
        Ok(Decision::require(
            granted,
            format!(
                "`{}` may not {} {}",
                who.subject, check.action, check.resource
            ),
        ))
    }
}

export_policy!(Roles);
