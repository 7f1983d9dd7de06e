//! Parsing guest JSON into `serde_json::Value` with a byte budget.
//!
//! A JSON document can take many times its own size once parsed (`[0,0,…]`
//! is two bytes an element in text, 32 in a `Value`), so a guest could make
//! the host allocate far more than the guest itself holds. Every node is
//! charged against the budget as it is built, and parsing stops at the
//! first node over it.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// What a map entry costs beyond its key and value (the tree node).
const MAP_ENTRY_OVERHEAD: usize = 48;
/// What any value costs: the `Value` itself.
const NODE: usize = size_of::<Value>();

/// Why a document was not parsed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// Not valid JSON.
    Invalid(String),
    /// Parsing it would take more than the budget.
    OverBudget,
}

/// Parses `text`, taking what the parsed value costs from `budget`.
pub(crate) fn parse(text: &str, budget: &mut usize) -> Result<Value, JsonError> {
    let left = Cell::new(*budget);
    let over = Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = Budgeted {
        left: &left,
        over: &over,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    match parsed {
        Ok(value) => {
            *budget = left.get();
            Ok(value)
        }
        Err(_) if over.get() => Err(JsonError::OverBudget),
        Err(e) => Err(JsonError::Invalid(e.to_string())),
    }
}

#[derive(Clone, Copy)]
struct Budgeted<'b> {
    left: &'b Cell<usize>,
    over: &'b Cell<bool>,
}

impl Budgeted<'_> {
    fn charge<E: de::Error>(self, bytes: usize) -> Result<(), E> {
        match self.left.get().checked_sub(bytes) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.over.set(true);
                Err(E::custom("over the JSON budget"))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Budgeted<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Budgeted<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.charge(NODE)?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.charge(NODE)?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.charge(NODE)?;
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.charge(NODE)?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.charge(NODE + v.len())?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.charge(NODE + v.len())?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.charge(NODE)?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.charge(NODE)?;
        let mut items = Vec::new();
        // Each element charges its own `Value`, which is its slot in the Vec.
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.charge(NODE)?;
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.charge(key.len() + MAP_ENTRY_OVERHEAD)?;
            let value = map.next_value_seed(self)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_like_serde_json_and_charges_the_budget() {
        let text = r#"{"a":[1,-2,3.5,true,null,"x"],"b":{"c":"d"}}"#;
        let mut budget = 10_000;
        let value = parse(text, &mut budget).unwrap();
        assert_eq!(value, serde_json::from_str::<Value>(text).unwrap());
        assert!(budget < 10_000 - 10 * NODE, "left {budget}");
        assert_eq!(parse("\"plain\"", &mut 1000).unwrap(), json!("plain"));
    }

    #[test]
    fn stops_at_the_budget() {
        // 2 bytes of text per element, 32 bytes parsed.
        let text = format!("[{}0]", "0,".repeat(100_000));
        let mut budget = 1024 * 1024;
        assert_eq!(parse(&text, &mut budget), Err(JsonError::OverBudget));
        assert_eq!(budget, 1024 * 1024, "a failed parse takes nothing");
        let mut budget = 8 * 1024 * 1024;
        assert!(parse(&text, &mut budget).is_ok());
    }

    #[test]
    fn invalid_json_is_reported_as_such() {
        assert!(matches!(
            parse("{nope", &mut 1000),
            Err(JsonError::Invalid(_))
        ));
        assert!(matches!(
            parse("1 2", &mut 1000),
            Err(JsonError::Invalid(_))
        ));
    }
}
