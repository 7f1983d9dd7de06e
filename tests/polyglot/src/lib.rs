//! Paths of the Python and JavaScript test guests, built from source by this
//! crate's build script with the pinned toolchains: `componentize-py`
//! (PyPI) for `python/*.py`, `componentize-js` (npm, the workspace's
//! `package.json`) for `js/*.js`. Each app is built together with its
//! language's helper from `sdk/` (`camel_wasm.py`, `camel_wasm.js`).
//!
//! `EXAMPLE_*` are the plugins of `examples/python-plugin` and
//! `examples/js-plugin`, built here so that the tests prove their build
//! commands and behaviour.
//!
//! Every constant holds the absolute path of a `.wasm` file in
//! [`PLUGINS_DIR`]. If a tool is missing (or has another version), the
//! build prints a warning and the constants hold the error message instead,
//! naming the tool and its install command, so only the tests that load
//! these guests fail; with `CI` set, the build fails instead.
//!
//! The Rust guests of the same behaviours are in `tests/guests/conformance`
//! and `tests/guests/conformance_bean` (`camel-wasm-test-artifacts`).

include!(concat!(env!("OUT_DIR"), "/gen.rs"));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_guest_is_a_component() {
        for path in [
            PYTHON_CONFORMANCE,
            PYTHON_CONFORMANCE_BEAN,
            PYTHON_IDENTITY,
            JS_CONFORMANCE,
            JS_CONFORMANCE_BEAN,
            JS_IDENTITY,
            EXAMPLE_PYTHON_SHOUT,
            EXAMPLE_JS_SHOUT,
        ] {
            let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(bytes.starts_with(b"\0asm\x0d\x00\x01\x00"), "{path}");
            assert!(
                std::path::Path::new(path).starts_with(PLUGINS_DIR),
                "{path} is not in {PLUGINS_DIR}"
            );
        }
    }
}
