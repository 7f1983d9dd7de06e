//! Builds the example's plugin (`guests/shout`) for `wasm32-wasip2`;
//! `src/main.rs` includes its path from `$OUT_DIR/guests.rs`.

fn main() {
    let guests = camel_wasm_guest_build::GuestBuild::new()
        .dir("guests")
        .build();
    guests.write("guests.rs", &guests.consts("pub(crate)"));
}
