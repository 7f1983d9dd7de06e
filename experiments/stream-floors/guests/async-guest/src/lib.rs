//! Counts or relays a component-model async `stream<u8>`.

use wit_bindgen::{StreamReader, StreamResult};

wit_bindgen::generate!({ path: "../../wit/async.wit", world: "async-guest" });

/// Size of each read.
const PIECE: usize = 64 * 1024;

/// The guest's exports.
struct Plugin;

impl Guest for Plugin {
    async fn count(mut s: StreamReader<u8>) -> u64 {
        let mut total = 0;
        // One buffer for every read: a stream read fills the reader's own
        // memory, so nothing is allocated per piece.
        let mut buf = Vec::with_capacity(PIECE);
        loop {
            let (result, mut read) = s.read(buf).await;
            match result {
                StreamResult::Complete(n) => total += n as u64,
                StreamResult::Dropped | StreamResult::Cancelled => return total,
            }
            read.clear();
            buf = read;
        }
    }

    async fn relay(mut s: StreamReader<u8>) -> StreamReader<u8> {
        let (mut tx, rx) = wit_stream::new::<u8>();
        // The pieces move after `relay` has returned its stream, in a task
        // that outlives the call.
        wit_bindgen::spawn_local(async move {
            loop {
                let (result, piece) = s.read(Vec::with_capacity(PIECE)).await;
                match result {
                    StreamResult::Complete(_) => {
                        if !tx.write_all(piece).await.is_empty() {
                            return; // the reader hung up
                        }
                    }
                    StreamResult::Dropped | StreamResult::Cancelled => return,
                }
            }
        });
        rx
    }
}

export!(Plugin);
