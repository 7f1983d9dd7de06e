//! Counts or relays a body it reads from the host's `source` resource.

use std::cell::RefCell;

wit_bindgen::generate!({ path: "../../wit/list.wit", world: "list-guest" });

/// Size of each read while counting.
const PIECE: u32 = 64 * 1024;

/// The guest's exports.
struct Plugin;

thread_local! {
    /// The body `relay-start` handed over, read by `next`.
    static RELAYED: RefCell<Option<Source>> = const { RefCell::new(None) };
}

impl Guest for Plugin {
    fn count(s: Source) -> u64 {
        let mut total = 0;
        loop {
            let piece = s.read(PIECE);
            if piece.is_empty() {
                return total;
            }
            total += piece.len() as u64;
        }
    }

    fn relay_start(s: Source) {
        RELAYED.with(|relayed| *relayed.borrow_mut() = Some(s));
    }

    fn next(max: u32) -> Option<Vec<u8>> {
        RELAYED.with(|relayed| {
            let mut relayed = relayed.borrow_mut();
            let piece = relayed.as_ref()?.read(max);
            if piece.is_empty() {
                *relayed = None;
                return None;
            }
            Some(piece)
        })
    }
}

export!(Plugin);
