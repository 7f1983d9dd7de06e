//! Builds guest plugins (WebAssembly components) from source, for the build
//! scripts of this workspace: `tests/artifacts` (the test guests) and each
//! example (its own `guests/`). Not published.
//!
//! ```no_run
//! // build.rs of a package with guests in `guests/<name>/`
//! let guests = camel_wasm_guest_build::GuestBuild::new().dir("guests").build();
//! guests.write("guests.rs", &guests.consts("pub(crate)"));
//! // src/main.rs: mod guests { include!(concat!(env!("OUT_DIR"), "/guests.rs")); }
//! ```
//!
//! A guest is a subdirectory (of a directory given to [`GuestBuild::dir`])
//! holding a `cdylib` package that is a member of the workspace; a
//! `wasm32-wasip2` `cdylib` is already a component, so no other tool is
//! needed. [`GuestBuild::build`]:
//!
//! - builds all the guests with one nested `cargo build --release --target
//!   wasm32-wasip2 -p …`, into its own target directory, `$OUT_DIR/guests`
//!   (the outer target directory is locked by the build that runs the
//!   script);
//! - keeps flags of the outer build (coverage, sanitizers, …) out of the
//!   nested build; only `-D warnings` is passed on;
//! - prints the rerun triggers: `build.rs`, the guest directories (a guest
//!   added), the SDK's WIT copy, `CI`/`RUSTFLAGS`, and every file in the
//!   guests' dep-info (their sources, the SDK, the macros, the WIT);
//! - if the target is not installed, prints a `cargo:warning` and returns the
//!   error message in place of each path, so only what loads a guest fails;
//!   with `CI` set it panics instead.

use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";
const PROFILE: &str = "release";
/// The guests compile against the SDK's copy of the WIT (kept equal to the
/// root `wit/` by `scripts/sync-wit.sh`), relative to the workspace root.
const SDK_WIT: &str = "crates/camel-wasm-sdk/wit";

/// What to build: directories whose subdirectories are guests.
#[derive(Debug, Default)]
pub struct GuestBuild {
    dirs: Vec<PathBuf>,
}

/// One guest package.
#[derive(Debug, Clone)]
pub struct Guest {
    /// Directory name, e.g. `store_flood`.
    pub dir_name: String,
    /// Directory relative to the workspace root, e.g. `tests/guests/echo`.
    pub rel_dir: String,
    /// Package name, e.g. `guest-store-flood`.
    pub package: String,
}

impl Guest {
    /// The name of the generated constant: the directory name in upper case,
    /// other characters as `_` (`store_flood` → `STORE_FLOOD`).
    pub fn const_name(&self) -> String {
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

    /// The name Cargo gives the library, and so the `.wasm` file: the package
    /// name with `-` as `_`.
    pub fn lib_name(&self) -> String {
        self.package.replace('-', "_")
    }
}

/// The result of [`GuestBuild::build`]: the guests and their `.wasm` paths
/// (or why they could not be built).
#[derive(Debug)]
pub struct Guests {
    guests: Vec<Guest>,
    paths: Result<Vec<PathBuf>, String>,
}

impl GuestBuild {
    /// Nothing to build yet; add directories with [`GuestBuild::dir`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a directory whose subdirectories with a `Cargo.toml` are guests,
    /// relative to the manifest directory of the package whose build script
    /// runs (e.g. `"guests"`, `"../guests"`). Guests are listed directory by
    /// directory, each sorted by name.
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dirs.push(dir.as_ref().to_path_buf());
        self
    }

    /// Discovers and builds the guests, and prints the rerun triggers.
    ///
    /// # Panics
    ///
    /// When not run from a build script, when a guest directory is missing or
    /// has no package name, when two guests would get the same constant name,
    /// when the nested build fails, and when the target is missing and `CI`
    /// is set.
    pub fn build(self) -> Guests {
        let manifest_dir = PathBuf::from(env_var("CARGO_MANIFEST_DIR"));
        let out_dir = PathBuf::from(env_var("OUT_DIR"));
        let workspace = workspace_root(&manifest_dir);

        let dirs: Vec<PathBuf> = self
            .dirs
            .iter()
            .map(|dir| {
                let dir = manifest_dir.join(dir);
                dir.canonicalize()
                    .unwrap_or_else(|error| panic!("guest directory {}: {error}", dir.display()))
            })
            .collect();

        println!("cargo:rerun-if-changed=build.rs");
        for dir in &dirs {
            println!("cargo:rerun-if-changed={}", dir.display());
        }
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(SDK_WIT).display()
        );
        for var in ["CI", "RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS"] {
            println!("cargo:rerun-if-env-changed={var}");
        }

        let guests = discover(&workspace, &dirs);
        let paths = match check_target() {
            Ok(()) if guests.is_empty() => Ok(Vec::new()),
            Ok(()) => Ok(build(&workspace, &out_dir, &guests)),
            Err(message) if is_ci() => panic!("{message}"),
            Err(message) => {
                println!("cargo:warning={message}");
                Err(message)
            }
        };
        Guests { guests, paths }
    }
}

impl Guests {
    /// The guests, in build order.
    pub fn guests(&self) -> &[Guest] {
        &self.guests
    }

    /// Whether the guests were built (the target is installed).
    pub fn built(&self) -> bool {
        self.paths.is_ok()
    }

    /// The absolute path of `guest`'s `.wasm` file, or the reason the guests
    /// were not built.
    pub fn value(&self, index: usize) -> String {
        match &self.paths {
            Ok(paths) => paths[index].display().to_string(),
            Err(message) => message.clone(),
        }
    }

    /// Rust source: one documented `<vis> const <NAME>: &str` per guest,
    /// holding its path (see [`Guests::value`]).
    pub fn consts(&self, vis: &str) -> String {
        let mut out = String::new();
        for (index, guest) in self.guests.iter().enumerate() {
            writeln!(
                out,
                "/// The `{package}` component, built from `{dir}`.\n\
                 {vis} const {name}: &str = {value:?};\n",
                package = guest.package,
                dir = guest.rel_dir,
                name = guest.const_name(),
                value = self.value(index),
            )
            .unwrap();
        }
        out
    }

    /// Rust source: `<vis> const ALL: &[(&str, &str)]`, every guest as
    /// `(directory name, path)`, documented with `doc` (one line per `///`).
    pub fn all(&self, vis: &str, doc: &str) -> String {
        let mut out = String::new();
        for line in doc.lines() {
            writeln!(out, "/// {line}").unwrap();
        }
        writeln!(out, "{vis} const ALL: &[(&str, &str)] = &[").unwrap();
        for guest in &self.guests {
            writeln!(out, "    ({:?}, {}),", guest.dir_name, guest.const_name()).unwrap();
        }
        out.push_str("];\n");
        out
    }

    /// Rust source: an exported `macro_rules! <name>` that invokes
    /// `$mac!(dir_name)` once per guest, with the directory name as an
    /// identifier (e.g. `$mac!(store_flood)`).
    pub fn foreach_macro(&self, name: &str) -> String {
        let mut out = format!(
            "/// Invokes `$mac!(name)` once per guest, with the directory name as an\n\
             /// identifier (e.g. `$mac!(store_flood)`); use it to require a test per guest.\n\
             #[macro_export]\n\
             macro_rules! {name} {{\n    ($mac:ident) => {{\n"
        );
        for guest in &self.guests {
            writeln!(out, "        $mac!({});", guest.dir_name).unwrap();
        }
        out.push_str("    };\n}\n");
        out
    }

    /// Writes `$OUT_DIR/<file_name>`: a "generated" header, then `source`.
    ///
    /// # Panics
    ///
    /// When `OUT_DIR` is not set or the file cannot be written.
    pub fn write(&self, file_name: &str, source: &str) {
        let package = env::var("CARGO_PKG_NAME").unwrap_or_default();
        let path = PathBuf::from(env_var("OUT_DIR")).join(file_name);
        let text = format!(
            "// Generated by the build script of `{package}` (camel-wasm-guest-build). Do not edit.\n\n\
             {source}"
        );
        fs::write(&path, text)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
    }
}

fn env_var(name: &str) -> String {
    env::var(name).unwrap_or_else(|_| panic!("`{name}` is not set: run me from a build script"))
}

/// The nearest ancestor of `dir` (or `dir` itself) whose `Cargo.toml` has a
/// `[workspace]` table.
fn workspace_root(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|dir| {
            fs::read_to_string(dir.join("Cargo.toml"))
                .is_ok_and(|text| text.lines().any(|line| line.trim() == "[workspace]"))
        })
        .unwrap_or_else(|| panic!("no workspace Cargo.toml above {}", dir.display()))
        .canonicalize()
        .unwrap()
}

/// Finds the guest packages: every subdirectory of `dirs` that has a
/// `Cargo.toml`.
fn discover(workspace: &Path, dirs: &[PathBuf]) -> Vec<Guest> {
    let mut guests = Vec::new();
    for root in dirs {
        let entries = fs::read_dir(root)
            .unwrap_or_else(|error| panic!("cannot list {}: {error}", root.display()));
        let mut found: Vec<Guest> = entries
            .map(|entry| entry.unwrap().path())
            .filter(|dir| dir.join("Cargo.toml").is_file())
            .map(|dir| {
                let manifest = dir.join("Cargo.toml");
                let text = fs::read_to_string(&manifest).unwrap();
                let package = package_name(&text)
                    .unwrap_or_else(|| panic!("no package name in {}", manifest.display()));
                let rel_dir = dir.strip_prefix(workspace).unwrap_or(&dir);
                Guest {
                    rel_dir: rel_dir.display().to_string(),
                    dir_name: dir.file_name().unwrap().to_str().unwrap().to_owned(),
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
        "the `{TARGET}` target is needed to build the guest plugins; \
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

/// Builds the guests with one nested `cargo build`; returns each guest's
/// `.wasm` path (same order as `guests`) and prints the dep-info triggers.
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
    let mut deps = BTreeSet::new();
    let paths = guests
        .iter()
        .map(|guest| {
            let wasm = release_dir.join(format!("{}.wasm", guest.lib_name()));
            assert!(
                wasm.is_file(),
                "{} was not produced (is `{}` a `crate-type = [\"cdylib\"]` package?)",
                wasm.display(),
                guest.package
            );
            deps.extend(read_dep_info(
                &release_dir.join(format!("{}.d", guest.lib_name())),
            ));
            wasm
        })
        .collect();
    for dep in deps {
        println!("cargo:rerun-if-changed={}", dep.display());
    }
    paths
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let guest = Guest {
            dir_name: "store_flood".into(),
            rel_dir: "tests/guests/store_flood".into(),
            package: "guest-store-flood".into(),
        };
        assert_eq!(guest.const_name(), "STORE_FLOOD");
        assert_eq!(guest.lib_name(), "guest_store_flood");
    }

    #[test]
    fn reads_package_name() {
        let manifest = "[package]\nname = \"order-enrich\"\n\n[dependencies]\nname = \"x\"\n";
        assert_eq!(package_name(manifest).as_deref(), Some("order-enrich"));
        assert_eq!(package_name("[lib]\nname = \"x\"\n"), None);
    }

    #[test]
    fn parses_dep_info() {
        let dir = env::temp_dir().join(format!("guest-build-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let file = dir.join("g.d");
        fs::write(
            &file,
            "/t/g.wasm: /w/src/lib.rs /w/my\\ dir/a.rs /w/src/lib.rs\n\n/w/src/lib.rs:\n",
        )
        .unwrap();
        assert_eq!(
            read_dep_info(&file),
            [
                PathBuf::from("/w/my dir/a.rs"),
                PathBuf::from("/w/src/lib.rs")
            ]
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn generates_consts_all_and_macro() {
        let guests = Guests {
            guests: vec![Guest {
                dir_name: "echo".into(),
                rel_dir: "tests/guests/echo".into(),
                package: "guest-echo".into(),
            }],
            paths: Ok(vec![PathBuf::from("/out/guest_echo.wasm")]),
        };
        assert!(
            guests
                .consts("pub")
                .contains("pub const ECHO: &str = \"/out/guest_echo.wasm\";")
        );
        assert!(guests.all("pub", "All.").contains("(\"echo\", ECHO),"));
        assert!(guests.foreach_macro("each").contains("$mac!(echo);"));

        let missing = Guests {
            guests: guests.guests.clone(),
            paths: Err("install the target".into()),
        };
        assert!(!missing.built());
        assert!(
            missing
                .consts("pub(crate)")
                .contains("pub(crate) const ECHO: &str = \"install the target\";")
        );
    }
}
