//! Host memory while streaming, in a test binary of its own so that no
//! other test's allocations blur the figures (Linux: `/proc/self/status`).

#[path = "all/support.rs"]
#[allow(dead_code, reason = "shared with the main test binary")]
mod support;

use std::sync::Arc;

use bytes::Bytes;
use camel_api::{Body, Exchange, Message, StreamBody, StreamMetadata};
use camel_wasm_test_artifacts as guests;
use futures::StreamExt;
use serde_json::json;

use support::one_route;

/// A field of `/proc/self/status`, in bytes.
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kb| kb * 1024)
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

const GIB: u64 = 1 << 30;
const MIB: u64 = 1 << 20;

#[tokio::test(flavor = "multi_thread")]
async fn streams_stay_out_of_host_memory() {
    // 1. A gibibyte through a byte-counting guest of 16 MiB.
    let t = one_route("count", guests::STREAM_COUNTER, "max-memory=16777216").await;
    // Warm up: instance and buffers exist before the measurement.
    let small = |chunks: usize| {
        let piece = Bytes::from(vec![1u8; 64 * 1024]);
        let stream = futures::stream::iter(std::iter::repeat_n(piece, chunks).map(Ok)).boxed();
        Exchange::new_in_out(Message::new(Body::Stream(StreamBody {
            stream: Arc::new(tokio::sync::Mutex::new(Some(stream))),
            metadata: StreamMetadata::default(),
        })))
    };
    t.send("count", small(16)).await.unwrap();
    let peak_before = status_bytes("VmHWM:");
    let reply = t
        .send("count", small((GIB / (64 * 1024)) as usize))
        .await
        .unwrap();
    assert_eq!(reply.input.header("bytes"), Some(&json!(GIB)));
    let growth = status_bytes("VmHWM:").saturating_sub(peak_before);
    eprintln!(
        "1 GiB streamed: peak host memory grew by {} KiB",
        growth / 1024
    );
    assert!(
        growth < 64 * MIB,
        "streaming 1 GiB grew the host's peak memory by {} MiB",
        growth / MIB
    );

    // 2. A gibibyte produced lazily, read for 1 MiB and dropped, 100 times:
    // the guest is cancelled each time and nothing leaks.
    let p = one_route(
        "produce",
        guests::STREAM_PRODUCER,
        "max-concurrent-calls=2&max-memory=16777216",
    )
    .await;
    let round = || async {
        let mut m = Message::new(Body::Empty);
        m.set_header("size", GIB.to_string());
        let reply = p.send("produce", Exchange::new_in_out(m)).await.unwrap();
        let Body::Stream(stream) = reply.input.body else {
            panic!("expected a stream body");
        };
        let mut stream = stream.stream.lock().await.take().unwrap();
        let mut read = 0u64;
        while read < MIB {
            read += stream.next().await.unwrap().unwrap().len() as u64;
        }
    };
    for _ in 0..10 {
        round().await;
    }
    let rss_before = status_bytes("VmRSS:");
    for _ in 0..100 {
        round().await;
    }
    // The pump of the last body may still be winding down.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let rss_growth = status_bytes("VmRSS:").saturating_sub(rss_before);
    eprintln!(
        "100 cancelled bodies: resident memory grew by {} KiB",
        rss_growth / 1024
    );
    assert!(
        rss_growth < 16 * MIB,
        "100 cancelled bodies grew the host by {} MiB",
        rss_growth / MIB
    );
    let mut m = Message::new(Body::Empty);
    m.set_header("mode", "report");
    let reply = p.send("produce", Exchange::new_in_out(m)).await.unwrap();
    assert_eq!(reply.input.header("cancelled"), Some(&json!(110)));
}
