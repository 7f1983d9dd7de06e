//! The `state` option: where a plugin's `host-store` state lives.

use std::fmt;

/// Where the state of a plugin (`host-store`, `host-load`,
/// `host-increment`, ...) is kept: the `state` option.
///
/// The text forms are `memory` and a Redis URL
/// (`redis://[[user]:password@]host[:port][/db]`, or
/// `redis+unix:///path/to/socket`). `Debug` and `Display` never show a
/// password.
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StateBackend {
    /// In the memory of this process, one store per endpoint (or bean):
    /// no setup, gone when the process ends (`state=memory`, the default).
    #[default]
    Memory,
    /// In a Redis server, shared by every process that names the same
    /// server, prefix and namespace, and kept across restarts as long as
    /// the server keeps its data. One connection per URL and component.
    Redis {
        /// The server's URL, as given.
        url: String,
    },
}

impl StateBackend {
    /// Parses the `state` option's value. Checks the URL's form without
    /// connecting.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value == "memory" {
            return Ok(StateBackend::Memory);
        }
        if !(value.starts_with("redis://") || value.starts_with("redis+unix://")) {
            return Err("expected `memory` or a `redis://` (or `redis+unix://`) URL".to_string());
        }
        // Opening a client only parses the URL; nothing is connected.
        redis::Client::open(value).map_err(|e| format!("not a usable Redis URL: {e}"))?;
        Ok(StateBackend::Redis {
            url: value.to_string(),
        })
    }
}

impl fmt::Display for StateBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateBackend::Memory => f.write_str("memory"),
            StateBackend::Redis { url } => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for StateBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateBackend::Memory => f.write_str("Memory"),
            StateBackend::Redis { url } => {
                f.debug_struct("Redis").field("url", &redact(url)).finish()
            }
        }
    }
}

/// `url` with the password of its user info (if any) replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let user_info = &authority[..at];
    let user = user_info.split(':').next().unwrap_or_default();
    let hidden = if user_info.contains(':') {
        format!("{user}:***")
    } else {
        // `redis://secret@host` puts the password in the user part.
        "***".to_string()
    };
    format!("{}{hidden}{}", &url[..scheme_end + 3], &rest[at..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_memory_and_redis_urls() {
        assert_eq!(StateBackend::parse("memory"), Ok(StateBackend::Memory));
        assert_eq!(
            StateBackend::parse(" redis://127.0.0.1:6379/2 "),
            Ok(StateBackend::Redis {
                url: "redis://127.0.0.1:6379/2".to_string()
            })
        );
        for bad in ["", "redis", "http://x", "mem", "redis://host:notaport"] {
            assert!(StateBackend::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn never_shows_a_password() {
        let url = "redis://app:s3cret@db.example:6380/1";
        let backend = StateBackend::parse(url).unwrap();
        for shown in [backend.to_string(), format!("{backend:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("app:***@db.example:6380/1"), "{shown}");
        }
        assert_eq!(redact("redis://s3cret@h/0"), "redis://***@h/0");
        assert_eq!(redact("redis://h:1/0"), "redis://h:1/0");
    }
}
