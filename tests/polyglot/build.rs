//! Builds the Python and JavaScript test guests from source and writes
//! `$OUT_DIR/gen.rs` with their paths.
//!
//! - Python: `componentize-py` (PyPI, pinned below), found on `PATH` or at
//!   `$COMPONENTIZE_PY`.
//! - JavaScript: `componentize-js` (npm, pinned in the workspace's
//!   `package.json`/`package-lock.json`), run with `node` from the
//!   workspace's `node_modules` (`npm ci` at the workspace root).
//!
//! A Python guest's sources (the app and `sdk/python/camel_wasm.py`) are
//! staged into `$OUT_DIR/src/<guest>/` first, so that componentize-py
//! writes nothing (`__pycache__`) into the repository; JavaScript guests are
//! built in place (they import `sdk/js/camel_wasm.js` by relative path).
//!
//! When a tool is missing or has another version, the build prints a
//! `cargo:warning` and each constant holds the error message (naming the
//! tool and the install command) instead of a path, so only the tests that
//! load these guests fail; with `CI` set the build fails instead.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;

/// The componentize-py version the guests are built and tested with (the
/// one `.ci/run` installs).
const COMPONENTIZE_PY: &str = "0.25.1";
/// The componentize-js version, pinned in the workspace's package.json.
const COMPONENTIZE_JS: &str = "0.23.0";

#[derive(Clone, Copy, PartialEq)]
enum Lang {
    Python,
    Js,
}

/// `(constant-and-file name, language, world, source file)`.
const GUESTS: &[(&str, Lang, &str, &str)] = &[
    (
        "python_conformance",
        Lang::Python,
        "processor",
        "python/conformance.py",
    ),
    (
        "python_conformance_bean",
        Lang::Python,
        "bean",
        "python/conformance_bean.py",
    ),
    (
        "python_identity",
        Lang::Python,
        "processor",
        "python/identity.py",
    ),
    ("js_conformance", Lang::Js, "processor", "js/conformance.js"),
    (
        "js_conformance_bean",
        Lang::Js,
        "bean",
        "js/conformance_bean.js",
    ),
    ("js_identity", Lang::Js, "processor", "js/identity.js"),
    // The examples' plugins, so that CI proves their build commands.
    (
        "example_python_shout",
        Lang::Python,
        "processor",
        "../../examples/python-plugin/shout.py",
    ),
    (
        "example_js_shout",
        Lang::Js,
        "processor",
        "../../examples/js-plugin/shout.js",
    ),
];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let workspace = manifest.join("../..").canonicalize().unwrap();
    let wit = workspace.join("wit");

    for path in [
        manifest.join("build.rs"),
        manifest.join("python"),
        manifest.join("js"),
        workspace.join("sdk/python"),
        workspace.join("sdk/js"),
        workspace.join("examples/python-plugin/shout.py"),
        workspace.join("examples/js-plugin/shout.js"),
        wit.join("camel-wasm.wit"),
        workspace.join("package-lock.json"),
        // Installing the JavaScript toolchain (`npm ci`) after a build that
        // found it missing builds again (a missing path always reruns).
        workspace.join("node_modules/@bytecodealliance/componentize-js/package.json"),
    ] {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    // PATH: installing componentize-py or Node.js changes what is found.
    for var in ["CI", "COMPONENTIZE_PY", "NODE", "PATH"] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let python = python_tool();
    let js = js_tool(&workspace);
    let plugins = out.join("plugins");
    fs::create_dir_all(&plugins).unwrap();

    // The two toolchains run side by side (each is mostly one process).
    let results: Vec<(usize, Result<PathBuf, String>)> = thread::scope(|scope| {
        let handles: Vec<_> = [Lang::Python, Lang::Js]
            .into_iter()
            .map(|lang| {
                let (python, js, plugins, out, manifest, workspace, wit) =
                    (&python, &js, &plugins, &out, &manifest, &workspace, &wit);
                scope.spawn(move || {
                    GUESTS
                        .iter()
                        .enumerate()
                        .filter(|(_, guest)| guest.1 == lang)
                        .map(|(index, &(name, lang, world, source))| {
                            let staged = out.join("src").join(name);
                            let target = plugins.join(format!("{name}.wasm"));
                            let result = match lang {
                                Lang::Python => python.clone().and_then(|tool| {
                                    stage(
                                        &staged,
                                        &manifest.join(source),
                                        &workspace.join("sdk/python/camel_wasm.py"),
                                    );
                                    build_python(&tool, wit, world, &staged, source, &target)
                                }),
                                // componentize-js writes nothing next to the
                                // sources: built in place, relative imports
                                // (of `sdk/js/camel_wasm.js`) as written.
                                Lang::Js => js.clone().and_then(|tool| {
                                    build_js(
                                        &tool,
                                        workspace,
                                        world,
                                        &manifest.join(source),
                                        &target,
                                    )
                                }),
                            };
                            (index, result.map(|()| target))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });

    let mut generated = String::new();
    let mut sorted = results;
    sorted.sort_by_key(|(index, _)| *index);
    for (index, result) in &sorted {
        let (name, lang, world, source) = GUESTS[*index];
        let value = match result {
            Ok(path) => path.display().to_string(),
            Err(message) if is_ci() => panic!("{message}"),
            Err(message) => {
                // One line per warning: cargo shows only the first.
                for line in message.lines() {
                    println!("cargo:warning={line}");
                }
                message.clone()
            }
        };
        let tool = match lang {
            Lang::Python => "componentize-py",
            Lang::Js => "componentize-js",
        };
        writeln!(
            generated,
            "/// The `{world}` guest built by {tool} from `tests/polyglot/{source}`.\n\
             pub const {}: &str = {value:?};\n",
            name.to_uppercase()
        )
        .unwrap();
    }
    writeln!(
        generated,
        "/// The directory every guest of this crate is built into.\n\
         pub const PLUGINS_DIR: &str = {:?};",
        plugins.display().to_string()
    )
    .unwrap();
    fs::write(out.join("gen.rs"), generated).unwrap();
}

/// Copies the app and the language helper into a fresh `dir`.
fn stage(dir: &Path, app: &Path, helper: &Path) {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).unwrap();
    for file in [app, helper] {
        fs::copy(file, dir.join(file.file_name().unwrap()))
            .unwrap_or_else(|e| panic!("cannot copy {}: {e}", file.display()));
    }
}

/// `componentize-py`, checked to be the pinned version.
fn python_tool() -> Result<PathBuf, String> {
    let tool = env::var_os("COMPONENTIZE_PY")
        .map(PathBuf::from)
        .unwrap_or_else(|| "componentize-py".into());
    let hint = format!(
        "componentize-py {COMPONENTIZE_PY} is needed to build the Python test guests; \
         install it with `pip install componentize-py=={COMPONENTIZE_PY}` (as `.ci/run` does)"
    );
    let output = Command::new(&tool)
        .arg("--version")
        .output()
        .map_err(|e| format!("{hint} (cannot run `{}`: {e})", tool.display()))?;
    let version = String::from_utf8_lossy(&output.stdout);
    if version.split_whitespace().nth(1) != Some(COMPONENTIZE_PY) {
        return Err(format!("{hint} (found `{}`)", version.trim()));
    }
    Ok(tool)
}

/// `node` and the workspace's `componentize-js` CLI, checked to be the
/// pinned version.
fn js_tool(workspace: &Path) -> Result<(PathBuf, PathBuf), String> {
    let hint = format!(
        "componentize-js {COMPONENTIZE_JS} (npm) and Node.js are needed to build the \
         JavaScript test guests; install them with `npm ci` in {} (as `.ci/run` does)",
        workspace.display()
    );
    let node = env::var_os("NODE")
        .map(PathBuf::from)
        .unwrap_or_else(|| "node".into());
    Command::new(&node)
        .arg("--version")
        .output()
        .map_err(|e| format!("{hint} (cannot run `{}`: {e})", node.display()))?;
    let package = workspace.join("node_modules/@bytecodealliance/componentize-js");
    let manifest = fs::read_to_string(package.join("package.json"))
        .map_err(|e| format!("{hint} (no {}: {e})", package.display()))?;
    if !manifest.contains(&format!("\"version\": \"{COMPONENTIZE_JS}\"")) {
        return Err(format!(
            "{hint} (another version is in {})",
            package.display()
        ));
    }
    Ok((node, package.join("src/cli.js")))
}

fn build_python(
    tool: &Path,
    wit: &Path,
    world: &str,
    staged: &Path,
    source: &str,
    target: &Path,
) -> Result<(), String> {
    let module = Path::new(source).file_stem().unwrap().to_str().unwrap();
    let mut cmd = Command::new(tool);
    cmd.arg("-d")
        .arg(wit)
        .args(["-w", world, "componentize", module, "-p"])
        .arg(staged)
        .arg("-o")
        .arg(target)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    run(cmd, target)
}

fn build_js(
    (node, cli): &(PathBuf, PathBuf),
    workspace: &Path,
    world: &str,
    app: &Path,
    target: &Path,
) -> Result<(), String> {
    let mut cmd = Command::new(node);
    // componentize-js resolves relative imports only below its working
    // directory: run it from the workspace root, as the README says.
    cmd.current_dir(workspace);
    // No `wasi:http` (the host does not link it) and no fetch event.
    cmd.arg(cli)
        .arg(app)
        .arg("--wit")
        .arg(workspace.join("wit"))
        .args(["-n", world, "-d", "http", "fetch-event", "-o"])
        .arg(target);
    run(cmd, target)
}

/// Runs a build command; a missing output counts as a failure (some tools
/// exit 0 on bad arguments).
fn run(mut cmd: Command, target: &Path) -> Result<(), String> {
    let _ = fs::remove_file(target);
    eprintln!("running: {cmd:?}");
    let output = cmd
        .output()
        .map_err(|e| format!("failed to run {cmd:?}: {e}"))?;
    if !output.status.success() || !target.is_file() {
        return Err(format!(
            "building {} failed ({}): {cmd:?}\n{}{}",
            target.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

fn is_ci() -> bool {
    env::var("CI").is_ok_and(|value| !value.is_empty() && value != "0" && value != "false")
}
