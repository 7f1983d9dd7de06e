//! [`PluginError`], the error plugins return and host calls report.

use std::fmt;

/// A failure reported by a plugin to the host, or by the host to a plugin.
///
/// Mirrors the WIT `error` variant one to one; every variant carries a
/// human-readable message.
///
/// ```
/// use camel_wasm_sdk::PluginError;
///
/// let error = PluginError::not_found("no method `x`");
/// assert_eq!(error.kind(), "not-found");
/// assert_eq!(error.message(), "no method `x`");
/// assert_eq!(error.to_string(), "not-found: no method `x`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PluginError {
    /// Processing failed (a business error).
    Failed(String),
    /// A value could not be converted to the expected type.
    TypeConversion(String),
    /// Something that was named does not exist (an endpoint, a method).
    NotFound(String),
    /// The host refused the request (a capability or a recursion guard).
    Denied(String),
    /// A size or count limit was exceeded.
    LimitExceeded(String),
    /// An I/O failure, or a failure of the endpoint that was called.
    Io(String),
    /// An operation took too long.
    Timeout(String),
}

impl PluginError {
    /// A [`PluginError::Failed`] error.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed(message.into())
    }

    /// A [`PluginError::TypeConversion`] error.
    pub fn type_conversion(message: impl Into<String>) -> Self {
        Self::TypeConversion(message.into())
    }

    /// A [`PluginError::NotFound`] error.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }

    /// A [`PluginError::Denied`] error.
    pub fn denied(message: impl Into<String>) -> Self {
        Self::Denied(message.into())
    }

    /// A [`PluginError::LimitExceeded`] error.
    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::LimitExceeded(message.into())
    }

    /// A [`PluginError::Io`] error.
    pub fn io(message: impl Into<String>) -> Self {
        Self::Io(message.into())
    }

    /// A [`PluginError::Timeout`] error.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::Timeout(message.into())
    }

    /// The WIT name of the variant, in kebab case: `failed`,
    /// `type-conversion`, `not-found`, `denied`, `limit-exceeded`, `io` or
    /// `timeout`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Failed(_) => "failed",
            Self::TypeConversion(_) => "type-conversion",
            Self::NotFound(_) => "not-found",
            Self::Denied(_) => "denied",
            Self::LimitExceeded(_) => "limit-exceeded",
            Self::Io(_) => "io",
            Self::Timeout(_) => "timeout",
        }
    }

    /// The message carried by the error.
    pub fn message(&self) -> &str {
        match self {
            Self::Failed(message)
            | Self::TypeConversion(message)
            | Self::NotFound(message)
            | Self::Denied(message)
            | Self::LimitExceeded(message)
            | Self::Io(message)
            | Self::Timeout(message) => message,
        }
    }
}

/// Formats as `<kind>: <message>`, e.g. `failed: amount too large`.
impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for PluginError {}

/// A plain message becomes a [`PluginError::Failed`].
impl From<String> for PluginError {
    fn from(message: String) -> Self {
        Self::Failed(message)
    }
}

/// A plain message becomes a [`PluginError::Failed`].
impl From<&str> for PluginError {
    fn from(message: &str) -> Self {
        Self::Failed(message.to_owned())
    }
}

/// A JSON (de)serialization failure becomes a [`PluginError::TypeConversion`].
impl From<serde_json::Error> for PluginError {
    fn from(error: serde_json::Error) -> Self {
        Self::TypeConversion(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_messages() {
        let cases = [
            (PluginError::failed("a"), "failed"),
            (PluginError::type_conversion("a"), "type-conversion"),
            (PluginError::not_found("a"), "not-found"),
            (PluginError::denied("a"), "denied"),
            (PluginError::limit_exceeded("a"), "limit-exceeded"),
            (PluginError::io("a"), "io"),
            (PluginError::timeout("a"), "timeout"),
        ];
        for (error, kind) in cases {
            assert_eq!(error.kind(), kind);
            assert_eq!(error.message(), "a");
            assert_eq!(error.to_string(), format!("{kind}: a"));
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(PluginError::from("x"), PluginError::Failed("x".into()));
        assert_eq!(
            PluginError::from(String::from("y")),
            PluginError::Failed("y".into())
        );
        let json = serde_json::from_str::<u8>("nope").unwrap_err();
        assert_eq!(PluginError::from(json).kind(), "type-conversion");
    }
}
