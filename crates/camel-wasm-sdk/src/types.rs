//! The exchange model seen by plugins: [`Exchange`], [`Message`], [`Body`],
//! [`Pattern`] and [`Value`].

use crate::{BodyReader, BodyStream, Fields, Json, PluginError};

/// A header or property value: any JSON value.
///
/// This is [`serde_json::Value`], the same type rust-camel uses for headers and
/// properties. Plain strings travel to and from the host without any encoding;
/// every other value travels as JSON text.
pub use serde_json::Value;

/// A message body.
///
/// Mirrors rust-camel's `Body`. A streamed body arrives as
/// [`Body::Stream`]; read it (or any body) piece by piece with
/// [`Exchange::body_reader`].
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// A UTF-8 text body.
    Text(String),
    /// A binary body.
    Bytes(Vec<u8>),
    /// A JSON body (parsed only when read: see [`Json`]).
    Json(Json),
    /// An XML document, as text.
    Xml(String),
    /// A body handed over piece by piece: a streamed body from the host, or
    /// one the plugin produces ([`Body::from_chunks`]).
    Stream(BodyStream),
}

impl Body {
    /// Returns `true` for [`Body::Empty`] (and only for it, as in rust-camel).
    ///
    /// ```
    /// use camel_wasm_sdk::Body;
    ///
    /// assert!(Body::Empty.is_empty());
    /// assert!(!Body::from("").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    /// The text of a [`Body::Text`] body; `None` for every other kind.
    ///
    /// ```
    /// use camel_wasm_sdk::Body;
    ///
    /// assert_eq!(Body::from("hi").as_text(), Some("hi"));
    /// assert_eq!(Body::Xml("<a/>".into()).as_text(), None);
    /// ```
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The document of a [`Body::Xml`] body; `None` for every other kind.
    pub fn as_xml(&self) -> Option<&str> {
        match self {
            Self::Xml(xml) => Some(xml),
            _ => None,
        }
    }

    /// The bytes of a [`Body::Bytes`] body; `None` for every other kind.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Bytes(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// The value of a [`Body::Json`] body; `None` for every other kind.
    pub fn as_json(&self) -> Option<&Value> {
        match self {
            Self::Json(json) => Some(json.value()),
            _ => None,
        }
    }

    /// A body the plugin produces chunk by chunk, after its call has
    /// returned: the host pulls the chunks as fast as the consumer reads
    /// them, so the body is never held whole. An `Err` chunk ends the body
    /// with that error. The instance stays with the body until it ends or
    /// its consumer goes away (bounded by the endpoint's `stream-timeout`).
    ///
    /// ```
    /// use camel_wasm_sdk::{Body, Exchange, Message};
    /// use std::io::Read;
    ///
    /// // A CSV of a million rows, made as it is read.
    /// let rows = (0..1_000_000).map(|n| Ok(format!("{n},row {n}\n").into_bytes()));
    /// let exchange = Exchange::new(Message::new(Body::from_chunks(rows)));
    /// let mut first = [0u8; 12];
    /// exchange.body_reader().read_exact(&mut first).unwrap();
    /// assert_eq!(&first, b"0,row 0\n1,ro");
    /// ```
    pub fn from_chunks<I>(chunks: I) -> Self
    where
        I: IntoIterator<Item = Result<Vec<u8>, PluginError>>,
        I::IntoIter: Send + 'static,
    {
        Self::Stream(BodyStream::from_chunks(Box::new(chunks.into_iter())))
    }

    /// The stream of a [`Body::Stream`] body; `None` for every other kind.
    pub fn as_stream(&self) -> Option<&BodyStream> {
        match self {
            Self::Stream(stream) => Some(stream),
            _ => None,
        }
    }

    /// A reader over the body's bytes: a stream is read from its source as
    /// bytes are asked for; other kinds are read from what they hold (text
    /// as UTF-8, JSON as its text, `Empty` as nothing).
    pub fn reader(&self) -> BodyReader<'_> {
        match self {
            Self::Empty => BodyReader::slice(&[]),
            Self::Text(text) | Self::Xml(text) => BodyReader::slice(text.as_bytes()),
            Self::Bytes(bytes) => BodyReader::slice(bytes),
            Self::Json(json) => BodyReader::slice(json.text().as_bytes()),
            Self::Stream(stream) => BodyReader::stream(stream.clone()),
        }
    }

    /// Converts any body to text, the way rust-camel does when it needs a
    /// string: `Empty` is `""`, `Text` and `Xml` are returned as they are,
    /// `Json` is serialized, and `Bytes` must be valid UTF-8 (otherwise `None`).
    /// A stream is read to its end (use [`Body::reader`] to avoid holding it
    /// whole).
    ///
    /// ```
    /// use camel_wasm_sdk::{Body, Value};
    ///
    /// assert_eq!(Body::Empty.into_text().as_deref(), Some(""));
    /// assert_eq!(Body::from(Value::from(42)).into_text().as_deref(), Some("42"));
    /// assert_eq!(Body::from(vec![0xff]).into_text(), None);
    /// ```
    pub fn into_text(self) -> Option<String> {
        match self {
            Self::Empty => Some(String::new()),
            Self::Text(text) | Self::Xml(text) => Some(text),
            Self::Json(json) => Some(json.into_text()),
            Self::Bytes(bytes) => String::from_utf8(bytes).ok(),
            Self::Stream(_) => String::from_utf8(self.into_bytes()).ok(),
        }
    }

    /// Converts any body to bytes: `Empty` is empty, text kinds are their
    /// UTF-8 bytes, `Json` is its serialized text, and a stream is read to
    /// its end (stopping at a failing piece).
    ///
    /// ```
    /// use camel_wasm_sdk::Body;
    ///
    /// assert_eq!(Body::from("ab").into_bytes(), b"ab".to_vec());
    /// ```
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            Self::Empty => Vec::new(),
            Self::Text(text) | Self::Xml(text) => text.into_bytes(),
            Self::Json(json) => json.into_text().into_bytes(),
            Self::Bytes(bytes) => bytes,
            Self::Stream(stream) => {
                let mut bytes = Vec::new();
                while let Ok(Some(piece)) = stream.read(64 * 1024) {
                    bytes.extend_from_slice(&piece);
                }
                bytes
            }
        }
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<&str> for Body {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Bytes(bytes)
    }
}

impl From<&[u8]> for Body {
    fn from(bytes: &[u8]) -> Self {
        Self::Bytes(bytes.to_vec())
    }
}

impl From<Value> for Body {
    fn from(value: Value) -> Self {
        Self::Json(Json::from(value))
    }
}

impl From<Json> for Body {
    fn from(json: Json) -> Self {
        Self::Json(json)
    }
}

/// A message: headers and a body.
///
/// ```
/// use camel_wasm_sdk::{Body, Message};
///
/// let mut message = Message::new("hello").with_header("attempt", 1);
/// message.set_header("source", "orders");
/// assert_eq!(message.header_str("source"), Some("orders"));
/// assert_eq!(message.header("attempt").and_then(|v| v.as_u64()), Some(1));
/// assert_eq!(message.body, Body::Text("hello".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Message {
    /// The headers, by name. Names are matched exactly (case-sensitively).
    pub headers: Fields,
    /// The body.
    pub body: Body,
}

impl Message {
    /// Creates a message with the given body and no headers.
    pub fn new(body: impl Into<Body>) -> Self {
        Self {
            headers: Fields::new(),
            body: body.into(),
        }
    }

    /// Returns the header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&Value> {
        self.headers.get(name)
    }

    /// Returns the header `name` if it is present and a JSON string.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.get_str(name)
    }

    /// Sets the header `name`, replacing any previous value.
    pub fn set_header(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.headers.set(name, value);
    }

    /// Builder form of [`Message::set_header`].
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.set_header(name, value);
        self
    }

    /// Removes the header `name` and returns its value, if it was present.
    pub fn remove_header(&mut self, name: &str) -> Option<Value> {
        self.headers.remove(name)
    }
}

/// The message exchange pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Pattern {
    /// One-way: no reply is expected.
    #[default]
    InOnly,
    /// Request-reply.
    InOut,
}

/// An exchange travelling through a route: the input message, an optional
/// reply, exchange properties and the pattern.
///
/// Following rust-camel's convention, the *current* message is the reply
/// (`output`) when there is one and the input otherwise; [`Exchange::body`],
/// [`Exchange::set_body`] and [`Exchange::message_mut`] work on it.
///
/// ```
/// use camel_wasm_sdk::{Body, Exchange, Message};
///
/// let mut exchange = Exchange::new(Message::new("ping"));
/// assert_eq!(exchange.body().as_text(), Some("ping"));
///
/// exchange.set_property("seen", true);
/// exchange.set_reply_body("pong");
/// assert_eq!(exchange.body().as_text(), Some("pong"));
/// assert_eq!(exchange.input.body, Body::from("ping"));
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exchange {
    /// The incoming message.
    pub input: Message,
    /// The reply message, if a step produced one.
    pub output: Option<Message>,
    /// Exchange properties (route-scoped metadata).
    pub properties: Fields,
    /// The exchange pattern.
    pub pattern: Pattern,
    /// Read-only: the host keeps its own copy and ignores changes.
    pub(crate) correlation_id: String,
}

impl Exchange {
    /// Creates an [`Pattern::InOnly`] exchange with the given input message,
    /// no properties and an empty correlation id (handy in unit tests).
    pub fn new(input: Message) -> Self {
        Self {
            input,
            ..Self::default()
        }
    }

    /// The exchange's correlation id, as assigned by the host: unique per
    /// exchange and kept when an exchange is redelivered, so it serves as an
    /// idempotency key.
    pub fn correlation_id(&self) -> &str {
        &self.correlation_id
    }

    /// Returns the property `key`, if present.
    pub fn property(&self, key: &str) -> Option<&Value> {
        self.properties.get(key)
    }

    /// Returns the property `key` if it is present and a JSON string.
    pub fn property_str(&self, key: &str) -> Option<&str> {
        self.properties.get_str(key)
    }

    /// Sets the property `key`, replacing any previous value.
    pub fn set_property(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.properties.set(key, value);
    }

    /// Removes the property `key` and returns its value, if it was present.
    pub fn remove_property(&mut self, key: &str) -> Option<Value> {
        self.properties.remove(key)
    }

    /// The current message: the reply if there is one, otherwise the input.
    pub fn message(&self) -> &Message {
        self.output.as_ref().unwrap_or(&self.input)
    }

    /// Mutable access to the current message (see [`Exchange::message`]).
    pub fn message_mut(&mut self) -> &mut Message {
        self.output.as_mut().unwrap_or(&mut self.input)
    }

    /// The body of the current message (see [`Exchange::message`]).
    pub fn body(&self) -> &Body {
        &self.message().body
    }

    /// Reads the body of the current message piece by piece
    /// ([`std::io::Read`]), whatever its kind: a streamed body is never held
    /// whole (see [`Body::reader`]).
    ///
    /// ```no_run
    /// use std::io::Read;
    /// use camel_wasm_sdk::{Exchange, PluginError};
    ///
    /// fn count_bytes(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    ///     let mut reader = exchange.body_reader();
    ///     let mut buf = vec![0u8; 64 * 1024];
    ///     let mut total = 0u64;
    ///     loop {
    ///         let n = reader.read(&mut buf).map_err(|e| PluginError::io(e.to_string()))?;
    ///         if n == 0 {
    ///             break;
    ///         }
    ///         total += n as u64;
    ///     }
    ///     drop(reader);
    ///     exchange.message_mut().set_header("bytes", total);
    ///     Ok(exchange)
    /// }
    /// # let _ = count_bytes;
    /// ```
    pub fn body_reader(&self) -> BodyReader<'_> {
        self.body().reader()
    }

    /// Replaces the body of the current message (see [`Exchange::message`]).
    pub fn set_body(&mut self, body: impl Into<Body>) {
        self.message_mut().body = body.into();
    }

    /// Takes the body of the current message, leaving [`Body::Empty`].
    pub fn take_body(&mut self) -> Body {
        std::mem::take(&mut self.message_mut().body)
    }

    /// The reply message, created empty if there is none yet.
    pub fn reply_mut(&mut self) -> &mut Message {
        self.output.get_or_insert_with(Message::default)
    }

    /// Sets the body of the reply message, creating the reply if needed.
    pub fn set_reply_body(&mut self, body: impl Into<Body>) {
        self.reply_mut().body = body.into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn body_helpers() {
        assert!(Body::default().is_empty());
        assert_eq!(Body::from("x").as_text(), Some("x"));
        assert_eq!(Body::Xml("<a/>".into()).as_xml(), Some("<a/>"));
        assert_eq!(Body::from(vec![1, 2]).as_bytes(), Some(&[1u8, 2][..]));
        assert_eq!(
            Body::from(json!({"a": 1})).as_json(),
            Some(&json!({"a": 1}))
        );
        assert_eq!(Body::from(json!([1])).into_bytes(), b"[1]".to_vec());
        assert_eq!(Body::Empty.into_bytes(), Vec::<u8>::new());
        assert_eq!(
            Body::Xml("<a/>".into()).into_text().as_deref(),
            Some("<a/>")
        );
        assert_eq!(Body::from(&b"ok"[..]).into_text().as_deref(), Some("ok"));
    }

    #[test]
    fn message_headers() {
        let mut message = Message::new("b").with_header("n", 7);
        assert_eq!(message.header("n"), Some(&json!(7)));
        assert_eq!(message.header_str("n"), None);
        message.set_header("s", "v");
        assert_eq!(message.header_str("s"), Some("v"));
        assert_eq!(message.remove_header("s"), Some(json!("v")));
        assert_eq!(message.header("s"), None);
    }

    #[test]
    fn exchange_current_message() {
        let mut exchange = Exchange::new(Message::new("in"));
        assert_eq!(exchange.pattern, Pattern::InOnly);
        assert_eq!(exchange.correlation_id(), "");
        exchange.set_body("changed");
        assert_eq!(exchange.input.body, Body::from("changed"));
        assert!(exchange.output.is_none());

        exchange.set_reply_body("reply");
        assert_eq!(exchange.body(), &Body::from("reply"));
        assert_eq!(exchange.take_body(), Body::from("reply"));
        assert!(exchange.body().is_empty());
        assert_eq!(exchange.input.body, Body::from("changed"));
    }

    #[test]
    fn exchange_properties() {
        let mut exchange = Exchange::default();
        exchange.set_property("k", "v");
        exchange.set_property("n", 1.5);
        assert_eq!(exchange.property_str("k"), Some("v"));
        assert_eq!(exchange.property("n"), Some(&json!(1.5)));
        assert_eq!(exchange.remove_property("k"), Some(json!("v")));
        assert_eq!(exchange.property("k"), None);
    }
}
