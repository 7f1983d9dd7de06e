//! Paths of the test guests, compiled to WebAssembly components by this
//! crate's build script.
//!
//! The build script builds every package under `tests/guests/*` for
//! `wasm32-wasip2` (release profile) with one nested `cargo build` into
//! `$OUT_DIR/guests` (through the workspace's `camel-wasm-guest-build`), and
//! generates:
//!
//! - one constant per guest, named after its directory in upper case, holding
//!   the absolute path of its `.wasm` file: [`ECHO`] is `tests/guests/echo`,
//!   [`STORE_FLOOD`] is `tests/guests/store_flood`, …;
//! - [`ALL`]: every guest as `(directory name, path)`;
//! - [`foreach_guest!`]: `$mac!(name)` for every guest, to require one test
//!   per guest.
//!
//! The examples' guests are not here: each example builds its own, so
//! `cargo run -p quickstart` builds only the quick start's plugins.
//!
//! If the `wasm32-wasip2` target is not installed, the build prints a warning
//! and each constant holds the error message instead of a path, so only the
//! tests that load a guest fail (with `CI` set, the build fails instead).
//!
//! ```
//! let bytes = std::fs::read(camel_wasm_test_artifacts::ECHO).unwrap();
//! assert!(bytes.starts_with(b"\0asm"));
//! ```
//!
//! Add a guest by creating `tests/guests/<name>/` (a `cdylib` package named
//! `guest-<name>` that depends on `camel-wasm-sdk`); it is picked up
//! automatically.

include!(concat!(env!("OUT_DIR"), "/gen.rs"));

/// The first 8 bytes of a WebAssembly component: the magic `\0asm`, then
/// version `0x0d` and layer `1` (a core module has version 1, layer 0).
pub const COMPONENT_HEADER: [u8; 8] = *b"\0asm\x0d\x00\x01\x00";

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn every_artifact_is_a_component() {
        for (name, path) in ALL {
            let mut file = std::fs::File::open(path)
                .unwrap_or_else(|error| panic!("guest `{name}`: cannot open {path}: {error}"));
            let mut header = [0u8; 8];
            file.read_exact(&mut header)
                .unwrap_or_else(|error| panic!("guest `{name}`: cannot read {path}: {error}"));
            assert_eq!(
                header, COMPONENT_HEADER,
                "guest `{name}` ({path}) is not a component"
            );
        }
    }

    #[test]
    fn lists_every_guest() {
        let names: Vec<&str> = ALL.iter().map(|(name, _)| *name).collect();
        for expected in [
            "echo",
            "uppercase",
            "reverse",
            "properties",
            "counter",
            "caller",
            "store_flood",
            "init_counter",
            "init_fails",
            "failing",
            "panicking",
            "spin",
            "memory_hog",
            "stack_overflow",
            "unreachable",
            "divide_by_zero",
            "async_echo",
            "big_output",
            "sandbox_probe",
            "bean_greeter",
            "bean_init_fails",
            "policy_roles",
            "policy_hostile",
            "source_webhook",
            "source_timer",
            "state_ops",
        ] {
            assert!(names.contains(&expected), "missing guest `{expected}`");
        }
        // Exactly the packages under tests/guests, in order.
        let guests_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../guests");
        let mut on_disk: Vec<String> = std::fs::read_dir(&guests_dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|dir| dir.join("Cargo.toml").is_file())
            .map(|dir| dir.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        assert_eq!(names, on_disk);
        // The examples build their own guests.
        for example_guest in ["greet", "audit", "greetings"] {
            assert!(
                !names.contains(&example_guest),
                "example guest `{example_guest}` in the test artifacts"
            );
        }
        assert_eq!(
            ECHO,
            ALL[names.iter().position(|n| *n == "echo").unwrap()].1
        );
    }

    #[test]
    fn foreach_guest_visits_all() {
        let mut visited = Vec::new();
        macro_rules! visit {
            ($name:ident) => {
                visited.push(stringify!($name));
            };
        }
        foreach_guest!(visit);
        assert_eq!(visited.len(), ALL.len());
    }
}
