//! Checks a source's plan (`configure`'s answer) against what its endpoint
//! grants: secure by default, an HTTP listener only on the address the
//! endpoint's `listen` option names, and within its `path`.

use std::net::SocketAddr;

use crate::compat::bindings::source_host::{CapabilityRequest, ConcurrencyModel, SourcePlan};
use crate::source::options::SourceOptions;

/// The listener a plan asks for, as granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Listening {
    /// The address to bind.
    pub(super) address: SocketAddr,
    /// The only path served (none: every path).
    pub(super) path: Option<String>,
}

/// The listener `plan` asks for, if the endpoint's `options` grant it; else
/// why not, in words for the operator.
pub(super) fn check(plan: &SourcePlan, options: &SourceOptions) -> Result<Listening, String> {
    let [CapabilityRequest::HttpListener(spec)] = plan.capabilities.as_slice() else {
        return Err(format!(
            "its plan must ask for exactly one capability, an `http-listener`; it asks for {}",
            plan.capabilities.len()
        ));
    };
    if let ConcurrencyModel::Concurrent(n) = plan.concurrency {
        return Err(format!(
            "its plan asks for `concurrent({n})`; only `sequential` sources run (as in \
             rust-camel's own host)"
        ));
    }
    let Some(granted) = options.listen else {
        return Err(format!(
            "it asks for an HTTP listener on `{}`, which this endpoint does not grant (set \
             `listen=<host:port>`)",
            spec.bind
        ));
    };
    let asked: SocketAddr = spec.bind.trim().parse().map_err(|_| {
        format!(
            "it asks for an HTTP listener on `{}`, which is not an address such as \
             127.0.0.1:8080",
            spec.bind
        )
    })?;
    if asked != granted {
        return Err(format!(
            "it asks for an HTTP listener on {asked}, but this endpoint grants {granted} \
             (`listen`)"
        ));
    }
    let asked_path = spec
        .path
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            if p.starts_with('/') {
                p.to_string()
            } else {
                format!("/{p}")
            }
        });
    let path = match (asked_path, &options.path) {
        (Some(asked), Some(granted)) if asked != *granted => {
            return Err(format!(
                "it asks for the HTTP path `{asked}`, but this endpoint grants `{granted}` \
                 (`path`)"
            ));
        }
        (Some(asked), _) => Some(asked),
        (None, granted) => granted.clone(),
    };
    Ok(Listening {
        address: granted,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compat::bindings::source_host::HttpListenerSpec;

    fn plan(bind: &str, path: Option<&str>, concurrency: ConcurrencyModel) -> SourcePlan {
        SourcePlan {
            capabilities: vec![CapabilityRequest::HttpListener(HttpListenerSpec {
                bind: bind.to_string(),
                path: path.map(str::to_string),
            })],
            concurrency,
        }
    }

    fn granting(listen: Option<&str>, path: Option<&str>) -> SourceOptions {
        SourceOptions {
            listen: listen.map(|l| l.parse().unwrap()),
            path: path.map(str::to_string),
            ..SourceOptions::default()
        }
    }

    #[test]
    fn grants_only_what_the_endpoint_grants() {
        let seq = || ConcurrencyModel::Sequential;
        let ok = check(
            &plan("127.0.0.1:9000", Some("hook"), seq()),
            &granting(Some("127.0.0.1:9000"), None),
        )
        .unwrap();
        assert_eq!(ok.path.as_deref(), Some("/hook"));
        // No path asked: the endpoint's path narrows it.
        let ok = check(
            &plan("127.0.0.1:9000", None, seq()),
            &granting(Some("127.0.0.1:9000"), Some("/in")),
        )
        .unwrap();
        assert_eq!(ok.path.as_deref(), Some("/in"));

        let refused = [
            (
                plan("127.0.0.1:9000", None, seq()),
                granting(None, None),
                "does not grant",
            ),
            (
                plan("0.0.0.0:9000", None, seq()),
                granting(Some("127.0.0.1:9000"), None),
                "grants 127.0.0.1:9000",
            ),
            (
                plan("127.0.0.1:9000", Some("/a"), seq()),
                granting(Some("127.0.0.1:9000"), Some("/b")),
                "grants `/b`",
            ),
            (
                plan("somewhere", None, seq()),
                granting(Some("127.0.0.1:9000"), None),
                "not an address",
            ),
            (
                plan("127.0.0.1:9000", None, ConcurrencyModel::Concurrent(4)),
                granting(Some("127.0.0.1:9000"), None),
                "concurrent(4)",
            ),
            (
                SourcePlan {
                    capabilities: Vec::new(),
                    concurrency: seq(),
                },
                granting(Some("127.0.0.1:9000"), None),
                "exactly one",
            ),
        ];
        for (plan, options, expected) in refused {
            let reason = check(&plan, &options).unwrap_err();
            assert!(reason.contains(expected), "{reason}");
        }
    }
}
