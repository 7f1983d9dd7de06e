//! Redis key layout: `<prefix>:<namespace>:<key>`.
//!
//! The prefix (`state-prefix`) and the namespace never contain `:`, so the
//! first two `:` of a Redis key always end the prefix and the namespace,
//! and the guest's key (anything) is the rest: two namespaces cannot
//! produce the same Redis key.
//!
//! Namespaces are stable across processes and restarts:
//!
//! - a `wasm:` endpoint: `route/<route-id>/<path>` (or `endpoint/<path>`
//!   outside a route), so two routes running the same plugin keep separate
//!   state, as they do in memory;
//! - a bean: `bean/<name>`; a policy: `policy/<name>`;
//! - `state-namespace=<ns>` replaces the derived name (endpoints given the
//!   same one share their state).
//!
//! In derived names, `%` and `:` are percent-encoded, and so is `/` in a
//! route id (the route id ends at the first `/`).

/// The namespace of a `wasm:` endpoint with module `path`, in route
/// `route_id` if it is known.
pub(crate) fn endpoint_namespace(route_id: Option<&str>, path: &str) -> String {
    match route_id {
        Some(route) => format!("route/{}/{}", escape(route, true), escape(path, false)),
        None => format!("endpoint/{}", escape(path, false)),
    }
}

/// The namespace of the bean `name`.
pub(crate) fn bean_namespace(name: &str) -> String {
    format!("bean/{}", escape(name, true))
}

/// The namespace of the policy `name`.
pub(crate) fn policy_namespace(name: &str) -> String {
    format!("policy/{}", escape(name, true))
}

/// What every Redis key of a namespace starts with.
pub(crate) fn key_prefix(prefix: &str, namespace: &str) -> String {
    format!("{prefix}:{namespace}:")
}

/// Percent-encodes `%` and `:` (and `/` where `slash`).
fn escape(text: &str, slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' => out.push_str("%25"),
            ':' => out.push_str("%3A"),
            '/' if slash => out.push_str("%2F"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn derived_namespaces_are_readable_and_distinct() {
        assert_eq!(
            endpoint_namespace(Some("orders"), "counter.wasm"),
            "route/orders/counter.wasm"
        );
        assert_eq!(endpoint_namespace(None, "a/b.wasm"), "endpoint/a/b.wasm");
        assert_eq!(bean_namespace("auth"), "bean/auth");
        assert_eq!(policy_namespace("auth"), "policy/auth");
        assert_eq!(
            key_prefix("camel-wasm", "bean/auth"),
            "camel-wasm:bean/auth:"
        );
        // Cases that would collide without escaping.
        let names: HashSet<String> = [
            endpoint_namespace(Some("a/b"), "c.wasm"),
            endpoint_namespace(Some("a"), "b/c.wasm"),
            endpoint_namespace(Some("a:b"), "c.wasm"),
            endpoint_namespace(Some("a%3Ab"), "c.wasm"),
            endpoint_namespace(Some("a"), "b:c.wasm"),
            bean_namespace("x/y"),
            bean_namespace("x%2Fy"),
        ]
        .into_iter()
        .collect();
        assert_eq!(names.len(), 7);
        assert!(names.iter().all(|n| !n.contains(':')));
    }
}
