//! Many exchanges at once through one endpoint.

use std::sync::Arc;

use camel_api::{Exchange, Message};
use camel_wasm_test_artifacts as guests;
use futures::future::join_all;

use crate::support::{TestContext, reply_body, text, wasm_uri};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_concurrent_exchanges_are_all_correct() {
    let mut t = TestContext::new().await;
    t.route(
        "par",
        &[wasm_uri(guests::UPPERCASE, "max-concurrent-calls=8")],
    )
    .await
    .unwrap();
    t.start().await;
    let t = Arc::new(t);

    let tasks = (0..500).map(|i| {
        let t = t.clone();
        tokio::spawn(async move {
            let mut message = Message::new(format!("message number {i}"));
            message.set_header("n", i);
            let reply = t.send("par", Exchange::new_in_out(message)).await.unwrap();
            (i, reply)
        })
    });
    let results = join_all(tasks).await;
    assert_eq!(results.len(), 500);
    for result in results {
        let (i, reply) = result.unwrap();
        assert_eq!(text(reply_body(&reply)), format!("MESSAGE NUMBER {i}"));
        assert_eq!(reply.input.header("n"), Some(&serde_json::json!(i)));
    }
    let mock = t.mock.get_endpoint("par").unwrap();
    assert_eq!(mock.received_count().await, 500);
}
