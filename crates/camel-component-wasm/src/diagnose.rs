//! Explaining why a component does not fit the host, in terms a plugin
//! author can act on: which import is not provided and why, which world the
//! component really implements, which contract version it was built for.

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::world::PluginWorld;

/// The WIT package of this host's contract.
pub(crate) const PACKAGE: &str = "camel:wasm";
/// Its version; guests built for any `0.1.x` link (semver-compatible).
pub(crate) const VERSION: &str = "0.2.0";

/// Why linking `component` failed, from its imports and the linker's error.
pub(crate) fn imports(engine: &Engine, component: &Component, err: &wasmtime::Error) -> String {
    let mut problems: Vec<(String, Vec<String>)> = Vec::new();
    for (name, _) in component.component_type().imports(engine) {
        if let Some(problem) = import_problem(name) {
            match problems.iter_mut().find(|(p, _)| *p == problem) {
                Some((_, names)) => names.push(name.to_string()),
                None => problems.push((problem, vec![name.to_string()])),
            }
        }
    }
    if problems.is_empty() {
        return match missing_import(err) {
            Some(name) => format!("it imports `{name}`, which this host does not provide"),
            None => format!("linking failed: {err}"),
        };
    }
    problems
        .into_iter()
        .map(|(problem, names)| format!("it imports `{}`: {problem}", names.join("`, `")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Why `component` does not match world `W`'s exports.
pub(crate) fn exports<W: PluginWorld>(engine: &Engine, component: &Component) -> String {
    let names: Vec<String> = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_string())
        .collect();
    let has = |export: &str| names.iter().any(|n| n == export);
    match W::NAME {
        "processor" if has("invoke") && has("methods") => {
            "it is a bean (it exports `invoke` and `methods`): register it as a bean \
             (a `[beans.<name>]` entry in Camel.toml, or `WasmComponent::bean`) and call it \
             from a `bean` step, not from a `wasm:` endpoint"
                .to_string()
        }
        "bean" | "policy" if has("process") => format!(
            "it is a processor (it exports `process`): use it in a `wasm:` endpoint, not as a \
             {}",
            W::NAME
        ),
        "processor" | "bean" | "policy" if has("on-event") => "it is a source (it exports \
             `on-event`): use it to start a route, `from(\"wasm:…\")`"
            .to_string(),
        "processor" | "bean" if has("evaluate") => "it is a policy (it exports `evaluate`): \
             register it as a security policy or permission evaluator (`[security.policies.wasm.<name>]`, \
             `[security.permissions.<name>]` in Camel.toml, or `WasmComponent::policy`)"
            .to_string(),
        "policy" if has("invoke") && has("methods") => "it is a bean (it exports `invoke` and \
             `methods`): register it as a bean, not as a policy"
            .to_string(),
        world if world.ends_with("(camel:plugin@1.0.0)") && has("run") && has("configure") => {
            "it is a source of rust-camel's `camel:plugin@1.0.0` contract (it exports `run`): \
             use it to start a route, `from(\"wasm:…?listen=<host:port>\")`"
                .to_string()
        }
        _ if names.iter().any(|n| n.starts_with("camel:plugin/")) => format!(
            "it was built for rust-camel's own wasm component (`camel:plugin`), not for this \
             host's `{PACKAGE}@{VERSION}` contract"
        ),
        world => format!(
            "its exports ({}) are not those of the `{world}` world of `{PACKAGE}@{VERSION}` \
             (or their types differ: rebuild it against this host's WIT or SDK)",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ),
    }
}

/// Why bytes with a valid component header did not compile: a truncated
/// file is named as such, anything else is left to the compiler's error.
pub(crate) fn compile_failure(bytes: &[u8]) -> String {
    let truncated = wasmparser::Parser::new(0)
        .parse_all(bytes)
        .find_map(|payload| payload.err())
        .filter(|e| e.message().contains("unexpected end"));
    match truncated {
        Some(_) => format!(
            "it does not compile: it is truncated (it ends at byte {}, in the middle of a \
             section): copy or build it again",
            bytes.len()
        ),
        None => "it does not compile".to_string(),
    }
}

/// What is wrong with importing `name`, if anything is known to be.
pub(crate) fn import_problem(name: &str) -> Option<String> {
    let package = name.split('/').next().unwrap_or(name);
    let version = name.rsplit_once('@').map(|(_, version)| version);
    if package.starts_with("wasi:http") {
        return Some(
            "`wasi:http` is not provided (build the plugin without HTTP support, e.g. \
             `--disable http` for componentize-js/jco, and reach HTTP endpoints through \
             `camel-call`)"
                .to_string(),
        );
    }
    if package.starts_with("camel:plugin") {
        // rust-camel's own contract: provided at 1.0, on its own engine.
        if version.is_some_and(|v| same_minor(v, "1.0.0")) {
            return None;
        }
        return Some(format!(
            "it was built for `camel:plugin@{}` (rust-camel's own wasm component); this host \
             runs `camel:plugin@1.0.0` plugins and its own `{PACKAGE}@{VERSION}`",
            version.unwrap_or("(no version)")
        ));
    }
    if package == PACKAGE {
        if version.is_some_and(|v| same_minor(v, VERSION)) {
            return None;
        }
        return Some(format!(
            "it was built for `{PACKAGE}@{}`, but this host provides `{PACKAGE}@{VERSION}` \
             (guests built for `{}` load): rebuild it against this host's WIT or SDK",
            version.unwrap_or("(no version)"),
            minor_range(VERSION)
        ));
    }
    if crate::wasi::LINKED_PACKAGES
        .iter()
        .any(|prefix| name.starts_with(prefix))
    {
        return None;
    }
    Some("this host does not provide it".to_string())
}

/// The import the linker could not satisfy, from its error message.
fn missing_import(err: &wasmtime::Error) -> Option<String> {
    let text = format!("{err:#}");
    let start = text.find('`')? + 1;
    let len = text[start..].find('`')?;
    Some(text[start..start + len].to_string())
}

/// Whether `a` and `b` are semver-compatible the way wasmtime's linker
/// matches versions (same major; for `0.x`, same minor).
fn same_minor(a: &str, b: &str) -> bool {
    let parts = |v: &str| -> Vec<u64> {
        v.split(['.', '-', '+'])
            .take(3)
            .map(|p| p.parse().unwrap_or(u64::MAX))
            .collect()
    };
    let (a, b) = (parts(a), parts(b));
    match (a.first(), b.first()) {
        (Some(0), Some(0)) => a.get(1) == b.get(1),
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// `0.1.x` for `0.1.0`, `1.x` for `1.2.3`.
fn minor_range(version: &str) -> String {
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some("0"), Some(minor)) => format!("0.{minor}.x"),
        (Some(major), _) => format!("{major}.x"),
        _ => version.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_wit_packages() {
        let wit = include_str!("../wit/camel-wasm.wit");
        assert!(
            wit.contains(&format!("package {PACKAGE}@{VERSION};")),
            "diagnose::VERSION is out of date with the WIT"
        );
    }

    #[test]
    fn explains_unsupported_imports() {
        let p = |name| import_problem(name).unwrap_or_default();
        assert!(p("wasi:http/outgoing-handler@0.2.0").contains("--disable http"));
        assert_eq!(import_problem("camel:plugin/host@1.0.0"), None);
        assert!(p("camel:plugin/host@2.0.0").contains("rust-camel's own"));
        assert!(p("camel:wasm/host@0.1.0").contains("built for `camel:wasm@0.1.0`"));
        assert!(p("acme:thing/x").contains("does not provide"));
        assert_eq!(import_problem("camel:wasm/host@0.2.0"), None);
        assert_eq!(import_problem("camel:wasm/host@0.2.9"), None);
        assert_eq!(import_problem("wasi:cli/stdout@0.2.6"), None);
        assert_eq!(import_problem("wasi:sockets/tcp@0.2.9"), None);
    }

    #[test]
    fn semver_compatibility_like_the_linker() {
        assert!(same_minor("0.1.0", "0.1.7"));
        assert!(!same_minor("0.2.0", "0.1.0"));
        assert!(same_minor("1.0.0", "1.4.0"));
        assert!(!same_minor("2.0.0", "1.0.0"));
        assert_eq!(minor_range("0.1.0"), "0.1.x");
    }
}
