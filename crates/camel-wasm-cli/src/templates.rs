//! The files `camel-wasm new` writes, with `{{placeholders}}`.

/// The plugin crate's manifest.
pub(crate) const CARGO_TOML: &str = include_str!("templates/Cargo.toml.tmpl");
/// `.cargo/config.toml`: builds for `wasm32-wasip2` by default.
pub(crate) const CARGO_CONFIG: &str = include_str!("templates/cargo-config.toml");
/// `.gitignore`.
pub(crate) const GITIGNORE: &str = include_str!("templates/gitignore");
/// The project's README.
pub(crate) const README: &str = include_str!("templates/README.md.tmpl");

/// `src/lib.rs`, Camel.toml and the route file (if the kind can run on its
/// own) of each kind of plugin.
pub(crate) struct KindFiles {
    /// `src/lib.rs`.
    pub(crate) lib: &'static str,
    /// `Camel.toml`.
    pub(crate) camel_toml: &'static str,
    /// `routes/<name>.yaml`, for kinds that run without more setup.
    pub(crate) route: Option<&'static str>,
}

/// A processor: a `wasm:` step behind a timer.
pub(crate) const PROCESSOR: KindFiles = KindFiles {
    lib: include_str!("templates/processor.rs"),
    camel_toml: include_str!("templates/camel-processor.toml"),
    route: Some(include_str!("templates/routes-processor.yaml")),
};
/// A bean: `bean` steps behind a timer.
pub(crate) const BEAN: KindFiles = KindFiles {
    lib: include_str!("templates/bean.rs"),
    camel_toml: include_str!("templates/camel-bean.toml"),
    route: Some(include_str!("templates/routes-bean.yaml")),
};
/// A source: a timer of its own.
pub(crate) const SOURCE: KindFiles = KindFiles {
    lib: include_str!("templates/source.rs"),
    camel_toml: include_str!("templates/camel-source.toml"),
    route: Some(include_str!("templates/routes-source.yaml")),
};
/// A policy: needs routes with authenticated callers, so no route.
pub(crate) const POLICY: KindFiles = KindFiles {
    lib: include_str!("templates/policy.rs"),
    camel_toml: include_str!("templates/camel-policy.toml"),
    route: None,
};

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
}
