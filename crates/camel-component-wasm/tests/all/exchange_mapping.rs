//! Headers, properties and bodies round-trip faithfully through a guest.

use bytes::Bytes;
use camel_api::{Body, Exchange, ExchangePattern, Message, Value};
use camel_wasm_test_artifacts as guests;
use serde_json::json;

use crate::support::{TestContext, wasm_uri};

#[tokio::test(flavor = "multi_thread")]
async fn every_body_kind_round_trips_with_headers_and_properties() {
    let mut t = TestContext::new().await;
    t.route("echo", &[wasm_uri(guests::ECHO, "")])
        .await
        .unwrap();
    t.start().await;

    let bodies = [
        Body::Empty,
        Body::Text("plain text ✓".into()),
        Body::Bytes(Bytes::from(vec![0u8, 1, 2, 255, 254, 0, 10])),
        Body::Json(json!({"order": 7, "items": ["a", "b"], "ok": true, "none": null})),
        Body::Xml("<order id=\"7\"><item>a</item></order>".into()),
    ];
    for body in bodies {
        let mut message = Message::new(body.clone());
        message.set_header("text", "value");
        message.set_header("number", 42);
        message.set_header("float", 2.5);
        message.set_header("flag", true);
        message.set_header("object", json!({"k": [1, 2]}));
        message.set_header("looks-like-number", "42");
        let mut exchange = Exchange::new_in_out(message);
        exchange.set_property("p-text", "v");
        exchange.set_property("p-num", 7);
        exchange.set_property("p-json", json!(["x"]));
        let correlation = exchange.correlation_id.clone();

        let reply = t.send("echo", exchange).await.unwrap();
        assert_eq!(format!("{:?}", reply.input.body), format!("{body:?}"));
        let h = &reply.input.headers;
        assert_eq!(h["text"], json!("value"));
        assert_eq!(h["number"], json!(42));
        assert_eq!(h["float"], json!(2.5));
        assert_eq!(h["flag"], json!(true));
        assert_eq!(h["object"], json!({"k": [1, 2]}));
        assert_eq!(h["looks-like-number"], json!("42"));
        assert_eq!(reply.property("p-text"), Some(&json!("v")));
        assert_eq!(reply.property("p-num"), Some(&json!(7)));
        assert_eq!(reply.property("p-json"), Some(&json!(["x"])));
        assert_eq!(reply.pattern, ExchangePattern::InOut);
        assert_eq!(reply.correlation_id, correlation);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn large_binary_bodies_are_not_reencoded() {
    let mut t = TestContext::new().await;
    t.route("echo-big", &[wasm_uri(guests::ECHO, "")])
        .await
        .unwrap();
    t.start().await;

    let payload: Vec<u8> = (0..(1usize << 20)).map(|i| (i * 31 % 251) as u8).collect();
    let reply = t
        .send(
            "echo-big",
            Exchange::new(Message::new(Body::Bytes(payload.clone().into()))),
        )
        .await
        .unwrap();
    match &reply.input.body {
        Body::Bytes(b) => assert_eq!(b.as_ref(), payload.as_slice()),
        other => panic!("expected bytes, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn properties_through_host_functions_and_the_returned_exchange() {
    let mut t = TestContext::new().await;
    t.route("props", &[wasm_uri(guests::PROPERTIES, "")])
        .await
        .unwrap();
    t.start().await;

    let mut exchange = Exchange::new(Message::new("x"));
    exchange.set_property("in", "hello");
    exchange.set_property("num", 42);
    exchange.set_property("remove-me", "bye");
    exchange.set_property("untouched", json!({"a": 1}));
    let reply = t.send("props", exchange).await.unwrap();

    // set-property writes are visible on the exchange after the call.
    assert_eq!(reply.property("via-host"), Some(&json!("hello!")));
    // Properties changed in the returned exchange too.
    assert_eq!(reply.property("returned"), Some(&json!("yes")));
    assert_eq!(reply.property("remove-me"), None);
    assert_eq!(reply.property("untouched"), Some(&json!({"a": 1})));
    assert_eq!(reply.property("in"), Some(&json!("hello")));
    // get-property saw the values; non-strings as JSON text.
    assert_eq!(reply.input.header("seen-in"), Some(&json!("hello")));
    assert_eq!(reply.input.header("num-text"), Some(&json!("42")));
    // The route the plugin runs in (the test harness names routes by id).
    assert_eq!(reply.input.header("route-id"), Some(&json!("props")));

    // Without the property, the guest sees none.
    let reply = t
        .send("props", Exchange::new(Message::new("x")))
        .await
        .unwrap();
    assert_eq!(reply.property("via-host"), Some(&json!("none!")));
    assert_eq!(
        reply.input.header("seen-in"),
        Some(&Value::String("<none>".into()))
    );
}
