//! The list of behaviours every guest must show, whatever its language.
//!
//! The processor cases are selected by the `case` header; each guest
//! implements them in its language (`tests/guests/conformance`,
//! `tests/polyglot/python/conformance.py`, `tests/polyglot/js/conformance.js`):
//!
//! | case | the guest … |
//! |---|---|
//! | `identity` | returns the exchange unchanged (every body kind survives as it is) |
//! | `describe` | sets header `kind` to the body's kind; upper-cases text, reverses bytes |
//! | `headers` | reads a text and a JSON header, writes text, JSON number and boolean headers, removes one |
//! | `properties` | reads a property two ways, sets one on the exchange and one through `set-property` |
//! | `error` | returns the WIT `error` variant named by header `variant` |
//! | `state` | `host-increment`, `host-load`, `host-store`, `host-compare-and-set` |
//! | `call` | `camel-call`s `direct:helper` (granted) with the body; the reply is the body |
//! | `call-denied` | `camel-call`s `direct:forbidden` (not granted) and reports the error's variant |
//! | `init` | reports how often `init` ran on its instance |
//! | `route-id` | reports `route-id` |
//! | `correlation` | reports the exchange's correlation id |
//! | `stream-in` | reads a `stream` body through `body-stream.read` in small pieces |
//! | `stream-out` | returns a body produced through `produce-body` and its `body-source` export |
//! | `crash` | fails without a WIT error (Rust panic, Python exception, JS throw) |
//! | `output` | sets the exchange's `output` message |
//!
//! Bean cases: `methods` lists `greet` and `config`; `greet` and `config`
//! work from `bean` route steps with the configuration `init` got; an
//! unknown method is `not-found`; `init` failing (no `greeting` key) fails
//! the bean's registration.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use camel_api::{Body, CamelError, Exchange, Message, StreamBody, StreamMetadata};
use camel_component_wasm::{GuestError, WasmError, wasm_error_of};
use futures::StreamExt as _;
use serde_json::{Value, json};

use crate::harness::{Harness, PROCESSOR_ROUTE};

type Outcome<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
/// One behaviour, checked against a started harness.
pub(crate) type Case = for<'a> fn(&'a Harness) -> Outcome<'a>;

/// The processor cases, in the order they run.
pub(crate) const PROCESSOR: &[(&str, Case)] = &[
    ("identity", |h| Box::pin(identity(h))),
    ("describe", |h| Box::pin(describe(h))),
    ("headers", |h| Box::pin(headers(h))),
    ("properties", |h| Box::pin(properties(h))),
    ("error", |h| Box::pin(errors(h))),
    ("state", |h| Box::pin(state(h))),
    ("call", |h| Box::pin(call(h))),
    ("call-denied", |h| Box::pin(call_denied(h))),
    ("init", |h| Box::pin(init(h))),
    ("route-id", |h| Box::pin(route_id(h))),
    ("correlation", |h| Box::pin(correlation(h))),
    ("stream-in", |h| Box::pin(stream_in(h))),
    ("stream-out", |h| Box::pin(stream_out(h))),
    ("crash", |h| Box::pin(crash(h))),
    ("output", |h| Box::pin(output(h))),
];

/// The bean cases.
pub(crate) const BEAN: &[(&str, Case)] = &[
    ("methods", |h| Box::pin(bean_methods(h))),
    ("greet", |h| Box::pin(bean_greet(h))),
    ("config", |h| Box::pin(bean_config(h))),
    ("unknown-method", |h| Box::pin(bean_unknown_method(h))),
    ("init-fails", |h| Box::pin(bean_init_fails(h))),
];

/// An InOut exchange for `case` with `body` and extra text headers.
fn exchange(case: &str, body: impl Into<Body>, headers: &[(&str, Value)]) -> Exchange {
    let mut message = Message::new(body);
    message.set_header("case", case);
    for (name, value) in headers {
        message.set_header(*name, value.clone());
    }
    Exchange::new_in_out(message)
}

async fn run(h: &Harness, exchange: Exchange) -> Result<Exchange, String> {
    h.send(PROCESSOR_ROUTE, exchange)
        .await
        .map_err(|e| format!("the exchange failed: {e}"))
}

fn expect<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

fn header<'a>(exchange: &'a Exchange, name: &str) -> Option<&'a Value> {
    exchange.input.header(name)
}

fn text_header(exchange: &Exchange, name: &str) -> Option<String> {
    header(exchange, name).and_then(|v| v.as_str().map(str::to_owned))
}

async fn identity(h: &Harness) -> Result<(), String> {
    let bodies = [
        Body::Empty,
        Body::Text("héllo, wörld".into()),
        Body::Bytes(Bytes::from_static(&[0, 1, 2, 254, 255])),
        Body::Json(json!({"a": [1, 2.5, null], "b": "c"})),
        Body::Xml("<order id=\"1\"/>".into()),
    ];
    for body in bodies {
        let reply = run(h, exchange("identity", body.clone(), &[])).await?;
        expect(
            "body",
            format!("{:?}", reply.input.body),
            format!("{body:?}"),
        )?;
        expect("output", reply.output.is_none(), true)?;
    }
    Ok(())
}

async fn describe(h: &Harness) -> Result<(), String> {
    let cases = [
        (Body::Empty, "empty", Body::Empty),
        (Body::Text("abc".into()), "text", Body::Text("ABC".into())),
        (
            Body::Bytes(Bytes::from_static(&[1, 2, 3])),
            "bytes",
            Body::Bytes(Bytes::from_static(&[3, 2, 1])),
        ),
        (Body::Json(json!([1])), "json", Body::Json(json!([1]))),
        (Body::Xml("<a/>".into()), "xml", Body::Xml("<a/>".into())),
    ];
    for (body, kind, want) in cases {
        let reply = run(h, exchange("describe", body, &[])).await?;
        expect("kind", text_header(&reply, "kind").as_deref(), Some(kind))?;
        expect(kind, format!("{:?}", reply.input.body), format!("{want:?}"))?;
    }
    Ok(())
}

async fn headers(h: &Harness) -> Result<(), String> {
    let reply = run(
        h,
        exchange(
            "headers",
            "x",
            &[
                ("name", json!("camel")),
                ("number", json!(41)),
                ("secret", json!("s3cr3t")),
            ],
        ),
    )
    .await?;
    expect(
        "greeting",
        header(&reply, "greeting"),
        Some(&json!("hello camel")),
    )?;
    expect("answer", header(&reply, "answer"), Some(&json!(42)))?;
    expect("flag", header(&reply, "flag"), Some(&json!(true)))?;
    expect("secret", header(&reply, "secret"), None)?;
    expect(
        "case (untouched)",
        header(&reply, "case"),
        Some(&json!("headers")),
    )
}

async fn properties(h: &Harness) -> Result<(), String> {
    let mut ex = exchange("properties", "x", &[]);
    ex.set_property("input", json!("in"));
    let reply = run(h, ex).await?;
    expect("seen", reply.property("seen"), Some(&json!("in!")))?;
    expect("via-host", reply.property("via-host"), Some(&json!("yes")))?;
    expect("read", text_header(&reply, "read").as_deref(), Some("in"))?;
    expect(
        "input (untouched)",
        reply.property("input"),
        Some(&json!("in")),
    )
}

async fn errors(h: &Harness) -> Result<(), String> {
    let variants = [
        "failed",
        "type-conversion",
        "not-found",
        "denied",
        "limit-exceeded",
        "io",
        "timeout",
    ];
    for variant in variants {
        let ex = exchange("error", "x", &[("variant", json!(variant))]);
        let err = match h.send(PROCESSOR_ROUTE, ex).await {
            Ok(_) => return Err(format!("variant {variant}: the exchange succeeded")),
            Err(err) => err,
        };
        let message = format!("conformance {variant}");
        let ok = match (variant, &err) {
            ("type-conversion", CamelError::TypeConversionFailed(m)) => m.contains(&message),
            ("io", CamelError::Io(m)) => m.contains(&message),
            _ => match wasm_error_of(&err) {
                Some(WasmError::Guest { error, .. }) => {
                    error.kind() == variant && guest_message(error) == message
                }
                _ => false,
            },
        };
        if !ok {
            return Err(format!("variant {variant}: unexpected error {err:?}"));
        }
    }
    // A guest error keeps the instance: the next exchange works.
    run(h, exchange("identity", "next", &[])).await.map(drop)
}

fn guest_message(error: &GuestError) -> &str {
    match error {
        GuestError::Failed(m)
        | GuestError::TypeConversion(m)
        | GuestError::NotFound(m)
        | GuestError::Denied(m)
        | GuestError::LimitExceeded(m)
        | GuestError::Io(m)
        | GuestError::Timeout(m) => m,
        _ => "",
    }
}

async fn state(h: &Harness) -> Result<(), String> {
    let first = run(h, exchange("state", "one", &[])).await?;
    expect("hits", text_header(&first, "hits").as_deref(), Some("1"))?;
    expect(
        "previous",
        text_header(&first, "previous").as_deref(),
        Some(""),
    )?;
    expect("cas", text_header(&first, "cas").as_deref(), Some("true"))?;
    let second = run(h, exchange("state", "two", &[])).await?;
    expect("hits", text_header(&second, "hits").as_deref(), Some("2"))?;
    expect(
        "previous",
        text_header(&second, "previous").as_deref(),
        Some("one"),
    )?;
    expect("cas", text_header(&second, "cas").as_deref(), Some("false"))
}

async fn call(h: &Harness) -> Result<(), String> {
    let reply = run(h, exchange("call", "shout", &[])).await?;
    expect(
        "body",
        format!("{:?}", reply.input.body),
        format!("{:?}", Body::Text("SHOUT".into())),
    )
}

async fn call_denied(h: &Harness) -> Result<(), String> {
    let reply = run(h, exchange("call-denied", "x", &[])).await?;
    expect(
        "call-error",
        text_header(&reply, "call-error").as_deref(),
        Some("denied"),
    )
}

async fn init(h: &Harness) -> Result<(), String> {
    for _ in 0..3 {
        let reply = run(h, exchange("init", "x", &[])).await?;
        expect(
            "init-runs",
            text_header(&reply, "init-runs").as_deref(),
            Some("1"),
        )?;
    }
    Ok(())
}

async fn route_id(h: &Harness) -> Result<(), String> {
    let reply = run(h, exchange("route-id", "x", &[])).await?;
    expect(
        "route-id",
        text_header(&reply, "route-id").as_deref(),
        Some(PROCESSOR_ROUTE),
    )
}

async fn correlation(h: &Harness) -> Result<(), String> {
    let ex = exchange("correlation", "x", &[]);
    let id = ex.correlation_id.clone();
    let reply = run(h, ex).await?;
    expect("correlation", text_header(&reply, "correlation"), Some(id))
}

/// A stream body of `chunks` pieces of `piece`.
fn stream_body(piece: &'static [u8], chunks: usize) -> Body {
    let pieces = futures::stream::iter(
        std::iter::repeat_n(Bytes::from_static(piece), chunks).map(Ok::<_, CamelError>),
    );
    Body::Stream(StreamBody {
        stream: Arc::new(tokio::sync::Mutex::new(Some(pieces.boxed()))),
        metadata: StreamMetadata {
            size_hint: Some((piece.len() * chunks) as u64),
            content_type: Some("text/plain".into()),
            origin: None,
        },
    })
}

async fn stream_in(h: &Harness) -> Result<(), String> {
    let piece: &'static [u8] = b"0123456789abcdefghijklmnopqrstuvwxyz\n";
    let reply = run(h, exchange("stream-in", stream_body(piece, 100), &[])).await?;
    let want = String::from_utf8(piece.repeat(100)).map_err(|e| e.to_string())?;
    expect(
        "bytes",
        text_header(&reply, "bytes"),
        Some(want.len().to_string()),
    )?;
    expect(
        "body",
        format!("{:?}", reply.input.body),
        format!("{:?}", Body::Text(want)),
    )
}

async fn stream_out(h: &Harness) -> Result<(), String> {
    let reply = run(h, exchange("stream-out", "x", &[("lines", json!("5"))])).await?;
    let Body::Stream(stream) = reply.input.body else {
        return Err(format!(
            "expected a stream body, got {:?}",
            reply.input.body
        ));
    };
    let mut stream = stream
        .stream
        .lock()
        .await
        .take()
        .ok_or("the stream was already taken")?;
    let mut bytes = Vec::new();
    while let Some(piece) = stream.next().await {
        bytes.extend_from_slice(&piece.map_err(|e| format!("the produced body failed: {e}"))?);
    }
    expect(
        "produced",
        String::from_utf8_lossy(&bytes).into_owned(),
        "0\n1\n2\n3\n4\n".to_owned(),
    )
}

async fn crash(h: &Harness) -> Result<(), String> {
    let err = match h.send(PROCESSOR_ROUTE, exchange("crash", "x", &[])).await {
        Ok(_) => return Err("the exchange succeeded".into()),
        Err(err) => err,
    };
    match wasm_error_of(&err) {
        Some(WasmError::GuestPanic { .. } | WasmError::Trap { .. }) => {}
        _ => return Err(format!("want GuestPanic or Trap, got {err:?}")),
    }
    // The instance was replaced: the next exchange works, on a fresh one.
    let reply = run(h, exchange("init", "x", &[])).await?;
    expect(
        "init-runs",
        text_header(&reply, "init-runs").as_deref(),
        Some("1"),
    )
}

async fn output(h: &Harness) -> Result<(), String> {
    let reply = run(h, exchange("output", "in", &[])).await?;
    let out = reply.output.as_ref().ok_or("no output message")?;
    expect(
        "output body",
        format!("{:?}", out.body),
        format!("{:?}", Body::Text("out".into())),
    )?;
    expect("made-by", out.header("made-by"), Some(&json!("output")))
}

async fn bean_methods(h: &Harness) -> Result<(), String> {
    expect(
        "methods",
        h.bean.method_names().to_vec(),
        vec!["greet".to_owned(), "config".to_owned()],
    )
}

async fn bean_greet(h: &Harness) -> Result<(), String> {
    let reply = h
        .send("greet", Exchange::new_in_out(Message::new("camel")))
        .await
        .map_err(|e| format!("the exchange failed: {e}"))?;
    expect(
        "body",
        format!("{:?}", reply.input.body),
        format!("{:?}", Body::Text("hi, camel".into())),
    )
}

async fn bean_config(h: &Harness) -> Result<(), String> {
    let reply = h
        .send("config", Exchange::new_in_out(Message::new("")))
        .await
        .map_err(|e| format!("the exchange failed: {e}"))?;
    expect(
        "body",
        format!("{:?}", reply.input.body),
        format!("{:?}", Body::Text("extra=x,greeting=hi".into())),
    )
}

async fn bean_unknown_method(h: &Harness) -> Result<(), String> {
    let mut ex = Exchange::new_in_out(Message::new("x"));
    match h.bean.invoke("vanish", &mut ex).await {
        Err(WasmError::Guest {
            error: GuestError::NotFound(m),
            ..
        }) if m.contains("vanish") => Ok(()),
        other => Err(format!("want not-found naming `vanish`, got {other:?}")),
    }
}

async fn bean_init_fails(h: &Harness) -> Result<(), String> {
    match h.load_bean(&[("extra", "x")]).await {
        Err(WasmError::Bean { source, .. }) if matches!(*source, WasmError::Init { .. }) => {
            let mut text = source.to_string();
            let mut cause = std::error::Error::source(&*source);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            if text.contains("greeting") {
                Ok(())
            } else {
                Err(format!("the init error does not name the key: {text}"))
            }
        }
        other => Err(format!(
            "want Bean {{ Init }}, got {:?}",
            other.map(|_| "a bean")
        )),
    }
}
