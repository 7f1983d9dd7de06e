//! Sources: plugins that start routes ([`SourcePlugin`], [`export_source!`]).

use std::time::Duration;

use crate::{Body, Exchange, Message, Pattern, PluginError, Value};

/// A plugin of the `source` world: it starts routes
/// (`from("wasm:hook.wasm?listen=127.0.0.1:8080")`).
///
/// The host owns the inbound side. The plugin says which triggers it needs
/// ([`plan`](Self::plan): an HTTP listener on a path, a timer), and the
/// host grants each only if the endpoint's options allow it (`listen`,
/// `allow-timer`). Then every HTTP request and every timer tick becomes one
/// [`on_event`](Self::on_event) call: submit an exchange to the route,
/// answer the request at once, or skip. For a submitted request-reply
/// exchange the route's reply goes through [`on_reply`](Self::on_reply) to
/// the client.
///
/// ```
/// use camel_wasm_sdk::{
///     Event, HttpResponse, Outcome, PluginError, SourcePlan, SourcePlugin, export_source,
/// };
///
/// struct Orders;
///
/// impl SourcePlugin for Orders {
///     fn plan() -> Result<SourcePlan, PluginError> {
///         Ok(SourcePlan::http("/orders"))
///     }
///
///     fn on_event(event: Event) -> Result<Outcome, PluginError> {
///         let Event::Http(request) = event else {
///             return Ok(Outcome::Skip);
///         };
///         if request.method != "POST" {
///             return Ok(Outcome::Respond(HttpResponse::text(405, "POST only")));
///         }
///         Ok(Outcome::Submit(request.into_exchange()))
///     }
/// }
///
/// export_source!(Orders);
/// # fn main() {}
/// ```
pub trait SourcePlugin {
    /// Runs once per instance, before its first call. An `Err` fails the
    /// route's start with that message. The default does nothing.
    fn init() -> Result<(), String> {
        Ok(())
    }

    /// The triggers this source needs; called when the route starts.
    ///
    /// # Errors
    ///
    /// An error fails the route's start.
    fn plan() -> Result<SourcePlan, PluginError>;

    /// Turns one event into an outcome.
    ///
    /// # Errors
    ///
    /// An HTTP request gets a status for the error's kind (`type-conversion`
    /// 400, `denied` 403, `not-found` 404, `limit-exceeded` 413, `io` 502,
    /// `timeout` 504, others 500) with its message as the body.
    fn on_event(event: Event) -> Result<Outcome, PluginError>;

    /// Turns the route's reply to a submitted request into the response.
    /// The default answers the reply header `CamelHttpResponseCode` (a
    /// number, default 200) and `Content-Type` (if a string), with the
    /// reply's body as it is (a streamed body streams to the client).
    ///
    /// # Errors
    ///
    /// As for [`on_event`](Self::on_event).
    fn on_reply(reply: Exchange) -> Result<HttpResponse, PluginError> {
        Ok(HttpResponse::from_reply(&reply))
    }
}

/// The triggers a source needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourcePlan {
    /// Serve HTTP requests under this path (e.g. `/hooks`).
    pub http: Option<String>,
    /// Fire a tick every `period`, `times` times (forever if `None`).
    pub timer: Option<Timer>,
}

/// A timer trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    /// Time between ticks (the first comes one period after the start);
    /// whole milliseconds, at least 1.
    pub period: Duration,
    /// How many ticks; `None`: forever.
    pub times: Option<u32>,
}

impl SourcePlan {
    /// An HTTP listener on `path`.
    pub fn http(path: impl Into<String>) -> Self {
        SourcePlan {
            http: Some(path.into()),
            timer: None,
        }
    }

    /// A timer: a tick every `period`, `times` times (forever if `None`).
    pub fn timer(period: Duration, times: Option<u32>) -> Self {
        SourcePlan {
            http: None,
            timer: Some(Timer { period, times }),
        }
    }
}

/// Something the source may turn into an exchange.
#[derive(Debug, Clone)]
pub enum Event {
    /// An HTTP request arrived.
    Http(HttpRequest),
    /// The timer fired for the n-th time (from 1).
    Tick(u64),
}

/// An HTTP request, its body read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request path.
    pub path: String,
    /// The query string (without `?`), empty if none.
    pub query: String,
    /// Headers in order (a name may repeat); names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text, if it is.
    pub fn body_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    /// A request-reply exchange carrying the request: the body (as text if
    /// it is UTF-8, else bytes), the headers, and `CamelHttpMethod`,
    /// `CamelHttpPath`, `CamelHttpQuery` headers.
    pub fn into_exchange(self) -> Exchange {
        let body = match String::from_utf8(self.body) {
            Ok(text) if text.is_empty() => Body::Empty,
            Ok(text) => Body::Text(text),
            Err(bytes) => Body::Bytes(bytes.into_bytes()),
        };
        let mut message = Message::new(body);
        for (name, value) in self.headers {
            message.set_header(name, value);
        }
        message.set_header("CamelHttpMethod", self.method);
        message.set_header("CamelHttpPath", self.path);
        message.set_header("CamelHttpQuery", self.query);
        let mut exchange = Exchange::new(message);
        exchange.pattern = Pattern::InOut;
        exchange
    }
}

/// What to do with an event.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Send this exchange through the route (request-reply for the route's
    /// reply to reach the HTTP client; one-way answers `202 Accepted`).
    Submit(Exchange),
    /// Answer the HTTP request at once (ignored for a tick).
    Respond(HttpResponse),
    /// Do nothing (an HTTP request gets `204 No Content`).
    Skip,
}

/// An HTTP response.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// The body; `None` in [`SourcePlugin::on_reply`] keeps the route's
    /// reply body.
    pub body: Option<Body>,
}

impl HttpResponse {
    /// A response with `status`, no headers, and (in `on_reply`) the
    /// route's body.
    pub fn new(status: u16) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    /// A response with a text body.
    pub fn text(status: u16, text: impl Into<String>) -> Self {
        HttpResponse::new(status).with_body(Body::Text(text.into()))
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Body>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The default mapping of a route's reply (see
    /// [`SourcePlugin::on_reply`]).
    pub fn from_reply(reply: &Exchange) -> Self {
        let message = reply.message();
        let status = match message.header("CamelHttpResponseCode") {
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        }
        .unwrap_or(200);
        let mut response = HttpResponse::new(status);
        if let Some(content_type) = message.header_str("Content-Type") {
            response = response.with_header("content-type", content_type);
        }
        response
    }
}

/// Exports a [`SourcePlugin`] type as the `source` world (see the
/// [`SourcePlugin`] example).
///
/// A crate exports at most one plugin.
#[macro_export]
macro_rules! export_source {
    ($source:ty $(,)?) => {
        const _: () = {
            type __CamelWasmSource = $crate::__private::SourceAdapter<$source>;
            $crate::__private::source::export_source_world!(
                __CamelWasmSource with_types_in $crate::__private::source
            );
        };
    };
}

impl From<PluginError> for HttpResponse {
    /// A response for an error, with the status `on_event` errors get.
    fn from(error: PluginError) -> Self {
        let status = match &error {
            PluginError::TypeConversion(_) => 400,
            PluginError::Denied(_) => 403,
            PluginError::NotFound(_) => 404,
            PluginError::LimitExceeded(_) => 413,
            PluginError::Io(_) => 502,
            PluginError::Timeout(_) => 504,
            _ => 500,
        };
        HttpResponse::text(status, error.message().to_owned())
    }
}
