//! Builds the quick start's own guests (`guests/*`, and nothing else) for
//! `wasm32-wasip2`; `src/main.rs` includes their paths from
//! `$OUT_DIR/guests.rs`.

fn main() {
    let guests = camel_wasm_guest_build::GuestBuild::new()
        .dir("guests")
        .build();
    guests.write("guests.rs", &guests.consts("pub(crate)"));
}
