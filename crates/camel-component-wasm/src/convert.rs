//! Mapping between rust-camel exchanges and the WIT `exchange` record.
//!
//! Text stays text, bytes stay bytes, JSON stays JSON. Values are moved out
//! of the exchange rather than cloned wherever possible; bytes are never
//! re-encoded.

use std::collections::{HashMap, HashSet};

use camel_api::{Body, Exchange, ExchangePattern, Message, StreamBody, Value};

use crate::bindings::wit;
use crate::host_state::CallState;
use crate::json_budget::{self, JsonError};

/// Why a guest's result could not be converted back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ConvertError {
    /// The result is malformed (e.g. a body that is not valid JSON).
    Invalid(String),
    /// Parsing its JSON values would take more than `max-result-bytes`.
    OverBudget,
}

/// Converts a header/property value for the guest.
pub(crate) fn value_to_wit(value: Value) -> wit::Value {
    match value {
        Value::String(s) => wit::Value::Text(s),
        other => wit::Value::Json(other.to_string()),
    }
}

/// Converts a header/property value from the guest, parsing JSON within
/// `budget`. JSON that does not parse is kept as a string rather than lost.
pub(crate) fn value_from_wit(value: wit::Value, budget: &mut usize) -> Result<Value, ConvertError> {
    match value {
        wit::Value::Text(s) => Ok(Value::String(s)),
        wit::Value::Json(s) => match json_budget::parse(&s, budget) {
            Ok(value) => Ok(value),
            Err(JsonError::Invalid(_)) => Ok(Value::String(s)),
            Err(JsonError::OverBudget) => Err(ConvertError::OverBudget),
        },
    }
}

/// The text a guest sees for a property read with `get-property`.
pub(crate) fn value_as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Converts a body for the guest, reading a stream up to `max_stream_bytes`
/// (for what the host hands over whole: `camel-call` replies, polled
/// exchanges).
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

/// Converts a body from the guest, parsing JSON within `budget`.
pub(crate) fn body_from_wit(body: wit::Body, budget: &mut usize) -> Result<Body, ConvertError> {
    Ok(match body {
        wit::Body::Empty => Body::Empty,
        wit::Body::Text(s) => Body::Text(s),
        wit::Body::Bytes(b) => Body::Bytes(b.into()),
        wit::Body::Json(s) => match json_budget::parse(&s, budget) {
            Ok(value) => Body::Json(value),
            Err(JsonError::Invalid(e)) => {
                return Err(ConvertError::Invalid(format!(
                    "the plugin returned an invalid JSON body: {e}"
                )));
            }
            Err(JsonError::OverBudget) => return Err(ConvertError::OverBudget),
        },
        wit::Body::Xml(s) => Body::Xml(s),
        // The pool takes stream handles out of a result before converting it.
        wit::Body::Stream(_) => {
            return Err(ConvertError::Invalid(
                "a stream body was not taken out of the result".to_string(),
            ));
        }
    })
}

/// A body for the guest, keeping a stream as a stream: `Empty` stands in
/// for it until the call gives it a handle.
fn body_or_stream(body: Body) -> (wit::Body, Option<StreamBody>) {
    match body {
        Body::Stream(stream) => (wit::Body::Empty, Some(stream)),
        Body::Empty => (wit::Body::Empty, None),
        Body::Text(s) => (wit::Body::Text(s), None),
        Body::Bytes(b) => (wit::Body::Bytes(Vec::from(b)), None),
        Body::Json(v) => (wit::Body::Json(v.to_string()), None),
        Body::Xml(s) => (wit::Body::Xml(s), None),
        // `Body` is non-exhaustive; nothing else exists in rust-camel 0.64.
        _ => (wit::Body::Empty, None),
    }
}

/// Streamed bodies of an exchange going to a guest: input, output. Boxed,
/// and only when there is one, so the common case moves one pointer.
#[derive(Debug, Default)]
pub(crate) struct InStreams(pub(crate) Option<Box<[Option<StreamBody>; 2]>>);

/// Bodies taken out of a guest's result (streams): input, output. Boxed,
/// and only when there is one.
#[derive(Debug, Default)]
pub(crate) struct OutBodies(pub(crate) Option<Box<[Option<Body>; 2]>>);

fn message_with_stream(message: Message) -> (wit::Message, Option<StreamBody>) {
    let headers = message
        .headers
        .into_iter()
        .map(|(k, v)| (k, value_to_wit(v)))
        .collect();
    let (body, stream) = body_or_stream(message.body);
    (wit::Message { headers, body }, stream)
}

pub(crate) async fn message_to_wit(
    message: Message,
    max_stream_bytes: usize,
) -> Result<wit::Message, String> {
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

pub(crate) fn message_from_wit(
    message: wit::Message,
    budget: &mut usize,
) -> Result<Message, ConvertError> {
    let mut out = Message::new(body_from_wit(message.body, budget)?);
    out.headers = message
        .headers
        .into_iter()
        .map(|(k, v)| Ok((k, value_from_wit(v, budget)?)))
        .collect::<Result<_, ConvertError>>()?;
    Ok(out)
}

/// Moves the exchange's messages into a WIT exchange. Streamed bodies stay
/// streams: they are returned separately, for the call to hand over as
/// handles. The properties are returned separately too: they go into the
/// call's host state, and a copy goes to the guest.
pub(crate) fn exchange_to_wit(
    exchange: &mut Exchange,
) -> (wit::Exchange, HashMap<String, Value>, InStreams) {
    let (input, input_stream) = message_with_stream(std::mem::take(&mut exchange.input));
    let (output, output_stream) = match exchange.output.take() {
        Some(m) => {
            let (message, stream) = message_with_stream(m);
            (Some(message), stream)
        }
        None => (None, None),
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
    let streams = if input_stream.is_some() || output_stream.is_some() {
        InStreams(Some(Box::new([input_stream, output_stream])))
    } else {
        InStreams(None)
    };
    (
        wit::Exchange {
            input,
            output,
            properties: wit_properties,
            pattern,
            correlation_id: exchange.correlation_id.clone(),
        },
        properties,
        streams,
    )
}

/// A copy of `exchange` for a guest that only looks at it (a policy): the
/// exchange keeps everything; a streamed body is shown as `empty`.
pub(crate) fn exchange_view(exchange: &Exchange) -> wit::Exchange {
    let message = |m: &Message| wit::Message {
        headers: m
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), value_to_wit(v.clone())))
            .collect(),
        body: match &m.body {
            Body::Stream(_) => wit::Body::Empty,
            other => body_or_stream(other.clone()).0,
        },
    };
    wit::Exchange {
        input: message(&exchange.input),
        output: exchange.output.as_ref().map(message),
        properties: exchange
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), value_to_wit(v.clone())))
            .collect(),
        pattern: match exchange.pattern {
            ExchangePattern::InOut => wit::Pattern::InOut,
            _ => wit::Pattern::InOnly,
        },
        correlation_id: exchange.correlation_id.clone(),
    }
}

/// [`exchange_to_wit`] with streamed bodies read into bytes (up to
/// `max_stream_bytes`), for exchanges the host hands over whole.
pub(crate) async fn exchange_to_wit_whole(
    exchange: &mut Exchange,
    max_stream_bytes: usize,
) -> Result<wit::Exchange, String> {
    let (mut wit, _, streams) = exchange_to_wit(exchange);
    if let Some(streams) = streams.0 {
        let [input, output] = *streams;
        if let Some(stream) = input {
            wit.input.body = body_to_wit(Body::Stream(stream), max_stream_bytes).await?;
        }
        if let (Some(stream), Some(message)) = (output, wit.output.as_mut()) {
            message.body = body_to_wit(Body::Stream(stream), max_stream_bytes).await?;
        }
    }
    Ok(wit)
}

/// Writes the guest's result back into `exchange`.
///
/// Messages and pattern come from the result. Properties start from the
/// call's live map (which already holds `set-property` writes); the returned
/// list then adds, changes and removes properties, except those written
/// through `set-property`, whose host-side value wins.
///
/// JSON values are parsed within what is left of the call's
/// `max-result-bytes` budget; on failure the exchange is left as it was.
pub(crate) fn apply_result(
    exchange: &mut Exchange,
    result: wit::Exchange,
    call: &mut CallState,
    bodies: OutBodies,
) -> Result<(), ConvertError> {
    let mut budget = call.budget;
    let mut input = message_from_wit(result.input, &mut budget)?;
    let mut output = result
        .output
        .map(|m| message_from_wit(m, &mut budget))
        .transpose()?;
    if let Some(bodies) = bodies.0 {
        let [input_body, output_body] = *bodies;
        if let Some(body) = input_body {
            input.body = body;
        }
        if let (Some(body), Some(output)) = (output_body, output.as_mut()) {
            output.body = body;
        }
    }
    let returned = result
        .properties
        .into_iter()
        .map(|(key, value)| Ok((key, value_from_wit(value, &mut budget)?)))
        .collect::<Result<Vec<_>, ConvertError>>()?;
    exchange.input = input;
    exchange.output = output;
    exchange.pattern = match result.pattern {
        wit::Pattern::InOut => ExchangePattern::InOut,
        wit::Pattern::InOnly => ExchangePattern::InOnly,
    };
    exchange.properties = merge_properties(
        std::mem::take(&mut call.properties),
        &call.written,
        returned,
    );
    Ok(())
}

/// Puts the messages of a WIT exchange (as sent to the guest) back into
/// `exchange`, e.g. after a failed call.
///
/// A stream body that was handed over cannot be put back (the guest may
/// have read from it); it is restored as `Empty`.
pub(crate) fn restore_messages(
    exchange: &mut Exchange,
    mut sent: wit::Exchange,
) -> Result<(), ConvertError> {
    for message in std::iter::once(&mut sent.input).chain(sent.output.as_mut()) {
        if matches!(message.body, wit::Body::Stream(_)) {
            message.body = wit::Body::Empty;
        }
    }
    // The host's own data: no budget.
    let mut unlimited = usize::MAX;
    let budget = &mut unlimited;
    exchange.input = message_from_wit(sent.input, budget)?;
    exchange.output = sent
        .output
        .map(|m| message_from_wit(m, budget))
        .transpose()?;
    Ok(())
}

fn merge_properties(
    mut live: HashMap<String, Value>,
    written: &HashSet<String>,
    returned: Vec<(String, Value)>,
) -> HashMap<String, Value> {
    let mut seen = HashSet::with_capacity(returned.len());
    for (key, value) in returned {
        if written.contains(&key) {
            seen.insert(key);
            continue;
        }
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

    fn unlimited() -> usize {
        usize::MAX
    }

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
            assert_eq!(
                value_from_wit(value_to_wit(v.clone()), &mut unlimited()).unwrap(),
                v
            );
        }
        // A string that looks like JSON stays a string.
        assert_eq!(
            value_from_wit(value_to_wit(json!("42")), &mut unlimited()).unwrap(),
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
            let back = body_from_wit(
                body_to_wit(body.clone(), 1024).await.unwrap(),
                &mut unlimited(),
            )
            .unwrap();
            assert_eq!(format!("{back:?}"), format!("{body:?}"));
        }
    }

    #[test]
    fn invalid_json_body_from_guest_is_an_error() {
        match body_from_wit(wit::Body::Json("{nope".into()), &mut unlimited()).unwrap_err() {
            ConvertError::Invalid(err) => assert!(err.contains("invalid JSON body"), "{err}"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn json_from_the_guest_is_parsed_within_the_budget() {
        let doc = format!("[{}0]", "0,".repeat(10_000));
        let mut budget = 64 * 1024;
        assert_eq!(
            body_from_wit(wit::Body::Json(doc.clone()), &mut budget).unwrap_err(),
            ConvertError::OverBudget
        );
        assert_eq!(
            value_from_wit(wit::Value::Json(doc), &mut budget).unwrap_err(),
            ConvertError::OverBudget
        );
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
            ("keep".to_string(), json!("k")),
            ("change".to_string(), json!(2)),
            ("new".to_string(), json!("n")),
            // The guest's stale snapshot does not override a host write.
            ("host".to_string(), json!("stale")),
        ];
        let merged = merge_properties(live, &written, returned);
        assert_eq!(merged["keep"], json!("k"));
        assert_eq!(merged["change"], json!(2));
        assert_eq!(merged["new"], json!("n"));
        assert_eq!(merged["host"], json!("from-host"));
        assert!(!merged.contains_key("drop"));
    }
}
