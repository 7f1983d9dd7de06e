//! 1 GiB in 16384 pieces of 64 KiB (the same `Bytes`) through each design,
//! against a native copy of every piece, in one run:
//!
//! - `native/copy`: `Bytes::copy_from_slice` of each piece (one copy);
//! - `list/count`, `list/relay`: the resource design, with wasmtime's
//!   concurrency support off, as in the main host;
//! - `list_cm_on/count`, `list_cm_on/relay`: the same with concurrency
//!   support on (what the resource design costs once `component-model-async`
//!   is enabled for streams);
//! - `stream/count`, `stream/relay`: component-model async `stream<u8>`.
//!
//! Per-piece cost = time per GiB / 16384. Each iteration instantiates the
//! guest afresh (tens of microseconds, noise at this scale).

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use futures::executor::block_on;
use stream_floors::{ListFloor, PIECE, StreamFloor};

const PIECES: usize = 16 * 1024;
const TOTAL: u64 = (PIECE * PIECES) as u64;

fn floors(c: &mut Criterion) {
    let piece = Bytes::from(vec![7u8; PIECE]);
    let list = ListFloor::new(false).expect("list guest");
    let list_cm = ListFloor::new(true).expect("list guest");
    let stream = StreamFloor::new().expect("async guest");

    let mut group = c.benchmark_group("floors");
    group
        .throughput(Throughput::Bytes(TOTAL))
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));

    group.bench_function("native/copy", |b| {
        b.iter(|| {
            let mut total = 0;
            for _ in 0..PIECES {
                total += black_box(Bytes::copy_from_slice(&piece)).len() as u64;
            }
            assert_eq!(total, TOTAL);
        })
    });
    for (name, floor) in [("list", &list), ("list_cm_on", &list_cm)] {
        group.bench_function(format!("{name}/count"), |b| {
            b.iter(|| assert_eq!(block_on(floor.count(&piece, PIECES)).unwrap(), TOTAL))
        });
        group.bench_function(format!("{name}/relay"), |b| {
            b.iter(|| {
                let relayed = block_on(floor.relay(&piece, PIECES, |p| drop(black_box(p))));
                assert_eq!(relayed.unwrap(), TOTAL);
            })
        });
    }
    group.bench_function("stream/count", |b| {
        b.iter(|| assert_eq!(block_on(stream.count(&piece, PIECES)).unwrap(), TOTAL))
    });
    group.bench_function("stream/relay", |b| {
        b.iter(|| {
            let relayed = block_on(stream.relay(&piece, PIECES, |p| drop(black_box(p))));
            assert_eq!(relayed.unwrap(), TOTAL);
        })
    });
    group.finish();
}

criterion_group!(benches, floors);
criterion_main!(benches);
