//! Builds the test guests (each package under `tests/guests/*`) for
//! `wasm32-wasip2` through `camel-wasm-guest-build` (one nested `cargo
//! build` into `$OUT_DIR/guests`; see that crate for flags, rerun triggers
//! and what happens when the target is missing), and writes `$OUT_DIR/gen.rs`
//! with their paths, `ALL` and `foreach_guest!`.
//!
//! The examples' guests are not built here: each example builds its own.

fn main() {
    let guests = camel_wasm_guest_build::GuestBuild::new()
        .dir("../guests")
        .build();
    let source = [
        guests.consts("pub"),
        guests.all(
            "pub",
            "Every test guest as `(directory name, path)`, sorted by name.",
        ),
        String::new(),
        guests.foreach_macro("foreach_guest"),
    ]
    .join("\n");
    guests.write("gen.rs", &source);
}
