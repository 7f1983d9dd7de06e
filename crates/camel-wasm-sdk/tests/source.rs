//! `export_source!`: plans, events and replies cross the adapter.

use std::time::Duration;

use camel_wasm_sdk::__private::source::Guest;
use camel_wasm_sdk::__private::source::camel::wasm::source_types as wit_source;
use camel_wasm_sdk::__private::{SourceAdapter, exchange_into_wit, wit};
use camel_wasm_sdk::{
    Event, Exchange, HttpResponse, Message, Outcome, PluginError, SourcePlan, SourcePlugin,
    export_source,
};

/// `/in` over HTTP plus a timer; echoes requests into the route.
struct Echo;

impl SourcePlugin for Echo {
    fn plan() -> Result<SourcePlan, PluginError> {
        Ok(SourcePlan {
            timer: SourcePlan::timer(Duration::from_millis(1500), Some(3)).timer,
            ..SourcePlan::http("/in")
        })
    }

    fn on_event(event: Event) -> Result<Outcome, PluginError> {
        match event {
            Event::Http(request) if request.method == "DELETE" => {
                Err(PluginError::denied("no deletes"))
            }
            Event::Http(request) if request.body.is_empty() => {
                Ok(Outcome::Respond(HttpResponse::text(400, "empty")))
            }
            Event::Http(request) => Ok(Outcome::Submit(request.into_exchange())),
            Event::Tick(_) => Ok(Outcome::Skip),
        }
    }
}

export_source!(Echo);

type Adapter = SourceAdapter<Echo>;

fn request(method: &str, body: &[u8]) -> wit_source::Event {
    wit_source::Event::Http(wit_source::HttpRequest {
        method: method.to_owned(),
        path: "/in".to_owned(),
        query: "a=1".to_owned(),
        headers: vec![("x-trace".to_owned(), "7".to_owned())],
        body: if body.is_empty() {
            wit::Body::Empty
        } else {
            wit::Body::Bytes(body.to_vec())
        },
    })
}

#[test]
fn the_plan_crosses_in_milliseconds() {
    let plan = Adapter::plan().unwrap();
    assert_eq!(plan.http.unwrap().path, "/in");
    let timer = plan.timer.unwrap();
    assert_eq!((timer.period_ms, timer.times), (1500, Some(3)));
}

#[test]
fn requests_become_exchanges_answers_or_errors() {
    match Adapter::on_event(request("POST", b"hello")).unwrap() {
        wit_source::Outcome::Submit(exchange) => {
            assert_eq!(exchange.pattern, wit::Pattern::InOut);
            assert!(matches!(exchange.input.body, wit::Body::Text(ref t) if t == "hello"));
            let header = |name: &str| {
                exchange
                    .input
                    .headers
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            };
            assert!(matches!(header("x-trace"), Some(wit::Value::Text(v)) if v == "7"));
            assert!(matches!(header("CamelHttpMethod"), Some(wit::Value::Text(v)) if v == "POST"));
            assert!(matches!(header("CamelHttpQuery"), Some(wit::Value::Text(v)) if v == "a=1"));
        }
        other => panic!("{other:?}"),
    }
    match Adapter::on_event(request("POST", b"")).unwrap() {
        wit_source::Outcome::Respond(response) => {
            assert_eq!(response.status, 400);
            assert!(matches!(response.body, Some(wit::Body::Text(ref t)) if t == "empty"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Adapter::on_event(request("DELETE", b"x")),
        Err(wit::Error::Denied(m)) if m == "no deletes"
    ));
    assert!(matches!(
        Adapter::on_event(wit_source::Event::Tick(1)),
        Ok(wit_source::Outcome::Skip)
    ));
}

#[test]
fn the_default_reply_takes_status_and_content_type_from_headers() {
    let reply = Message::new("done")
        .with_header("CamelHttpResponseCode", 202)
        .with_header("Content-Type", "text/csv");
    let response = Adapter::on_reply(exchange_into_wit(Exchange::new(reply))).unwrap();
    assert_eq!(response.status, 202);
    assert_eq!(
        response.headers,
        vec![("content-type".to_owned(), "text/csv".to_owned())]
    );
    assert!(response.body.is_none(), "the route's body is kept");
    let plain = Adapter::on_reply(exchange_into_wit(Exchange::new(Message::new("x")))).unwrap();
    assert_eq!(plain.status, 200);
}

#[test]
fn errors_turn_into_responses_with_their_status() {
    let response = HttpResponse::from(PluginError::type_conversion("bad json"));
    assert_eq!(response.status, 400);
    assert_eq!(HttpResponse::from(PluginError::failed("x")).status, 500);
}
