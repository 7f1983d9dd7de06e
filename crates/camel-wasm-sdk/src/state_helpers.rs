//! Typed access to the host state: store and load values as JSON.
//!
//! The host keeps plain strings per route endpoint (or bean); these helpers
//! serialize values with `serde_json` on the way in and parse them on the way
//! out.
//!
//! ```no_run
//! use camel_wasm_sdk::state_helpers::{load_json, store_json};
//! use camel_wasm_sdk::PluginError;
//!
//! fn next_sequence() -> Result<u64, PluginError> {
//!     let next = load_json::<u64>("seq")?.unwrap_or(0) + 1;
//!     store_json("seq", &next)?;
//!     Ok(next)
//! }
//! # let _ = next_sequence;
//! ```
//!
//! Like [`Host`], these functions panic outside WebAssembly.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Host, PluginError};

/// Stores a string under `key`; the same as [`Host::store`].
///
/// # Errors
///
/// Any error the host reports, e.g. [`PluginError::LimitExceeded`].
pub fn store(key: &str, value: &str) -> Result<(), PluginError> {
    Host::store(key, value)
}

/// Loads the string stored under `key`; the same as [`Host::load`].
///
/// # Errors
///
/// Any error the host reports.
pub fn load(key: &str) -> Result<Option<String>, PluginError> {
    Host::load(key)
}

/// Serializes `value` as JSON and stores it under `key`.
///
/// # Errors
///
/// [`PluginError::TypeConversion`] if `value` cannot be serialized, or any
/// error the host reports.
pub fn store_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), PluginError> {
    Host::store(key, &encode(key, value)?)
}

/// Loads the value stored under `key` and parses it from JSON.
///
/// Returns `Ok(None)` when nothing is stored under `key`.
///
/// # Errors
///
/// [`PluginError::TypeConversion`] if the stored text is not valid JSON for
/// `T`, or any error the host reports.
pub fn load_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, PluginError> {
    Host::load(key)?.map(|text| decode(key, &text)).transpose()
}

fn encode<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<String, PluginError> {
    serde_json::to_string(value).map_err(|error| {
        PluginError::type_conversion(format!("cannot serialize state `{key}` as JSON: {error}"))
    })
}

fn decode<T: DeserializeOwned>(key: &str, text: &str) -> Result<T, PluginError> {
    serde_json::from_str(text).map_err(|error| {
        PluginError::type_conversion(format!("state `{key}` is not the expected JSON: {error}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn encodes_as_plain_json() {
        assert_eq!(encode("k", &41u64).unwrap(), "41");
        assert_eq!(encode("k", "text").unwrap(), "\"text\"");
        let map = BTreeMap::from([("a", vec![1, 2])]);
        assert_eq!(encode("k", &map).unwrap(), r#"{"a":[1,2]}"#);
    }

    #[test]
    fn decodes_and_reports_type_errors() {
        assert_eq!(decode::<u64>("k", "41").unwrap(), 41);
        let error = decode::<u64>("count", "\"x\"").unwrap_err();
        assert_eq!(error.kind(), "type-conversion");
        assert!(error.message().contains("`count`"), "{error}");
    }

    #[test]
    fn serialization_failures_are_type_conversions() {
        // JSON object keys must be strings.
        let map = BTreeMap::from([((1, 2), 3)]);
        let error = encode("k", &map).unwrap_err();
        assert_eq!(error.kind(), "type-conversion");
    }
}
