//! Directories whose contents the host trusts (the compile cache holds
//! native code that is run as it is): they must be private to this user.

use std::io;
use std::path::Path;

/// Creates `dir` (mode 0700) if it is missing; refuses an existing one that
/// is not a directory, belongs to another user, or is writable by group or
/// others.
pub(crate) fn ensure(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        let metadata = std::fs::metadata(dir)?;
        if !metadata.is_dir() {
            return Err(io::Error::other(format!(
                "{} is not a directory",
                dir.display()
            )));
        }
        let me = rustix::process::geteuid().as_raw();
        if metadata.uid() != me {
            return Err(io::Error::other(format!(
                "{} belongs to user {}, not to this process's user {me}; the compile cache \
                 must be trusted, since its entries are run as native code",
                dir.display(),
                metadata.uid()
            )));
        }
        if metadata.mode() & 0o022 != 0 {
            return Err(io::Error::other(format!(
                "{} is writable by group or others (mode {:o}); the compile cache must be \
                 private (chmod 700), since its entries are run as native code",
                dir.display(),
                metadata.mode() & 0o777
            )));
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn creates_a_private_directory() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/cache");
        ensure(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        ensure(&dir).unwrap();
    }

    #[test]
    fn refuses_a_directory_others_can_write() {
        let root = tempfile::tempdir().unwrap();
        for mode in [0o777, 0o770, 0o702] {
            std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(mode)).unwrap();
            let err = ensure(root.path()).unwrap_err().to_string();
            assert!(err.contains("writable by group or others"), "{err}");
        }
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        ensure(root.path()).unwrap();
    }

    #[test]
    fn refuses_a_file() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        assert!(ensure(&file).is_err());
    }
}
