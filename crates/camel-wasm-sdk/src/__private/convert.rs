//! Conversions between the generated WIT types and the SDK's types.
//!
//! Nothing is parsed or serialized here: header and property values keep
//! their wire form ([`crate::Fields`]) and JSON bodies their text
//! ([`crate::Json`]) until the plugin reads them, so a plugin that never
//! reads JSON links no JSON code.

use super::wit;
use crate::fields::Wire;
use crate::{Body, BodyStream, Exchange, Fields, Json, Message, Pattern, PluginError};

fn wire_from_wit(value: wit::Value) -> Wire {
    match value {
        wit::Value::Text(text) => Wire::Text(text),
        wit::Value::Json(json) => Wire::Json(json),
    }
}

fn wire_into_wit(wire: Wire) -> wit::Value {
    match wire {
        Wire::Text(text) => wit::Value::Text(text),
        Wire::Json(json) => wit::Value::Json(json),
    }
}

pub fn body_from_wit(body: wit::Body) -> Body {
    match body {
        wit::Body::Empty => Body::Empty,
        wit::Body::Text(text) => Body::Text(text),
        wit::Body::Bytes(bytes) => Body::Bytes(bytes),
        wit::Body::Json(json) => Body::Json(Json::from_text(json)),
        wit::Body::Xml(xml) => Body::Xml(xml),
        wit::Body::Stream(handle) => Body::Stream(BodyStream::from_host(handle)),
    }
}

pub fn body_into_wit(body: Body) -> wit::Body {
    match body {
        Body::Empty => wit::Body::Empty,
        Body::Text(text) => wit::Body::Text(text),
        Body::Bytes(bytes) => wit::Body::Bytes(bytes),
        Body::Json(json) => wit::Body::Json(json.into_text()),
        Body::Xml(xml) => wit::Body::Xml(xml),
        // A stream already handed on (a clone was returned) has no body left.
        Body::Stream(stream) => stream
            .into_wit()
            .map_or(wit::Body::Empty, wit::Body::Stream),
    }
}

fn fields_from_wit(pairs: Vec<(String, wit::Value)>) -> Fields {
    Fields::from_wire(
        pairs
            .into_iter()
            .map(|(name, value)| (name, wire_from_wit(value))),
    )
}

fn fields_into_wit(fields: Fields) -> Vec<(String, wit::Value)> {
    fields
        .into_wire()
        .map(|(name, wire)| (name, wire_into_wit(wire)))
        .collect()
}

/// Duplicate header names (which the host never sends): the last one wins.
pub fn message_from_wit(message: wit::Message) -> Message {
    Message {
        headers: fields_from_wit(message.headers),
        body: body_from_wit(message.body),
    }
}

pub fn message_into_wit(message: Message) -> wit::Message {
    wit::Message {
        headers: fields_into_wit(message.headers),
        body: body_into_wit(message.body),
    }
}

pub fn pattern_from_wit(pattern: wit::Pattern) -> Pattern {
    match pattern {
        wit::Pattern::InOnly => Pattern::InOnly,
        wit::Pattern::InOut => Pattern::InOut,
    }
}

pub fn pattern_into_wit(pattern: Pattern) -> wit::Pattern {
    match pattern {
        Pattern::InOnly => wit::Pattern::InOnly,
        Pattern::InOut => wit::Pattern::InOut,
    }
}

pub fn exchange_from_wit(exchange: wit::Exchange) -> Exchange {
    Exchange {
        input: message_from_wit(exchange.input),
        output: exchange.output.map(message_from_wit),
        properties: fields_from_wit(exchange.properties),
        pattern: pattern_from_wit(exchange.pattern),
        correlation_id: exchange.correlation_id,
    }
}

pub fn exchange_into_wit(exchange: Exchange) -> wit::Exchange {
    wit::Exchange {
        input: message_into_wit(exchange.input),
        output: exchange.output.map(message_into_wit),
        properties: fields_into_wit(exchange.properties),
        pattern: pattern_into_wit(exchange.pattern),
        correlation_id: exchange.correlation_id,
    }
}

pub fn error_from_wit(error: wit::Error) -> PluginError {
    match error {
        wit::Error::Failed(message) => PluginError::Failed(message),
        wit::Error::TypeConversion(message) => PluginError::TypeConversion(message),
        wit::Error::NotFound(message) => PluginError::NotFound(message),
        wit::Error::Denied(message) => PluginError::Denied(message),
        wit::Error::LimitExceeded(message) => PluginError::LimitExceeded(message),
        wit::Error::Io(message) => PluginError::Io(message),
        wit::Error::Timeout(message) => PluginError::Timeout(message),
    }
}

pub fn error_into_wit(error: PluginError) -> wit::Error {
    match error {
        PluginError::Failed(message) => wit::Error::Failed(message),
        PluginError::TypeConversion(message) => wit::Error::TypeConversion(message),
        PluginError::NotFound(message) => wit::Error::NotFound(message),
        PluginError::Denied(message) => wit::Error::Denied(message),
        PluginError::LimitExceeded(message) => wit::Error::LimitExceeded(message),
        PluginError::Io(message) => wit::Error::Io(message),
        PluginError::Timeout(message) => wit::Error::Timeout(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;
    use serde_json::json;

    fn text(s: &str) -> wit::Value {
        wit::Value::Text(s.to_owned())
    }

    fn json_text(s: &str) -> wit::Value {
        wit::Value::Json(s.to_owned())
    }

    fn wit_value_eq(a: &wit::Value, b: &wit::Value) -> bool {
        match (a, b) {
            (wit::Value::Text(a), wit::Value::Text(b))
            | (wit::Value::Json(a), wit::Value::Json(b)) => a == b,
            _ => false,
        }
    }

    #[test]
    fn values_keep_their_wire_form_and_read_as_json() {
        let fields = fields_from_wit(vec![
            ("t".into(), text("42")),
            ("n".into(), json_text("42")),
            ("o".into(), json_text(r#"{"a":[1]}"#)),
            ("bad".into(), json_text("{oops")),
        ]);
        assert_eq!(fields.get("t"), Some(&json!("42")));
        assert_eq!(fields.get("n"), Some(&json!(42)));
        assert_eq!(fields.get("o"), Some(&json!({"a": [1]})));
        // Invalid JSON is kept as a string.
        assert_eq!(fields.get("bad"), Some(&json!("{oops")));
        // Read or not, values go back exactly as they came.
        let back = fields_into_wit(fields);
        assert!(wit_value_eq(&back[0].1, &text("42")));
        assert!(wit_value_eq(&back[2].1, &json_text(r#"{"a":[1]}"#)));
        assert!(wit_value_eq(&back[3].1, &json_text("{oops")));
    }

    #[test]
    fn values_set_by_the_plugin() {
        let mut fields = Fields::new();
        fields.set("s", "s");
        fields.set("n", 1.5);
        fields.set("null", Value::Null);
        fields.set("o", json!({"b": 1, "a": [true]}));
        let back = fields_into_wit(fields);
        assert!(wit_value_eq(&back[0].1, &text("s")));
        assert!(wit_value_eq(&back[1].1, &json_text("1.5")));
        assert!(wit_value_eq(&back[2].1, &json_text("null")));
        assert!(wit_value_eq(
            &back[3].1,
            &json_text(r#"{"a":[true],"b":1}"#)
        ));
    }

    #[test]
    fn values_round_trip() {
        for value in [
            json!("text"),
            json!(""),
            json!(0),
            json!(-3.25),
            json!(false),
            Value::Null,
            json!([1, "two", null]),
            json!({"nested": {"k": "v"}}),
        ] {
            let fields: Fields = [("k", value.clone())].into_iter().collect();
            let back = fields_from_wit(fields_into_wit(fields));
            assert_eq!(back.get("k"), Some(&value));
        }
    }

    #[test]
    fn bodies_round_trip() {
        for body in [
            Body::Empty,
            Body::Text("hi".into()),
            Body::Bytes(vec![0, 159, 255]),
            Body::from(json!({"id": 7, "tags": ["a"]})),
            Body::from(json!("just a string")),
            Body::Xml("<a>1</a>".into()),
        ] {
            assert_eq!(body_from_wit(body_into_wit(body.clone())), body);
        }
    }

    #[test]
    fn body_kinds_map_one_to_one() {
        assert!(matches!(body_into_wit(Body::Empty), wit::Body::Empty));
        assert!(matches!(body_into_wit(Body::from("t")), wit::Body::Text(t) if t == "t"));
        assert!(matches!(body_into_wit(Body::Xml("x".into())), wit::Body::Xml(x) if x == "x"));
        assert!(matches!(body_into_wit(Body::from(json!([1]))), wit::Body::Json(j) if j == "[1]"));
        assert!(matches!(body_into_wit(Body::from(vec![1])), wit::Body::Bytes(b) if b == [1]));
    }

    #[test]
    fn json_bodies_pass_through_untouched() {
        // Not even whitespace changes when the plugin does not read it.
        let text = r#"{ "b" : 1,  "a": [ ] }"#;
        let body = body_from_wit(wit::Body::Json(text.into()));
        assert!(matches!(body_into_wit(body), wit::Body::Json(j) if j == text));
        // Text that is not JSON reads as a string and is not lost.
        let body = body_from_wit(wit::Body::Json("not json".into()));
        assert_eq!(body.as_json(), Some(&json!("not json")));
    }

    #[test]
    fn exchange_round_trip() {
        let input = wit::Exchange {
            input: wit::Message {
                headers: vec![
                    ("a".into(), text("1")),
                    ("b".into(), json_text("2")),
                    ("a".into(), text("last")),
                ],
                body: wit::Body::Text("in".into()),
            },
            output: Some(wit::Message {
                headers: vec![],
                body: wit::Body::Json(r#"{"ok":true}"#.into()),
            }),
            properties: vec![("p".into(), json_text("[1,2]"))],
            pattern: wit::Pattern::InOut,
            correlation_id: "corr-1".into(),
        };

        let exchange = exchange_from_wit(input);
        assert_eq!(exchange.input.header("a"), Some(&json!("last")));
        assert_eq!(exchange.input.header("b"), Some(&json!(2)));
        assert_eq!(exchange.input.body, Body::from("in"));
        assert_eq!(exchange.body(), &Body::from(json!({"ok": true})));
        assert_eq!(exchange.property("p"), Some(&json!([1, 2])));
        assert_eq!(exchange.pattern, Pattern::InOut);
        assert_eq!(exchange.correlation_id(), "corr-1");

        let back = exchange_into_wit(exchange.clone());
        assert_eq!(back.input.headers.len(), 2);
        assert_eq!(back.correlation_id, "corr-1");
        assert_eq!(back.pattern, wit::Pattern::InOut);
        assert_eq!(exchange_from_wit(back), exchange);
    }

    #[test]
    fn exchange_without_output() {
        let exchange = Exchange::new(Message::new("x"));
        let back = exchange_into_wit(exchange.clone());
        assert!(back.output.is_none());
        assert_eq!(back.pattern, wit::Pattern::InOnly);
        assert_eq!(exchange_from_wit(back), exchange);
    }

    #[test]
    fn errors_round_trip() {
        for error in [
            PluginError::failed("f"),
            PluginError::type_conversion("t"),
            PluginError::not_found("n"),
            PluginError::denied("d"),
            PluginError::limit_exceeded("l"),
            PluginError::io("i"),
            PluginError::timeout("o"),
        ] {
            assert_eq!(error_from_wit(error_into_wit(error.clone())), error);
        }
        assert!(matches!(
            error_into_wit(PluginError::limit_exceeded("m")),
            wit::Error::LimitExceeded(m) if m == "m"
        ));
    }
}
