//! Opening a module named by a URI (or a bean entry) inside the base
//! directory, safely: the file is opened once, the open handle is checked
//! (it is a regular file, and the file it refers to lies inside the base
//! directory after symlinks), and at most `max-module-size + 1` bytes are
//! read from that same handle. A symlink swapped after the check, or a file
//! that grows after it, cannot get around either rule.

use std::fs::File;
use std::io::Read as _;
use std::path::{Component as PathPart, Path, PathBuf};

use crate::error::{Result, WasmError};

/// A module file read from the base directory.
#[derive(Debug)]
pub(crate) struct ModuleFile {
    /// Where the file really is (symlinks followed).
    pub(crate) path: PathBuf,
    /// Its contents.
    pub(crate) bytes: Vec<u8>,
}

/// Reads the module `raw` (a relative path) from `base_dir`.
///
/// The path must be relative and free of `..`; the file must be a regular
/// file inside the canonical base directory and at most `max_size` bytes.
pub(crate) fn read(base_dir: &Path, raw: &str, max_size: u64) -> Result<ModuleFile> {
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
    let base = base_dir.canonicalize().map_err(|e| WasmError::Config {
        reason: format!(
            "the plugins directory {} cannot be used ({e}); create it, or point the \
             component's base directory (`plugins_dir`) at the directory that holds the plugins",
            base_dir.display()
        ),
    })?;
    let joined = base.join(relative);
    let not_found = |source: std::io::Error| WasmError::ModuleNotFound {
        path: joined.clone(),
        source,
    };
    let mut file = File::open(&joined).map_err(not_found)?;
    let real = opened_path(&file, &joined).map_err(not_found)?;
    if !real.starts_with(&base) {
        return Err(refuse("it resolves outside the base directory"));
    }
    let metadata = file.metadata().map_err(not_found)?;
    if !metadata.is_file() {
        return Err(not_found(std::io::Error::other("not a regular file")));
    }
    if metadata.len() > max_size {
        return Err(too_large(real, metadata.len(), max_size));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    (&mut file)
        .take(max_size.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(not_found)?;
    if bytes.len() as u64 > max_size {
        return Err(too_large(real, bytes.len() as u64, max_size));
    }
    Ok(ModuleFile { path: real, bytes })
}

fn too_large(path: PathBuf, size: u64, max: u64) -> WasmError {
    WasmError::ModuleTooLarge { path, size, max }
}

/// The path of the file `file` refers to, taken from the open handle.
fn opened_path(file: &File, opened_as: &Path) -> std::io::Result<PathBuf> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd as _;
        if let Ok(path) = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
            return Ok(path);
        }
    }
    // Elsewhere: resolve the name, then make sure it still names the very
    // file that is open.
    let path = opened_as.canonicalize()?;
    if !same_file(file, &path)? {
        return Err(std::io::Error::other(
            "the file changed while it was opened",
        ));
    }
    Ok(path)
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt as _;
    let (open, named) = (file.metadata()?, std::fs::metadata(path)?);
    Ok(open.dev() == named.dev() && open.ino() == named.ino())
}

#[cfg(not(unix))]
fn same_file(file: &File, path: &Path) -> std::io::Result<bool> {
    let (open, named) = (file.metadata()?, std::fs::metadata(path)?);
    Ok(open.len() == named.len() && open.modified()? == named.modified()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_file_inside_the_base() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a.wasm"), b"x").unwrap();
        let module = read(dir.path(), "sub/a.wasm", 10).unwrap();
        assert_eq!(
            module.path,
            dir.path().canonicalize().unwrap().join("sub/a.wasm")
        );
        assert_eq!(module.bytes, b"x");
        assert_eq!(
            read(dir.path(), "./sub/a.wasm", 10).unwrap().path,
            module.path
        );
        // A symlink inside the base is fine; the real file is reported.
        std::os::unix::fs::symlink(dir.path().join("sub/a.wasm"), dir.path().join("l.wasm"))
            .unwrap();
        assert_eq!(read(dir.path(), "l.wasm", 10).unwrap().path, module.path);
    }

    #[test]
    fn reads_at_most_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.wasm"), vec![0u8; 100]).unwrap();
        assert!(read(dir.path(), "a.wasm", 100).is_ok());
        let err = read(dir.path(), "a.wasm", 99).unwrap_err();
        assert!(
            matches!(
                err,
                WasmError::ModuleTooLarge {
                    size: 100,
                    max: 99,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_missing_base_directory_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(&dir.path().join("plugins"), "a.wasm", 10).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, WasmError::Config { .. }), "{msg}");
        assert!(msg.contains("plugins directory"), "{msg}");
    }

    #[test]
    fn refuses_absolute_parent_and_empty_paths() {
        let dir = tempfile::tempdir().unwrap();
        for raw in ["/etc/passwd", "../a.wasm", "sub/../../a.wasm", "", "  "] {
            assert!(
                matches!(
                    read(dir.path(), raw, 10),
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
        let err = read(dir.path(), "l.wasm", 10).unwrap_err();
        assert!(
            err.to_string().contains("outside the base directory"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path(), "nope.wasm", 10).unwrap_err();
        assert!(matches!(err, WasmError::ModuleNotFound { .. }));
        assert!(err.to_string().contains("nope.wasm"), "{err}");
    }
}
