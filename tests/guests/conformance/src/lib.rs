//! Test guest `conformance`: the Rust side of the guest conformance suite,
//! one behaviour per `case` header (the list and what each case must do are
//! in `crates/camel-component-wasm/tests/conformance/cases.rs`; the Python
//! and JavaScript guests in `tests/polyglot/` implement the same cases).

use std::sync::atomic::{AtomicU32, Ordering};

use camel_wasm_sdk::{Body, Exchange, Host, Message, PluginError, plugin};

static INIT_RUNS: AtomicU32 = AtomicU32::new(0);

fn setup() -> Result<(), String> {
    INIT_RUNS.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

fn text_of(exchange: &Exchange) -> Result<String, PluginError> {
    exchange
        .body()
        .clone()
        .into_text()
        .ok_or_else(|| PluginError::type_conversion("the body is not UTF-8 text"))
}

fn header(exchange: &Exchange, name: &str) -> String {
    exchange
        .message()
        .header_str(name)
        .unwrap_or_default()
        .to_owned()
}

#[plugin(init = setup)]
fn conformance(mut exchange: Exchange) -> Result<Exchange, PluginError> {
    let case = header(&exchange, "case");
    let m = exchange.message_mut();
    match case.as_str() {
        "identity" => {}
        "describe" => {
            let kind = match &m.body {
                Body::Empty => "empty",
                Body::Text(_) => "text",
                Body::Bytes(_) => "bytes",
                Body::Json(_) => "json",
                Body::Xml(_) => "xml",
                Body::Stream(_) => "stream",
                _ => "unknown",
            };
            m.set_header("kind", kind);
            match &mut m.body {
                Body::Text(text) => *text = text.to_uppercase(),
                Body::Bytes(bytes) => bytes.reverse(),
                _ => {}
            }
        }
        "headers" => {
            let name = m.header_str("name").unwrap_or_default().to_owned();
            let number = m.header("number").and_then(|v| v.as_i64()).unwrap_or(0);
            m.set_header("greeting", format!("hello {name}"));
            m.set_header("answer", number + 1);
            m.set_header("flag", true);
            m.remove_header("secret");
        }
        "properties" => {
            let input = exchange
                .property_str("input")
                .unwrap_or_default()
                .to_owned();
            exchange.set_property("seen", format!("{input}!"));
            Host::set_property("via-host", "yes");
            let read = Host::get_property("input").unwrap_or_default();
            exchange.message_mut().set_header("read", read);
        }
        "error" => {
            let variant = header(&exchange, "variant");
            let message = format!("conformance {variant}");
            return Err(match variant.as_str() {
                "type-conversion" => PluginError::type_conversion(message),
                "not-found" => PluginError::not_found(message),
                "denied" => PluginError::denied(message),
                "limit-exceeded" => PluginError::limit_exceeded(message),
                "io" => PluginError::io(message),
                "timeout" => PluginError::timeout(message),
                _ => PluginError::failed(message),
            });
        }
        "state" => {
            let hits = Host::increment("hits", 1)?;
            let previous = Host::load("last")?;
            Host::store("last", &text_of(&exchange)?)?;
            let stored = Host::compare_and_set("token", None, "first")?;
            let m = exchange.message_mut();
            m.set_header("hits", hits.to_string());
            m.set_header("previous", previous.unwrap_or_default());
            m.set_header("cas", stored.to_string());
        }
        "call" => {
            let reply = Host::camel_call("direct:helper", &text_of(&exchange)?)?;
            exchange.set_body(reply);
        }
        "call-denied" => {
            let outcome = match Host::camel_call("direct:forbidden", "x") {
                Ok(_) => "none",
                Err(error) => error.kind(),
            };
            m.set_header("call-error", outcome);
        }
        "init" => m.set_header("init-runs", INIT_RUNS.load(Ordering::SeqCst).to_string()),
        "route-id" => {
            let route = Host::route_id().unwrap_or_default();
            exchange.message_mut().set_header("route-id", route);
        }
        "correlation" => {
            let id = exchange.correlation_id().to_owned();
            exchange.message_mut().set_header("correlation", id);
        }
        "stream-in" => {
            let Body::Stream(stream) = &m.body else {
                return Err(PluginError::type_conversion("expected a stream body"));
            };
            let mut data = Vec::new();
            while let Some(piece) = stream.read(1000)? {
                data.extend(piece);
            }
            m.set_header("bytes", data.len().to_string());
            m.body = Body::Text(
                String::from_utf8(data).map_err(|e| PluginError::type_conversion(e.to_string()))?,
            );
        }
        "stream-out" => {
            let lines: u32 = header(&exchange, "lines").parse().unwrap_or(0);
            exchange.set_body(Body::from_chunks(
                (0..lines).map(|n| Ok(format!("{n}\n").into_bytes())),
            ));
        }
        "crash" => panic!("conformance crash"),
        "output" => {
            exchange.output = Some(Message::new("out").with_header("made-by", "output"));
        }
        other => return Err(PluginError::not_found(format!("unknown case {other:?}"))),
    }
    Ok(exchange)
}
