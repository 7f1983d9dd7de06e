//! `camel-wasm new`: a plugin project that builds out of the box.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::failure::Failure;
use crate::templates::{self, KindFiles};

/// Where this binary was built from: the SDK of that checkout, if it is
/// still there, is the default `--sdk-path`.
const CHECKOUT_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../camel-wasm-sdk");

/// Arguments of `camel-wasm new`.
#[derive(Debug, clap::Args)]
pub(crate) struct NewArgs {
    /// The project's directory; its last part is the plugin's name (letters,
    /// digits, `-`, `_`; starting with a letter).
    #[arg(value_name = "NAME")]
    name: PathBuf,

    /// The kind of plugin (its WIT world).
    #[arg(long, value_enum, default_value_t = Kind::Processor)]
    kind: Kind,

    /// The language of the plugin.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    lang: Lang,

    /// The camel-wasm-sdk crate to depend on, by path (a checkout's
    /// `crates/camel-wasm-sdk`). Default: the SDK of the checkout this
    /// binary was built from, if it is still there.
    #[arg(long, value_name = "DIR")]
    sdk_path: Option<PathBuf>,

    /// Depend on the SDK from this git repository instead of a path.
    #[arg(long, value_name = "URL", conflicts_with = "sdk_path")]
    sdk_git: Option<String>,
}

/// The kinds of plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Kind {
    /// A route step, `to: wasm:<name>.wasm` (world `processor`).
    Processor,
    /// Named methods for `bean` steps, from `[beans.<name>]` (world `bean`).
    Bean,
    /// Starts routes: HTTP requests or timer ticks (world `source`).
    Source,
    /// Authorization decisions for routes and permissions (world `policy`).
    Policy,
}

/// The languages of plugins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Lang {
    /// Rust, with the camel-wasm-sdk crate.
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with componentize-js.
    Js,
}

impl Kind {
    fn files(self) -> &'static KindFiles {
        match self {
            Kind::Processor => &templates::PROCESSOR,
            Kind::Bean => &templates::BEAN,
            Kind::Source => &templates::SOURCE,
            Kind::Policy => &templates::POLICY,
        }
    }

    /// The kind's plugin source among a language's four.
    fn source(self, sources: &templates::Sources) -> &'static str {
        match self {
            Kind::Processor => sources[0],
            Kind::Bean => sources[1],
            Kind::Source => sources[2],
            Kind::Policy => sources[3],
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Processor => "processor",
            Kind::Bean => "bean",
            Kind::Source => "source",
            Kind::Policy => "policy",
        }
    }

    fn usage(self) -> &'static str {
        match self {
            Kind::Processor => "a route step, `to: wasm:<name>.wasm`",
            Kind::Bean => "named methods that `bean` steps call, declared in `[beans.<name>]`",
            Kind::Source => "it starts a route, `from: wasm:<name>.wasm?…`",
            Kind::Policy => {
                "it authorizes callers of routes (`security_policy: { wasm: <name> }`) and \
                 permission checks"
            }
        }
    }
}

/// One file of the new project.
enum File {
    /// Rendered: `{{placeholders}}` replaced.
    Template(&'static str),
    /// Written as it is (the WIT, the helper modules).
    Verbatim(&'static str),
}

impl Lang {
    /// The language's own files (Camel.toml, routes and `plugins/` are the
    /// same for all), relative to the project's directory.
    fn files(self, kind: Kind, name: &str) -> Vec<(String, File)> {
        use File::{Template, Verbatim};
        let mut files = match self {
            Lang::Rust => vec![
                ("Cargo.toml".into(), Template(templates::rust::CARGO_TOML)),
                (
                    ".cargo/config.toml".into(),
                    Verbatim(templates::rust::CARGO_CONFIG),
                ),
                (".gitignore".into(), Verbatim(templates::rust::GITIGNORE)),
                (
                    "src/lib.rs".into(),
                    Template(kind.source(&templates::rust::SOURCES)),
                ),
                ("README.md".into(), Template(templates::rust::README)),
            ],
            Lang::Python => vec![
                (
                    "app.py".into(),
                    Template(kind.source(&templates::python::SOURCES)),
                ),
                ("camel_wasm.py".into(), Verbatim(templates::python::HELPER)),
                ("build.sh".into(), Template(templates::python::BUILD_SH)),
                (
                    "requirements.txt".into(),
                    Template(templates::python::REQUIREMENTS),
                ),
                (".gitignore".into(), Verbatim(templates::python::GITIGNORE)),
                ("README.md".into(), Template(templates::python::README)),
            ],
            Lang::Js => vec![
                (
                    format!("{name}.js"),
                    Template(kind.source(&templates::js::SOURCES)),
                ),
                ("camel_wasm.js".into(), Verbatim(templates::js::HELPER)),
                ("package.json".into(), Template(templates::js::PACKAGE_JSON)),
                (".gitignore".into(), Verbatim(templates::js::GITIGNORE)),
                ("README.md".into(), Template(templates::js::README)),
            ],
        };
        if self != Lang::Rust {
            files.push(("wit/camel-wasm.wit".into(), Verbatim(templates::WIT)));
        }
        files
    }

    /// The commands that build the plugin into `plugins/<name>.wasm`, for
    /// the "Next:" lines.
    fn build_steps(self, name: &str, crate_name: &str) -> Vec<String> {
        match self {
            Lang::Rust => vec![
                "cargo build --release".into(),
                format!("cp target/wasm32-wasip2/release/{crate_name}.wasm plugins/{name}.wasm"),
            ],
            Lang::Python => vec![
                "pip install -r requirements.txt   # once: componentize-py".into(),
                "sh build.sh".into(),
            ],
            Lang::Js => vec![
                "npm install                       # once: componentize-js".into(),
                "npm run build".into(),
            ],
        }
    }
}

/// Creates the project; prints what to do next.
pub(crate) fn new(args: NewArgs) -> Result<ExitCode, Failure> {
    let name = plugin_name(&args.name)?;
    let dir = &args.name;
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut entries| entries.next().is_some())
            .unwrap_or(true)
    {
        return Err(Failure::new(format!(
            "{}: already exists and is not empty; choose another name",
            dir.display()
        )));
    }
    if args.lang != Lang::Rust && (args.sdk_path.is_some() || args.sdk_git.is_some()) {
        return Err(Failure::new(
            "--sdk-path and --sdk-git choose the Rust SDK; a Python or JavaScript project \
             carries its helper module itself",
        ));
    }
    let sdk = match args.lang {
        Lang::Rust => sdk_dependency(args.sdk_path.as_deref(), args.sdk_git.as_deref())?,
        Lang::Python | Lang::Js => String::new(),
    };
    let crate_name = name.replace('-', "_");
    let type_name = type_name(&name);
    let npm_name = name.to_ascii_lowercase();
    // Python and JavaScript components carry their interpreter (12-18 MB):
    // a compile cache makes `camel-wasm run` after the first start fast.
    let compile_cache = match args.lang {
        Lang::Rust => "",
        Lang::Python | Lang::Js => {
            "compile-cache = \".camel-wasm-cache\"   # compiled plugins: restarts skip the compile\n"
        }
    };
    let kind = args.kind.files();
    let run = match kind.route {
        Some(_) => format!(
            "```sh\ncamel-wasm run      # Camel.toml + routes/{name}.yaml; Ctrl-C stops\n```\n\n\
             The route sends an exchange every second through the plugin to a `log:` step."
        ),
        None => "Camel.toml declares the policy; add the routes that use it \
                 (`security_policy: { wasm: NAME }`) behind a source that authenticates its \
                 callers, and run them with `camel-wasm run`."
            .replace("NAME", &name),
    };
    let values = [
        ("name", name.as_str()),
        ("crate", crate_name.as_str()),
        ("Type", type_name.as_str()),
        ("npm_name", npm_name.as_str()),
        ("sdk", sdk.as_str()),
        ("kind", args.kind.name()),
        ("usage", args.kind.usage()),
        ("run", run.as_str()),
        ("compile_cache", compile_cache),
        ("componentize_py", templates::python::COMPONENTIZE_PY),
        ("componentize_js", templates::js::COMPONENTIZE_JS),
        ("preview2_shim", templates::js::PREVIEW2_SHIM),
    ];

    let write = |relative: &str, text: &str| -> Result<(), Failure> {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Failure::new(format!("creating {}: {e}", parent.display())))?;
        }
        std::fs::write(&path, text)
            .map_err(|e| Failure::new(format!("writing {}: {e}", path.display())))
    };
    let mut files = args.lang.files(args.kind, &name);
    files.push(("Camel.toml".into(), File::Template(kind.camel_toml)));
    if let Some(route) = kind.route {
        files.push((format!("routes/{name}.yaml"), File::Template(route)));
    }
    files.push(("plugins/.gitkeep".into(), File::Verbatim("")));
    for (relative, file) in files {
        match file {
            File::Template(template) => write(&relative, &templates::render(template, &values))?,
            File::Verbatim(text) => write(&relative, text)?,
        }
    }

    let lang = match args.lang {
        Lang::Rust => "Rust",
        Lang::Python => "Python",
        Lang::Js => "JavaScript",
    };
    println!(
        "Created the {lang} {} plugin `{name}` in {}.\n\nNext:\n  cd {}",
        args.kind.name(),
        dir.display(),
        dir.display()
    );
    for step in args.lang.build_steps(&name, &crate_name) {
        println!("  {step}");
    }
    println!("  camel-wasm inspect plugins/{name}.wasm");
    if kind.route.is_some() {
        println!("  camel-wasm run");
    }
    Ok(ExitCode::SUCCESS)
}

/// The plugin's name: the directory's last part, a valid package name.
fn plugin_name(dir: &Path) -> Result<String, Failure> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Failure::new(format!("{}: not a usable name", dir.display())))?;
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(Failure::new(format!(
            "`{name}`: a plugin name is letters, digits, `-` and `_`, starting with a letter"
        )));
    }
    Ok(name.to_string())
}

/// `OrderEnrich` for `order-enrich`.
fn type_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The SDK dependency, as a TOML inline table.
fn sdk_dependency(path: Option<&Path>, git: Option<&str>) -> Result<String, Failure> {
    if let Some(url) = git {
        return Ok(format!("{{ git = {} }}", toml_string(url)));
    }
    let (dir, given) = match path {
        Some(path) => (path.to_path_buf(), true),
        None => (PathBuf::from(CHECKOUT_SDK), false),
    };
    let is_sdk = std::fs::read_to_string(dir.join("Cargo.toml"))
        .is_ok_and(|manifest| manifest.contains("name = \"camel-wasm-sdk\""));
    if !is_sdk {
        return Err(Failure::new(if given {
            format!(
                "--sdk-path {}: no camel-wasm-sdk crate there (expected a checkout's \
                 crates/camel-wasm-sdk)",
                dir.display()
            )
        } else {
            "the camel-wasm SDK is not on crates.io, and the checkout this binary was built \
             from is gone: pass --sdk-path DIR (a checkout's crates/camel-wasm-sdk) or \
             --sdk-git URL (the repository)"
                .to_string()
        }));
    }
    let dir = dir
        .canonicalize()
        .map_err(|e| Failure::new(format!("{}: {e}", dir.display())))?;
    let text = dir
        .to_str()
        .ok_or_else(|| Failure::new(format!("{}: the path is not UTF-8", dir.display())))?;
    Ok(format!("{{ path = {} }}", toml_string(text)))
}

/// `text` as a TOML string (quoted and escaped).
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(type_name("order-enrich"), "OrderEnrich");
        assert_eq!(type_name("a_b-c"), "ABC");
        assert!(plugin_name(Path::new("x/my-plugin")).is_ok());
        assert!(plugin_name(Path::new("9lives")).is_err());
        assert!(plugin_name(Path::new("a b")).is_err());
    }
}
