//! The options of a source endpoint (`from("wasm:…?listen=…")`): what the
//! endpoint grants the plugin, and how its listener behaves under load.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use crate::config::invalid;
use crate::error::Result;

/// Options only a source endpoint takes.
pub(crate) const NAMES: &[&str] = &[
    "listen",
    "path",
    "allow-timer",
    "max-pending",
    "retry-after",
    "grace",
];

const DEFAULT_MAX_PENDING: usize = 64;
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// What a source endpoint grants and how it serves.
#[derive(Debug, Clone)]
pub(crate) struct SourceOptions {
    /// `listen`: the address an HTTP listener may bind (none: no listener).
    pub(crate) listen: Option<SocketAddr>,
    /// `path`: the only path the listener may serve (none: the plugin's).
    pub(crate) path: Option<String>,
    /// `allow-timer`: whether the plugin may have a timer.
    pub(crate) allow_timer: bool,
    /// `max-pending`: requests admitted at once (in the route or waiting
    /// for it); more get 503.
    pub(crate) max_pending: usize,
    /// `retry-after`: what a 503 tells the client to wait.
    pub(crate) retry_after: Duration,
    /// `grace`: how long stopping waits for requests in flight.
    pub(crate) grace: Duration,
    /// Not a URI option: whether the operator acknowledged that `listen`
    /// may expose unauthenticated routes beyond loopback (Camel.toml
    /// `[binds."<addr>"] allow_public_exposure`, or the builder).
    pub(crate) public_exposure_acked: bool,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            listen: None,
            path: None,
            allow_timer: false,
            max_pending: DEFAULT_MAX_PENDING,
            retry_after: DEFAULT_RETRY_AFTER,
            grace: DEFAULT_GRACE,
            public_exposure_acked: false,
        }
    }
}

impl SourceOptions {
    /// Takes the source options out of `params`, leaving the plugin
    /// options.
    ///
    /// # Errors
    ///
    /// [`crate::WasmError::InvalidParameter`] naming the option.
    pub(crate) fn take_from(params: &mut HashMap<String, String>) -> Result<Self> {
        let mut options = SourceOptions::default();
        for name in NAMES {
            let Some(value) = params.remove(*name) else {
                continue;
            };
            let text = value.trim();
            match *name {
                "listen" => {
                    options.listen = Some(text.parse().map_err(|_| {
                        invalid(name, &value, "expected an address such as 127.0.0.1:8080")
                    })?)
                }
                "path" => {
                    if !text.starts_with('/') {
                        return Err(invalid(name, &value, "a path starts with `/`"));
                    }
                    options.path = Some(text.to_string());
                }
                "allow-timer" => {
                    options.allow_timer = match text {
                        "true" => true,
                        "false" => false,
                        _ => return Err(invalid(name, &value, "expected `true` or `false`")),
                    }
                }
                "max-pending" => {
                    options.max_pending = text
                        .parse()
                        .ok()
                        .filter(|n| (1..=1 << 20).contains(n))
                        .ok_or_else(|| {
                            invalid(name, &value, "expected a whole number from 1 to 1048576")
                        })?
                }
                "retry-after" => options.retry_after = seconds(name, &value, 0.0)?,
                _ => options.grace = seconds(name, &value, 0.0)?,
            }
        }
        Ok(options)
    }
}

fn seconds(name: &str, value: &str, min: f64) -> Result<Duration> {
    let secs: f64 = value
        .trim()
        .parse()
        .map_err(|_| invalid(name, value, "expected a number of seconds"))?;
    if !secs.is_finite() || !(min..=86_400.0).contains(&secs) {
        return Err(invalid(name, value, "expected 0 to 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn takes_its_options_and_leaves_the_rest() {
        let mut p = params(&[
            ("listen", "127.0.0.1:0"),
            ("path", "/hooks"),
            ("allow-timer", "true"),
            ("max-pending", "8"),
            ("retry-after", "2"),
            ("grace", "0.5"),
            ("timeout", "3"),
        ]);
        let options = SourceOptions::take_from(&mut p).unwrap();
        assert_eq!(options.listen, Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(options.path.as_deref(), Some("/hooks"));
        assert!(options.allow_timer);
        assert_eq!(options.max_pending, 8);
        assert_eq!(options.retry_after, Duration::from_secs(2));
        assert_eq!(options.grace, Duration::from_millis(500));
        assert_eq!(p, params(&[("timeout", "3")]));
    }

    #[test]
    fn refuses_bad_values_by_name() {
        for (name, value) in [
            ("listen", "localhost"),
            ("path", "hooks"),
            ("allow-timer", "yes"),
            ("max-pending", "0"),
            ("retry-after", "-1"),
            ("grace", "NaN"),
        ] {
            let err = SourceOptions::take_from(&mut params(&[(name, value)])).unwrap_err();
            assert!(
                matches!(&err, crate::WasmError::InvalidParameter { name: n, .. } if n == name),
                "{name}: {err:?}"
            );
        }
    }
}
