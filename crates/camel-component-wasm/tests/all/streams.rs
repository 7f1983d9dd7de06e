//! Stream bodies through plugins: read piece by piece, passed on, produced
//! lazily, and every way a stream can go wrong.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use camel_api::{Body, CamelError, StreamBody, StreamMetadata};
use camel_component_wasm::WasmError;
use camel_wasm_test_artifacts as guests;
use futures::StreamExt;
use serde_json::json;

use crate::support::{TestContext, one_route, typed, with_headers};

/// A stream body of `chunks` pieces of `piece`, then `end` (an error, or
/// nothing).
fn stream_body(piece: Bytes, chunks: usize, end: Option<CamelError>) -> Body {
    let size = (piece.len() * chunks) as u64;
    let pieces = futures::stream::iter(std::iter::repeat_n(piece, chunks).map(Ok));
    let stream = match end {
        Some(err) => pieces.chain(futures::stream::iter([Err(err)])).boxed(),
        None => pieces.boxed(),
    };
    Body::Stream(StreamBody {
        stream: Arc::new(tokio::sync::Mutex::new(Some(stream))),
        metadata: StreamMetadata {
            size_hint: Some(size),
            content_type: Some("application/octet-stream".into()),
            origin: None,
        },
    })
}

/// Reads a stream body to its end (or first error); returns the bytes read.
async fn drain(body: Body) -> Result<Vec<u8>, CamelError> {
    let Body::Stream(stream) = body else {
        panic!("expected a stream body, got {body:?}");
    };
    let mut stream = stream.stream.lock().await.take().expect("unread stream");
    let mut bytes = Vec::new();
    while let Some(piece) = stream.next().await {
        bytes.extend_from_slice(&piece?);
    }
    Ok(bytes)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_reads_a_streamed_body_piece_by_piece() {
    let t = one_route("count", guests::STREAM_COUNTER, "max-memory=16777216").await;
    // 64 MiB through a guest of 16 MiB.
    let piece = Bytes::from(vec![7u8; 64 * 1024]);
    let reply = t
        .send("count", with_headers(stream_body(piece, 1024, None), &[]))
        .await
        .unwrap();
    assert_eq!(reply.input.header("bytes"), Some(&json!(64u64 << 20)));
}

#[tokio::test(flavor = "multi_thread")]
async fn what_the_guest_does_not_read_passes_on() {
    let t = one_route("peek", guests::STREAM_COUNTER, "").await;
    let reply = t
        .send(
            "peek",
            with_headers(
                stream_body(Bytes::from_static(b"hello world, "), 3, None),
                &[("mode", "peek"), ("peek", "5")],
            ),
        )
        .await
        .unwrap();
    assert_eq!(reply.input.header("peeked"), Some(&json!("hello")));
    let rest = drain(reply.input.body).await.unwrap();
    assert_eq!(rest, b" world, hello world, hello world, ");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_source_that_fails_mid_way_fails_the_exchange() {
    let t = one_route("count", guests::STREAM_COUNTER, "").await;
    let err = t
        .send(
            "count",
            with_headers(
                stream_body(
                    Bytes::from_static(b"0123456789"),
                    3,
                    Some(CamelError::Io("disk gone".into())),
                ),
                &[],
            ),
        )
        .await
        .unwrap_err();
    // The guest's `io` error (it could not read its body) is the exchange's.
    assert!(matches!(err, CamelError::Io(_)), "{err:?}");
    assert!(err.to_string().contains("disk gone"), "{err}");
    let reply = t
        .send(
            "count",
            with_headers(stream_body(Bytes::from_static(b"ok"), 2, None), &[]),
        )
        .await
        .unwrap();
    assert_eq!(reply.input.header("bytes"), Some(&json!(4)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handle_kept_past_its_exchange_cannot_be_read() {
    let t = one_route("stash", guests::STREAM_COUNTER, "max-concurrent-calls=1").await;
    t.send(
        "stash",
        with_headers(
            stream_body(Bytes::from_static(b"secret"), 2, None),
            &[("mode", "stash")],
        ),
    )
    .await
    .unwrap();
    let reply = t
        .send(
            "stash",
            with_headers(Body::Empty, &[("mode", "read-stashed")]),
        )
        .await
        .unwrap();
    let outcome = reply.input.header("stashed-read").unwrap().to_string();
    assert!(outcome.contains("has finished"), "{outcome}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_streams_a_body_out_lazily() {
    let t = one_route("produce", guests::STREAM_PRODUCER, "max-memory=16777216").await;
    let reply = t
        .send(
            "produce",
            with_headers(Body::Empty, &[("size", &(8u64 << 20).to_string())]),
        )
        .await
        .unwrap();
    let bytes = drain(reply.input.body).await.unwrap();
    assert_eq!(bytes.len(), 8 << 20);
    assert!(bytes.iter().all(|b| *b == b'x'));
    // The body ended: the instance went back and the guest saw the end.
    let reply = t
        .send("produce", with_headers(Body::Empty, &[("mode", "report")]))
        .await
        .unwrap();
    assert_eq!(reply.input.header("finished"), Some(&json!(1)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_produced_body_that_fails_ends_with_a_typed_error() {
    let t = one_route("produce", guests::STREAM_PRODUCER, "").await;
    let reply = t
        .send(
            "produce",
            with_headers(Body::Empty, &[("size", "131072"), ("mode", "fail")]),
        )
        .await
        .unwrap();
    let err = drain(reply.input.body).await.unwrap_err();
    assert!(matches!(err, CamelError::Io(_)), "{err:?}");
    assert!(err.to_string().contains("the source broke"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_producer_hits_the_no_progress_timeout() {
    let t = one_route("stall", guests::STREAM_PRODUCER, "stream-timeout=0.5").await;
    let reply = t
        .send(
            "stall",
            with_headers(Body::Empty, &[("size", "1000"), ("mode", "stall")]),
        )
        .await
        .unwrap();
    let started = Instant::now();
    let err = drain(reply.input.body).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            camel_component_wasm::wasm_error_of(&err),
            Some(WasmError::Timeout { .. })
        ),
        "{err:?}"
    );
    crate::support::assert_next_ok(&t, "stall").await;
}

/// Asks route `produce` for a 1 GiB body the guest produces lazily and
/// takes its stream.
async fn produced_gibibyte(
    t: &TestContext,
) -> futures::stream::BoxStream<'static, Result<Bytes, CamelError>> {
    let reply = t
        .send(
            "produce",
            with_headers(Body::Empty, &[("size", &(1u64 << 30).to_string())]),
        )
        .await
        .unwrap();
    let Body::Stream(stream) = reply.input.body else {
        panic!("expected a stream");
    };
    stream.stream.lock().await.take().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_a_produced_body_cancels_the_guest_and_frees_the_instance() {
    let t: TestContext = one_route(
        "produce",
        guests::STREAM_PRODUCER,
        "max-concurrent-calls=1&timeout=5",
    )
    .await;
    for _ in 0..20 {
        let mut stream = produced_gibibyte(&t).await;
        let mut read = 0;
        while read < 1 << 20 {
            read += stream.next().await.unwrap().unwrap().len();
        }
        drop(stream);
    }
    // With one instance, every exchange above needed the previous body's
    // instance back; the guest saw each consumer go away.
    let reply = t
        .send("produce", with_headers(Body::Empty, &[("mode", "report")]))
        .await
        .unwrap();
    assert_eq!(reply.input.header("cancelled"), Some(&json!(20)));
    assert_eq!(reply.input.header("finished"), Some(&json!(0)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_consumer_that_stops_reading_lets_the_instance_go_after_the_stream_timeout() {
    let t = one_route(
        "produce",
        guests::STREAM_PRODUCER,
        "max-concurrent-calls=1&timeout=5&stream-timeout=0.3",
    )
    .await;
    let mut stream = produced_gibibyte(&t).await;
    assert!(!stream.next().await.unwrap().unwrap().is_empty());
    // Holding the body without reading pins the only instance until the
    // stream timeout lets it go; then the next exchange gets it.
    tokio::time::sleep(Duration::from_millis(600)).await;
    crate::support::assert_next_ok(&t, "produce").await;
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(
        matches!(
            camel_component_wasm::wasm_error_of(&err),
            Some(WasmError::Timeout { .. })
        ),
        "{err:?}"
    );
    assert!(stream.next().await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_relays_a_stream_through_itself() {
    let t = one_route("relay", guests::STREAM_RELAY, "max-memory=16777216").await;
    let piece = Bytes::from((0..=255u8).cycle().take(64 * 1024).collect::<Vec<u8>>());
    let reply = t
        .send(
            "relay",
            with_headers(stream_body(piece.clone(), 256, None), &[]),
        )
        .await
        .unwrap();
    let bytes = drain(reply.input.body).await.unwrap();
    assert_eq!(bytes.len(), 256 * piece.len());
    assert!(bytes.chunks(piece.len()).all(|c| c == piece.as_ref()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_stream_handle_is_an_error_not_a_host_panic() {
    let t = one_route("forge", guests::AMPLIFIER, "").await;
    let err = t
        .send(
            "forge",
            with_headers(Body::Empty, &[("mode", "forged-stream")]),
        )
        .await
        .unwrap_err();
    let typed = typed(&err);
    assert!(
        matches!(typed, WasmError::Trap { reason, .. } if reason.to_string().contains("does not own")),
        "{typed:?}"
    );
    crate::support::assert_next_ok(&t, "forge").await;
}
