//! The files `camel-wasm new` writes, with `{{placeholders}}`.

/// The files every project has, whatever its language: its Camel.toml and
/// the route file (if the kind can run on its own).
pub(crate) struct KindFiles {
    /// `Camel.toml`.
    pub(crate) camel_toml: &'static str,
    /// `routes/<name>.yaml`, for kinds that run without more setup.
    pub(crate) route: Option<&'static str>,
}

/// A processor: a `wasm:` step behind a timer.
pub(crate) const PROCESSOR: KindFiles = KindFiles {
    camel_toml: include_str!("templates/camel-processor.toml"),
    route: Some(include_str!("templates/routes-processor.yaml")),
};
/// A bean: `bean` steps behind a timer.
pub(crate) const BEAN: KindFiles = KindFiles {
    camel_toml: include_str!("templates/camel-bean.toml"),
    route: Some(include_str!("templates/routes-bean.yaml")),
};
/// A source: a timer of its own.
pub(crate) const SOURCE: KindFiles = KindFiles {
    camel_toml: include_str!("templates/camel-source.toml"),
    route: Some(include_str!("templates/routes-source.yaml")),
};
/// A policy: needs routes with authenticated callers, so no route.
pub(crate) const POLICY: KindFiles = KindFiles {
    camel_toml: include_str!("templates/camel-policy.toml"),
    route: None,
};

/// The WIT contract, copied into Python and JavaScript projects (their
/// tools generate the bindings from it).
pub(crate) const WIT: &str = include_str!("../../../wit/camel-wasm.wit");

/// The plugin's source in one language, per kind: processor, bean, source,
/// policy.
pub(crate) type Sources = [&'static str; 4];

/// Rust: a crate with the camel-wasm SDK.
pub(crate) mod rust {
    use super::Sources;

    /// The crate's manifest.
    pub(crate) const CARGO_TOML: &str = include_str!("templates/rust/Cargo.toml.tmpl");
    /// `.cargo/config.toml`: builds for `wasm32-wasip2` by default.
    pub(crate) const CARGO_CONFIG: &str = include_str!("templates/rust/cargo-config.toml");
    /// `.gitignore`.
    pub(crate) const GITIGNORE: &str = include_str!("templates/rust/gitignore");
    /// The project's README.
    pub(crate) const README: &str = include_str!("templates/rust/README.md.tmpl");
    /// `src/lib.rs`.
    pub(crate) const SOURCES: Sources = [
        include_str!("templates/rust/processor.rs"),
        include_str!("templates/rust/bean.rs"),
        include_str!("templates/rust/source.rs"),
        include_str!("templates/rust/policy.rs"),
    ];
}

/// Python: componentize-py and the helper module.
pub(crate) mod python {
    use super::Sources;

    /// The componentize-py version the project is made for (the one
    /// camel-wasm's Python plugins are built and tested with).
    pub(crate) const COMPONENTIZE_PY: &str = "0.25.1";
    /// `requirements.txt`: componentize-py, pinned.
    pub(crate) const REQUIREMENTS: &str = include_str!("templates/python/requirements.txt");
    /// `build.sh`: componentize-py with the right world and paths.
    pub(crate) const BUILD_SH: &str = include_str!("templates/python/build.sh");
    /// `.gitignore`.
    pub(crate) const GITIGNORE: &str = include_str!("templates/python/gitignore");
    /// The project's README.
    pub(crate) const README: &str = include_str!("templates/python/README.md.tmpl");
    /// `camel_wasm.py`, the helper module (copied as it is).
    pub(crate) const HELPER: &str = include_str!("../../../sdk/python/camel_wasm.py");
    /// `app.py`.
    pub(crate) const SOURCES: Sources = [
        include_str!("templates/python/processor.py"),
        include_str!("templates/python/bean.py"),
        include_str!("templates/python/source.py"),
        include_str!("templates/python/policy.py"),
    ];
}

/// JavaScript: componentize-js and the helper module.
pub(crate) mod js {
    use super::Sources;

    /// The componentize-js version the project is made for.
    pub(crate) const COMPONENTIZE_JS: &str = "0.23.0";
    /// The preview2-shim version componentize-js needs next to it (it
    /// imports the package without declaring it).
    pub(crate) const PREVIEW2_SHIM: &str = "0.25.0";
    /// `package.json`: the pinned tools and `npm run build`.
    pub(crate) const PACKAGE_JSON: &str = include_str!("templates/js/package.json.tmpl");
    /// `.gitignore`.
    pub(crate) const GITIGNORE: &str = include_str!("templates/js/gitignore");
    /// The project's README.
    pub(crate) const README: &str = include_str!("templates/js/README.md.tmpl");
    /// `camel_wasm.js`, the helper module (copied as it is).
    pub(crate) const HELPER: &str = include_str!("../../../sdk/js/camel_wasm.js");
    /// `<name>.js`.
    pub(crate) const SOURCES: Sources = [
        include_str!("templates/js/processor.js"),
        include_str!("templates/js/bean.js"),
        include_str!("templates/js/source.js"),
        include_str!("templates/js/policy.js"),
    ];
}

/// `template` with each `{{key}}` replaced by its value.
pub(crate) fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (key, value) in values {
        out = out.replace(&format!("{{{{{key}}}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_placeholder() {
        assert_eq!(
            render("a {{x}} {{y}} {{x}}", &[("x", "1"), ("y", "2")]),
            "a 1 2 1"
        );
    }

    /// The pins match the versions this repository builds and tests its
    /// Python and JavaScript plugins with.
    #[test]
    fn tool_pins_match_the_repository() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let read = |path: &str| {
            std::fs::read_to_string(format!("{root}/{path}"))
                .unwrap_or_else(|e| panic!("{path}: {e}"))
        };
        let package = read("package.json");
        for (tool, version) in [
            ("componentize-js", js::COMPONENTIZE_JS),
            ("preview2-shim", js::PREVIEW2_SHIM),
        ] {
            let pin = format!("\"@bytecodealliance/{tool}\": \"{version}\"");
            assert!(package.contains(&pin), "package.json lacks {pin}");
        }
        let pin = format!("COMPONENTIZE_PY_VERSION={}", python::COMPONENTIZE_PY);
        assert!(read(".ci/run").contains(&pin), ".ci/run lacks {pin}");
        let pin = format!("COMPONENTIZE_PY: &str = \"{}\"", python::COMPONENTIZE_PY);
        assert!(read("tests/polyglot/build.rs").contains(&pin));
    }
}
