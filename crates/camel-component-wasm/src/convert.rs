//! Mapping between rust-camel exchanges and the WIT `exchange` record.
//!
//! Text stays text, bytes stay bytes, JSON stays JSON. Values are moved out
//! of the exchange rather than cloned wherever possible; bytes are never
//! re-encoded.

use std::collections::{HashMap, HashSet};

use camel_api::{Body, Exchange, ExchangePattern, Message, Value};

use crate::bindings::wit;
use crate::host_state::CallState;

/// Converts a header/property value for the guest.
pub(crate) fn value_to_wit(value: Value) -> wit::Value {
    match value {
        Value::String(s) => wit::Value::Text(s),
        other => wit::Value::Json(other.to_string()),
    }
}

/// Converts a header/property value from the guest. JSON that does not parse
/// is kept as a string rather than lost.
pub(crate) fn value_from_wit(value: wit::Value) -> Value {
    match value {
        wit::Value::Text(s) => Value::String(s),
        wit::Value::Json(s) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
    }
}

/// The text a guest sees for a property read with `get-property`.
pub(crate) fn value_as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Converts a body for the guest, reading a stream up to `max_stream_bytes`.
pub(crate) async fn body_to_wit(body: Body, max_stream_bytes: usize) -> Result<wit::Body, String> {
    Ok(match body {
        Body::Empty => wit::Body::Empty,
        Body::Text(s) => wit::Body::Text(s),
        Body::Bytes(b) => wit::Body::Bytes(Vec::from(b)),
        Body::Json(v) => wit::Body::Json(v.to_string()),
        Body::Xml(s) => wit::Body::Xml(s),
        stream @ Body::Stream(_) => {
            let bytes = stream
                .into_bytes(max_stream_bytes)
                .await
                .map_err(|e| format!("reading the streamed body failed: {e}"))?;
            wit::Body::Bytes(Vec::from(bytes))
        }
        _ => return Err("unsupported body kind".to_string()),
    })
}

/// Converts a body from the guest.
pub(crate) fn body_from_wit(body: wit::Body) -> Result<Body, String> {
    Ok(match body {
        wit::Body::Empty => Body::Empty,
        wit::Body::Text(s) => Body::Text(s),
        wit::Body::Bytes(b) => Body::Bytes(b.into()),
        wit::Body::Json(s) => Body::Json(
            serde_json::from_str(&s)
                .map_err(|e| format!("the plugin returned an invalid JSON body: {e}"))?,
        ),
        wit::Body::Xml(s) => Body::Xml(s),
    })
}

async fn message_to_wit(message: Message, max_stream_bytes: usize) -> Result<wit::Message, String> {
    let headers = message
        .headers
        .into_iter()
        .map(|(k, v)| (k, value_to_wit(v)))
        .collect();
    Ok(wit::Message {
        headers,
        body: body_to_wit(message.body, max_stream_bytes).await?,
    })
}

fn message_from_wit(message: wit::Message) -> Result<Message, String> {
    let mut out = Message::new(body_from_wit(message.body)?);
    out.headers = message
        .headers
        .into_iter()
        .map(|(k, v)| (k, value_from_wit(v)))
        .collect();
    Ok(out)
}

/// Moves the exchange's messages into a WIT exchange. The properties are
/// returned separately: they go into the call's host state, and a copy goes
/// to the guest.
pub(crate) async fn exchange_to_wit(
    exchange: &mut Exchange,
    max_stream_bytes: usize,
) -> Result<(wit::Exchange, HashMap<String, Value>), String> {
    let input = message_to_wit(std::mem::take(&mut exchange.input), max_stream_bytes).await?;
    let output = match exchange.output.take() {
        Some(m) => Some(message_to_wit(m, max_stream_bytes).await?),
        None => None,
    };
    let properties = std::mem::take(&mut exchange.properties);
    let wit_properties = properties
        .iter()
        .map(|(k, v)| (k.clone(), value_to_wit(v.clone())))
        .collect();
    let pattern = match exchange.pattern {
        ExchangePattern::InOut => wit::Pattern::InOut,
        _ => wit::Pattern::InOnly,
    };
    Ok((
        wit::Exchange {
            input,
            output,
            properties: wit_properties,
            pattern,
            correlation_id: exchange.correlation_id.clone(),
        },
        properties,
    ))
}

/// Writes the guest's result back into `exchange`.
///
/// Messages and pattern come from the result. Properties start from the
/// call's live map (which already holds `set-property` writes); the returned
/// list then adds, changes and removes properties, except those written
/// through `set-property`, whose host-side value wins.
pub(crate) fn apply_result(
    exchange: &mut Exchange,
    result: wit::Exchange,
    call: CallState,
) -> Result<(), String> {
    exchange.input = message_from_wit(result.input)?;
    exchange.output = result.output.map(message_from_wit).transpose()?;
    exchange.pattern = match result.pattern {
        wit::Pattern::InOut => ExchangePattern::InOut,
        wit::Pattern::InOnly => ExchangePattern::InOnly,
    };
    exchange.properties = merge_properties(call.properties, &call.written, result.properties);
    Ok(())
}

/// Puts the messages of a WIT exchange (as sent to the guest) back into
/// `exchange`, e.g. after a failed call.
pub(crate) fn restore_messages(exchange: &mut Exchange, sent: wit::Exchange) -> Result<(), String> {
    exchange.input = message_from_wit(sent.input)?;
    exchange.output = sent.output.map(message_from_wit).transpose()?;
    Ok(())
}

fn merge_properties(
    mut live: HashMap<String, Value>,
    written: &HashSet<String>,
    returned: Vec<(String, wit::Value)>,
) -> HashMap<String, Value> {
    let mut seen = HashSet::with_capacity(returned.len());
    for (key, value) in returned {
        if written.contains(&key) {
            seen.insert(key);
            continue;
        }
        let value = value_from_wit(value);
        if live.get(&key) != Some(&value) {
            live.insert(key.clone(), value);
        }
        seen.insert(key);
    }
    live.retain(|k, _| seen.contains(k) || written.contains(k));
    live
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_round_trip() {
        for v in [
            json!("text"),
            json!(42),
            json!(1.5),
            json!(true),
            json!(null),
            json!({"a": [1, 2]}),
        ] {
            assert_eq!(value_from_wit(value_to_wit(v.clone())), v);
        }
        // A string that looks like JSON stays a string.
        assert_eq!(
            value_from_wit(value_to_wit(json!("42"))),
            Value::String("42".into())
        );
    }

    #[tokio::test]
    async fn bodies_round_trip_by_kind() {
        for body in [
            Body::Empty,
            Body::Text("héllo".into()),
            Body::Bytes(bytes::Bytes::from_static(&[0, 159, 146, 150])),
            Body::Json(json!({"k": [1, "two"]})),
            Body::Xml("<a/>".into()),
        ] {
            let back = body_from_wit(body_to_wit(body.clone(), 1024).await.unwrap()).unwrap();
            assert_eq!(format!("{back:?}"), format!("{body:?}"));
        }
    }

    #[test]
    fn invalid_json_body_from_guest_is_an_error() {
        let err = body_from_wit(wit::Body::Json("{nope".into())).unwrap_err();
        assert!(err.contains("invalid JSON body"), "{err}");
    }

    #[test]
    fn property_merge_rules() {
        let live: HashMap<String, Value> = [
            ("keep".to_string(), json!("k")),
            ("change".to_string(), json!(1)),
            ("drop".to_string(), json!("d")),
            ("host".to_string(), json!("from-host")),
        ]
        .into();
        let written: HashSet<String> = ["host".to_string()].into();
        let returned = vec![
            ("keep".to_string(), wit::Value::Text("k".into())),
            ("change".to_string(), wit::Value::Json("2".into())),
            ("new".to_string(), wit::Value::Text("n".into())),
            // The guest's stale snapshot does not override a host write.
            ("host".to_string(), wit::Value::Text("stale".into())),
        ];
        let merged = merge_properties(live, &written, returned);
        assert_eq!(merged["keep"], json!("k"));
        assert_eq!(merged["change"], json!(2));
        assert_eq!(merged["new"], json!("n"));
        assert_eq!(merged["host"], json!("from-host"));
        assert!(!merged.contains_key("drop"));
    }
}
