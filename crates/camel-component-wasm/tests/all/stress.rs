//! Hostile and healthy exchanges interleaved, concurrently, through several
//! endpoints: every exchange is accounted for, none lost or duplicated, and
//! memory returns to a steady state.

use std::collections::HashSet;
use std::sync::Arc;

use camel_api::{Exchange, Message};
use camel_component_wasm::{WasmError, wasm_error_of};
use camel_wasm_test_artifacts as guests;
use futures::stream::{self, StreamExt};

use crate::support::{TestContext, reply_body, text, wasm_uri};

/// What an exchange should come back as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Outcome {
    Ok,
    Panic,
    Timeout,
    OutOfMemory,
    /// A hostile endpoint paused by its crash guard.
    Paused,
}

struct Lane {
    route: &'static str,
    guest: &'static str,
    query: &'static str,
    /// Every n-th exchange of this lane attacks (0: never).
    attack_every: usize,
    attack: Outcome,
}

const LANES: &[Lane] = &[
    Lane {
        route: "healthy-echo",
        guest: guests::ECHO,
        query: "",
        attack_every: 0,
        attack: Outcome::Ok,
    },
    Lane {
        route: "healthy-upper",
        guest: guests::UPPERCASE,
        query: "",
        attack_every: 0,
        attack: Outcome::Ok,
    },
    Lane {
        route: "panics",
        guest: guests::PANICKING,
        query: "",
        attack_every: 3,
        attack: Outcome::Panic,
    },
    Lane {
        route: "spins",
        guest: guests::SPIN,
        query: "timeout=0.1",
        attack_every: 20,
        attack: Outcome::Timeout,
    },
    Lane {
        route: "hogs",
        guest: guests::MEMORY_HOG,
        query: "max-memory=8388608",
        attack_every: 4,
        attack: Outcome::OutOfMemory,
    },
];

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

async fn round(t: &Arc<TestContext>, total: usize) -> Vec<(usize, Outcome)> {
    let results: Vec<(usize, Outcome, Outcome)> = stream::iter(0..total)
        .map(|i| {
            let t = t.clone();
            async move {
                let lane = &LANES[i % LANES.len()];
                let n = i / LANES.len();
                let attack = lane.attack_every != 0 && n.is_multiple_of(lane.attack_every);
                let body = if attack {
                    "attack".to_string()
                } else {
                    "ok".to_string()
                };
                let mut message = Message::new(body.clone());
                message.set_header("id", i);
                let expected = if attack { lane.attack } else { Outcome::Ok };
                let got = match t.send(lane.route, Exchange::new_in_out(message)).await {
                    Ok(reply) => {
                        assert_eq!(reply.input.header("id"), Some(&serde_json::json!(i)));
                        let want = if lane.route == "healthy-upper" {
                            body.to_uppercase()
                        } else {
                            body
                        };
                        assert_eq!(text(reply_body(&reply)), want);
                        Outcome::Ok
                    }
                    Err(err) => match wasm_error_of(&err) {
                        Some(WasmError::GuestPanic { .. }) => Outcome::Panic,
                        Some(WasmError::Timeout { .. }) => Outcome::Timeout,
                        Some(WasmError::OutOfMemory { .. }) => Outcome::OutOfMemory,
                        Some(WasmError::Unhealthy { reason, .. })
                            if reason.contains("crash loop") =>
                        {
                            Outcome::Paused
                        }
                        other => panic!(
                            "exchange {i} on {}: unexpected {other:?} ({err})",
                            lane.route
                        ),
                    },
                };
                (i, expected, got)
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;

    let mut seen = HashSet::new();
    for (i, expected, got) in &results {
        assert!(seen.insert(*i), "exchange {i} answered twice");
        let lane = &LANES[i % LANES.len()];
        if lane.attack_every == 0 {
            assert_eq!(*got, Outcome::Ok, "healthy exchange {i} on {}", lane.route);
        } else {
            // A hostile lane may be paused by its crash guard; otherwise each
            // exchange gets exactly what it asked for.
            assert!(
                *got == *expected || *got == Outcome::Paused,
                "exchange {i} on {}: expected {expected:?}, got {got:?}",
                lane.route
            );
        }
    }
    assert_eq!(seen.len(), total, "every exchange accounted for");
    results.into_iter().map(|(i, _, got)| (i, got)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_hostile_and_healthy_load() {
    let mut t = TestContext::new().await;
    for lane in LANES {
        t.route(lane.route, &[wasm_uri(lane.guest, lane.query)])
            .await
            .unwrap();
    }
    t.start().await;
    let t = Arc::new(t);

    // Warm up every pool, then measure rounds.
    round(&t, 250).await;
    let baseline = rss_bytes();
    let first = round(&t, 1500).await;
    let after_first = rss_bytes();
    round(&t, 1500).await;
    let after_second = rss_bytes();

    let attacks_answered = first.iter().filter(|(_, o)| *o != Outcome::Ok).count();
    assert!(attacks_answered > 100, "the hostile lanes did attack");
    // Instances that broke were dropped: a second round of the same load
    // does not grow memory (a leak of even a few instances per round would).
    let slack = 64 * 1024 * 1024;
    assert!(
        after_second <= after_first + slack,
        "RSS grew from {after_first} to {after_second} bytes (baseline {baseline})"
    );
}
