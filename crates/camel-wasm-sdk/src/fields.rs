//! [`Fields`]: headers and properties, parsed only when read.

use std::fmt;
use std::sync::OnceLock as OnceCell;

use crate::Value;

/// The headers of a message, or the properties of an exchange: names to
/// JSON values, in the order they arrived (names are unique and matched
/// exactly).
///
/// Values travel between host and plugin as text: strings as they are,
/// other values as JSON text. A value the plugin never reads is never
/// parsed and goes back to the host as it came, so a plugin that does not
/// touch JSON carries no JSON parser at all (which keeps it small and quick
/// to load).
///
/// ```
/// use camel_wasm_sdk::{Fields, Value};
///
/// let mut headers = Fields::new();
/// headers.set("attempt", 2);
/// headers.set("source", "orders");
/// assert_eq!(headers.get("attempt"), Some(&Value::from(2)));
/// assert_eq!(headers.get_str("source"), Some("orders"));
/// assert_eq!(headers.names().collect::<Vec<_>>(), ["attempt", "source"]);
/// ```
#[derive(Clone, Default)]
pub struct Fields {
    entries: Vec<Field>,
}

#[derive(Clone)]
struct Field {
    name: String,
    wire: Wire,
    /// The value, once read (or as set by the plugin).
    value: OnceCell<Value>,
}

/// How a value travels to and from the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Wire {
    /// A JSON string, as its content.
    Text(String),
    /// Any other JSON value, as JSON text.
    Json(String),
}

impl Field {
    fn value(&self) -> &Value {
        self.value.get_or_init(|| match &self.wire {
            Wire::Text(text) => Value::String(text.clone()),
            // Text that is not JSON is kept as a string rather than lost.
            Wire::Json(json) => {
                serde_json::from_str(json).unwrap_or_else(|_| Value::String(json.clone()))
            }
        })
    }

    fn into_value(self) -> Value {
        let Field { wire, value, .. } = self;
        match (value.into_inner(), wire) {
            (Some(value), _) => value,
            (None, Wire::Text(text)) => Value::String(text),
            (None, Wire::Json(json)) => serde_json::from_str(&json).unwrap_or(Value::String(json)),
        }
    }
}

impl Fields {
    /// No fields.
    pub fn new() -> Self {
        Fields::default()
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|f| f.name == name)
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|f| f.name == name)
            .map(Field::value)
    }

    /// The value of `name` if it is present and a JSON string (read without
    /// any parsing).
    pub fn get_str(&self, name: &str) -> Option<&str> {
        let field = self.entries.iter().find(|f| f.name == name)?;
        match &field.wire {
            Wire::Text(text) => Some(text),
            Wire::Json(_) => field.value().as_str(),
        }
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// Sets `name`, replacing any previous value.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        let (wire, value) = match value.into() {
            Value::String(text) => (Wire::Text(text), OnceCell::new()),
            other => (Wire::Json(other.to_string()), OnceCell::from(other)),
        };
        self.put(name.into(), wire, value);
    }

    fn put(&mut self, name: String, wire: Wire, value: OnceCell<Value>) {
        match self.position(&name) {
            Some(index) => {
                let field = &mut self.entries[index];
                field.wire = wire;
                field.value = value;
            }
            None => self.entries.push(Field { name, wire, value }),
        }
    }

    /// Removes `name` and returns its value, if it was present.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let index = self.position(name)?;
        Some(self.entries.remove(index).into_value())
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|f| f.name.as_str())
    }

    /// Names and values, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|f| (f.name.as_str(), f.value()))
    }

    /// Fields as they came from the host (a later duplicate name wins).
    pub(crate) fn from_wire(pairs: impl IntoIterator<Item = (String, Wire)>) -> Self {
        let mut fields = Fields::new();
        for (name, wire) in pairs {
            fields.put(name, wire, OnceCell::new());
        }
        fields
    }

    /// Fields as they go back to the host: untouched values as they came.
    pub(crate) fn into_wire(self) -> impl Iterator<Item = (String, Wire)> {
        self.entries.into_iter().map(|f| (f.name, f.wire))
    }
}

impl<N: Into<String>, V: Into<Value>> FromIterator<(N, V)> for Fields {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut fields = Fields::new();
        for (name, value) in iter {
            fields.set(name, value);
        }
        fields
    }
}

impl PartialEq for Fields {
    /// Equal when they hold the same names with equal values, in any order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(name, value)| other.get(name) == Some(value))
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for field in &self.entries {
            match &field.wire {
                Wire::Text(text) => map.entry(&field.name, text),
                Wire::Json(json) => map.entry(&field.name, &format_args!("{json}")),
            };
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_parsed_on_first_read_and_sent_back_as_they_came() {
        let fields = Fields::from_wire([
            ("s".to_string(), Wire::Text("text".into())),
            ("n".to_string(), Wire::Json("42".into())),
            ("bad".to_string(), Wire::Json("{nope".into())),
        ]);
        assert_eq!(fields.get("n"), Some(&json!(42)));
        assert_eq!(fields.get_str("s"), Some("text"));
        assert_eq!(fields.get("bad"), Some(&json!("{nope")));
        let back: Vec<_> = fields.into_wire().collect();
        assert_eq!(back[1], ("n".to_string(), Wire::Json("42".into())));
        assert_eq!(back[2], ("bad".to_string(), Wire::Json("{nope".into())));
    }

    #[test]
    fn set_replaces_in_place_and_remove_returns_the_value() {
        let mut fields = Fields::new();
        fields.set("a", 1);
        fields.set("b", "x");
        fields.set("a", json!({"k": [true]}));
        assert_eq!(fields.names().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(fields.get("a"), Some(&json!({"k": [true]})));
        let wire: Vec<_> = fields.clone().into_wire().collect();
        assert_eq!(wire[0].1, Wire::Json(r#"{"k":[true]}"#.into()));
        assert_eq!(wire[1].1, Wire::Text("x".into()));
        assert_eq!(fields.remove("b"), Some(json!("x")));
        assert_eq!(fields.remove("b"), None);
        assert_eq!(fields.len(), 1);
    }

    #[test]
    fn equality_ignores_order_and_wire_form() {
        let a: Fields = [("x", json!(1)), ("y", json!("s"))].into_iter().collect();
        let b = Fields::from_wire([
            ("y".to_string(), Wire::Text("s".into())),
            ("x".to_string(), Wire::Json("1".into())),
        ]);
        assert_eq!(a, b);
        assert_ne!(a, Fields::new());
    }
}
