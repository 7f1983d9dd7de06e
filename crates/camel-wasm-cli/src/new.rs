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
    /// Python (not supported yet).
    Python,
    /// JavaScript (not supported yet).
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

/// Creates the project; prints what to do next.
pub(crate) fn new(args: NewArgs) -> Result<ExitCode, Failure> {
    match args.lang {
        Lang::Rust => {}
        Lang::Python | Lang::Js => {
            let lang = if args.lang == Lang::Python {
                "python"
            } else {
                "js"
            };
            return Err(Failure::new(format!(
                "--lang {lang} is not supported yet: `camel-wasm new` creates Rust plugins \
                 only (--lang rust). A {lang} plugin can implement the WIT worlds in \
                 wit/camel-wasm.wit with that language's component tooling."
            )));
        }
    }
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
    let sdk = sdk_dependency(args.sdk_path.as_deref(), args.sdk_git.as_deref())?;
    let crate_name = name.replace('-', "_");
    let type_name = type_name(&name);
    let values = [
        ("name", name.as_str()),
        ("crate", crate_name.as_str()),
        ("Type", type_name.as_str()),
        ("sdk", sdk.as_str()),
        ("kind", args.kind.name()),
        ("usage", args.kind.usage()),
    ];
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
    let mut readme_values = values.to_vec();
    readme_values.push(("run", &run));

    let write = |relative: &str, text: String| -> Result<(), Failure> {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Failure::new(format!("creating {}: {e}", parent.display())))?;
        }
        std::fs::write(&path, text)
            .map_err(|e| Failure::new(format!("writing {}: {e}", path.display())))
    };
    write(
        "Cargo.toml",
        templates::render(templates::CARGO_TOML, &values),
    )?;
    write(".cargo/config.toml", templates::CARGO_CONFIG.to_string())?;
    write(".gitignore", templates::GITIGNORE.to_string())?;
    write("src/lib.rs", templates::render(kind.lib, &values))?;
    write("Camel.toml", templates::render(kind.camel_toml, &values))?;
    if let Some(route) = kind.route {
        write(
            &format!("routes/{name}.yaml"),
            templates::render(route, &values),
        )?;
    }
    write("plugins/.gitkeep", String::new())?;
    write(
        "README.md",
        templates::render(templates::README, &readme_values),
    )?;

    println!(
        "Created the {} plugin `{name}` in {}.\n\nNext:\n  cd {}\n  cargo build --release\n  \
         cp target/wasm32-wasip2/release/{crate_name}.wasm plugins/{name}.wasm\n  \
         camel-wasm inspect plugins/{name}.wasm",
        args.kind.name(),
        dir.display(),
        dir.display()
    );
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
