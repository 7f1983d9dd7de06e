//! Mapping between rust-camel exchanges and the compat `wasm-exchange`.
//!
//! The contract carries every header and property value as text: strings
//! go as they are, other JSON values as their JSON text (`42`, `true`,
//! `{"a":1}`). Coming back, a value that parses as JSON becomes that JSON
//! value and anything else stays a string, as in rust-camel's own host. A
//! `json` body that does not parse stays text. JSON is parsed within the
//! call's `max-result-bytes` budget.

use std::collections::HashMap;
use std::sync::Arc;

use camel_api::{Body, Exchange, ExchangePattern, Message, StreamBody, Value};

use super::bindings::types::{WasmBody, WasmError, WasmExchange, WasmMessage, WasmPattern};
use crate::convert::{ConvertError, value_as_text};
use crate::host_state::CallState;
use crate::json_budget::{self, JsonError};

/// An exchange on its way to a guest: the record (stream bodies stand as
/// `empty` until the call makes their handles) and the streams, input then
/// output.
pub(crate) struct Outgoing {
    pub(crate) exchange: WasmExchange,
    pub(crate) streams: [Option<StreamBody>; 2],
}

/// Moves the exchange's messages into a compat exchange; the properties go
/// to the call's host state, and a text copy to the guest.
pub(crate) fn exchange_to_compat(
    exchange: &mut Exchange,
    route_id: Option<&str>,
) -> (Outgoing, HashMap<String, Value>) {
    let (input, input_stream) = message_to_compat(std::mem::take(&mut exchange.input));
    let (output, output_stream) = match exchange.output.take() {
        Some(m) => {
            let (message, stream) = message_to_compat(m);
            (Some(message), stream)
        }
        None => (None, None),
    };
    let properties = std::mem::take(&mut exchange.properties);
    let record = WasmExchange {
        input,
        output,
        properties: texts(&properties),
        pattern: pattern_to_compat(exchange.pattern),
        correlation_id: exchange.correlation_id.clone(),
        route_id: route_id.map(str::to_string),
        message_id: None,
    };
    (
        Outgoing {
            exchange: record,
            streams: [input_stream, output_stream],
        },
        properties,
    )
}

/// A copy of `exchange` for a guest that only looks at it (a policy); a
/// streamed body is shown as `empty`.
pub(crate) fn exchange_view(
    exchange: &Exchange,
    properties: &HashMap<String, Value>,
) -> WasmExchange {
    let message = |m: &Message| WasmMessage {
        headers: texts(&m.headers),
        body: match &m.body {
            Body::Stream(_) => WasmBody::Empty,
            other => body_to_compat(other.clone()).0,
        },
    };
    WasmExchange {
        input: message(&exchange.input),
        output: exchange.output.as_ref().map(message),
        properties: texts(properties),
        pattern: pattern_to_compat(exchange.pattern),
        correlation_id: exchange.correlation_id.clone(),
        route_id: None,
        message_id: None,
    }
}

fn texts(values: &HashMap<String, Value>) -> Vec<(String, String)> {
    values
        .iter()
        .map(|(k, v)| (k.clone(), value_as_text(v)))
        .collect()
}

fn pattern_to_compat(pattern: ExchangePattern) -> WasmPattern {
    match pattern {
        ExchangePattern::InOut => WasmPattern::InOut,
        _ => WasmPattern::InOnly,
    }
}

fn message_to_compat(message: Message) -> (WasmMessage, Option<StreamBody>) {
    let headers = texts(&message.headers);
    let (body, stream) = body_to_compat(message.body);
    (WasmMessage { headers, body }, stream)
}

/// A body for the guest; a stream is kept aside (`empty` stands in).
fn body_to_compat(body: Body) -> (WasmBody, Option<StreamBody>) {
    match body {
        Body::Stream(stream) => (WasmBody::Empty, Some(stream)),
        Body::Empty => (WasmBody::Empty, None),
        Body::Text(s) => (WasmBody::Text(s), None),
        Body::Bytes(b) => (WasmBody::Bytes(Vec::from(b)), None),
        Body::Json(v) => (WasmBody::Json(v.to_string()), None),
        Body::Xml(s) => (WasmBody::Xml(s), None),
        // `Body` is non-exhaustive; nothing else exists in rust-camel 0.64.
        _ => (WasmBody::Empty, None),
    }
}

/// A value from the guest: JSON if it parses (within `budget`), else text.
fn value_from_compat(text: String, budget: &mut usize) -> Result<Value, ConvertError> {
    match json_budget::parse(&text, budget) {
        Ok(value) => Ok(value),
        Err(JsonError::Invalid(_)) => Ok(Value::String(text)),
        Err(JsonError::OverBudget) => Err(ConvertError::OverBudget),
    }
}

fn body_from_compat(body: WasmBody, budget: &mut usize) -> Result<Body, ConvertError> {
    Ok(match body {
        WasmBody::Empty => Body::Empty,
        WasmBody::Text(s) => Body::Text(s),
        WasmBody::Bytes(b) => Body::Bytes(b.into()),
        WasmBody::Json(s) => match json_budget::parse(&s, budget) {
            Ok(value) => Body::Json(value),
            Err(JsonError::Invalid(_)) => Body::Text(s),
            Err(JsonError::OverBudget) => return Err(ConvertError::OverBudget),
        },
        WasmBody::Xml(s) => Body::Xml(s),
        // The call collects stream bodies before converting the result.
        WasmBody::Stream(_) => {
            return Err(ConvertError::Invalid(
                "a stream body was not taken out of the result".to_string(),
            ));
        }
    })
}

fn message_from_compat(message: WasmMessage, budget: &mut usize) -> Result<Message, ConvertError> {
    let mut out = Message::new(body_from_compat(message.body, budget)?);
    for (key, value) in message.headers {
        let value = value_from_compat(value, budget)?;
        out.headers.insert(key, value);
    }
    Ok(out)
}

/// Writes the guest's result back into `exchange`: messages (with the
/// collected stream `bodies`, input then output) and pattern from the
/// result; properties start from the call's live map (with `set-property`
/// writes, which win) and the returned ones are added or changed. As in
/// rust-camel's host, a property missing from the result is kept.
pub(crate) fn apply_result(
    exchange: &mut Exchange,
    result: WasmExchange,
    call: &mut CallState,
    bodies: [Option<Body>; 2],
) -> Result<(), ConvertError> {
    let mut budget = call.budget;
    let [input_body, output_body] = bodies;
    let mut input = message_from_compat(result.input, &mut budget)?;
    let mut output = result
        .output
        .map(|m| message_from_compat(m, &mut budget))
        .transpose()?;
    if let Some(body) = input_body {
        input.body = body;
    }
    if let (Some(body), Some(output)) = (output_body, output.as_mut()) {
        output.body = body;
    }
    let mut returned = Vec::with_capacity(result.properties.len());
    for (key, value) in result.properties {
        if !call.written.contains(&key) {
            returned.push((key, value_from_compat(value, &mut budget)?));
        }
    }
    exchange.input = input;
    exchange.output = output;
    exchange.pattern = match result.pattern {
        WasmPattern::InOut => ExchangePattern::InOut,
        WasmPattern::InOnly => ExchangePattern::InOnly,
    };
    let mut properties = std::mem::take(&mut call.properties);
    properties.extend(returned);
    exchange.properties = properties;
    Ok(())
}

/// Puts the messages sent to the guest back into `exchange` after a failed
/// call (copies made before it; a handed-over stream body is `Empty`).
pub(crate) fn restore_messages(
    exchange: &mut Exchange,
    input: WasmMessage,
    output: Option<WasmMessage>,
) {
    // The host's own data: no budget.
    fn back(message: WasmMessage) -> Message {
        let mut unlimited = usize::MAX;
        message_from_compat(message, &mut unlimited).unwrap_or_default()
    }
    exchange.input = back(input);
    exchange.output = output.map(back);
}

/// A rust-camel stream body holding `bytes`, with the metadata the guest
/// gave its stream.
pub(crate) fn stream_body(
    bytes: bytes::Bytes,
    size_hint: Option<u64>,
    content_type: Option<String>,
    origin: Option<String>,
) -> Body {
    let stream: futures::stream::BoxStream<'static, Result<bytes::Bytes, camel_api::CamelError>> =
        Box::pin(futures::stream::once(async move { Ok(bytes) }));
    Body::Stream(StreamBody {
        stream: Arc::new(tokio::sync::Mutex::new(Some(stream))),
        metadata: camel_api::StreamMetadata {
            size_hint,
            content_type,
            origin,
        },
    })
}

/// The compat contract's error as this host's WIT error (for the end of a
/// returned stream, which the produced body reports like its own).
pub(crate) fn error_to_wit(error: WasmError) -> crate::bindings::wit::Error {
    use crate::bindings::wit::Error;
    match error {
        WasmError::ProcessorError(m) => Error::Failed(m),
        WasmError::TypeConversion(m) => Error::TypeConversion(m),
        WasmError::Io(m) => Error::Io(m),
        WasmError::Timeout => Error::Timeout("the plugin reported a timeout".to_string()),
    }
}
