//! Loading `Camel.toml` with rust-camel's own loader (profiles, includes,
//! `${env:…}`, `CAMEL_*` overrides), with errors that name the file and,
//! where the loader's message allows, the key in that file.

use std::path::{Path, PathBuf};

use camel_config::CamelConfig;

use crate::failure::{Failure, chain};

/// A loaded configuration and where it came from.
#[derive(Debug)]
pub(crate) struct ConfigFile {
    /// The configuration (profile applied).
    pub(crate) config: CamelConfig,
    /// The file as the user named it, for messages; `None` without one.
    pub(crate) path: Option<PathBuf>,
    /// The directory relative paths in the configuration resolve against.
    pub(crate) root: PathBuf,
    /// The file's TOML, to find keys named in errors.
    document: toml::Table,
}

impl ConfigFile {
    /// Loads `path` with `profile` (or `$CAMEL_PROFILE`).
    pub(crate) fn load(path: &Path, profile: Option<&str>) -> Result<Self, Failure> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::new(format!("{shown}: cannot be read: {e}")))?;
        // camel-config reports TOML syntax errors without a position; toml's
        // own parser gives line, column and the offending line.
        let document: toml::Table = toml::from_str(&text).map_err(|e| {
            Failure::new(format!(
                "{shown}: not valid TOML: {}",
                e.to_string().trim_end()
            ))
        })?;
        let utf8 = path
            .to_str()
            .ok_or_else(|| Failure::new(format!("{shown}: the path is not UTF-8")))?;
        let config = CamelConfig::from_file_with_profile_and_env(utf8, profile).map_err(|e| {
            // One line: camel-config puts the path on a line of its own.
            let message = chain(&e).trim_end().replace('\n', " ");
            match key_in_message(&document, &message, &[]) {
                Some(key) => Failure::new(format!("{shown}: key `{key}`: {message}")),
                None => Failure::new(format!("{shown}: {message}")),
            }
        })?;
        let root = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(ConfigFile {
            config,
            path: Some(path.to_path_buf()),
            root,
            document,
        })
    }

    /// The configuration of a run without a Camel.toml: rust-camel's
    /// defaults, plugins in `./plugins`.
    pub(crate) fn defaults() -> Result<Self, Failure> {
        let lookup = |name: &str| std::env::var(name).ok();
        let config =
            CamelConfig::from_toml_value_with_env(toml::Value::Table(toml::Table::new()), &lookup)
                .map_err(|e| Failure::new(format!("the default configuration: {}", chain(&e))))?;
        Ok(ConfigFile {
            config,
            path: None,
            root: PathBuf::from("."),
            document: toml::Table::new(),
        })
    }

    /// A failure about the configuration, `FILE: key KEY: REASON`,
    /// the key found from `within` (a table path such as
    /// `["beans", "greeter"]`, looked up under any profile) and the first
    /// name the reason quotes that is a key there.
    pub(crate) fn failure(&self, within: &[&str], reason: &str) -> Failure {
        let file = match &self.path {
            Some(path) => path.display().to_string(),
            None => "(no configuration file)".to_string(),
        };
        let key = key_in_message(&self.document, reason, within)
            .or_else(|| table_path(&self.document, within));
        match key {
            Some(key) => Failure::new(format!("{file}: key `{key}`: {reason}")),
            None if within.is_empty() => Failure::new(format!("{file}: {reason}")),
            None => Failure::new(format!("{file}: [{}]: {reason}", within.join("."))),
        }
    }
}

/// The dotted path of the first key quoted in `message` (`` `name` ``)
/// that exists in `document` under `within`, if any. A path the message
/// quotes whole (`for key `a.b.c``) is taken when it exists.
fn key_in_message(document: &toml::Table, message: &str, within: &[&str]) -> Option<String> {
    // `name`, or `name=value` as option errors quote them.
    let quoted: Vec<&str> = message
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|q| q.split_once('=').map_or(q, |(name, _)| name))
        .filter(|q| !q.is_empty())
        .collect();
    for name in &quoted {
        let parts: Vec<&str> = name.split('.').collect();
        if parts.len() > 1 && lookup(document, &parts).is_some() {
            return Some((*name).to_string());
        }
    }
    for name in &quoted {
        let mut found = Vec::new();
        find_key(document, name, &mut Vec::new(), &mut found);
        if let Some(path) = found.into_iter().find(|path| under(path, within)) {
            return Some(path.join("."));
        }
    }
    None
}

/// The table `within`, at the top level or under a profile.
fn table_path(document: &toml::Table, within: &[&str]) -> Option<String> {
    if within.is_empty() {
        return None;
    }
    if lookup(document, within).is_some() {
        return Some(within.join("."));
    }
    document.iter().find_map(|(profile, value)| {
        let table = value.as_table()?;
        lookup(table, within).map(|_| format!("{profile}.{}", within.join(".")))
    })
}

fn lookup<'a>(table: &'a toml::Table, path: &[&str]) -> Option<&'a toml::Value> {
    let (first, rest) = path.split_first()?;
    let value = table.get(*first)?;
    if rest.is_empty() {
        return Some(value);
    }
    lookup(value.as_table()?, rest)
}

/// Every path to a key called `name`.
fn find_key(table: &toml::Table, name: &str, at: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
    for (key, value) in table {
        at.push(key.clone());
        if key == name {
            found.push(at.clone());
        }
        if let Some(inner) = value.as_table() {
            find_key(inner, name, at, found);
        }
        at.pop();
    }
}

/// Whether `path` lies under `within`, directly or under a profile table.
fn under(path: &[String], within: &[&str]) -> bool {
    let starts =
        |path: &[String]| path.len() > within.len() && within.iter().zip(path).all(|(w, p)| w == p);
    starts(path) || path.split_first().is_some_and(|(_, rest)| starts(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn finds_the_quoted_key_under_a_profile() {
        let d = doc("[default.beans.greeter]\nplgin = \"x\"\n");
        assert_eq!(
            key_in_message(&d, "unknown field `plgin`, expected `plugin`", &[]).as_deref(),
            Some("default.beans.greeter.plgin")
        );
        assert_eq!(
            key_in_message(&d, "unknown field `plgin`", &["beans", "greeter"]).as_deref(),
            Some("default.beans.greeter.plgin")
        );
        assert_eq!(
            key_in_message(&d, "unknown field `plgin`", &["beans", "other"]),
            None
        );
        let d = doc("[components.wasm]\ntiemout = 5\n");
        assert_eq!(
            key_in_message(
                &d,
                "invalid wasm parameter `tiemout=5`",
                &["components", "wasm"]
            )
            .as_deref(),
            Some("components.wasm.tiemout")
        );
    }

    #[test]
    fn takes_a_whole_path_and_falls_back_to_the_table() {
        let d = doc("[components.wasm]\ntimeout = 0\n");
        assert_eq!(
            key_in_message(&d, "bad value for key `components.wasm.timeout`", &[]).as_deref(),
            Some("components.wasm.timeout")
        );
        assert_eq!(
            table_path(&d, &["components", "wasm"]).as_deref(),
            Some("components.wasm")
        );
    }
}
