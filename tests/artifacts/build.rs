//! Builds every guest (each package under `tests/guests/*` and
//! `examples/quickstart/guests/*`, `examples/beans/guests/*`) for `wasm32-wasip2` with one nested
//! `cargo build`, and writes `$OUT_DIR/gen.rs` with the paths of the
//! resulting components.
//!
//! - The nested build uses its own target directory, `$OUT_DIR/guests`: the
//!   outer target directory is locked by the build that runs this script.
//! - Flags of the outer build (coverage, sanitizers, …) do not leak into the
//!   guests; only `-D warnings` is passed on.
//! - Reruns when a guest, the SDK, the macros or the WIT change (from the
//!   guests' dep-info files), or when a guest is added.
//! - If the target is not installed, the generated constants hold the error
//!   message instead of a path (so only the tests that load guests fail),
//!   unless `CI` is set, in which case the build fails.

use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "release";
/// Directories (relative to the workspace root) whose subdirectories are guests.
const GUEST_ROOTS: &[&str] = &[
    "tests/guests",
    "examples/quickstart/guests",
    "examples/beans/guests",
];

/// One guest package.
struct Guest {
    /// Directory name, e.g. `store_flood`.
    dir_name: String,
    /// Directory relative to the workspace root, e.g. `tests/guests/echo`.
    rel_dir: String,
    /// Package name, e.g. `guest-store-flood`.
    package: String,
}

impl Guest {
    fn const_name(&self) -> String {
        self.dir_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect()
    }

    /// The name Cargo gives the library (and so the `.wasm` file).
    fn lib_name(&self) -> String {
        self.package.replace('-', "_")
    }
}

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir
        .parent()
        .and_then(Path::parent)
        .expect("tests/artifacts lives two levels below the workspace root")
        .to_path_buf();
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());

    println!("cargo:rerun-if-changed=build.rs");
    for root in GUEST_ROOTS {
        println!("cargo:rerun-if-changed={}", workspace.join(root).display());
    }
    // The guests are compiled against the SDK's copy of the WIT (kept equal
    // to the root `wit/` by scripts/sync-wit.sh); their dep-info lists its
    // files too, this also catches a file added to it.
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join("crates/camel-wasm-sdk/wit").display()
    );
    for var in ["CI", "RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS"] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let guests = discover(&workspace);

    let paths = match check_target() {
        Ok(()) => Ok(build(&workspace, &out_dir, &guests)),
        Err(message) if is_ci() => panic!("{message}"),
        Err(message) => {
            println!("cargo:warning={message}");
            Err(message)
        }
    };

    let generated = generate(&guests, paths.as_ref().map_err(String::as_str));
    fs::write(out_dir.join("gen.rs"), generated).unwrap();
}

/// Finds the guest packages: every subdirectory of a `GUEST_ROOTS` entry that
/// has a `Cargo.toml`.
fn discover(workspace: &Path) -> Vec<Guest> {
    let mut guests = Vec::new();
    for root in GUEST_ROOTS {
        let Ok(entries) = fs::read_dir(workspace.join(root)) else {
            continue;
        };
        let mut found: Vec<Guest> = entries
            .map(|entry| entry.unwrap().path())
            .filter(|dir| dir.join("Cargo.toml").is_file())
            .map(|dir| {
                let manifest = dir.join("Cargo.toml");
                let text = fs::read_to_string(&manifest).unwrap();
                let package = package_name(&text)
                    .unwrap_or_else(|| panic!("no package name in {}", manifest.display()));
                let dir_name = dir.file_name().unwrap().to_str().unwrap().to_owned();
                Guest {
                    rel_dir: format!("{root}/{dir_name}"),
                    dir_name,
                    package,
                }
            })
            .collect();
        found.sort_by(|a, b| a.dir_name.cmp(&b.dir_name));
        guests.extend(found);
    }

    let mut seen = BTreeMap::new();
    for guest in &guests {
        if let Some(other) = seen.insert(guest.const_name(), &guest.rel_dir) {
            panic!(
                "guests `{other}` and `{}` would both be named `{}`; rename one directory",
                guest.rel_dir,
                guest.const_name()
            );
        }
    }
    guests
}

/// The `name` of the `[package]` table of a (simple) Cargo manifest.
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() == "name" {
            return Some(value.trim().trim_matches('"').to_owned());
        }
    }
    None
}

fn is_ci() -> bool {
    env::var("CI").is_ok_and(|value| !value.is_empty() && value != "0" && value != "false")
}

/// Checks that the standard library for `TARGET` is installed.
fn check_target() -> Result<(), String> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print=target-libdir", "--target", TARGET])
        .output();
    let hint = format!(
        "the `{TARGET}` target is needed to build the test guests; \
         install it with `rustup target add {TARGET}`"
    );
    match output {
        Ok(output) if output.status.success() => {
            let libdir = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            if Path::new(&libdir).is_dir() {
                Ok(())
            } else {
                Err(format!("{hint} (missing {libdir})"))
            }
        }
        Ok(output) => Err(format!(
            "{hint} (`rustc --print=target-libdir` failed: {})",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(error) => Err(format!("{hint} (cannot run {}: {error})", rustc.display())),
    }
}

/// Whether the outer build denies warnings (`-D warnings` / `-Dwarnings`).
fn outer_denies_warnings() -> bool {
    let encoded = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let flags: Vec<&str> = encoded.split('\x1f').collect();
    flags.contains(&"-Dwarnings")
        || flags.windows(2).any(|pair| pair == ["-D", "warnings"])
        || env::var("RUSTFLAGS")
            .is_ok_and(|flags| flags.contains("-D warnings") || flags.contains("-Dwarnings"))
}

/// Builds all guests with one nested `cargo build`; returns each guest's
/// `.wasm` path (same order as `guests`).
fn build(workspace: &Path, out_dir: &Path, guests: &[Guest]) -> Vec<PathBuf> {
    let target_dir = out_dir.join("guests");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg(format!("--{PROFILE}"))
        .args(["--target", TARGET])
        .arg("--manifest-path")
        .arg(workspace.join("Cargo.toml"));
    for guest in guests {
        cmd.args(["-p", &guest.package]);
    }
    cmd.env("CARGO_TARGET_DIR", &target_dir)
        // Flags meant for the outer build (coverage, sanitizers, target CPU…).
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        // `cargo clippy` sets these for build scripts; the guests are built
        // with plain rustc whatever the outer command is.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .env_remove("CLIPPY_CONF_DIR");
    if outer_denies_warnings() {
        cmd.env("RUSTFLAGS", "-D warnings");
    }

    eprintln!("running: {cmd:?}");
    let status = cmd
        .status()
        .unwrap_or_else(|error| panic!("failed to run {cmd:?}: {error}"));
    assert!(status.success(), "building the guests failed: {cmd:?}");

    let release_dir = target_dir.join(TARGET).join(PROFILE);
    guests
        .iter()
        .map(|guest| {
            let wasm = release_dir.join(format!("{}.wasm", guest.lib_name()));
            assert!(wasm.is_file(), "{} was not produced", wasm.display());
            let dep_info = release_dir.join(format!("{}.d", guest.lib_name()));
            for dep in read_dep_info(&dep_info) {
                println!("cargo:rerun-if-changed={}", dep.display());
            }
            wasm
        })
        .collect()
}

/// The prerequisites listed in a Makefile-style dep-info file written by
/// Cargo (`target: dep dep …`, spaces in paths escaped with `\`).
fn read_dep_info(path: &Path) -> Vec<PathBuf> {
    let Ok(text) = fs::read_to_string(path) else {
        println!(
            "cargo:warning=no dep-info at {}; guest changes may not trigger a rebuild",
            path.display()
        );
        return Vec::new();
    };
    let mut deps = Vec::new();
    for line in text.lines() {
        let Some(prerequisites) = split_rule(line) else {
            continue;
        };
        let mut current = String::new();
        let mut chars = prerequisites.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => current.extend(chars.next()),
                ' ' => {
                    if !current.is_empty() {
                        deps.push(PathBuf::from(std::mem::take(&mut current)));
                    }
                }
                _ => current.push(c),
            }
        }
        if !current.is_empty() {
            deps.push(PathBuf::from(current));
        }
    }
    deps.sort();
    deps.dedup();
    deps
}

/// Splits a dep-info rule at the first unescaped `": "`, returning the
/// prerequisites.
fn split_rule(line: &str) -> Option<&str> {
    let bytes = line.as_bytes();
    (0..bytes.len().saturating_sub(1))
        .find(|&i| bytes[i] == b':' && bytes[i + 1] == b' ' && (i == 0 || bytes[i - 1] != b'\\'))
        .map(|i| &line[i + 2..])
}

/// The contents of `gen.rs`.
fn generate(guests: &[Guest], paths: Result<&Vec<PathBuf>, &str>) -> String {
    let mut out = String::from("// Generated by tests/artifacts/build.rs. Do not edit.\n\n");
    for (index, guest) in guests.iter().enumerate() {
        let value = match paths {
            Ok(paths) => paths[index].display().to_string(),
            Err(message) => message.to_owned(),
        };
        writeln!(
            out,
            "/// The `{package}` component, built from `{dir}`.\n\
             pub const {name}: &str = {value:?};\n",
            package = guest.package,
            dir = guest.rel_dir,
            name = guest.const_name(),
        )
        .unwrap();
    }

    out.push_str(
        "/// Every guest as `(directory name, path)`: the test guests, then the\n\
         /// quick-start guests, each group sorted by name.\n\
         pub const ALL: &[(&str, &str)] = &[\n",
    );
    for guest in guests {
        writeln!(out, "    ({:?}, {}),", guest.dir_name, guest.const_name()).unwrap();
    }
    out.push_str("];\n\n");

    out.push_str(
        "/// Invokes `$mac!(name)` once per guest, with the directory name as an\n\
         /// identifier (e.g. `$mac!(store_flood)`); use it to require a test per guest.\n\
         #[macro_export]\n\
         macro_rules! foreach_guest {\n    ($mac:ident) => {\n",
    );
    for guest in guests {
        writeln!(out, "        $mac!({});", guest.dir_name).unwrap();
    }
    out.push_str("    };\n}\n");
    out
}
