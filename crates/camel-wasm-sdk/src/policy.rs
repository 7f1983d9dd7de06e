//! Authorization policies ([`PolicyPlugin`], [`export_policy!`]).

use std::collections::BTreeMap;

use crate::{Exchange, PluginError};

/// A plugin of the `policy` world: decides whether an authenticated caller
/// may run an exchange through a route ([`check_route`](Self::check_route),
/// used by a route's `security_policy: { wasm: <name> }`) and whether it
/// may perform an action on a resource
/// ([`check_permission`](Self::check_permission), used by
/// `security_policy: { permission: { policy: <name>, … } }`).
///
/// Anything but [`Decision::Grant`] denies: a [`Decision::Deny`], an
/// `Err`, a panic or a timeout. A policy cannot call endpoints, and its
/// state ([`Host::load`](crate::Host::load)) is read-only unless the host
/// grants writes.
///
/// ```
/// use std::collections::BTreeMap;
/// use std::sync::OnceLock;
/// use camel_wasm_sdk::{Decision, PermissionCheck, PluginError, PolicyPlugin, RouteCheck, export_policy};
///
/// static ROLE: OnceLock<String> = OnceLock::new();
///
/// struct RequireRole;
///
/// impl PolicyPlugin for RequireRole {
///     fn init(config: BTreeMap<String, String>) -> Result<(), String> {
///         let role = config.get("role").ok_or("missing `role`")?;
///         ROLE.set(role.clone()).ok();
///         Ok(())
///     }
///
///     fn check_route(check: RouteCheck) -> Result<Decision, PluginError> {
///         let role = ROLE.get().map(String::as_str).unwrap_or("admin");
///         Ok(Decision::require(
///             check.principal.has_role(role),
///             format!("role `{role}` required"),
///         ))
///     }
///
///     fn check_permission(check: PermissionCheck) -> Result<Decision, PluginError> {
///         Ok(Decision::require(
///             check.action == "read" || check.principal.has_role("writer"),
///             "only writers may change things",
///         ))
///     }
/// }
///
/// export_policy!(RequireRole);
/// # fn main() {}
/// ```
pub trait PolicyPlugin {
    /// Runs once per instance, before the first check, with the policy's
    /// configuration pairs. An `Err` fails the policy's loading with that
    /// message. The default accepts any configuration.
    fn init(config: BTreeMap<String, String>) -> Result<(), String> {
        let _ = config;
        Ok(())
    }

    /// May this caller run this exchange through the route? The default
    /// denies (the policy answers permission checks only).
    ///
    /// # Errors
    ///
    /// An error denies access too; the host logs it.
    fn check_route(check: RouteCheck) -> Result<Decision, PluginError> {
        let _ = check;
        Ok(Decision::Deny(
            "this policy does not answer route checks".to_owned(),
        ))
    }

    /// May this caller perform this action on this resource? The default
    /// denies (the policy answers route checks only).
    ///
    /// # Errors
    ///
    /// An error denies access too; the host logs it.
    fn check_permission(check: PermissionCheck) -> Result<Decision, PluginError> {
        let _ = check;
        Ok(Decision::Deny(
            "this policy does not answer permission checks".to_owned(),
        ))
    }
}

/// A policy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Access granted.
    Grant,
    /// Access denied, and why (the reason ends up in the exchange's
    /// `Unauthorized` error).
    Deny(String),
}

impl Decision {
    /// [`Decision::Grant`] if `granted`, else [`Decision::Deny`] with
    /// `reason`.
    pub fn require(granted: bool, reason: impl Into<String>) -> Self {
        if granted {
            Decision::Grant
        } else {
            Decision::Deny(reason.into())
        }
    }
}

/// An authenticated caller (rust-camel's `Principal`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principal {
    /// Who it is (`sub`).
    pub subject: String,
    /// Who vouched for it (`iss`); empty if unknown.
    pub issuer: String,
    /// The audiences its credential is for.
    pub audience: Vec<String>,
    /// The scopes it was granted.
    pub scopes: Vec<String>,
    /// The roles it holds.
    pub roles: Vec<String>,
    /// Every claim of its credential, as a JSON object text.
    pub claims: String,
}

impl Principal {
    /// Whether it holds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether it was granted `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// The transport that carried a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// HTTP.
    Http,
    /// WebSocket.
    Ws,
    /// gRPC.
    Grpc,
    /// MCP.
    Mcp,
    /// A `wasm:` source.
    Wasm,
}

/// A route check: may `principal` run `exchange` through the route?
#[derive(Debug, Clone)]
pub struct RouteCheck {
    /// The caller.
    pub principal: Principal,
    /// The authentication provider that established the caller.
    pub provider: String,
    /// The transport that carried the request.
    pub transport: Transport,
    /// A copy of the exchange (changes to it have no effect; a streamed
    /// body arrives empty).
    pub exchange: Exchange,
}

/// A permission check: may `principal` perform `action` on `resource`?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionCheck {
    /// The caller.
    pub principal: Principal,
    /// The resource, e.g. `/orders/42`.
    pub resource: String,
    /// The action, e.g. `read`.
    pub action: String,
    /// Scopes the route requires.
    pub scopes: Vec<String>,
    /// Extra context from the route (headers, properties), as a JSON
    /// object text.
    pub context: String,
}

/// Exports a [`PolicyPlugin`] type as the `policy` world (see the
/// [`PolicyPlugin`] example).
///
/// A crate exports at most one plugin (one `export_policy!`,
/// `export_bean!` or [`#[plugin]`](crate::plugin)).
#[macro_export]
macro_rules! export_policy {
    ($policy:ty $(,)?) => {
        const _: () = {
            type __CamelWasmPolicy = $crate::__private::PolicyAdapter<$policy>;
            $crate::__private::policy::export_policy_world!(
                __CamelWasmPolicy with_types_in $crate::__private::policy
            );
        };
    };
}
