//! Only here so the macros get an `OUT_DIR` for `CAMEL_WASM_MACROS_DEBUG` dumps.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
}
