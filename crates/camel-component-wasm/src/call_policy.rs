//! Which endpoints a plugin may reach through `camel-call`: fail-closed.

use std::fmt;

use camel_component_api::{UriComponents, parse_uri};

use crate::error::{Result, WasmError};

/// Which endpoints a plugin may reach through `camel-call` (the `allow-call`
/// option). Nothing is allowed unless granted.
///
/// The option is a comma-separated list of entries:
///
/// | entry | grants |
/// |---|---|
/// | `direct` | any `direct:` endpoint |
/// | `direct:enrich` | exactly the endpoint `direct:enrich` |
/// | `*` | any endpoint of any scheme |
/// | `none` (or empty) | nothing: the default |
///
/// A plugin may not add query options of its own (`direct:x?timeout=1`)
/// unless the entry that grants the endpoint ends in `?*`
/// (`http?*`, `direct:enrich?*`, `*?*`). `wasm:` endpoints are never
/// reachable, whatever the policy says.
///
/// ```
/// use camel_component_wasm::CallPolicy;
///
/// let policy = CallPolicy::parse("direct:enrich, log").unwrap();
/// assert!(policy.check("direct:enrich").is_ok());
/// assert!(policy.check("log:audit").is_ok());
/// assert!(policy.check("direct:other").is_err());
/// assert!(policy.check("direct:enrich?timeout=1").is_err());
/// assert!(CallPolicy::default().check("log:audit").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallPolicy {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    target: Target,
    /// Whether the plugin may add query options.
    options: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Any,
    Scheme(String),
    Endpoint { scheme: String, path: String },
}

impl CallPolicy {
    /// The policy that refuses every call (the default).
    pub fn deny_all() -> Self {
        CallPolicy::default()
    }

    /// Parses an `allow-call` value (see the type's documentation).
    ///
    /// # Errors
    ///
    /// [`WasmError::InvalidParameter`] naming `allow-call` for a malformed
    /// entry.
    pub fn parse(spec: &str) -> Result<Self> {
        let spec = spec.trim();
        if spec.is_empty() || spec == "none" {
            return Ok(CallPolicy::deny_all());
        }
        let mut rules = Vec::new();
        for entry in spec.split(',').map(str::trim) {
            rules.push(Rule::parse(entry).map_err(|reason| {
                crate::config::invalid("allow-call", spec, &format!("entry `{entry}`: {reason}"))
            })?);
        }
        Ok(CallPolicy { rules })
    }

    /// Whether nothing at all is allowed.
    pub fn is_deny_all(&self) -> bool {
        self.rules.is_empty()
    }

    /// Checks that `uri` may be called.
    ///
    /// # Errors
    ///
    /// Why the call is refused, in words for the plugin author.
    pub fn check(&self, uri: &str) -> std::result::Result<(), String> {
        let parts = parse_uri(uri).map_err(|e| format!("`{uri}` is not an endpoint URI: {e}"))?;
        self.check_parts(&parts)
    }

    /// [`CallPolicy::check`] on a parsed URI.
    pub(crate) fn check_parts(&self, parts: &UriComponents) -> std::result::Result<(), String> {
        if parts.scheme == crate::component::SCHEME {
            return Err(
                "recursive wasm calls not supported: camel-call cannot target a wasm: endpoint"
                    .to_string(),
            );
        }
        let has_options = parts.raw_query.as_deref().is_some_and(|q| !q.is_empty());
        let mut granted = false;
        for rule in &self.rules {
            if rule.target.matches(&parts.scheme, &parts.path) {
                if rule.options || !has_options {
                    return Ok(());
                }
                granted = true;
            }
        }
        if granted {
            return Err(format!(
                "camel-call to `{}:{}` may not add query options; allow them with an \
                 `allow-call` entry ending in `?*`",
                parts.scheme, parts.path
            ));
        }
        if self.rules.is_empty() {
            return Err(format!(
                "camel-call is not allowed for this plugin (grant endpoints with the \
                 `allow-call` option, e.g. `allow-call={}`)",
                parts.scheme
            ));
        }
        Err(format!(
            "camel-call to `{}:{}` is not allowed by `allow-call={self}`",
            parts.scheme, parts.path
        ))
    }
}

impl Rule {
    fn parse(entry: &str) -> std::result::Result<Rule, &'static str> {
        let (target, options) = match entry.strip_suffix("?*") {
            Some(target) => (target, true),
            None => (entry, false),
        };
        if target.contains('?') {
            return Err("only `?*` may follow an endpoint (it allows any query options)");
        }
        let target = match target.split_once(':') {
            _ if target == "*" => Target::Any,
            None => {
                check_scheme(target)?;
                Target::Scheme(target.to_string())
            }
            Some((scheme, path)) => {
                check_scheme(scheme)?;
                if path.is_empty() {
                    return Err("an endpoint needs a path after `:`");
                }
                Target::Endpoint {
                    scheme: scheme.to_string(),
                    path: path.to_string(),
                }
            }
        };
        Ok(Rule { target, options })
    }
}

fn check_scheme(scheme: &str) -> std::result::Result<(), &'static str> {
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err("expected a scheme (letters, digits, `-`), `scheme:path` or `*`");
    }
    if scheme == crate::component::SCHEME {
        return Err("wasm: endpoints can never be called from a plugin");
    }
    Ok(())
}

impl Target {
    fn matches(&self, scheme: &str, path: &str) -> bool {
        match self {
            Target::Any => true,
            Target::Scheme(s) => s == scheme,
            Target::Endpoint { scheme: s, path: p } => s == scheme && p == path,
        }
    }
}

impl fmt::Display for CallPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rules.is_empty() {
            return f.write_str("none");
        }
        for (i, rule) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match &rule.target {
                Target::Any => f.write_str("*")?,
                Target::Scheme(s) => f.write_str(s)?,
                Target::Endpoint { scheme, path } => write!(f, "{scheme}:{path}")?,
            }
            if rule.options {
                f.write_str("?*")?;
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for CallPolicy {
    type Err = WasmError;

    fn from_str(s: &str) -> Result<Self> {
        CallPolicy::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denies_everything_by_default() {
        let policy = CallPolicy::default();
        let err = policy.check("mock:anything").unwrap_err();
        assert!(err.contains("not allowed for this plugin"), "{err}");
        assert!(CallPolicy::parse("none").unwrap().is_deny_all());
        assert!(CallPolicy::parse("").unwrap().is_deny_all());
    }

    #[test]
    fn schemes_and_exact_endpoints() {
        let policy = CallPolicy::parse("log, direct:enrich").unwrap();
        assert!(policy.check("log:a").is_ok());
        assert!(policy.check("log:b").is_ok());
        assert!(policy.check("direct:enrich").is_ok());
        let err = policy.check("direct:other").unwrap_err();
        assert!(err.contains("allow-call=log,direct:enrich"), "{err}");
        assert!(policy.check("file:/etc").is_err());
    }

    #[test]
    fn query_options_need_a_wildcard() {
        let policy = CallPolicy::parse("direct:enrich,http?*").unwrap();
        let err = policy.check("direct:enrich?timeout=1").unwrap_err();
        assert!(err.contains("query options"), "{err}");
        assert!(policy.check("http:example.org?method=POST").is_ok());
        let any = CallPolicy::parse("*").unwrap();
        assert!(any.check("mock:x").is_ok());
        assert!(any.check("mock:x?retain=1").is_err());
        assert!(
            CallPolicy::parse("*?*")
                .unwrap()
                .check("mock:x?a=1")
                .is_ok()
        );
    }

    #[test]
    fn wasm_is_never_reachable() {
        assert!(
            CallPolicy::parse("*?*")
                .unwrap()
                .check("wasm:x.wasm")
                .is_err()
        );
        assert!(CallPolicy::parse("wasm").is_err());
    }

    #[test]
    fn malformed_entries_name_the_option() {
        for spec in ["dir ect", "direct:", "direct?x", ":x", "a,,b"] {
            let err = CallPolicy::parse(spec).unwrap_err();
            assert!(
                matches!(&err, WasmError::InvalidParameter { name, .. } if name == "allow-call"),
                "{spec}: {err}"
            );
        }
    }

    #[test]
    fn displays_as_parsed() {
        let spec = "direct,log:audit?*,*";
        assert_eq!(CallPolicy::parse(spec).unwrap().to_string(), spec);
    }
}
