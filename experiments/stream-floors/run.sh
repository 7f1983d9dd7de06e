#!/bin/sh
# Builds the two guests from source, then runs the benchmark.
# Extra arguments go to criterion (e.g. `./run.sh stream/`).
set -eu
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="$PWD/target"
nice -n 15 cargo build --target wasm32-wasip2 --release -p list-guest -p async-guest
nice -n 15 cargo bench -p stream-floors --bench floors -- "$@"
