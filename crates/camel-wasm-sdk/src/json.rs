//! [`Json`]: a JSON body, parsed only when read.

use std::fmt;
use std::sync::OnceLock;

use crate::Value;

/// The document of a [`Body::Json`](crate::Body::Json) body.
///
/// It travels as JSON text and is parsed only when the plugin reads it
/// ([`Json::value`]); a plugin that passes a JSON body through untouched
/// neither parses nor re-serializes it (and carries no JSON parser at all
/// if it never reads one).
///
/// ```
/// use camel_wasm_sdk::{Body, Json, Value};
///
/// let body = Body::from(Json::from(Value::from(vec![1, 2])));
/// let Body::Json(json) = &body else { unreachable!() };
/// assert_eq!(json.text(), "[1,2]");
/// assert_eq!(json.value()[1], Value::from(2));
/// assert_eq!(body.as_json(), Some(&Value::from(vec![1, 2])));
/// ```
#[derive(Clone)]
pub struct Json {
    text: String,
    value: OnceLock<Value>,
}

impl Json {
    /// A document from JSON text, parsed when first read. The host refuses
    /// a body that is not valid JSON when the plugin returns it.
    pub fn from_text(text: impl Into<String>) -> Self {
        Json {
            text: text.into(),
            value: OnceLock::new(),
        }
    }

    /// The document as JSON text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The document as a value (parsed on first call). Text that is not
    /// valid JSON reads as a JSON string holding that text.
    pub fn value(&self) -> &Value {
        self.value.get_or_init(|| {
            serde_json::from_str(&self.text).unwrap_or_else(|_| Value::String(self.text.clone()))
        })
    }

    /// The document as a value.
    pub fn into_value(self) -> Value {
        match self.value.into_inner() {
            Some(value) => value,
            None => serde_json::from_str(&self.text).unwrap_or(Value::String(self.text)),
        }
    }

    /// The document as JSON text.
    pub fn into_text(self) -> String {
        self.text
    }
}

impl From<Value> for Json {
    fn from(value: Value) -> Self {
        Json {
            text: value.to_string(),
            value: OnceLock::from(value),
        }
    }
}

impl PartialEq for Json {
    /// Equal when the documents are equal as values.
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text || self.value() == other.value()
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Json({})", self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_lazily_and_keeps_the_text() {
        let doc = Json::from_text(r#"{"a": [1, 2]}"#);
        assert_eq!(doc.text(), r#"{"a": [1, 2]}"#);
        assert_eq!(doc.value()["a"][1], json!(2));
        assert_eq!(doc, Json::from(json!({"a": [1, 2]})));
        assert_eq!(Json::from_text("nope").into_value(), json!("nope"));
        assert_eq!(Json::from(json!([true])).into_text(), "[true]");
    }
}
