//! Finding the route files (the command line's, else the configuration's
//! `routes` globs) and loading each with rust-camel's DSL loader, so every
//! error names its file.

use std::path::{Path, PathBuf};

use camel_core::RouteDefinition;
use camel_dsl::SecurityCompileContext;

use crate::failure::{Failure, chain};

/// The route files to load: `given` (files or glob patterns, relative to
/// the working directory) or, without any, the configuration's `routes`
/// patterns (relative to `root`, the configuration's directory).
///
/// # Errors
///
/// A bad pattern, a given pattern that matches no file, or no files at all.
pub(crate) fn files(
    given: &[String],
    configured: &[String],
    root: &Path,
) -> Result<Vec<PathBuf>, Failure> {
    let from_command_line = !given.is_empty();
    let patterns: Vec<String> = if from_command_line {
        given.to_vec()
    } else {
        configured
            .iter()
            .map(|p| {
                if Path::new(p).is_absolute() {
                    p.clone()
                } else {
                    root.join(p).to_string_lossy().into_owned()
                }
            })
            .collect()
    };
    let mut files = Vec::new();
    for pattern in &patterns {
        let matches = glob::glob(pattern)
            .map_err(|e| Failure::new(format!("route pattern `{pattern}`: {e}")))?;
        let before = files.len();
        for entry in matches {
            let path =
                entry.map_err(|e| Failure::new(format!("route pattern `{pattern}`: {e}")))?;
            if path.is_file() && !files.contains(&path) {
                files.push(path);
            }
        }
        if files.len() == before {
            let origin = if from_command_line {
                "on the command line"
            } else {
                "in the configuration's `routes`"
            };
            return Err(Failure::new(format!(
                "route file `{pattern}` ({origin}): no such file"
            )));
        }
    }
    if files.is_empty() {
        return Err(Failure::new(
            "no routes to run: name route files (`camel-wasm run routes/*.yaml`) or set \
             `routes = [\"routes/*.yaml\"]` in Camel.toml",
        ));
    }
    Ok(files)
}

/// The routes of one file (YAML or JSON), compiled with `security` (the
/// policies a route's `security_policy` may name).
///
/// # Errors
///
/// The loader's error, naming the file.
pub(crate) fn load(
    file: &Path,
    stream_cache_threshold: usize,
    security: SecurityCompileContext,
) -> Result<Vec<RouteDefinition>, Failure> {
    let pattern = glob::Pattern::escape(&file.to_string_lossy());
    camel_dsl::discover_routes_with_threshold_and_security(
        &[pattern],
        stream_cache_threshold,
        security,
    )
    .map_err(|e| {
        let message = chain(&e);
        let shown = file.display().to_string();
        if message.contains(&shown) {
            Failure::new(message)
        } else {
            Failure::new(format!("{shown}: {message}"))
        }
    })
}
