//! Resolving a module path from a URI against the base directory, safely.

use std::path::{Component as PathPart, Path, PathBuf};

use crate::error::{Result, WasmError};

/// Resolves `raw` (a path from a `wasm:` URI or a bean entry) inside `base_dir`.
///
/// The path must be relative and free of `..`; its canonical form (after
/// following symlinks) must stay inside the canonical base directory.
pub(crate) fn resolve(base_dir: &Path, raw: &str) -> Result<PathBuf> {
    let refuse = |reason: &str| WasmError::PathNotAllowed {
        path: raw.to_string(),
        reason: reason.to_string(),
    };
    if raw.trim().is_empty() {
        return Err(refuse("the path is empty"));
    }
    if raw.contains('\0') {
        return Err(refuse("the path contains a NUL byte"));
    }
    let relative = Path::new(raw);
    for part in relative.components() {
        match part {
            PathPart::Normal(_) | PathPart::CurDir => {}
            PathPart::ParentDir => return Err(refuse("`..` is not allowed")),
            PathPart::RootDir | PathPart::Prefix(_) => {
                return Err(refuse("the path must be relative to the base directory"));
            }
        }
    }
    let base = base_dir
        .canonicalize()
        .map_err(|e| WasmError::PathNotAllowed {
            path: raw.to_string(),
            reason: format!("base directory {} is not usable: {e}", base_dir.display()),
        })?;
    let joined = base.join(relative);
    let canonical = joined
        .canonicalize()
        .map_err(|source| WasmError::ModuleNotFound {
            path: joined.clone(),
            source,
        })?;
    if !canonical.starts_with(&base) {
        return Err(refuse("it resolves outside the base directory"));
    }
    if !canonical.is_file() {
        return Err(WasmError::ModuleNotFound {
            path: joined,
            source: std::io::Error::other("not a regular file"),
        });
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_file_inside_the_base() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a.wasm"), b"x").unwrap();
        let path = resolve(dir.path(), "sub/a.wasm").unwrap();
        assert_eq!(path, dir.path().canonicalize().unwrap().join("sub/a.wasm"));
        assert_eq!(resolve(dir.path(), "./sub/a.wasm").unwrap(), path);
    }

    #[test]
    fn refuses_absolute_parent_and_empty_paths() {
        let dir = tempfile::tempdir().unwrap();
        for raw in ["/etc/passwd", "../a.wasm", "sub/../../a.wasm", "", "  "] {
            assert!(
                matches!(
                    resolve(dir.path(), raw),
                    Err(WasmError::PathNotAllowed { .. })
                ),
                "{raw:?} should be refused"
            );
        }
    }

    #[test]
    fn refuses_a_symlink_escaping_the_base() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("evil.wasm"), b"x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("evil.wasm"), dir.path().join("l.wasm"))
            .unwrap();
        let err = resolve(dir.path(), "l.wasm").unwrap_err();
        assert!(
            err.to_string().contains("outside the base directory"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve(dir.path(), "nope.wasm").unwrap_err();
        assert!(matches!(err, WasmError::ModuleNotFound { .. }));
        assert!(err.to_string().contains("nope.wasm"), "{err}");
    }
}
